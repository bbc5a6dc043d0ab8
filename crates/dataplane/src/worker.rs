//! Workers and the IPv4 forwarding pipeline.

use std::sync::Arc;

use arc_swap::ArcSwap;
use savin_fib::{FibReader, MISS};
use savin_io::{FrameBatch, IoError, PacketIo};

use crate::counters::{Counters, DropReason};
use crate::ipv4::{self, ETHERTYPE_IPV4, ETH_HDR};

/// What a next hop resolves to: the output port and the Ethernet addresses to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjacency {
    pub port: u16,
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
}

/// The tables workers read. The control plane publishes new versions; a worker takes one
/// snapshot of each per batch.
#[derive(Clone)]
pub struct Tables {
    pub fib4: FibReader<u32>,
    /// Indexed by next-hop index; `None` while the neighbour is unresolved.
    pub adjacencies: Arc<ArcSwap<Vec<Option<Adjacency>>>>,
}

/// The stages and their scratch space, reused for every batch.
pub struct Pipeline {
    keys: Vec<u32>,
    next_hops: Vec<u32>,
    passed: Vec<u16>,
    /// Per output port: indices of the frames to send there.
    pub tx: Vec<Vec<u16>>,
    pub counters: Counters,
}

impl Pipeline {
    pub fn new(ports: usize, batch: usize) -> Pipeline {
        Pipeline {
            keys: Vec::with_capacity(batch),
            next_hops: vec![0; batch],
            passed: Vec::with_capacity(batch),
            tx: (0..ports).map(|_| Vec::with_capacity(batch)).collect(),
            counters: Counters::default(),
        }
    }

    /// Runs one batch through check, lookup and rewrite; the frames to send are in `self.tx`.
    pub fn process(&mut self, batch: &mut FrameBatch, tables: &Tables) {
        for l in &mut self.tx {
            l.clear();
        }
        self.keys.clear();
        self.passed.clear();
        let c = &mut self.counters;
        c.rx += batch.len() as u64;
        // Stage 1: Ethernet and IPv4 header checks.
        for i in 0..batch.len() {
            let f = batch.frame(i);
            if f.len() < ETH_HDR {
                c.drop(DropReason::Truncated);
                continue;
            }
            if u16::from_be_bytes([f[12], f[13]]) != ETHERTYPE_IPV4 {
                c.drop(DropReason::UnsupportedProtocol);
                continue;
            }
            match ipv4::check(f, ETH_HDR) {
                Ok(dst) => {
                    self.keys.push(dst);
                    self.passed.push(i as u16);
                }
                Err(r) => c.drop(r),
            }
        }
        // Stage 2: route lookups for the whole batch against one snapshot.
        let n = self.keys.len();
        if self.next_hops.len() < n {
            self.next_hops.resize(n, 0);
        }
        tables
            .fib4
            .load()
            .lookup_batch(&self.keys, &mut self.next_hops[..n]);
        // Stage 3: TTL, rewrite, and sort onto output ports.
        let adj = tables.adjacencies.load();
        for (j, &i) in self.passed.iter().enumerate() {
            let nh = self.next_hops[j];
            if nh == MISS {
                c.drop(DropReason::NoRoute);
                continue;
            }
            let Some(Some(a)) = adj.get(nh as usize) else {
                c.drop(DropReason::Unresolved);
                continue;
            };
            let Some(out) = self.tx.get_mut(usize::from(a.port)) else {
                c.drop(DropReason::Unresolved);
                continue;
            };
            let f = batch.frame_mut(usize::from(i));
            if let Err(r) = ipv4::decrement_ttl(f, ETH_HDR) {
                c.drop(r);
                continue;
            }
            f[..6].copy_from_slice(&a.dst_mac);
            f[6..12].copy_from_slice(&a.src_mac);
            out.push(i);
            c.forwarded += 1;
        }
    }
}

/// A worker: its ports, one reusable batch, and the pipeline. Runs to completion per batch.
pub struct Worker {
    ports: Vec<Box<dyn PacketIo>>,
    batch: FrameBatch,
    pub pipeline: Pipeline,
}

impl Worker {
    pub fn new(ports: Vec<Box<dyn PacketIo>>, batch: usize) -> Worker {
        let n = ports.len();
        Worker {
            ports,
            batch: FrameBatch::with_capacity(batch),
            pipeline: Pipeline::new(n, batch),
        }
    }

    /// Receives one batch from each port and forwards it. Returns the frames received.
    pub fn poll(&mut self, tables: &Tables) -> Result<usize, IoError> {
        let mut received = 0;
        for p in 0..self.ports.len() {
            self.batch.clear();
            received += self.ports[p].rx(&mut self.batch)?;
            if self.batch.is_empty() {
                continue;
            }
            self.pipeline.process(&mut self.batch, tables);
            for (q, list) in self.pipeline.tx.iter().enumerate() {
                if list.is_empty() {
                    continue;
                }
                let sent = self.ports[q].tx(&self.batch, list)?;
                self.pipeline.counters.tx += sent as u64;
                self.pipeline.counters.drops[DropReason::TxFull as usize] +=
                    (list.len() - sent) as u64;
            }
        }
        Ok(received)
    }

    pub fn counters(&self) -> &Counters {
        &self.pipeline.counters
    }
}
