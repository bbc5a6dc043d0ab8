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

/// What a next-hop index means to the data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// Known but not usable (a neighbour that did not answer): drop.
    Unresolved,
    /// Rewrite and send.
    Forward(Adjacency),
    /// Hand to the control plane: the box's own addresses, and destinations whose
    /// neighbour must be resolved first (the packet waits in the ARP queue).
    Punt,
    /// A `discard` route.
    Discard,
}

/// The tables workers read. The control plane publishes new versions; a worker takes one
/// snapshot of each per batch.
#[derive(Clone)]
pub struct Tables {
    pub fib4: FibReader<u32>,
    /// Indexed by next-hop index.
    pub adjacencies: Arc<ArcSwap<Vec<NextHop>>>,
}

/// A frame for the control plane, or from it to send: (port, frame).
pub type PuntedFrame = (u16, Vec<u8>);

const ETHERTYPE_ARP: u16 = 0x0806;

/// The stages and their scratch space, reused for every batch.
pub struct Pipeline {
    keys: Vec<u32>,
    next_hops: Vec<u32>,
    passed: Vec<u16>,
    /// Per output port: indices of the frames to send there.
    pub tx: Vec<Vec<u16>>,
    /// Indices of the frames for the control plane.
    pub punt: Vec<u16>,
    pub counters: Counters,
}

impl Pipeline {
    pub fn new(ports: usize, batch: usize) -> Pipeline {
        Pipeline {
            keys: Vec::with_capacity(batch),
            next_hops: vec![0; batch],
            passed: Vec::with_capacity(batch),
            tx: (0..ports).map(|_| Vec::with_capacity(batch)).collect(),
            punt: Vec::with_capacity(batch),
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
        self.punt.clear();
        let c = &mut self.counters;
        c.rx += batch.len() as u64;
        // Stage 1: Ethernet and IPv4 header checks.
        for i in 0..batch.len() {
            let f = batch.frame(i);
            if f.len() < ETH_HDR {
                c.drop(DropReason::Truncated);
                continue;
            }
            match u16::from_be_bytes([f[12], f[13]]) {
                ETHERTYPE_IPV4 => {}
                ETHERTYPE_ARP => {
                    self.punt.push(i as u16);
                    c.punted += 1;
                    continue;
                }
                _ => {
                    c.drop(DropReason::UnsupportedProtocol);
                    continue;
                }
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
            let a = match adj.get(nh as usize) {
                Some(NextHop::Forward(a)) => a,
                Some(NextHop::Punt) => {
                    self.punt.push(i);
                    c.punted += 1;
                    continue;
                }
                Some(NextHop::Discard) => {
                    c.drop(DropReason::Discarded);
                    continue;
                }
                Some(NextHop::Unresolved) | None => {
                    c.drop(DropReason::Unresolved);
                    continue;
                }
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
    /// To the control plane (bounded: a full queue drops and counts).
    punt_tx: Option<std::sync::mpsc::SyncSender<PuntedFrame>>,
    /// From the control plane: frames to send (ARP, ICMP, released packets).
    inject_rx: Option<std::sync::mpsc::Receiver<PuntedFrame>>,
    inject: FrameBatch,
    /// The port of each frame in `inject`.
    inject_ports: Vec<u16>,
}

impl Worker {
    pub fn new(ports: Vec<Box<dyn PacketIo>>, batch: usize) -> Worker {
        let n = ports.len();
        Worker {
            ports,
            batch: FrameBatch::with_capacity(batch),
            pipeline: Pipeline::new(n, batch),
            punt_tx: None,
            inject_rx: None,
            inject: FrameBatch::with_capacity(64),
            inject_ports: Vec::with_capacity(64),
        }
    }

    /// Connects the worker to a control plane: punted frames go to `punt`, frames received
    /// from `inject` are sent.
    pub fn with_control(
        mut self,
        punt: std::sync::mpsc::SyncSender<PuntedFrame>,
        inject: std::sync::mpsc::Receiver<PuntedFrame>,
    ) -> Worker {
        self.punt_tx = Some(punt);
        self.inject_rx = Some(inject);
        self
    }

    /// Sends what the control plane queued (a bounded amount per call).
    fn send_injected(&mut self) -> Result<(), IoError> {
        let Some(rx) = &self.inject_rx else {
            return Ok(());
        };
        for _ in 0..4 {
            self.inject.clear();
            self.inject_ports.clear();
            while !self.inject.is_full() {
                let Ok((port, frame)) = rx.try_recv() else {
                    break;
                };
                if usize::from(port) < self.ports.len() {
                    self.inject.push(&frame);
                    self.inject_ports.push(port);
                }
            }
            if self.inject.is_empty() {
                break;
            }
            for (i, port) in self.inject_ports.iter().enumerate() {
                self.ports[usize::from(*port)].tx(&self.inject, &[i as u16])?;
            }
        }
        Ok(())
    }

    /// Receives one batch from each port and forwards it. Returns the frames received.
    pub fn poll(&mut self, tables: &Tables) -> Result<usize, IoError> {
        self.send_injected()?;
        let mut received = 0;
        for p in 0..self.ports.len() {
            self.batch.clear();
            received += self.ports[p].rx(&mut self.batch)?;
            if self.batch.is_empty() {
                continue;
            }
            self.pipeline.process(&mut self.batch, tables);
            for &i in &self.pipeline.punt {
                let sent = match &self.punt_tx {
                    Some(tx) => tx
                        .try_send((p as u16, self.batch.frame(usize::from(i)).to_vec()))
                        .is_ok(),
                    None => false,
                };
                if !sent {
                    self.pipeline.counters.drop(DropReason::PuntQueueFull);
                }
            }
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
