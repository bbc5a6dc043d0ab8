//! The engine's two threads: the worker (data plane) and the control loop. The control loop
//! owns every table (FIB, next hops, ARP, ports) and is the only writer: commits, punted
//! packets, link changes and `show` commands all reach it as messages, so none of them needs
//! a lock on the forwarding path.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use savin_dataplane::arp::{Arp, ArpConfig, ArpInterface};
use savin_dataplane::bridge::{L2Tables, PortMode, VlanInfo};
use savin_dataplane::nd::{Nd, NdInterface};
use savin_dataplane::neighbor::Action;
use savin_dataplane::{
    ipv4, ipv6, Adjacency, NextHop, PortCounters, PuntReason, Punted, Tables, ToWorker, Worker,
    WorkerStats,
};
use savin_fib::Fib;
use savin_filter::{FilterStage, FilterStats, FilterTables};
use savin_io::PacketIo;
use savin_monitor::stage::MonitorStage;
use savin_security::SecurityTables;
use savin_security::{SecurityStage, SecurityStats};

/// Next-hop targets to their index, or to the routes using them: looked up for every route
/// installed (a full table: millions of times as it loads), so hashed with ahash, several
/// times faster than std's SipHash (profiled: SipHash was a tenth of this thread's time).
type TargetMap = HashMap<Target, u32, ahash::RandomState>;

/// What the worker publishes: the monitor's streams, then the filters' and security's.
pub(crate) type Published = (
    savin_monitor::stage::Published,
    (FilterStats, SecurityStats),
);

/// The worker's features: stateless filters around security (an SRX's order), and the
/// service monitor outermost, so it sees on the way out what Savin forwards.
pub(crate) type Features =
    savin_dataplane::Chain<MonitorStage, savin_dataplane::Chain<FilterStage, SecurityStage>>;
use tracing::{debug, info, warn};

use savin_rib::{Hop, IpPrefix, NextHops, Route as RibRoute, Source};
use savin_wire::ethernet::{self as ether, ethertype};
use savin_wire::{icmp, icmp6, ipv4 as wire_ipv4, ipv6 as wire_ipv6, nd};

use crate::rate_limit::RateLimit;

use crate::route_show::RibShared;

use crate::{mask, Plan, PortPlan, Protocol, System, Target, VlanPlan};

/// Seconds since the Unix epoch (the RIB's clock: route ages).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a next-hop index stands for on the control side (the data plane sees `NextHop`).
/// Ports in targets are port slots here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    Route(Target),
    /// A resolved on-link neighbour's /32 or /128.
    Host(u16, IpAddr),
}

/// A port slot in use.
pub(crate) struct PortState {
    pub name: String,
    pub mac: [u8; 6],
    pub addrs: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses, the link-local one included (when the port has family inet6).
    pub addrs6: Vec<(Ipv6Addr, u8)>,
    pub mtu: u16,
    pub mode: PortMode,
    /// The netdev's index; None while the netdev does not exist.
    pub ifindex: Option<u32>,
    pub link_up: bool,
    /// Whether the worker has this port's I/O.
    pub attached: bool,
    pub flapped: SystemTime,
    /// Counters at the last `clear interfaces statistics`.
    pub baseline: PortCounters,
    /// Input and output bits and packets per second, over the last sample.
    pub rates: [u64; 4],
    last_sample: Option<(Instant, PortCounters)>,
    /// The slot of the port's host interface (TAP), if it has one.
    pub tap: Option<u16>,
}

type Call = Box<dyn FnOnce(&mut Control) + Send>;

/// A running forwarding engine.
pub struct Engine {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    calls: Sender<Call>,
    attached: Arc<Mutex<Vec<String>>>,
    rib: Arc<RibShared>,
}

/// A handle that runs closures on the control thread, held apart from the engine so an
/// operational command does not keep the subsystem locked (and a commit waiting) meanwhile.
#[derive(Clone)]
pub(crate) struct Caller(Sender<Call>);

impl Caller {
    /// Runs `f` on the control thread and returns its result (None if the engine stopped or
    /// did not answer within 10 s).
    pub(crate) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Control) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = channel();
        let call: Call = Box::new(move |c| {
            let _ = tx.send(f(c));
        });
        self.0.send(call).ok()?;
        rx.recv_timeout(Duration::from_secs(10)).ok()
    }
}

impl Engine {
    /// Starts the worker and control threads on Linux with no ports; `reconfigure` adds
    /// them.
    pub fn start() -> Engine {
        Engine::start_on(Arc::new(crate::Linux))
    }

    /// Starts the worker and control threads on `system`'s netdevs with no ports.
    pub fn start_on(system: Arc<dyn System>) -> Engine {
        Engine::start_with(system, Arc::default())
    }

    /// Starts the engine with `hub`'s watchers of active routes.
    pub(crate) fn start_with(system: Arc<dyn System>, hub: Arc<crate::routes::RouteHub>) -> Engine {
        let fib: Fib<u32> = Fib::new();
        let fib6: Fib<u128> = Fib::new();
        let adj = vec![NextHop::Unresolved];
        let adjacencies = Arc::new(ArcSwap::from_pointee(adj.clone()));
        let l2 = Arc::new(ArcSwap::from_pointee(L2Tables::default()));
        let security: Arc<arc_swap::ArcSwapOption<SecurityTables>> = Default::default();
        let tables = Tables {
            fib4: fib.reader(),
            fib6: fib6.reader(),
            adjacencies: adjacencies.clone(),
            l2: l2.clone(),
            security: security.clone(),
        };
        // 1024 for ARP, ND and the rest, as the queue held before; 512 beside them for the box's
        // sockets (a TCP stream to the box keeps fewer in flight; the control thread takes up to
        // 256 punts a turn).
        let (punt_tx, punt_rx) = savin_dataplane::punt_queue(1024, 512);
        let filters: Arc<arc_swap::ArcSwapOption<FilterTables>> = Default::default();
        let (to_worker, worker_rx) = channel::<ToWorker<Features>>();
        let monitor: savin_monitor::stage::SettingsHandle = Default::default();
        let features = savin_dataplane::Chain::new(
            MonitorStage::new(monitor.clone()),
            savin_dataplane::Chain::new(FilterStage::new(filters.clone()), SecurityStage::new(256)),
        );
        let mut worker =
            Worker::with_feature(Vec::new(), 256, features).with_control(punt_tx, worker_rx);
        let stats = worker.stats();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let worker_thread = std::thread::Builder::new()
            .name("savin-worker".into())
            .spawn(move || {
                // Busy for a little while after traffic (a burst's next packet is near; the
                // thread yields, so hosts sharing the core still run), then asleep in poll(2)
                // on the ports until the kernel has frames, or 1 ms passes (control-plane
                // messages and housekeeping wait at most that long).
                let mut last = Instant::now();
                while !s.load(Ordering::Relaxed) {
                    match worker.poll(&tables) {
                        Ok(0) if last.elapsed() < BUSY_AFTER_TRAFFIC => std::thread::yield_now(),
                        Ok(0) => worker.wait(1),
                        Ok(_) => last = Instant::now(),
                        Err(e) => {
                            warn!(%e, "worker error");
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                worker.publish();
            })
            .expect("spawn worker");
        let attached = Arc::new(Mutex::new(Vec::new()));
        let rib: Arc<RibShared> = Arc::new(RibShared {
            rib: hub.rib.clone(),
            hub: hub.clone(),
            ..RibShared::default()
        });
        let mut control = Control {
            ports: Vec::new(),
            free_slots: Vec::new(),
            quarantined_slots: Vec::new(),
            ifcs: Vec::new(),
            proxy_arp: Vec::new(),
            hit_base: Default::default(),
            events_lost_seen: 0,
            alarms: std::collections::HashMap::new(),
            alarms_at_ms: 0,
            history: std::collections::HashMap::new(),
            history_at_ms: 0,
            filter_log_seen: (0, 0),
            ifcs6: Vec::new(),
            fib,
            fib6,
            roles: vec![None],
            adj,
            adjacencies,
            l2,
            security,
            filters,
            monitor,
            filter_generation: 0,
            filter_key: None,
            vlans: Vec::new(),
            groups: Vec::new(),
            rib: rib.clone(),
            fed: HashMap::new(),
            absent: Vec::new(),
            descriptions: HashMap::new(),
            link_events: crate::link_events::LinkEvents::open(),
            kernel_routes: BTreeMap::new(),
            targets: TargetMap::default(),
            target_refs: TargetMap::default(),
            unused_targets: Vec::new(),
            free_nh: Vec::new(),
            quarantined_nh: Quarantine::default(),
            free_ranges: Vec::new(),
            quarantined_ranges: Quarantine::default(),
            hosts: HashMap::new(),
            arp: Arp::new(ArpConfig::default()),
            nd: Nd::new(ArpConfig::default()),
            to_worker,
            icmp_limit: RateLimit::new(1000, 200),
            icmp_sent: 0,
            nh_table_full: 0,
            rib_lag: Default::default(),
            rib_pending: Vec::new(),
            resolved: Vec::new(),
            adj_dirty: false,
            host_in: 0,
            start: Instant::now(),
            stats,
            attached: attached.clone(),
            system,
            hub,
        };
        let (calls, calls_rx) = channel::<Call>();
        let s = stop.clone();
        let control_thread = std::thread::Builder::new()
            .name("savin-fwd-ctl".into())
            .spawn(move || control.run(punt_rx, calls_rx, &s))
            .expect("spawn control");
        Engine {
            stop,
            threads: vec![worker_thread, control_thread],
            calls,
            attached,
            rib,
        }
    }

    /// Runs `f` on the control thread and returns its result (None if the engine stopped or
    /// did not answer within 10 s).
    pub(crate) fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Control) -> R + Send + 'static,
    ) -> Option<R> {
        self.caller().call(f)
    }

    /// Runs `f` on the control thread without waiting for it (a routing protocol's routes).
    pub(crate) fn post(&self, f: impl FnOnce(&mut Control) + Send + 'static) {
        let _ = self.calls.send(Box::new(f));
    }

    pub(crate) fn caller(&self) -> Caller {
        Caller(self.calls.clone())
    }

    /// The RIB, for `show route` on the asking thread.
    pub(crate) fn rib(&self) -> Arc<RibShared> {
        self.rib.clone()
    }

    /// Moves the running engine to `plan`, one change at a time. `opened` are the ports the
    /// engine did not have. False if the control thread did not finish it within 10 s.
    pub fn reconfigure(&self, plan: Plan, opened: Vec<crate::Opened>) -> bool {
        let taken = self.call(move |c| c.reconfigure(plan, opened)).is_some();
        if !taken {
            warn!("forwarding: the control thread did not take the new plan");
        }
        taken
    }

    /// The netdevs whose I/O the engine holds.
    pub fn attached(&self) -> Vec<String> {
        self.attached
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    pub fn stop(mut self) {
        self.shutdown();
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub(crate) struct Control {
    pub ports: Vec<Option<PortState>>,
    free_slots: Vec<u16>,
    /// Slots freed by the last change; reused only after the next, so a packet still in
    /// flight for the old port never leaves by a new one.
    quarantined_slots: Vec<u16>,
    ifcs: Vec<ArpInterface>,
    /// `security nat proxy-arp`: interface names and the address ranges answered there.
    proxy_arp: Vec<(String, Vec<(u32, u32)>)>,
    ifcs6: Vec<NdInterface>,
    pub fib: Fib<u32>,
    pub fib6: Fib<u128>,
    pub roles: Vec<Option<Role>>,
    pub adj: Vec<NextHop>,
    adjacencies: Arc<ArcSwap<Vec<NextHop>>>,
    l2: Arc<ArcSwap<L2Tables>>,
    pub(crate) security: Arc<arc_swap::ArcSwapOption<SecurityTables>>,
    /// Firewall filters bound to port slots (None: no filter is applied anywhere).
    pub(crate) filters: Arc<arc_swap::ArcSwapOption<FilterTables>>,
    /// The service monitor's settings (None: off).
    pub(crate) monitor: savin_monitor::stage::SettingsHandle,
    /// Bumped when the filters change (the worker's counters restart with it).
    pub(crate) filter_generation: u64,
    /// The configuration the running filters were compiled from.
    pub(crate) filter_key: Option<Arc<str>>,
    /// The VLANs, with ports as slots (for `show vlans`).
    pub vlans: Vec<VlanPlan>,
    /// Equal-cost sets by group id (members with ports as slots).
    pub groups: Vec<Vec<Target>>,
    /// Every candidate route (the active ones are what `routes` and the FIB hold), shared
    /// with the threads that answer `show route`.
    pub rib: Arc<RibShared>,
    /// What the configuration's producers gave the RIB at the last commit (ports as slots).
    fed: HashMap<(IpPrefix, Source), RibRoute>,
    /// Configured interfaces whose netdev does not exist (for `show interfaces`).
    pub absent: Vec<String>,
    /// Interface and unit descriptions from the configuration.
    pub descriptions: HashMap<String, String>,
    link_events: Option<crate::link_events::LinkEvents>,
    /// Static routes given to the kernel (prefix -> `ip route` next-hop arguments).
    kernel_routes: BTreeMap<(IpAddr, u8), Vec<String>>,
    targets: TargetMap,
    /// Installed routes per target: a target goes when its last route does.
    target_refs: TargetMap,
    /// Targets whose last route went in this change, released at its end.
    unused_targets: Vec<Target>,
    free_nh: Vec<u32>,
    quarantined_nh: Quarantine<u32>,
    /// Freed ECMP ranges (first entry, length): a group and its members are contiguous.
    free_ranges: Vec<(u32, u32)>,
    quarantined_ranges: Quarantine<(u32, u32)>,
    pub hosts: HashMap<(u16, IpAddr), u32>,
    pub arp: Arp,
    pub nd: Nd,
    pub(crate) to_worker: Sender<ToWorker<Features>>,
    icmp_limit: RateLimit,
    pub icmp_sent: u64,
    /// Routes and neighbour host routes not installed because every next-hop index the FIB
    /// can hold ([`savin_fib::MAX_NEXT_HOP`]) was taken.
    pub nh_table_full: u64,
    /// How long protocol routes took from the RIB's door to the FIB.
    pub rib_lag: crate::lag::LagHistogram,
    /// Protocol batches in the RIB whose FIB write waits for the batches queued behind them
    /// (when each arrived, and its routes), for the lag histogram.
    pub rib_pending: Vec<(std::time::Instant, u64)>,
    /// Neighbours resolved since the last [`Control::flush_resolved`]: (port, address, index)
    /// whose host routes go into the FIB once their adjacencies are published.
    resolved: Vec<(u16, IpAddr, u32)>,
    /// Adjacencies changed and not yet published.
    adj_dirty: bool,
    /// Frames handed to the kernel through host interfaces.
    pub host_in: u64,
    start: Instant,
    pub stats: Arc<Mutex<WorkerStats<Published>>>,
    /// Hits carried over from security tables a commit replaced, by rule name.
    pub(crate) hit_base: crate::hits::HitBase,
    /// Session log events the worker reported lost, as last logged.
    pub(crate) events_lost_seen: u64,
    /// The monitor's streams past a threshold (bit i: `ALARMS[i]`), and the
    /// publication they were judged on.
    pub(crate) alarms:
        std::collections::HashMap<savin_monitor::table::StreamKey, crate::monitor_show::AlarmState>,
    pub(crate) alarms_at_ms: u64,
    /// Each measured stream's history (`show ... streams history`).
    pub(crate) history: std::collections::HashMap<
        savin_monitor::table::StreamKey,
        crate::monitor_show::StreamHistory,
    >,
    pub(crate) history_at_ms: u64,
    /// Firewall log entries already written to syslog: (generation, count).
    pub(crate) filter_log_seen: (u64, u64),
    attached: Arc<Mutex<Vec<String>>>,
    /// Netdevs, port and TAP I/O, and the kernel's side (`ip`).
    pub(crate) system: Arc<dyn System>,
    /// Who watches the active routes (routing protocols' export).
    pub(crate) hub: Arc<crate::routes::RouteHub>,
}

impl Control {
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn run(
        &mut self,
        punts: savin_dataplane::PuntReceiver,
        calls: Receiver<Call>,
        stop: &AtomicBool,
    ) {
        let mut last_monitor = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            match punts.recv_timeout(Duration::from_millis(10)) {
                Ok(p) => {
                    self.handle(p);
                    for p in punts.try_iter().take(255) {
                        self.handle(p);
                    }
                    self.flush_resolved();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(call) = calls.try_recv() {
                call(self);
            }
            self.log_sessions();
            self.monitor_alarms();
            self.monitor_history();
            self.syslog_filters();
            let acts = self.arp.tick(&self.ifcs, self.now());
            self.apply(acts);
            let acts = self.nd.tick(&self.ifcs6, self.now());
            self.apply(acts);
            self.flush_resolved();
            // A link event: act on it now (routes withdrawn or back within milliseconds);
            // the once-a-second pass below also samples rates.
            if self.link_events.as_ref().is_some_and(|l| l.wait(0)) {
                self.monitor_links();
            }
            if last_monitor.elapsed() >= Duration::from_secs(1) {
                last_monitor = Instant::now();
                self.monitor_links();
            }
        }
    }

    // ---- ports --------------------------------------------------------------------------

    pub(crate) fn port(&self, slot: u16) -> Option<&PortState> {
        self.ports.get(usize::from(slot)).and_then(Option::as_ref)
    }

    fn ifc(&self, slot: u16) -> Option<&ArpInterface> {
        self.ifcs.iter().find(|i| i.port == slot)
    }

    fn ifc6(&self, slot: u16) -> Option<&NdInterface> {
        self.ifcs6.iter().find(|i| i.port == slot)
    }

    fn rebuild_ifcs(&mut self) {
        self.ifcs = self
            .ports
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.as_ref()
                    .filter(|p| !matches!(p.mode, PortMode::Host { .. }))
                    .map(|p| ArpInterface {
                        port: i as u16,
                        mac: p.mac,
                        addrs: p.addrs.clone(),
                        proxy: self
                            .proxy_arp
                            .iter()
                            .filter(|(n, _)| port_name(n) == p.name)
                            .flat_map(|(_, r)| r.iter().copied())
                            .collect(),
                    })
            })
            .collect();
        self.ifcs6 = self
            .ports
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.as_ref()
                    .filter(|p| !p.addrs6.is_empty())
                    .map(|p| NdInterface {
                        port: i as u16,
                        mac: p.mac,
                        addrs: p.addrs6.clone(),
                    })
            })
            .collect();
        let names = self.ports.iter().flatten().filter(|p| p.attached);
        *self.attached.lock().unwrap_or_else(|e| e.into_inner()) =
            names.map(|p| p.name.clone()).collect();
        self.rib.names.store(Arc::new(
            self.ports
                .iter()
                .map(|p| p.as_ref().map_or_else(String::new, |p| p.name.clone()))
                .collect(),
        ));
    }

    fn alloc_slot(&mut self) -> u16 {
        if let Some(s) = self.free_slots.pop() {
            return s;
        }
        self.ports.push(None);
        (self.ports.len() - 1) as u16
    }

    fn attach(&mut self, slot: u16, io: Box<dyn PacketIo>) {
        if let Some(p) = self.port(slot) {
            // The kernel's knobs are the netdev's (`eth1`), not the Junos name it is bound
            // to (`ge-0/0/0`): with an interface map they were written to no file, and the
            // kernel answered on the port behind the data plane's back (host-inbound-traffic
            // bypassed).
            let dev = self
                .system
                .netdev_name(&p.name)
                .unwrap_or_else(|| p.name.clone());
            // The netdev is Savin's now: the kernel must not speak IPv6 on it too (its own
            // link-local address, router solicitations, MLD). The host interface (TAP)
            // carries the kernel's side.
            let knob = format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6");
            if std::fs::write(&knob, "1").is_err() {
                warn!(interface = %p.name, netdev = %dev, "could not disable the kernel's IPv6");
            }
            // Nor IPv4: the kernel holds the port's addresses on the TAP, and by the weak host
            // model it would answer ARP and pings for them on this netdev too, behind the
            // data plane's back (and past security). No ARP answers here, and strict reverse
            // path filtering drops what arrives (no route points out of this netdev).
            if !matches!(p.mode, PortMode::Host { .. }) {
                for (knob, v) in [("arp_ignore", "8"), ("rp_filter", "1")] {
                    let path = format!("/proc/sys/net/ipv4/conf/{dev}/{knob}");
                    if std::fs::write(&path, v).is_err() {
                        warn!(interface = %p.name, netdev = %dev, knob, "could not set");
                    }
                }
            }
            if !matches!(p.mode, PortMode::Host { .. }) && !savin_io::af_packet::set_up(&dev) {
                warn!(interface = %p.name, "could not bring the interface up");
            }
            // Merged super-frames cannot be forwarded as they are: no GRO on our ports.
            if !matches!(p.mode, PortMode::Host { .. }) && !savin_io::af_packet::disable_gro(&dev) {
                debug!(interface = %p.name, "GRO could not be turned off");
            }
        }
        let _ = self.to_worker.send(ToWorker::SetPort {
            port: slot,
            io: Some(io),
        });
        if let Some(p) = self.ports[usize::from(slot)].as_mut() {
            p.attached = true;
            p.last_sample = None;
            // Just brought up: a veth's carrier follows at once, a NIC's within a second
            // (the link monitor then installs its routes).
            if !matches!(p.mode, PortMode::Irb { .. } | PortMode::Host { .. }) {
                p.link_up = self.system.netdev(&p.name).is_some_and(|d| d.carrier);
            }
        }
        self.announce(slot);
    }

    /// Gratuitous ARP, and for IPv6 a DAD probe and an unsolicited advertisement, for each
    /// address of the port, as a router does when an address comes up.
    fn announce(&mut self, slot: u16) {
        let mut frames = Vec::new();
        if let Some(ifc) = self.ifc(slot) {
            frames.extend(ifc.addrs.iter().map(|(a, _)| Arp::gratuitous(ifc, *a)));
        }
        if let Some(ifc) = self.ifc6(slot) {
            for (a, _) in &ifc.addrs {
                frames.push(Nd::dad_probe(ifc, *a));
                frames.push(Nd::unsolicited_na(ifc, *a));
            }
        }
        for frame in frames {
            let _ = self.to_worker.send(ToWorker::Send { port: slot, frame });
        }
    }

    fn remove_port(&mut self, slot: u16) {
        self.remove_tap(slot);
        let _ = self.to_worker.send(ToWorker::SetPort {
            port: slot,
            io: None,
        });
        let v4 = self.arp.forget(slot, |_| false).into_iter().map(IpAddr::V4);
        let v6 = self.nd.forget(slot, |_| false).into_iter().map(IpAddr::V6);
        self.remove_hosts(slot, v4.chain(v6).collect());
        if let Some(p) = self.ports[usize::from(slot)].take() {
            info!(interface = %p.name, "forwarding: port removed");
        }
        self.quarantined_slots.push(slot);
    }

    fn update_port(&mut self, slot: u16, pp: &PortPlan) {
        let addrs6 = port_addrs6(pp);
        let Some(p) = self.ports[usize::from(slot)].as_mut() else {
            return;
        };
        let addrs_changed = p.addrs != pp.addrs || p.addrs6 != addrs6;
        let l2_changed = p.mtu != pp.mtu || p.mac != pp.mac;
        p.addrs.clone_from(&pp.addrs);
        p.addrs6.clone_from(&addrs6);
        p.mtu = pp.mtu;
        p.mac = pp.mac;
        p.mode = pp.mode;
        let (mac, mtu) = (p.mac, p.mtu);
        if l2_changed {
            for a in &mut self.adj {
                if let NextHop::Forward(x) = a {
                    if x.port == slot {
                        x.src_mac = mac;
                        x.mtu = mtu;
                    }
                }
            }
        }
        if addrs_changed {
            let v4 = pp.addrs.clone();
            let on_link = move |ip: Ipv4Addr| {
                v4.iter()
                    .any(|(a, l)| mask(IpAddr::V4(*a), *l) == mask(IpAddr::V4(ip), *l))
            };
            let gone: Vec<IpAddr> = self
                .arp
                .forget(slot, on_link)
                .into_iter()
                .map(IpAddr::V4)
                .collect();
            self.remove_hosts(slot, gone);
            let on_link6 = move |ip: Ipv6Addr| {
                addrs6
                    .iter()
                    .any(|(a, l)| mask(IpAddr::V6(*a), *l) == mask(IpAddr::V6(ip), *l))
            };
            let gone: Vec<IpAddr> = self
                .nd
                .forget(slot, on_link6)
                .into_iter()
                .map(IpAddr::V6)
                .collect();
            self.remove_hosts(slot, gone);
        }
        self.rebuild_ifcs();
        if addrs_changed || l2_changed {
            self.configure_tap(slot);
        }
        if addrs_changed {
            self.announce(slot);
        }
    }

    /// Once a second: link state, netdevs that went away or came back, and rates. A change
    /// of link state chooses the routes again.
    fn monitor_links(&mut self) {
        let mut changed = false;
        let stats = self
            .stats
            .lock()
            .map(|s| s.ports.clone())
            .unwrap_or_default();
        let now = Instant::now();
        for slot in 0..self.ports.len() {
            let Some(p) = self.ports[slot].as_mut() else {
                continue;
            };
            if matches!(
                p.mode,
                PortMode::Irb { .. } | PortMode::Host { .. } | PortMode::Loopback
            ) {
                continue;
            }
            let dev = self.system.netdev(&p.name);
            let ifindex = dev.map(|d| d.ifindex);
            let up = dev.is_some_and(|d| d.carrier);
            if up != p.link_up {
                p.link_up = up;
                p.flapped = SystemTime::now();
                info!(interface = %p.name, up, "link state changed");
                changed = true;
            }
            if let Some(c) = stats.get(slot) {
                if let Some((t, last)) = p.last_sample {
                    let secs = now.duration_since(t).as_secs_f64().max(0.001);
                    let per_s = |a: u64, b: u64| (a.saturating_sub(b) as f64 / secs) as u64;
                    p.rates = [
                        per_s(c.rx_bytes, last.rx_bytes) * 8,
                        per_s(c.rx_packets, last.rx_packets),
                        per_s(c.tx_bytes, last.tx_bytes) * 8,
                        per_s(c.tx_packets, last.tx_packets),
                    ];
                }
                p.last_sample = Some((now, *c));
            }
            let name = p.name.clone();
            match (ifindex, p.ifindex, p.attached) {
                (None, _, true) => {
                    warn!(interface = %name, "netdev went away: port down");
                    p.attached = false;
                    p.ifindex = None;
                    let _ = self.to_worker.send(ToWorker::SetPort {
                        port: slot as u16,
                        io: None,
                    });
                    self.rebuild_ifcs();
                }
                (Some(new), old, attached) if !attached || old != Some(new) => {
                    match self.system.open_port(&name) {
                        Ok(io) => {
                            info!(interface = %name, "netdev present: port attached");
                            if let Some(p) = self.ports[slot].as_mut() {
                                p.ifindex = Some(new);
                            }
                            self.attach(slot as u16, io);
                            self.rebuild_ifcs();
                        }
                        Err(e) => debug!(interface = %name, %e, "cannot attach yet"),
                    }
                }
                _ => {}
            }
        }
        if changed {
            self.sync_interfaces();
            self.apply_rib();
        }
    }

    // ---- next hops and routes -----------------------------------------------------------

    fn adjacency(&self, port: u16, mac: [u8; 6]) -> Option<NextHop> {
        let p = self.port(port)?;
        Some(NextHop::Forward(Adjacency {
            port,
            dst_mac: mac,
            src_mac: p.mac,
            mtu: p.mtu,
        }))
    }

    /// A next-hop index for `role`: a freed one, or a new one while the FIB can hold it
    /// (None when all [`savin_fib::MAX_NEXT_HOP`] are taken; 65k neighbours on a LAN that
    /// answers for a whole /15 get there).
    fn alloc_nh(&mut self, role: Role, nh: NextHop) -> Option<u32> {
        self.free_nh.extend(self.quarantined_nh.release());
        if let Some(i) = self.free_nh.pop() {
            self.roles[i as usize] = Some(role);
            self.adj[i as usize] = nh;
            return Some(i);
        }
        let i = u32::try_from(self.roles.len())
            .ok()
            .filter(|i| *i <= savin_fib::MAX_NEXT_HOP)?;
        self.roles.push(Some(role));
        self.adj.push(nh);
        Some(i)
    }

    /// Counts a route that found no next-hop index, and says so in the log now and then
    /// (at the 1st, 2nd, 4th, 8th... time: a flood of neighbours must not flood the log).
    fn no_next_hop(&mut self, dst: IpAddr, len: u8) {
        self.nh_table_full += 1;
        if self.nh_table_full.is_power_of_two() {
            warn!(
                route = %format!("{dst}/{len}"),
                refused = self.nh_table_full,
                "next-hop table full: route not installed"
            );
        }
    }

    /// The data plane's view of a single (non-group) target.
    fn next_hop_of(&self, t: Target) -> NextHop {
        match t {
            Target::Connected(p) => NextHop::Resolve { port: p },
            Target::Local(_) => NextHop::Local,
            Target::Via(p, gw) => self
                .lookup(p, gw)
                .and_then(|mac| self.adjacency(p, mac))
                .unwrap_or(NextHop::Resolve { port: p }),
            Target::Discard => NextHop::Discard,
            Target::Reject => NextHop::Reject,
            Target::Ecmp(_) | Target::Unresolved(_) => NextHop::Unresolved,
        }
    }

    fn intern(&mut self, t: Target) -> Option<u32> {
        if let Some(&i) = self.targets.get(&t) {
            return Some(i);
        }
        if let Target::Ecmp(g) = t {
            // A group and its members, contiguous at the end of the table: the group entry
            // first, then one entry per member (updated like any next hop as neighbours
            // resolve).
            let members = self.groups[g as usize].clone();
            let i = self.alloc_range(members.len() as u32 + 1)?;
            self.roles[i as usize] = Some(Role::Route(t));
            self.adj[i as usize] = NextHop::Group {
                base: i + 1,
                n: members.len() as u16,
            };
            for (k, m) in members.into_iter().enumerate() {
                let e = i as usize + 1 + k;
                self.roles[e] = Some(Role::Route(m));
                self.adj[e] = self.next_hop_of(m);
            }
            self.targets.insert(t, i);
            return Some(i);
        }
        let nh = self.next_hop_of(t);
        let i = self.alloc_nh(Role::Route(t), nh)?;
        self.targets.insert(t, i);
        Some(i)
    }

    /// `len` contiguous next-hop entries for an ECMP group: a freed range that is long
    /// enough (first fit, the rest kept free), or new ones at the end while the FIB can hold
    /// them.
    fn alloc_range(&mut self, len: u32) -> Option<u32> {
        let released: Vec<(u32, u32)> = self.quarantined_ranges.release().collect();
        if !released.is_empty() {
            // Neighbouring free ranges become one, so that groups of other sizes fit.
            self.free_ranges.extend(released);
            self.free_ranges.sort_unstable();
            let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.free_ranges.len());
            for (start, n) in self.free_ranges.drain(..) {
                match merged.last_mut() {
                    Some((s, m)) if *s + *m == start => *m += n,
                    _ => merged.push((start, n)),
                }
            }
            self.free_ranges = merged;
        }
        if let Some(pos) = self.free_ranges.iter().position(|&(_, n)| n >= len) {
            let (start, n) = self.free_ranges.swap_remove(pos);
            match n - len {
                0 => {}
                // Too short for a group (a group and two members at least): a single entry.
                1 => self.free_nh.push(start + len),
                rest => self.free_ranges.push((start + len, rest)),
            }
            return Some(start);
        }
        let start = self.roles.len();
        if start + len as usize > savin_fib::MAX_NEXT_HOP as usize + 1 {
            return None;
        }
        self.roles.resize(start + len as usize, None);
        self.adj.resize(start + len as usize, NextHop::Unresolved);
        Some(start as u32)
    }

    /// The engine's group id of an equal-cost set (ports as slots), made if new (in the
    /// place of a group no route uses any more, if there is one).
    fn group(&mut self, members: Vec<Target>) -> u32 {
        if let Some(g) = self.groups.iter().position(|m| *m == members) {
            return g as u32;
        }
        if let Some(g) = self.groups.iter().position(Vec::is_empty) {
            self.groups[g] = members;
            return g as u32;
        }
        self.groups.push(members);
        (self.groups.len() - 1) as u32
    }

    fn lookup(&self, port: u16, ip: IpAddr) -> Option<[u8; 6]> {
        match ip {
            IpAddr::V4(ip) => self.arp.lookup(port, ip),
            IpAddr::V6(ip) => self.nd.lookup(port, ip),
        }
    }

    /// Installs `dst/len` → `nh`; false (logged, nothing changed) if the FIB refuses it.
    fn fib_insert(&mut self, dst: IpAddr, len: u8, nh: u32) -> bool {
        let done = match dst {
            IpAddr::V4(a) => self.fib.insert(u32::from(a), len, nh),
            IpAddr::V6(a) => self.fib6.insert(u128::from(a), len, nh),
        };
        if let Err(e) = done {
            warn!(route = %format!("{dst}/{len}"), %e, "route not installed");
        }
        done.is_ok()
    }

    fn fib_remove(&mut self, dst: IpAddr, len: u8) {
        match dst {
            IpAddr::V4(a) => self.fib.remove(u32::from(a), len),
            IpAddr::V6(a) => self.fib6.remove(u128::from(a), len),
        };
    }

    fn publish(&self) {
        self.adjacencies.store(Arc::new(self.adj.clone()));
    }

    /// Moves the tables to `plan` by differences: each route added, replaced or removed in
    /// place, each port attached or detached alone. Readers never see a table without the
    /// routes that the change does not touch.
    fn reconfigure(&mut self, plan: Plan, opened: Vec<(String, Box<dyn PacketIo>)>) {
        self.free_slots.append(&mut self.quarantined_slots);
        let mut opened: HashMap<String, Box<dyn PacketIo>> = opened.into_iter().collect();
        // Ports.
        for slot in 0..self.ports.len() {
            // Host interfaces go with their ports, not by name.
            let gone = self.ports[slot].as_ref().is_some_and(|p| {
                !matches!(p.mode, PortMode::Host { .. })
                    && !plan.ports.iter().any(|pp| pp.name == p.name)
            });
            if gone {
                self.remove_port(slot as u16);
            }
        }
        let mut slot_of = Vec::with_capacity(plan.ports.len());
        for pp in &plan.ports {
            let existing = self
                .ports
                .iter()
                .position(|p| p.as_ref().is_some_and(|p| p.name == pp.name));
            let slot = match existing {
                Some(s) => {
                    self.update_port(s as u16, pp);
                    s as u16
                }
                None => {
                    let s = self.alloc_slot();
                    let dev = self.system.netdev(&pp.name);
                    self.ports[usize::from(s)] = Some(PortState {
                        name: pp.name.clone(),
                        mac: pp.mac,
                        addrs: pp.addrs.clone(),
                        addrs6: port_addrs6(pp),
                        mtu: pp.mtu,
                        mode: pp.mode,
                        ifindex: dev.map(|d| d.ifindex),
                        link_up: dev.is_some_and(|d| d.carrier),
                        attached: false,
                        flapped: SystemTime::now(),
                        baseline: PortCounters::default(),
                        rates: [0; 4],
                        last_sample: None,
                        tap: None,
                    });
                    self.rebuild_ifcs();
                    self.create_tap(s);
                    s
                }
            };
            if let Some(io) = opened.remove(&pp.name) {
                self.attach(slot, io);
            } else if matches!(pp.mode, PortMode::Irb { .. } | PortMode::Loopback) {
                // An IRB has no netdev: it is up, and speaks through its VLAN's bridge. lo0
                // is up and on no wire (nothing to announce).
                if let Some(p) = self.ports[usize::from(slot)].as_mut() {
                    let fresh = !p.attached;
                    p.attached = true;
                    p.link_up = true;
                    if fresh {
                        self.rebuild_ifcs();
                        if pp.mode != PortMode::Loopback {
                            self.announce(slot);
                        }
                    }
                }
            }
            slot_of.push(slot);
        }
        self.rebuild_ifcs();
        self.publish_l2(&plan, &slot_of);
        self.publish_security(&plan);
        self.publish_filters(&plan);
        // The same settings keep the pointer: the worker keeps its monitor as it is.
        let same = match (self.monitor.load_full(), &plan.monitor.0) {
            (Some(a), Some(b)) => *a == **b,
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.monitor.store(plan.monitor.0.clone());
        }
        self.rib.policies.store(plan.policies.0.clone());
        self.absent.clone_from(&plan.absent);
        self.descriptions = plan.descriptions.iter().cloned().collect();
        self.sync_interfaces();
        self.feed_rib(&plan, &slot_of);
        self.apply_rib();
    }

    /// Whether a port can carry traffic now: its link is up (an IRB always is).
    fn usable(&self, slot: u16) -> bool {
        self.port(slot).is_some_and(|p| p.link_up && p.attached)
    }

    /// Tells the RIB which ports can carry traffic (a no-op for those that did not change).
    fn sync_interfaces(&mut self) {
        let shared = self.rib.clone();
        let mut rib = shared.write();
        for slot in 0..self.ports.len() as u16 {
            rib.set_interface(u32::from(slot), self.usable(slot));
        }
    }

    /// The configuration's producers (direct and local routes of the ports, static routes)
    /// hand the RIB what changed since the last commit: routes that are the same are not
    /// touched, so the RIB and the FIB change only where the configuration did.
    fn feed_rib(&mut self, plan: &Plan, slot_of: &[u16]) {
        let slot = |p: u16| u32::from(slot_of[usize::from(p)]);
        let hop = |t: &Target| match *t {
            Target::Connected(p) => Some(Hop::Connected(slot(p))),
            Target::Local(p) => Some(Hop::Local(slot(p))),
            Target::Via(p, gw) => Some(Hop::Gateway(slot(p), gw)),
            Target::Discard => Some(Hop::Discard),
            Target::Reject => Some(Hop::Reject),
            Target::Unresolved(gw) => Some(Hop::Unresolved(gw)),
            Target::Ecmp(_) => None,
        };
        let mut fed: HashMap<(IpPrefix, Source), RibRoute> =
            HashMap::with_capacity(plan.routes.len());
        for r in &plan.routes {
            let hops = match r.target {
                Target::Ecmp(g) => NextHops::new(plan.groups[g as usize].iter().filter_map(hop)),
                t => NextHops::new(hop(&t)),
            };
            // Direct and local routes are told apart by port, statics by preference level.
            let id = match r.target {
                Target::Connected(p) | Target::Local(p) if r.protocol != Protocol::Static => {
                    slot(p)
                }
                _ => r.preference,
            };
            let route = RibRoute {
                preference: r.preference,
                metric: 0,
                hops,
            };
            fed.insert(
                (IpPrefix::new(r.dst, r.len), Source::new(r.protocol, id)),
                route,
            );
        }
        let shared = self.rib.clone();
        let mut rib = shared.write();
        rib.set_time(unix_now());
        for (k, _) in self.fed.iter().filter(|(k, _)| !fed.contains_key(k)) {
            rib.update(k.0, k.1, None);
        }
        for (k, r) in &fed {
            if self.fed.get(k) != Some(r) {
                rib.update(k.0, k.1, Some(r.clone()));
            }
        }
        self.fed = fed;
    }

    /// The data plane's target for a set of usable hops: one hop, or an equal-cost group.
    fn target_of(&mut self, hops: &NextHops) -> Option<Target> {
        let t = |h: &Hop| match *h {
            Hop::Connected(p) => Some(Target::Connected(p as u16)),
            Hop::Local(p) => Some(Target::Local(p as u16)),
            Hop::Gateway(p, gw) => Some(Target::Via(p as u16, gw)),
            Hop::Discard => Some(Target::Discard),
            Hop::Reject => Some(Target::Reject),
            Hop::Unresolved(_) => None,
        };
        let members: Vec<Target> = hops.hops().iter().filter_map(t).collect();
        match members.len() {
            0 => None,
            1 => Some(members[0]),
            _ => Some(Target::Ecmp(self.group(members))),
        }
    }

    /// Applies what the RIB chose since the last call: next hops first (visible before any
    /// route points at them), then the FIB in one batch per family, then next hops no route
    /// uses any more. Only the prefixes that changed are touched.
    pub(crate) fn apply_rib(&mut self) -> usize {
        // Under the write lock only as long as the drain takes; the FIB is written after.
        type Update = (IpAddr, u8, Option<(NextHops, Protocol)>);
        let updates: Vec<Update> = {
            let mut rib = self.rib.write();
            let drained = rib.drain_fib_updates();
            drained
                .into_iter()
                .map(|u| {
                    let active = u.active.map(|a| (rib.usable_hops(&a), a.protocol));
                    (u.prefix.ip(), u.prefix.length(), active)
                })
                .collect()
        };
        if updates.is_empty() {
            return 0;
        }
        let n = updates.len();
        if self.hub.has_watchers() {
            let changes = updates
                .iter()
                .map(|(dst, len, a)| {
                    self.active_change(
                        IpPrefix::new(*dst, *len),
                        a.as_ref().map(|(h, p)| (h.clone(), *p, 0)),
                    )
                })
                .collect();
            self.hub.notify(changes);
        }
        // Per prefix: the installed route it gets (target, protocol, next-hop index), or none.
        type Change = (IpAddr, u8, Option<(Target, Protocol, u32)>);
        let mut changes: Vec<Change> = Vec::with_capacity(updates.len());
        for (dst, len, active) in updates {
            let Some((hops, protocol)) = active else {
                changes.push((dst, len, None));
                continue;
            };
            let Some(t) = self.target_of(&hops) else {
                changes.push((dst, len, None));
                continue;
            };
            match self.intern(t) {
                Some(nh) => {
                    *self.target_refs.entry(t).or_default() += 1;
                    changes.push((dst, len, Some((t, protocol, nh))));
                }
                None => {
                    // No index for its next hop: not installed (an older route to the same
                    // prefix goes, rather than forward where the configuration no longer says).
                    self.no_next_hop(dst, len);
                    changes.push((dst, len, None));
                }
            }
        }
        self.publish();
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        let mut kernel = Vec::new();
        for (dst, len, new) in changes {
            let key = (dst, len);
            // What the FIB holds is the record of what was installed (no copy of a full
            // table here): a route's next-hop index has a route's role.
            if let Some(old) = self.installed(dst, len) {
                self.unref_target(old);
            }
            // The kernel hears of static routes through gateways (those it was given, and
            // those to give it).
            if self.kernel_routes.contains_key(&key) || new.is_some_and(|n| n.1 == Protocol::Static)
            {
                let target = new.filter(|n| n.1 == Protocol::Static).map(|n| n.0);
                kernel.push((key, target));
            }
            // A neighbour's own host route comes back when a configured one over it goes.
            let nh = new.map(|n| n.2).or_else(|| {
                self.hosts
                    .iter()
                    .find(|((_, h), _)| (*h, host_len(*h)) == key)
                    .map(|(_, &idx)| idx)
            });
            match dst {
                IpAddr::V4(a) => v4.push((u32::from(a), len, nh)),
                IpAddr::V6(a) => v6.push((u128::from(a), len, nh)),
            }
        }
        if let Err(e) = self.fib.apply(v4) {
            warn!(%e, "IPv4 routes not installed");
        }
        if let Err(e) = self.fib6.apply(v6) {
            warn!(%e, "IPv6 routes not installed");
        }
        self.sync_kernel_routes(&kernel);
        self.release_unused_targets();
        self.publish();
        debug!(
            routes = self.fib.len() + self.fib6.len(),
            ports = self.ports.iter().flatten().count(),
            "forwarding: tables updated"
        );
        n
    }

    fn unref_target(&mut self, t: Target) {
        if let Some(n) = self.target_refs.get_mut(&t) {
            *n -= 1;
            if *n == 0 {
                self.target_refs.remove(&t);
                self.unused_targets.push(t);
            }
        }
    }

    /// Next hops no route uses any more leave their indices (after a quarantine) and their
    /// groups' ids.
    fn release_unused_targets(&mut self) {
        for t in std::mem::take(&mut self.unused_targets) {
            if self.target_refs.contains_key(&t) {
                continue; // used again since
            }
            let Some(i) = self.targets.remove(&t) else {
                continue;
            };
            if let Target::Ecmp(g) = t {
                let n = self.groups[g as usize].len() as u32;
                for e in i..=i + n {
                    self.roles[e as usize] = None;
                    self.adj[e as usize] = NextHop::Unresolved;
                }
                self.quarantined_ranges.hold((i, n + 1));
                self.groups[g as usize].clear();
                continue;
            }
            self.roles[i as usize] = None;
            self.adj[i as usize] = NextHop::Unresolved;
            self.quarantined_nh.hold(i);
        }
    }

    /// Zones by port slot, host-inbound allowances and the compiled policies for the data
    /// plane (None when no zones are configured: nothing is filtered).
    fn publish_security(&mut self, plan: &Plan) {
        let proxy_arp = plan
            .security
            .0
            .as_ref()
            .map(|s| s.nat.proxy_arp.clone())
            .unwrap_or_default();
        if proxy_arp != self.proxy_arp {
            self.proxy_arp = proxy_arp;
            self.rebuild_ifcs();
        }
        // The worker's hits count against the tables being replaced: keep them by name.
        self.fold_hits();
        let Some(spec) = &plan.security.0 else {
            self.security.store(None);
            return;
        };
        let zone_of_port = self
            .ports
            .iter()
            .map(|p| {
                p.as_ref()
                    .filter(|p| !matches!(p.mode, PortMode::Host { .. }))
                    .and_then(|p| spec.zone_of_port.get(&p.name).copied())
            })
            .collect();
        let host_inbound = self
            .ports
            .iter()
            .map(|p| {
                p.as_ref()
                    .and_then(|p| spec.host_inbound.get(&p.name).copied())
                    .unwrap_or_default()
            })
            .collect();
        let mut nat = spec.nat.clone();
        nat.bind(&|ifl| self.slot_named(port_name(ifl)));
        let port_addr = self
            .ports
            .iter()
            .map(|p| {
                p.as_ref()
                    .and_then(|p| p.addrs.first())
                    .map_or(0, |(a, _)| u32::from(*a))
            })
            .collect();
        self.security.store(Some(Arc::new(SecurityTables {
            policy: spec.policy.clone(),
            zone_of_port,
            host_inbound,
            sessions: spec.sessions,
            nat: Arc::new(nat),
            port_addr,
            screens: spec.screens.clone(),
            screen_of_zone: spec.screen_of_zone.clone(),
            tcp_rst: spec.tcp_rst.clone(),
            ipv6_packet_based: spec.ipv6_packet_based,
        })));
    }

    /// The slot of the port called `name`.
    fn slot_named(&self, name: &str) -> Option<u16> {
        self.ports
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.name == name))
            .map(|i| i as u16)
    }

    /// The filters for the data plane, their interfaces turned into port slots. The same
    /// compiled filters (a commit that left `firewall` and the bindings alone) keep their
    /// generation, and so their counters.
    fn publish_filters(&mut self, plan: &Plan) {
        let Some((key, spec)) = &plan.filters.0 else {
            self.filters.store(None);
            self.filter_key = None;
            return;
        };
        // The same configuration: the filters running stay (bound again: ports may move).
        let running = self.filters.load_full().map(|t| t.spec.clone());
        let spec = match running {
            Some(r) if self.filter_key.as_ref() == Some(key) => r,
            _ => {
                self.filter_generation += 1;
                self.filter_key = Some(key.clone());
                spec.clone()
            }
        };
        self.filters.store(Some(Arc::new(FilterTables::bind(
            spec,
            self.ports.len(),
            self.filter_generation,
            &|name| self.slot_named(name),
        ))));
    }

    /// Port modes and VLANs for the data plane, with plan ports turned into slots.
    fn publish_l2(&mut self, plan: &Plan, slot_of: &[u16]) {
        let mut l2 = L2Tables {
            ports: self
                .ports
                .iter()
                .map(|p| p.as_ref().map_or(PortMode::Routed, |p| p.mode))
                .collect(),
            host_tap: self
                .ports
                .iter()
                .map(|p| p.as_ref().and_then(|p| p.tap))
                .collect(),
            ..L2Tables::default()
        };
        self.vlans = plan
            .vlans
            .iter()
            .map(|v| VlanPlan {
                members: v
                    .members
                    .iter()
                    .map(|(p, t)| (slot_of[usize::from(*p)], *t))
                    .collect(),
                irb: v.irb.map(|p| slot_of[usize::from(p)]),
                ..v.clone()
            })
            .collect();
        for v in &self.vlans {
            l2.vlans[usize::from(v.vid)] = Some(VlanInfo {
                members: v.members.clone(),
                irb: v.irb.and_then(|s| self.port(s).map(|p| (s, p.mac))),
                mac_limit: v.mac_limit,
            });
        }
        self.l2.store(Arc::new(l2));
    }

    /// The target of the route installed for exactly `dst/len` (None: none, or only a
    /// neighbour's host route).
    pub(crate) fn installed(&self, dst: IpAddr, len: u8) -> Option<Target> {
        let idx = match dst {
            IpAddr::V4(a) => self.fib.get(u32::from(a), len),
            IpAddr::V6(a) => self.fib6.get(u128::from(a), len),
        }?;
        match self.roles.get(idx as usize) {
            Some(Some(Role::Route(t))) => Some(*t),
            _ => None,
        }
    }

    /// The kernel's side (the host interfaces) gets the installed static routes through
    /// gateways, so the box's own sockets can answer hosts beyond the connected subnets
    /// (`ip route replace ... proto static`, for the prefixes that changed; a slow path).
    fn sync_kernel_routes(&mut self, keys: &[((IpAddr, u8), Option<Target>)]) {
        let system = self.system.clone();
        let run = |args: Vec<String>| {
            if let Err(err) = system.ip(&args) {
                debug!(cmd = ?args, %err, "kernel route");
            }
        };
        let route = |verb: &str, k: &(IpAddr, u8)| -> Vec<String> {
            let prefix = format!("{}/{}", k.0, k.1);
            ["route", verb, prefix.as_str(), "proto", "static"]
                .map(String::from)
                .to_vec()
        };
        for (k, target) in keys {
            let want = target.and_then(|t| self.kernel_args(t));
            if self.kernel_routes.get(k) == want.as_ref() {
                continue;
            }
            match want {
                Some(args) => {
                    let mut cmd = route("replace", k);
                    cmd.extend(args.iter().cloned());
                    run(cmd);
                    self.kernel_routes.insert(*k, args);
                }
                None => {
                    run(route("del", k));
                    self.kernel_routes.remove(k);
                }
            }
        }
    }

    /// The `ip route` next-hop arguments for an installed static route through gateways.
    fn kernel_args(&self, target: Target) -> Option<Vec<String>> {
        let members = match target {
            Target::Ecmp(g) => self.groups[g as usize].clone(),
            t => vec![t],
        };
        let hops: Vec<(IpAddr, String)> = members
            .iter()
            .filter_map(|m| match m {
                Target::Via(p, gw) => {
                    let tap = self.port(*p)?.tap?;
                    Some((*gw, self.port(tap)?.name.clone()))
                }
                _ => None,
            })
            .collect();
        match hops.as_slice() {
            [] => None,
            [(gw, dev)] => Some(vec![
                "via".into(),
                gw.to_string(),
                "dev".into(),
                dev.clone(),
            ]),
            many => Some(
                many.iter()
                    .flat_map(|(gw, dev)| {
                        ["nexthop", "via", &gw.to_string(), "dev", dev].map(String::from)
                    })
                    .collect(),
            ),
        }
    }

    /// `clear ethernet-switching table`.
    pub fn clear_fdb(&mut self) {
        let _ = self.to_worker.send(ToWorker::ClearFdb);
    }

    /// Removes neighbours (their host routes and adjacencies; gateways among them go back to
    /// being resolved) and publishes the adjacencies once for all of them.
    fn remove_hosts(&mut self, port: u16, ips: Vec<IpAddr>) {
        for ip in ips {
            self.forget_host(port, ip);
        }
        self.publish();
    }

    /// Whether a route's next hop (alone or in an equal-cost set) is `ip` on `port`: only
    /// then does its resolution touch entries other than its own host route's.
    fn is_gateway(&self, port: u16, ip: IpAddr) -> bool {
        let t = Target::Via(port, ip);
        self.targets.contains_key(&t) || self.groups.iter().any(|g| g.contains(&t))
    }

    /// Publishes the adjacencies changed by a burst of resolutions, once, and then installs
    /// the host routes that point at them (a worker never sees a route before its
    /// adjacency). One publication per neighbour would copy the whole next-hop table each
    /// time: a LAN of 65k neighbours took minutes to learn.
    fn flush_resolved(&mut self) {
        if self.adj_dirty {
            self.publish();
            self.adj_dirty = false;
        }
        for (port, ip, idx) in std::mem::take(&mut self.resolved) {
            // Forgotten (or moved to another index) since: nothing to install.
            if self.hosts.get(&(port, ip)) == Some(&idx)
                && self.installed(ip, host_len(ip)).is_none()
            {
                self.fib_insert(ip, host_len(ip), idx);
            }
        }
    }

    fn forget_host(&mut self, port: u16, ip: IpAddr) {
        if self.is_gateway(port, ip) {
            for (i, r) in self.roles.iter().enumerate() {
                if *r == Some(Role::Route(Target::Via(port, ip))) {
                    self.adj[i] = NextHop::Resolve { port };
                }
            }
        }
        if let Some(idx) = self.hosts.remove(&(port, ip)) {
            if self.installed(ip, host_len(ip)).is_none() {
                self.fib_remove(ip, host_len(ip));
            }
            self.adj[idx as usize] = NextHop::Unresolved;
            self.roles[idx as usize] = None;
            self.quarantined_nh.hold(idx);
        }
    }

    /// `clear arp`: forgets every neighbour; they are learnt again on the next packet.
    pub fn clear_arp(&mut self) -> usize {
        let gone = self.arp.clear();
        let n = gone.len();
        for (port, ip) in gone {
            self.forget_host(port, IpAddr::V4(ip));
        }
        self.publish();
        n
    }

    /// `clear ipv6 neighbors`.
    pub fn clear_nd(&mut self) -> usize {
        let gone = self.nd.clear();
        let n = gone.len();
        for (port, ip) in gone {
            self.forget_host(port, IpAddr::V6(ip));
        }
        self.publish();
        n
    }

    // ---- punted packets -----------------------------------------------------------------

    fn handle(&mut self, p: Punted) {
        let Punted {
            port,
            reason,
            frame,
        } = p;
        if frame.len() < 14 {
            return;
        }
        let v6 = ethertype(&frame) == Some(ether::IPV6);
        // The destination, from the header (error copies are cut short: quoted views).
        let l3 = &frame[ether::HEADER_LEN..];
        let dst = if v6 {
            wire_ipv6::Packet::new_quoted(l3).map(|p| IpAddr::V6(p.destination()))
        } else {
            wire_ipv4::Packet::new_quoted(l3).map(|p| IpAddr::V4(p.destination()))
        };
        let dst = match dst {
            Ok(d) => d,
            // ARP and the like, for the box: no IP destination to speak of.
            Err(_) if reason == PuntReason::Host => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Err(_) => return,
        };
        let (ttl_exceeded, unreach, no_route, reject, too_big) = if v6 {
            (
                (icmp6::TIME_EXCEEDED, 0),
                icmp6::DEST_UNREACHABLE,
                icmp6::unreachable::NO_ROUTE,
                icmp6::unreachable::NO_ROUTE,
                (icmp6::PACKET_TOO_BIG, 0),
            )
        } else {
            (
                (icmp::TIME_EXCEEDED, 0),
                icmp::DEST_UNREACHABLE,
                icmp::unreachable::NET,
                // As Linux, FRR and BIRD `unreachable` routes: host unreachable.
                icmp::unreachable::HOST,
                (
                    icmp::DEST_UNREACHABLE,
                    icmp::unreachable::FRAGMENTATION_NEEDED,
                ),
            )
        };
        match reason {
            PuntReason::Host => self.for_the_box(port, frame, v6),
            PuntReason::Resolve { nh } => self.output_via(nh, frame, dst),
            PuntReason::Fragment { mtu, nh } => {
                for f in wire_ipv4::fragment(&frame, mtu) {
                    self.output_via(nh, f, dst);
                }
            }
            PuntReason::TtlExpired => self.icmp_error(&frame, ttl_exceeded.0, ttl_exceeded.1, 0),
            PuntReason::NoRoute => self.icmp_error(&frame, unreach, no_route, 0),
            PuntReason::Reject => self.icmp_error(&frame, unreach, reject, 0),
            PuntReason::FragmentationNeeded { mtu } => {
                self.icmp_error(&frame, too_big.0, too_big.1, u32::from(mtu))
            }
            PuntReason::PolicyReject => {
                // TCP: a RST as if from the destination; else administratively prohibited.
                match (!v6).then(|| savin_wire::tcp::reset(&frame)).flatten() {
                    Some(rst) if self.icmp_limit.allow(self.now()) => self.output(rst),
                    Some(_) => {}
                    None => self.icmp_error(&frame, unreach, if v6 { 1 } else { 13 }, 0),
                }
            }
        }
    }

    /// ARP, Neighbor Discovery and echo requests for the box's own addresses are answered
    /// here; everything else for the box goes to the port's host interface (TAP), and so do
    /// ARP replies and neighbour advertisements, which the kernel needs for its own sends.
    fn for_the_box(&mut self, port: u16, mut frame: Vec<u8>, v6: bool) {
        let now = self.now();
        // A broadcast copied to an IRB comes as it was on the wire: maybe tagged.
        if frame.len() >= 18 && ethertype(&frame) == Some(ether::VLAN) {
            frame.drain(12..16);
        }
        let v6 = v6 || ethertype(&frame) == Some(ether::IPV6);
        if ethertype(&frame) == Some(ether::ARP) {
            if let Some(ifc) = self.ifc(port).cloned() {
                let acts = self.arp.receive(&ifc, &frame, now);
                self.apply(acts);
            }
            if savin_wire::arp::operation(&frame) == Some(savin_wire::arp::REPLY) {
                self.deliver_to_host(port, frame);
            }
            return;
        }
        if v6 {
            if ipv6::check(&frame, 14).is_err() {
                return;
            }
            match icmp6::message_type(&frame) {
                Some((kind @ (icmp6::NEIGHBOR_SOLICIT | icmp6::NEIGHBOR_ADVERT), _)) => {
                    if let Some(ifc) = self.ifc6(port).cloned() {
                        let acts = self.nd.receive(&ifc, &frame, now);
                        self.apply(acts);
                    }
                    if kind == icmp6::NEIGHBOR_ADVERT {
                        self.deliver_to_host(port, frame);
                    }
                }
                Some((icmp6::ECHO_REQUEST, _)) => {
                    let to_us = icmp6::destination(&frame);
                    let ours = self.ifcs6.iter().any(|i| i.owns(to_us));
                    if ours && icmp6::echo_reply_in_place(&mut frame) {
                        let to = icmp6::destination(&frame);
                        // Replies to link-local sources leave by the port they came in on.
                        if to.is_unicast_link_local() {
                            if let Some(ifc) = self.ifc6(port).cloned() {
                                let acts = self.nd.resolve(&ifc, to, frame, now);
                                self.apply(acts);
                            }
                        } else {
                            self.output(frame);
                        }
                    }
                }
                // Router solicitations, MLD and other ICMPv6 multicast: not for the kernel.
                Some(_) if icmp6::destination(&frame).is_multicast() => {}
                _ => self.deliver_to_host(port, frame),
            }
            return;
        }
        if ethertype(&frame) != Some(ether::IPV4) || ipv4::check(&frame, ether::HEADER_LEN).is_err()
        {
            return;
        }
        if icmp::echo_reply_in_place(&mut frame) {
            self.output(frame);
            return;
        }
        // Unicast, and link-local multicast (224.0.0.0/24) that host-inbound let through.
        let link_multicast = wire_ipv4::Packet::new_quoted(&frame[ether::HEADER_LEN..])
            .is_ok_and(|p| p.destination().octets()[..3] == [224, 0, 0]);
        if !ether::is_group(&frame) || link_multicast {
            self.deliver_to_host(port, frame);
        }
    }

    /// Hands a frame for the box to the kernel, through the TAP of the port it came in on.
    fn deliver_to_host(&mut self, port: u16, frame: Vec<u8>) {
        if let Some(tap) = self.port(port).and_then(|p| p.tap) {
            self.host_in += 1;
            let _ = self.to_worker.send(ToWorker::Send { port: tap, frame });
        }
    }

    /// Creates the host interface (TAP) of a routed port or IRB, as `sv-NAME`, carrying the
    /// port's MAC, MTU and addresses. Without it the box still routes; only its own sockets
    /// on that interface go without (logged).
    fn create_tap(&mut self, slot: u16) {
        let Some(p) = self.port(slot) else { return };
        if p.tap.is_some()
            || !matches!(
                p.mode,
                PortMode::Routed | PortMode::Irb { .. } | PortMode::Loopback
            )
        {
            return;
        }
        // A netdev name has no '/': `ge-0/0/0` has the TAP `sv-ge-0-0-0`.
        let name: String = format!("sv-{}", p.name.replace('/', "-"))
            .chars()
            .take(15)
            .collect();
        let io = match self.system.open_tap(&name) {
            Ok(io) => io,
            Err(e) => {
                warn!(interface = %p.name, %e, "no host interface: the kernel's sockets will not see this port");
                return;
            }
        };
        let tap = self.alloc_slot();
        self.ports[usize::from(tap)] = Some(PortState {
            name,
            mac: [0; 6],
            addrs: Vec::new(),
            addrs6: Vec::new(),
            mtu: 0,
            mode: PortMode::Host { phy: slot },
            ifindex: None,
            link_up: true,
            attached: true,
            flapped: SystemTime::now(),
            baseline: PortCounters::default(),
            rates: [0; 4],
            last_sample: None,
            tap: None,
        });
        let _ = self.to_worker.send(ToWorker::SetPort {
            port: tap,
            io: Some(io),
        });
        if let Some(p) = self.ports[usize::from(slot)].as_mut() {
            p.tap = Some(tap);
        }
        self.configure_tap(slot);
    }

    /// Gives the TAP of `slot` the port's MAC, MTU and addresses (with `ip`: the control
    /// plane's slow path, once per change).
    fn configure_tap(&self, slot: u16) {
        let Some(p) = self.port(slot) else { return };
        let Some(tap) = p.tap.and_then(|t| self.port(t)) else {
            return;
        };
        let mac = p
            .mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        let t = tap.name.clone();
        let mut cmds: Vec<Vec<String>> = vec![
            [
                "link",
                "set",
                "dev",
                &t,
                "address",
                &mac,
                "mtu",
                &p.mtu.to_string(),
                "up",
            ]
            .map(String::from)
            .to_vec(),
            ["addr", "flush", "dev", &t].map(String::from).to_vec(),
        ];
        for (a, l) in &p.addrs {
            cmds.push(
                ["addr", "add", &format!("{a}/{l}"), "dev", &t]
                    .map(String::from)
                    .to_vec(),
            );
        }
        for (a, l) in p.addrs6.iter().filter(|(a, _)| !a.is_unicast_link_local()) {
            let cidr = format!("{a}/{l}");
            cmds.push(
                ["-6", "addr", "add", &cidr, "dev", &t, "nodad"]
                    .map(String::from)
                    .to_vec(),
            );
        }
        for c in cmds {
            if let Err(err) = self.system.ip(&c) {
                warn!(tap = %t, cmd = ?c, %err, "configuring the host interface");
            }
        }
    }

    fn remove_tap(&mut self, slot: u16) {
        let Some(tap) = self.ports[usize::from(slot)]
            .as_mut()
            .and_then(|p| p.tap.take())
        else {
            return;
        };
        let _ = self.to_worker.send(ToWorker::SetPort {
            port: tap,
            io: None,
        });
        self.ports[usize::from(tap)] = None;
        self.quarantined_slots.push(tap);
    }

    /// Sends an ICMP or ICMPv6 error about `original` back to its source, from the address of
    /// the interface the error leaves by (RFC 1812 4.3.2.4), within the global rate limit.
    fn icmp_error(&mut self, original: &[u8], kind: u8, code: u8, param: u32) {
        let v6 = ethertype(original) == Some(ether::IPV6);
        let ok = if v6 {
            icmp6::may_send_error_about(original)
        } else {
            icmp::may_send_error_about(original)
        };
        let l3 = &original[ether::HEADER_LEN.min(original.len())..];
        let src = match v6 {
            true => wire_ipv6::Packet::new_quoted(l3).map(|p| IpAddr::V6(p.source())),
            false => wire_ipv4::Packet::new_quoted(l3).map(|p| IpAddr::V4(p.source())),
        };
        let Some(src) = src.ok().filter(|_| ok) else {
            return;
        };
        // The interface whose address the error comes from. (For equal-cost paths, the first
        // member's: the source must be chosen before the frame exists, and the worker picks
        // the member it leaves by from the whole frame.)
        let role = match self.role_for(src) {
            Some(Role::Route(Target::Ecmp(g))) => {
                self.groups[g as usize].first().map(|m| Role::Route(*m))
            }
            r => r,
        };
        let port = match role {
            Some(Role::Route(Target::Connected(p) | Target::Via(p, _)) | Role::Host(p, _)) => p,
            _ => return,
        };
        let Some(p) = self.port(port) else {
            return;
        };
        let from = match src {
            IpAddr::V4(s) => p
                .addrs
                .iter()
                .find(|(a, l)| mask(IpAddr::V4(*a), *l) == mask(IpAddr::V4(s), *l))
                .or(p.addrs.first())
                .map(|(a, _)| IpAddr::V4(*a)),
            IpAddr::V6(s) => p
                .addrs6
                .iter()
                .find(|(a, l)| mask(IpAddr::V6(*a), *l) == mask(IpAddr::V6(s), *l))
                .or(p.addrs6.iter().find(|(a, _)| !a.is_unicast_link_local()))
                .or(p.addrs6.first())
                .map(|(a, _)| IpAddr::V6(*a)),
        };
        let Some(from) = from else {
            return;
        };
        if !self.icmp_limit.allow(self.now()) {
            return;
        }
        self.icmp_sent += 1;
        let e = match from {
            IpAddr::V4(f) => icmp::error(original, kind, code, f, param as u16),
            IpAddr::V6(f) => icmp6::error(original, kind, code, f, param),
        };
        self.output(e);
    }

    fn role_for(&self, dst: IpAddr) -> Option<Role> {
        let nh = match dst {
            IpAddr::V4(a) => self.fib.lookup(u32::from(a)),
            IpAddr::V6(a) => self.fib6.lookup(u128::from(a)),
        };
        self.roles.get(nh as usize).copied().flatten()
    }

    /// Sends a frame the box originates (an ICMP error, an echo reply, a RST): the worker
    /// routes it, by the same lookup and equal-cost choice as forwarded traffic, and hands it
    /// back (`PuntReason::Resolve`) if its neighbour is still to be resolved.
    fn output(&mut self, frame: Vec<u8>) {
        let _ = self.to_worker.send(ToWorker::Route { frame });
    }

    /// Sends a routed frame towards `to` by next hop `nh` (the one the worker's lookup
    /// chose), resolving its neighbour if needed.
    fn output_via(&mut self, nh: u32, frame: Vec<u8>, to: IpAddr) {
        let role = self.roles.get(nh as usize).copied().flatten();
        let Some(role) = role else {
            // The next hop went away between the worker's lookup and now (a route change):
            // routed again by the worker, on the tables as they are now.
            self.output(frame);
            return;
        };
        let role = Some(role);
        let (port, neighbour) = match role {
            Some(Role::Route(Target::Connected(p))) => (p, to),
            Some(Role::Route(Target::Via(p, gw))) => (p, gw),
            Some(Role::Host(p, ip)) => (p, ip),
            _ => return,
        };
        let now = self.now();
        match neighbour {
            IpAddr::V4(ip) => {
                let Some(ifc) = self.ifc(port).cloned() else {
                    return;
                };
                let acts = self.arp.resolve(&ifc, ip, frame, now);
                self.apply(acts);
            }
            IpAddr::V6(ip) => {
                let Some(ifc) = self.ifc6(port).cloned() else {
                    return;
                };
                let acts = self.nd.resolve(&ifc, ip, frame, now);
                self.apply(acts);
            }
        }
    }

    fn apply<A: Into<IpAddr>>(&mut self, actions: Vec<Action<A>>) {
        for a in actions {
            match a {
                Action::Send { port, frame } => {
                    let _ = self.to_worker.send(ToWorker::Send { port, frame });
                }
                Action::Resolved { port, ip, mac } => {
                    let ip: IpAddr = ip.into();
                    debug!(port, %ip, ?mac, "neighbour resolved");
                    let Some(fwd) = self.adjacency(port, mac) else {
                        continue;
                    };
                    if self.is_gateway(port, ip) {
                        for (i, r) in self.roles.iter().enumerate() {
                            if *r == Some(Role::Route(Target::Via(port, ip))) {
                                self.adj[i] = fwd;
                            }
                        }
                    }
                    let idx = match self.hosts.get(&(port, ip)) {
                        Some(i) => *i,
                        None => {
                            let Some(i) = self.alloc_nh(Role::Host(port, ip), fwd) else {
                                // Reached through its subnet's route instead (each packet
                                // resolved by the control plane): slower, but reached.
                                self.no_next_hop(ip, host_len(ip));
                                continue;
                            };
                            self.hosts.insert((port, ip), i);
                            i
                        }
                    };
                    self.adj[idx as usize] = fwd;
                    self.adj_dirty = true;
                    self.resolved.push((port, ip, idx));
                }
                Action::Unreachable { port, ip, dropped } => {
                    let ip: IpAddr = ip.into();
                    self.remove_hosts(port, vec![ip]);
                    for pkt in dropped {
                        let (kind, code) = if ip.is_ipv4() {
                            (icmp::DEST_UNREACHABLE, icmp::unreachable::HOST)
                        } else {
                            (icmp6::DEST_UNREACHABLE, icmp6::unreachable::ADDRESS)
                        };
                        self.icmp_error(&pkt, kind, code, 0);
                    }
                }
                Action::Conflict { port, ip, mac } => {
                    let ip: IpAddr = ip.into();
                    warn!(port, %ip, mac = ?mac, "another node claims our address (duplicate)");
                }
            }
        }
    }
}

/// The prefix length of a host route: /32 or /128.
pub(crate) fn host_len(ip: IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// A port's IPv6 addresses: the configured ones and, with any, the link-local one.
fn port_addrs6(pp: &PortPlan) -> Vec<(Ipv6Addr, u8)> {
    let mut v = pp.addrs6.clone();
    if pp.inet6 {
        v.push((nd::link_local(pp.mac), 64));
    }
    v
}

/// How long the worker keeps polling after the last frame before it sleeps in poll(2): a
/// request's answer or a burst's next packet usually comes sooner, and waking a sleeping
/// thread costs tens of microseconds (more in a VM).
pub const BUSY_AFTER_TRAFFIC: Duration = Duration::from_micros(300);

/// The port a logical interface is: `eth1` for `eth1.0`, `irb.10` itself.
pub(crate) fn port_name(ifl: &str) -> &str {
    savin_config::model::interfaces::port_of(ifl)
}

/// Next-hop indices freed while workers may still hold them: a worker looks a destination
/// up in the FIB and then reads the next-hop table it loaded for the batch, so an index must
/// not stand for another next hop until every batch that could have read it has finished
/// (microseconds; the grace is a second). Released by age, not by the next commit: a box
/// whose neighbours come and go without commits must reuse them too.
struct Quarantine<T> {
    held: std::collections::VecDeque<(Instant, T)>,
}

impl<T> Default for Quarantine<T> {
    fn default() -> Self {
        Quarantine {
            held: Default::default(),
        }
    }
}

impl<T> Quarantine<T> {
    const GRACE: Duration = Duration::from_secs(1);

    fn hold(&mut self, t: T) {
        self.held.push_back((Instant::now(), t));
    }

    /// What has waited out the grace period.
    fn release(&mut self) -> impl Iterator<Item = T> + '_ {
        let now = Instant::now();
        std::iter::from_fn(move || {
            let (at, _) = self.held.front()?;
            (now.duration_since(*at) >= Self::GRACE)
                .then(|| self.held.pop_front().map(|(_, t)| t))
                .flatten()
        })
    }
}
