//! The worker: its ports, the loop that receives a batch from each, runs the pipeline and
//! sends the outputs, the messages from the control plane, and the statistics it publishes.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use savin_io::{FrameBatch, IoError, PacketIo};

use crate::bridge::{FdbRow, FdbStats, PortMode};
use crate::counters::{Counters, DropReason, PortCounters};
use crate::punt::PuntSender;
pub use crate::punt::{PuntReason, Punted};

use crate::pipeline::arc::{Feature, NoFeature, StageCounters};
use crate::pipeline::{Originated, Pipeline, ERRORS_PER_S, ERROR_BURST, ERROR_QUOTE};
use crate::tables::Tables;

/// A change of the wall clock against the worker's beyond this is a step (set by hand, or
/// by NTP at boot), not the clocks' read jitter.
const CLOCK_STEP_NS: i64 = 1_000_000;

/// What the control plane asks of a running worker, between two batches.
pub enum ToWorker<F: Feature = NoFeature> {
    /// Send this frame out of `port` (ARP, ICMP, packets released after resolution). An IRB
    /// port sends through its VLAN's bridge.
    Send { port: u16, frame: Vec<u8> },
    /// Route this frame, which the box originates (an ICMP error, an echo reply, a RST, the
    /// fragments of a forwarded packet): the worker's lookup and equal-cost choice, the MACs
    /// of the next hop, no TTL change and no security stage (host-outbound traffic). A frame
    /// whose neighbour is still to be resolved comes back as `PuntReason::Resolve`, naming
    /// the next hop chosen. One place in the system picks equal-cost members: here.
    Route { frame: Vec<u8> },
    /// `clear ethernet-switching table`.
    ClearFdb,
    /// Runs on the worker's feature, with the worker's clock (ms): how the control plane
    /// reads or clears what the feature holds (`show security flow session`, `clear ...`).
    Feature(FeatureCall<F>),
    /// Attach (Some) or detach (None) the port in slot `port`. Other ports are untouched.
    SetPort {
        port: u16,
        io: Option<Box<dyn PacketIo>>,
    },
}

/// A closure run on a worker's feature (see [`ToWorker::Feature`]).
pub type FeatureCall<F> = Box<dyn FnOnce(&mut F, u64) + Send>;

/// What a worker publishes for `show interfaces` and `show system statistics`, and what its
/// feature publishes (`P`: for security, rule hits and session logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats<P = ()> {
    pub counters: Counters,
    /// Indexed by port slot.
    pub ports: Vec<PortCounters>,
    /// The MAC table (refreshed every second).
    pub fdb: Vec<FdbRow>,
    pub fdb_stats: FdbStats,
    /// Per feature on the IPv4 arcs: frames it was given and dropped.
    pub stages: StageCounters,
    /// What the feature publishes.
    pub feature: P,
}

/// A worker: its ports, one reusable batch, and the pipeline with feature `F` on its arcs.
/// Runs to completion per batch.
pub struct Worker<F: Feature = NoFeature> {
    /// Indexed by port slot; a detached slot is None.
    ports: Vec<Option<Box<dyn PacketIo>>>,
    port_counters: Vec<PortCounters>,
    batch: FrameBatch,
    pub pipeline: Pipeline<F>,
    /// To the control plane (bounded: a full queue drops and counts).
    punt_tx: Option<PuntSender>,
    /// From the control plane: frames to send and port changes.
    control_rx: Option<Receiver<ToWorker<F>>>,
    inject: FrameBatch,
    /// The port of each frame in `inject`.
    inject_ports: Vec<u16>,
    stats: Arc<Mutex<WorkerStats<F::Published>>>,
    started: Instant,
    polls: u32,
    last_refill: Instant,
    /// The wall clock at the worker clock's zero, as last read (see `housekeeping`).
    epoch_ns: i64,
    last_publish: Instant,
    last_aging: Instant,
}

impl Worker {
    /// A worker with no feature on the arcs.
    pub fn new(ports: Vec<Box<dyn PacketIo>>, batch: usize) -> Worker {
        Worker::with_feature(ports, batch, NoFeature)
    }
}

impl<F: Feature> Worker<F> {
    /// A worker with `feature` on the pipeline's arcs.
    pub fn with_feature(ports: Vec<Box<dyn PacketIo>>, batch: usize, feature: F) -> Worker<F> {
        let n = ports.len();
        Worker {
            ports: ports.into_iter().map(Some).collect(),
            port_counters: vec![PortCounters::default(); n],
            // Slots for GSO super-frames (ports with virtio headers hand them over); only the
            // pages that frames fill are ever touched.
            batch: FrameBatch::with_frame_size(batch, savin_io::MAX_GSO_FRAME),
            pipeline: Pipeline::with_feature(n, batch, feature),
            punt_tx: None,
            control_rx: None,
            inject: FrameBatch::with_frame_size(64, savin_io::MAX_GSO_FRAME),
            inject_ports: Vec::with_capacity(64),
            stats: Arc::default(),
            started: Instant::now(),
            polls: 0,
            last_refill: Instant::now(),
            epoch_ns: 0,
            last_publish: Instant::now(),
            last_aging: Instant::now(),
        }
    }

    /// Connects the worker to a control plane: punted frames go to `punt`; frames to send
    /// and port changes come from `control`.
    pub fn with_control(mut self, punt: PuntSender, control: Receiver<ToWorker<F>>) -> Worker<F> {
        self.punt_tx = Some(punt);
        self.control_rx = Some(control);
        self
    }

    /// Where the worker publishes its counters (about every 100 ms, and on `publish`).
    pub fn stats(&self) -> Arc<Mutex<WorkerStats<F::Published>>> {
        self.stats.clone()
    }

    fn set_port(&mut self, port: u16, io: Option<Box<dyn PacketIo>>) {
        let p = usize::from(port);
        if self.ports.len() <= p {
            self.ports.resize_with(p + 1, || None);
            self.port_counters.resize(p + 1, PortCounters::default());
        }
        self.pipeline.set_ports(self.ports.len());
        if let Some(old) = std::mem::replace(&mut self.ports[p], io) {
            // Closing a port waits for the kernel (an RCU grace period, tens of milliseconds):
            // never on the forwarding thread.
            let _ = std::thread::Builder::new()
                .name("savin-port-close".into())
                .spawn(move || drop(old));
        }
        self.port_counters[p] = PortCounters::default();
    }

    /// Applies what the control plane queued (a bounded number of frames per call). Frames
    /// for an IRB go through its VLAN's bridge.
    fn take_control_messages(&mut self, tables: &Tables) {
        if self.control_rx.is_none() {
            return;
        }
        let l2 = tables.l2.load();
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
                        if self.can_send(&l2, port) {
                            self.inject.push(&frame);
                            self.inject_ports.push(port);
                        }
                    }
                    ToWorker::Route { mut frame } => {
                        match self.pipeline.originated(&mut frame, tables) {
                            Originated::Out(port) if self.can_send(&l2, port) => {
                                self.inject.push(&frame);
                                self.inject_ports.push(port);
                                self.pipeline.counters.originated += 1;
                            }
                            Originated::Resolve { port, nh } => self.punt(Punted {
                                port,
                                reason: PuntReason::Resolve { nh },
                                frame,
                            }),
                            Originated::Out(_) => self.pipeline.counters.originated_dropped += 1,
                            Originated::Dropped => {}
                        }
                    }
                    ToWorker::SetPort { port, io } => self.set_port(port, io),
                    ToWorker::ClearFdb => self.pipeline.fdb.clear(),
                    ToWorker::Feature(call) => {
                        call(&mut self.pipeline.feature, self.pipeline.now_ms)
                    }
                }
            }
            if self.inject.is_empty() {
                break;
            }
            self.pipeline.clear_outputs();
            for i in 0..self.inject.len() {
                let port = self.inject_ports[i];
                match l2.mode(port) {
                    PortMode::Irb { vlan } => {
                        self.pipeline
                            .bridge_out(&mut self.inject, i, port, vlan, &l2)
                    }
                    _ => {
                        if let Some(l) = self.pipeline.tx.get_mut(usize::from(port)) {
                            l.push(i as u16);
                        }
                    }
                }
            }
            Self::send_outputs(
                &mut self.ports,
                &mut self.port_counters,
                &mut self.pipeline,
                &self.inject,
            );
        }
    }

    /// Sends what the pipeline put on the output lists: frames of `batch`, and the copies in
    /// the pipeline's `extra` batch.
    fn send_outputs(
        ports: &mut [Option<Box<dyn PacketIo>>],
        port_counters: &mut [PortCounters],
        pipeline: &mut Pipeline<F>,
        batch: &FrameBatch,
    ) {
        let n = pipeline.tx.len().min(port_counters.len());
        for (q, c) in port_counters.iter_mut().enumerate().take(n) {
            for extra in [false, true] {
                let (list, from) = if extra {
                    (&pipeline.tx_extra[q], &pipeline.extra)
                } else {
                    (&pipeline.tx[q], batch)
                };
                if list.is_empty() {
                    continue;
                }
                let Some(out) = ports.get_mut(q).and_then(Option::as_mut) else {
                    pipeline.counters.drops[DropReason::Unresolved as usize] += list.len() as u64;
                    continue;
                };
                let sent = out.tx(from, list).unwrap_or_else(|_| {
                    c.errors += 1;
                    0
                });
                c.tx_packets += sent as u64;
                c.tx_bytes += list[..sent]
                    .iter()
                    .map(|&i| from.frame(usize::from(i)).len() as u64)
                    .sum::<u64>();
                pipeline.counters.tx += sent as u64;
                pipeline.counters.drops[DropReason::TxFull as usize] += (list.len() - sent) as u64;
            }
        }
    }

    fn housekeeping(&mut self, tables: &Tables) {
        let now = Instant::now();
        // Right beside it (see below).
        let unix = std::time::SystemTime::now();
        self.pipeline.now_ms = now.duration_since(self.started).as_millis() as u64;
        self.pipeline.now_us = now.duration_since(self.started).as_micros() as u64;
        // The wall clock at the worker clock's zero, read beside it each poll. The two run at
        // one rate (both NTP-slewed), so it changes only when the wall clock steps: then the
        // frames stamped before the step and read after it would land a whole step off, and
        // this poll measures at the batch's time instead (epoch 0).
        let unix_ns = unix
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let epoch_ns = unix_ns - now.duration_since(self.started).as_nanos() as i64;
        let stepped = (epoch_ns - self.epoch_ns).abs() > CLOCK_STEP_NS;
        self.epoch_ns = epoch_ns;
        self.pipeline.epoch_ns = if unix_ns == 0 || stepped { 0 } else { epoch_ns };
        let ms = now.duration_since(self.last_refill).as_millis() as u32;
        if ms > 0 {
            let add = ms.saturating_mul(ERRORS_PER_S / 1000);
            self.pipeline.error_tokens = (self.pipeline.error_tokens + add).min(ERROR_BURST);
            self.last_refill = now;
        }
        if now.duration_since(self.last_publish).as_millis() >= 100 {
            // Sessions age, and what went is reported, even while no traffic comes.
            let now_ms = self.pipeline.now_ms;
            self.pipeline.feature.begin(tables, now_ms);
            // Published, or tried again at the next poll: a reader holding the lock must not
            // leave the counters a whole period (or, under load, many) behind.
            if self.publish() {
                self.last_publish = now;
            }
        }
        if now.duration_since(self.last_aging).as_millis() >= 1000 {
            // Aging, and entries of ports that left their VLAN.
            let l2 = tables.l2.load();
            self.pipeline.fdb.age(self.pipeline.now_ms, |vid, port| {
                l2.vlan(vid).is_some_and(|v| v.member(port).is_some())
            });
            if let Ok(mut s) = self.stats.try_lock() {
                s.fdb = self.pipeline.fdb.rows(self.pipeline.now_ms);
                s.fdb_stats = self.pipeline.fdb.stats;
            }
            self.last_aging = now;
        }
    }

    /// Copies the counters to where the control plane reads them; false if the control
    /// plane held the lock (the worker never waits for it).
    pub fn publish(&mut self) -> bool {
        for (c, io) in self.port_counters.iter_mut().zip(&mut self.ports) {
            if let Some(io) = io {
                c.giants = io.giants();
                c.ring_drops = io.ring_drops();
            }
        }
        if let Ok(mut s) = self.stats.try_lock() {
            s.counters.clone_from(&self.pipeline.counters);
            s.ports.clone_from(&self.port_counters);
            s.stages.clone_from(&self.pipeline.stages);
            self.pipeline.feature.publish(&mut s.feature);
            return true;
        }
        false
    }

    /// Whether a frame can leave by `port`: attached, or an IRB (sent through its VLAN).
    fn can_send(&self, l2: &crate::bridge::L2Tables, port: u16) -> bool {
        matches!(l2.mode(port), PortMode::Irb { .. })
            || self
                .ports
                .get(usize::from(port))
                .is_some_and(Option::is_some)
    }

    /// Hands `p` to the control plane; a full queue drops it, counted by its kind.
    fn punt(&mut self, p: Punted) {
        let reason = p.reason;
        let refused = match &self.punt_tx {
            Some(tx) => tx.try_send(p).err(),
            None => Some(p),
        };
        if let Some(p) = refused {
            if reason.is_error() {
                self.pipeline.counters.errors_suppressed += 1;
            } else if p.for_sockets() {
                self.pipeline.counters.drop(DropReason::HostQueueFull);
            } else {
                self.pipeline.counters.drop(DropReason::PuntQueueFull);
            }
        }
    }

    /// Receives one batch from each port and forwards it. Returns the frames received. Port
    /// errors are counted per port (`port_counters`), never returned: one broken port must
    /// not stop the others.
    pub fn poll(&mut self, tables: &Tables) -> Result<usize, IoError> {
        self.housekeeping(tables);
        self.take_control_messages(tables);
        let mut received = 0;
        self.polls = self.polls.wrapping_add(1);
        let l2 = tables.l2.load();
        for p in 0..self.ports.len() {
            // Host interfaces carry little and cost a system call to look at: every 8th poll.
            if !self.polls.is_multiple_of(8) && matches!(l2.mode(p as u16), PortMode::Host { .. }) {
                continue;
            }
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
            self.pipeline.process(&mut self.batch, tables, p as u16);
            // Taken for the loop (and put back, to keep its capacity): punting needs `self`.
            let punts = std::mem::take(&mut self.pipeline.punt);
            for &(i, reason) in &punts {
                // For the box's own sockets: straight to the port's host interface, as it is
                // (checksums completed: the kernel behind a TAP wants them whole); the control
                // thread only sees what it answers itself.
                if reason == PuntReason::Host {
                    let in_port = self.pipeline.meta.in_port[usize::from(i)];
                    let tap = l2.host_tap(in_port);
                    if let Some(tap) = tap
                        .filter(|_| crate::punt::straight_to_host(self.batch.frame(usize::from(i))))
                    {
                        if self.batch.offload(usize::from(i)).needs_csum() {
                            savin_io::csum::complete_l4_checksum(
                                self.batch.frame_mut(usize::from(i)),
                            );
                        }
                        if let Some(list) = self.pipeline.tx.get_mut(usize::from(tap)) {
                            list.push(i);
                            self.pipeline.counters.to_host += 1;
                            continue;
                        }
                    }
                }
                let frame = self.batch.frame(usize::from(i));
                let frame = if reason.is_error() {
                    &frame[..frame.len().min(ERROR_QUOTE)]
                } else {
                    frame
                };
                let mut frame = frame.to_vec();
                if self.batch.offload(usize::from(i)).needs_csum() {
                    // The control plane and the kernel behind the TAP want it whole.
                    savin_io::csum::complete_l4_checksum(&mut frame);
                }
                self.punt(Punted {
                    port: self.pipeline.meta.in_port[usize::from(i)],
                    reason,
                    frame,
                });
            }
            self.pipeline.punt = punts;
            Self::send_outputs(
                &mut self.ports,
                &mut self.port_counters,
                &mut self.pipeline,
                &self.batch,
            );
        }
        Ok(received)
    }

    /// Sleeps until a port has frames waiting or `timeout_ms` passes (an idle worker's wait:
    /// woken by the kernel, not by a timer, so a lone packet is not held back a tick).
    pub fn wait(&self, timeout_ms: u16) {
        use nix::poll::{poll, PollFd, PollFlags};
        let mut fds: Vec<PollFd> = self
            .ports
            .iter()
            .flatten()
            .filter_map(|p| p.readiness_fd())
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        let _ = poll(&mut fds, timeout_ms);
    }

    pub fn counters(&self) -> &Counters {
        &self.pipeline.counters
    }

    pub fn port_counters(&self) -> &[PortCounters] {
        &self.port_counters
    }
}
