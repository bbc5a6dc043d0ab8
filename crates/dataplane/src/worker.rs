//! Workers and the IPv4 forwarding pipeline.

use std::sync::mpsc::{Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use savin_fib::{FibReader, MISS};
use savin_io::{FrameBatch, IoError, PacketIo};

use crate::counters::{Counters, DropReason, PortCounters};
use crate::ipv4::{self, ETHERTYPE_IPV4, ETH_HDR};
use crate::ipv6::{self, ETHERTYPE_IPV6};

/// What a next hop resolves to: the output port, the Ethernet addresses to write and the
/// port's IP MTU (larger packets are fragmented or answered with fragmentation needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjacency {
    pub port: u16,
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub mtu: u16,
}

/// What a next-hop index means to the data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// Known but not usable (a neighbour that did not answer): drop.
    Unresolved,
    /// Rewrite and send.
    Forward(Adjacency),
    /// One of the box's own addresses: to the control plane.
    Local,
    /// A neighbour still to be resolved (a connected destination or a gateway): the packet
    /// is routed (TTL decremented) and handed to the control plane, which holds it while it
    /// asks ARP.
    Resolve,
    /// A `discard` route: drop silently.
    Discard,
    /// A `reject` route: drop and send ICMP unreachable.
    Reject,
}

/// The tables workers read. The control plane publishes new versions; a worker takes one
/// snapshot of each per batch.
#[derive(Clone)]
pub struct Tables {
    pub fib4: FibReader<u32>,
    pub fib6: FibReader<u128>,
    /// Indexed by next-hop index.
    pub adjacencies: Arc<ArcSwap<Vec<NextHop>>>,
}

/// Why a frame goes to the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PuntReason {
    /// For the box (ARP, its own addresses).
    Host,
    /// Routed, waiting for its neighbour to be resolved.
    Resolve,
    /// Dropped; the control plane answers with an ICMP error (the frame is a copy of the
    /// first bytes, enough to quote).
    TtlExpired,
    NoRoute,
    Reject,
    FragmentationNeeded {
        mtu: u16,
    },
    /// Routed (TTL decremented), larger than `mtu` with DF clear: fragment and send.
    Fragment {
        mtu: u16,
    },
}

impl PuntReason {
    fn is_error(self) -> bool {
        matches!(
            self,
            PuntReason::TtlExpired
                | PuntReason::NoRoute
                | PuntReason::Reject
                | PuntReason::FragmentationNeeded { .. }
        )
    }
}

/// A frame for the control plane, with the port it came in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Punted {
    pub port: u16,
    pub reason: PuntReason,
    pub frame: Vec<u8>,
}

/// What the control plane asks of a running worker, between two batches.
pub enum ToWorker {
    /// Send this frame out of `port` (ARP, ICMP, packets released after resolution).
    Send { port: u16, frame: Vec<u8> },
    /// Attach (Some) or detach (None) the port in slot `port`. Other ports are untouched.
    SetPort {
        port: u16,
        io: Option<Box<dyn PacketIo>>,
    },
}

/// ICMP error copies quote at most this much of the original frame (Ethernet header plus the
/// 548 bytes that keep the error within 576 bytes, RFC 1812 4.3.2.3).
pub const ERROR_QUOTE: usize = ETH_HDR + 548;

const ETHERTYPE_ARP: u16 = 0x0806;

/// ICMP errors a worker may ask for: a burst, refilled at this rate per second. The control
/// plane applies its own limit too; this one keeps a flood of expiring packets from costing a
/// copy each.
const ERROR_BURST: u32 = 200;
const ERRORS_PER_S: u32 = 1000;

/// The stages and their scratch space, reused for every batch.
pub struct Pipeline {
    keys: Vec<u32>,
    next_hops: Vec<u32>,
    passed: Vec<u16>,
    keys6: Vec<u128>,
    next_hops6: Vec<u32>,
    passed6: Vec<u16>,
    /// Per output port: indices of the frames to send there.
    pub tx: Vec<Vec<u16>>,
    /// Frames for the control plane: index and reason.
    pub punt: Vec<(u16, PuntReason)>,
    /// ICMP errors that may still be asked for (see `ERROR_BURST`).
    pub error_tokens: u32,
    pub counters: Counters,
}

impl Pipeline {
    pub fn new(ports: usize, batch: usize) -> Pipeline {
        Pipeline {
            keys: Vec::with_capacity(batch),
            next_hops: vec![0; batch],
            passed: Vec::with_capacity(batch),
            keys6: Vec::with_capacity(batch),
            next_hops6: vec![0; batch],
            passed6: Vec::with_capacity(batch),
            tx: (0..ports).map(|_| Vec::with_capacity(batch)).collect(),
            punt: Vec::with_capacity(batch),
            error_tokens: ERROR_BURST,
            counters: Counters::default(),
        }
    }

    /// Makes room for output ports up to `ports`.
    pub fn set_ports(&mut self, ports: usize) {
        let cap = self.passed.capacity();
        while self.tx.len() < ports {
            self.tx.push(Vec::with_capacity(cap));
        }
    }

    #[inline]
    fn punt_error(&mut self, i: u16, reason: PuntReason) {
        if self.error_tokens > 0 {
            self.error_tokens -= 1;
            self.punt.push((i, reason));
        } else {
            self.counters.errors_suppressed += 1;
        }
    }

    /// Runs one batch through check, lookup and rewrite; the frames to send are in `self.tx`,
    /// those for the control plane in `self.punt`.
    pub fn process(&mut self, batch: &mut FrameBatch, tables: &Tables) {
        for l in &mut self.tx {
            l.clear();
        }
        self.keys.clear();
        self.passed.clear();
        self.keys6.clear();
        self.passed6.clear();
        self.punt.clear();
        self.counters.rx += batch.len() as u64;
        // Stage 1: Ethernet and IP header checks.
        for i in 0..batch.len() {
            let f = batch.frame(i);
            if f.len() < ETH_HDR {
                self.counters.drop(DropReason::Truncated);
                continue;
            }
            match u16::from_be_bytes([f[12], f[13]]) {
                ETHERTYPE_IPV4 => match ipv4::check(f, ETH_HDR) {
                    Ok(dst) => {
                        self.keys.push(dst);
                        self.passed.push(i as u16);
                    }
                    Err(r) => self.counters.drop(r),
                },
                ETHERTYPE_IPV6 => match ipv6::check(f, ETH_HDR) {
                    // Neighbor Discovery and everything link-scoped is for the box.
                    Ok(dst) if ipv6::is_link_scope(dst) => {
                        self.punt.push((i as u16, PuntReason::Host));
                        self.counters.punted += 1;
                    }
                    Ok(dst) => {
                        self.keys6.push(dst);
                        self.passed6.push(i as u16);
                    }
                    Err(r) => self.counters.drop(r),
                },
                ETHERTYPE_ARP => {
                    self.punt.push((i as u16, PuntReason::Host));
                    self.counters.punted += 1;
                }
                _ => self.counters.drop(DropReason::UnsupportedProtocol),
            }
        }
        // Stage 2: route lookups for the whole batch against one snapshot per table.
        let n = self.keys.len();
        if self.next_hops.len() < n {
            self.next_hops.resize(n, 0);
        }
        if n > 0 {
            tables
                .fib4
                .load()
                .lookup_batch(&self.keys, &mut self.next_hops[..n]);
        }
        let n6 = self.keys6.len();
        if self.next_hops6.len() < n6 {
            self.next_hops6.resize(n6, 0);
        }
        if n6 > 0 {
            tables
                .fib6
                .load()
                .lookup_batch(&self.keys6, &mut self.next_hops6[..n6]);
        }
        // Stage 3: TTL, MTU, rewrite, and sort onto output ports.
        let adj = tables.adjacencies.load();
        for j in 0..n {
            self.route(batch, self.passed[j], self.next_hops[j], &adj, false);
        }
        for j in 0..n6 {
            self.route(batch, self.passed6[j], self.next_hops6[j], &adj, true);
        }
    }

    #[inline]
    fn route(&mut self, batch: &mut FrameBatch, i: u16, nh: u32, adj: &[NextHop], v6: bool) {
        if nh == MISS {
            self.counters.drop(DropReason::NoRoute);
            self.punt_error(i, PuntReason::NoRoute);
            return;
        }
        let a = match adj.get(nh as usize) {
            Some(NextHop::Forward(a)) => *a,
            Some(NextHop::Local) => {
                self.punt.push((i, PuntReason::Host));
                self.counters.punted += 1;
                return;
            }
            Some(NextHop::Resolve) => {
                let f = batch.frame_mut(usize::from(i));
                let aged = if v6 {
                    ipv6::decrement_hop_limit(f, ETH_HDR)
                } else {
                    ipv4::decrement_ttl(f, ETH_HDR)
                };
                if aged.is_err() {
                    self.counters.drop(DropReason::TtlExpired);
                    self.punt_error(i, PuntReason::TtlExpired);
                } else {
                    self.punt.push((i, PuntReason::Resolve));
                    self.counters.punted += 1;
                }
                return;
            }
            Some(NextHop::Discard) => {
                self.counters.drop(DropReason::Discarded);
                return;
            }
            Some(NextHop::Reject) => {
                self.counters.drop(DropReason::Rejected);
                self.punt_error(i, PuntReason::Reject);
                return;
            }
            Some(NextHop::Unresolved) | None => {
                self.counters.drop(DropReason::Unresolved);
                return;
            }
        };
        if usize::from(a.port) >= self.tx.len() {
            self.counters.drop(DropReason::Unresolved);
            return;
        }
        let f = batch.frame_mut(usize::from(i));
        // As Linux orders it (ip_forward): TTL first, then the MTU, then the rewrite, so an
        // error quotes the packet as it arrived.
        let ttl_at = if v6 { ETH_HDR + 7 } else { ETH_HDR + 8 };
        if f[ttl_at] <= 1 {
            self.counters.drop(DropReason::TtlExpired);
            self.punt_error(i, PuntReason::TtlExpired);
            return;
        }
        let total = if v6 {
            ipv6::total_len(f, ETH_HDR)
        } else {
            usize::from(u16::from_be_bytes([f[ETH_HDR + 2], f[ETH_HDR + 3]]))
        };
        if total > usize::from(a.mtu) {
            // IPv6 routers never fragment (RFC 8200 5): packet too big, always.
            if v6 || f[ETH_HDR + 6] & 0x40 != 0 {
                self.counters.drop(DropReason::FragmentationNeeded);
                self.punt_error(i, PuntReason::FragmentationNeeded { mtu: a.mtu });
            } else {
                let _ = ipv4::decrement_ttl(f, ETH_HDR);
                self.punt.push((i, PuntReason::Fragment { mtu: a.mtu }));
                self.counters.punted += 1;
            }
            return;
        }
        if v6 {
            f[ttl_at] -= 1;
        } else {
            let _ = ipv4::decrement_ttl(f, ETH_HDR);
        }
        f[..6].copy_from_slice(&a.dst_mac);
        f[6..12].copy_from_slice(&a.src_mac);
        self.tx[usize::from(a.port)].push(i);
        self.counters.forwarded += 1;
    }
}

/// What a worker publishes for `show interfaces` and `show system statistics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub counters: Counters,
    /// Indexed by port slot.
    pub ports: Vec<PortCounters>,
}

/// A worker: its ports, one reusable batch, and the pipeline. Runs to completion per batch.
pub struct Worker {
    /// Indexed by port slot; a detached slot is None.
    ports: Vec<Option<Box<dyn PacketIo>>>,
    port_counters: Vec<PortCounters>,
    batch: FrameBatch,
    pub pipeline: Pipeline,
    /// To the control plane (bounded: a full queue drops and counts).
    punt_tx: Option<SyncSender<Punted>>,
    /// From the control plane: frames to send and port changes.
    control_rx: Option<Receiver<ToWorker>>,
    inject: FrameBatch,
    /// The port of each frame in `inject`.
    inject_ports: Vec<u16>,
    stats: Arc<Mutex<WorkerStats>>,
    last_refill: Instant,
    last_publish: Instant,
}

impl Worker {
    pub fn new(ports: Vec<Box<dyn PacketIo>>, batch: usize) -> Worker {
        let n = ports.len();
        Worker {
            ports: ports.into_iter().map(Some).collect(),
            port_counters: vec![PortCounters::default(); n],
            batch: FrameBatch::with_capacity(batch),
            pipeline: Pipeline::new(n, batch),
            punt_tx: None,
            control_rx: None,
            inject: FrameBatch::with_capacity(64),
            inject_ports: Vec::with_capacity(64),
            stats: Arc::default(),
            last_refill: Instant::now(),
            last_publish: Instant::now(),
        }
    }

    /// Connects the worker to a control plane: punted frames go to `punt`; frames to send
    /// and port changes come from `control`.
    pub fn with_control(mut self, punt: SyncSender<Punted>, control: Receiver<ToWorker>) -> Worker {
        self.punt_tx = Some(punt);
        self.control_rx = Some(control);
        self
    }

    /// Where the worker publishes its counters (about every 100 ms, and on `publish`).
    pub fn stats(&self) -> Arc<Mutex<WorkerStats>> {
        self.stats.clone()
    }

    fn set_port(&mut self, port: u16, io: Option<Box<dyn PacketIo>>) {
        let p = usize::from(port);
        if self.ports.len() <= p {
            self.ports.resize_with(p + 1, || None);
            self.port_counters.resize(p + 1, PortCounters::default());
        }
        self.pipeline.set_ports(self.ports.len());
        self.ports[p] = io;
        self.port_counters[p] = PortCounters::default();
    }

    /// Applies what the control plane queued (a bounded number of frames per call).
    fn take_control_messages(&mut self) {
        if self.control_rx.is_none() {
            return;
        }
        for _ in 0..4 {
            self.inject.clear();
            self.inject_ports.clear();
            while !self.inject.is_full() {
                let msg = match self.control_rx.as_ref().map(|rx| rx.try_recv()) {
                    Some(Ok(m)) => m,
                    Some(Err(TryRecvError::Empty | TryRecvError::Disconnected)) | None => break,
                };
                match msg {
                    ToWorker::Send { port, frame } => {
                        if self
                            .ports
                            .get(usize::from(port))
                            .is_some_and(Option::is_some)
                        {
                            self.inject.push(&frame);
                            self.inject_ports.push(port);
                        }
                    }
                    ToWorker::SetPort { port, io } => self.set_port(port, io),
                }
            }
            if self.inject.is_empty() {
                break;
            }
            for (i, &port) in self.inject_ports.iter().enumerate() {
                if let Some(io) = self.ports[usize::from(port)].as_mut() {
                    let c = &mut self.port_counters[usize::from(port)];
                    let sent = io.tx(&self.inject, &[i as u16]).unwrap_or_else(|_| {
                        c.errors += 1;
                        0
                    });
                    c.tx_packets += sent as u64;
                    c.tx_bytes += (sent * self.inject.frame(i).len()) as u64;
                }
            }
        }
    }

    fn housekeeping(&mut self) {
        let now = Instant::now();
        let ms = now.duration_since(self.last_refill).as_millis() as u32;
        if ms > 0 {
            let add = ms.saturating_mul(ERRORS_PER_S / 1000);
            self.pipeline.error_tokens = (self.pipeline.error_tokens + add).min(ERROR_BURST);
            self.last_refill = now;
        }
        if now.duration_since(self.last_publish).as_millis() >= 100 {
            self.publish();
            self.last_publish = now;
        }
    }

    /// Copies the counters to where the control plane reads them.
    pub fn publish(&mut self) {
        for (c, io) in self.port_counters.iter_mut().zip(&self.ports) {
            if let Some(io) = io {
                c.giants = io.giants();
            }
        }
        if let Ok(mut s) = self.stats.try_lock() {
            s.counters.clone_from(&self.pipeline.counters);
            s.ports.clone_from(&self.port_counters);
        }
    }

    /// Receives one batch from each port and forwards it. Returns the frames received. Port
    /// errors are counted per port (`port_counters`), never returned: one broken port must
    /// not stop the others.
    pub fn poll(&mut self, tables: &Tables) -> Result<usize, IoError> {
        self.housekeeping();
        self.take_control_messages();
        let mut received = 0;
        for p in 0..self.ports.len() {
            let Some(io) = self.ports[p].as_mut() else {
                continue;
            };
            self.batch.clear();
            // A port's error (its netdev went away) is its own: the others keep forwarding.
            let got = match io.rx(&mut self.batch) {
                Ok(n) => n,
                Err(_) => {
                    self.port_counters[p].errors += 1;
                    0
                }
            };
            if got == 0 {
                continue;
            }
            received += got;
            let c = &mut self.port_counters[p];
            c.rx_packets += got as u64;
            c.rx_bytes += self.batch.iter().map(|f| f.len() as u64).sum::<u64>();
            self.pipeline.process(&mut self.batch, tables);
            for &(i, reason) in &self.pipeline.punt {
                let frame = self.batch.frame(usize::from(i));
                let frame = if reason.is_error() {
                    &frame[..frame.len().min(ERROR_QUOTE)]
                } else {
                    frame
                };
                let sent = match &self.punt_tx {
                    Some(tx) => tx
                        .try_send(Punted {
                            port: p as u16,
                            reason,
                            frame: frame.to_vec(),
                        })
                        .is_ok(),
                    None => false,
                };
                if !sent {
                    if reason.is_error() {
                        self.pipeline.counters.errors_suppressed += 1;
                    } else {
                        self.pipeline.counters.drop(DropReason::PuntQueueFull);
                    }
                }
            }
            for q in 0..self.pipeline.tx.len() {
                let list = &self.pipeline.tx[q];
                if list.is_empty() {
                    continue;
                }
                let Some(out) = self.ports[q].as_mut() else {
                    self.pipeline.counters.drops[DropReason::Unresolved as usize] +=
                        list.len() as u64;
                    continue;
                };
                let c = &mut self.port_counters[q];
                let sent = out.tx(&self.batch, list).unwrap_or_else(|_| {
                    c.errors += 1;
                    0
                });
                c.tx_packets += sent as u64;
                c.tx_bytes += list[..sent]
                    .iter()
                    .map(|&i| self.batch.frame(usize::from(i)).len() as u64)
                    .sum::<u64>();
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

    pub fn port_counters(&self) -> &[PortCounters] {
        &self.port_counters
    }
}
