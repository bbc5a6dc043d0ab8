//! The engine's two threads: the worker (data plane) and the control loop (ARP, ICMP echo for
//! the box, neighbour resolution and host routes).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use savin_dataplane::arp::{Arp, ArpAction, ArpConfig, ArpInterface};
use savin_dataplane::{icmp, ipv4, Adjacency, NextHop, PuntedFrame, Tables, Worker};
use savin_fib::Fib;
use savin_io::af_packet::AfPacket;
use savin_io::PacketIo;
use tracing::{debug, warn};

use crate::{Plan, Target};

/// What a next-hop index stands for on the control side (the data plane sees `NextHop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Route(Target),
    /// A resolved on-link neighbour's /32.
    Host(u16, Ipv4Addr),
}

/// A running forwarding engine.
pub struct Engine {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Engine {
    pub fn start(plan: Plan, ports: Vec<AfPacket>) -> Engine {
        let mut fib: Fib<u32> = Fib::new();
        let mut roles: Vec<Option<Role>> = vec![None];
        let mut adj: Vec<NextHop> = vec![NextHop::Unresolved];
        let mut index: HashMap<Target, u32> = HashMap::new();
        for (dst, len, t) in &plan.routes {
            let idx = *index.entry(*t).or_insert_with(|| {
                roles.push(Some(Role::Route(*t)));
                adj.push(match t {
                    Target::Discard => NextHop::Discard,
                    _ => NextHop::Punt,
                });
                (roles.len() - 1) as u32
            });
            fib.insert(u32::from(*dst), *len, idx);
        }
        let adjacencies = Arc::new(ArcSwap::from_pointee(adj.clone()));
        let tables = Tables {
            fib4: fib.reader(),
            adjacencies: adjacencies.clone(),
        };
        let (punt_tx, punt_rx) = sync_channel::<PuntedFrame>(1024);
        let (inject_tx, inject_rx) = channel::<PuntedFrame>();
        let ports: Vec<Box<dyn PacketIo>> = ports
            .into_iter()
            .map(|p| Box::new(p) as Box<dyn PacketIo>)
            .collect();
        let mut worker = Worker::new(ports, 256).with_control(punt_tx, inject_rx);
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let worker_thread = std::thread::Builder::new()
            .name("savin-worker".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    match worker.poll(&tables) {
                        Ok(0) => std::thread::sleep(Duration::from_micros(50)),
                        Ok(_) => {}
                        Err(e) => {
                            warn!(%e, "port error");
                            std::thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
            })
            .expect("spawn worker");
        let ifcs: Vec<ArpInterface> = plan
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| ArpInterface {
                port: i as u16,
                mac: p.mac,
                addrs: p.addrs.clone(),
            })
            .collect();
        let mut control = Control {
            ifcs,
            fib,
            roles,
            adj,
            adjacencies,
            arp: Arp::new(ArpConfig::default()),
            hosts: HashMap::new(),
            inject: inject_tx,
            start: Instant::now(),
        };
        // Announce our addresses (gratuitous ARP), as a router does when an address comes up.
        let mut hello = Vec::new();
        for ifc in &control.ifcs {
            for (a, _) in &ifc.addrs {
                hello.push(ArpAction::Send {
                    port: ifc.port,
                    frame: Arp::gratuitous(ifc, *a),
                });
            }
        }
        control.apply(hello);
        let s = stop.clone();
        let control_thread = std::thread::Builder::new()
            .name("savin-fwd-ctl".into())
            .spawn(move || control.run(punt_rx, &s))
            .expect("spawn control");
        Engine {
            stop,
            threads: vec![worker_thread, control_thread],
        }
    }

    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

struct Control {
    ifcs: Vec<ArpInterface>,
    fib: Fib<u32>,
    roles: Vec<Option<Role>>,
    adj: Vec<NextHop>,
    adjacencies: Arc<ArcSwap<Vec<NextHop>>>,
    arp: Arp,
    hosts: HashMap<(u16, Ipv4Addr), u32>,
    inject: Sender<PuntedFrame>,
    start: Instant,
}

impl Control {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn run(&mut self, punts: Receiver<PuntedFrame>, stop: &AtomicBool) {
        while !stop.load(Ordering::Relaxed) {
            match punts.recv_timeout(Duration::from_millis(20)) {
                Ok((port, frame)) => self.handle(port, frame),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let acts = self.arp.tick(&self.ifcs, self.now());
            self.apply(acts);
        }
    }

    fn handle(&mut self, port: u16, mut frame: Vec<u8>) {
        if frame.len() < 14 {
            return;
        }
        let now = self.now();
        if frame[12..14] == [0x08, 0x06] {
            if let Some(ifc) = self.ifcs.get(usize::from(port)) {
                let acts = self.arp.receive(ifc, &frame, now);
                self.apply(acts);
            }
            return;
        }
        if frame[12..14] != [0x08, 0x00] || ipv4::check(&frame, 14).is_err() {
            return;
        }
        let dst = Ipv4Addr::new(frame[30], frame[31], frame[32], frame[33]);
        match self.role_for(dst) {
            Some(Role::Route(Target::Local)) if icmp::echo_reply_in_place(&mut frame) => {
                let to = Ipv4Addr::new(frame[30], frame[31], frame[32], frame[33]);
                self.output(frame, to);
            }
            Some(Role::Route(Target::Local)) => {}
            // Transit traffic waiting for its neighbour: it has been routed, so it ages.
            Some(_) if ipv4::decrement_ttl(&mut frame, 14).is_ok() => self.output(frame, dst),
            Some(_) => {}
            None => {}
        }
    }

    fn role_for(&self, dst: Ipv4Addr) -> Option<Role> {
        let nh = self.fib.lookup(u32::from(dst));
        self.roles.get(nh as usize).copied().flatten()
    }

    /// Sends a routed frame towards `to`, resolving its neighbour if needed.
    fn output(&mut self, frame: Vec<u8>, to: Ipv4Addr) {
        let (port, neighbour) = match self.role_for(to) {
            Some(Role::Route(Target::Connected(p))) => (p, to),
            Some(Role::Route(Target::Via(p, gw))) => (p, gw),
            Some(Role::Host(p, ip)) => (p, ip),
            _ => return,
        };
        let Some(ifc) = self.ifcs.get(usize::from(port)) else {
            return;
        };
        let acts = self.arp.resolve(ifc, neighbour, frame, self.now());
        self.apply(acts);
    }

    fn publish(&self) {
        self.adjacencies.store(Arc::new(self.adj.clone()));
    }

    fn apply(&mut self, actions: Vec<ArpAction>) {
        for a in actions {
            match a {
                ArpAction::Send { port, frame } => {
                    let _ = self.inject.send((port, frame));
                }
                ArpAction::Resolved { port, ip, mac } => {
                    debug!(port, %ip, ?mac, "neighbour resolved");
                    let fwd = NextHop::Forward(Adjacency {
                        port,
                        dst_mac: mac,
                        src_mac: self.ifcs[usize::from(port)].mac,
                    });
                    for (i, r) in self.roles.iter().enumerate() {
                        if *r == Some(Role::Route(Target::Via(port, ip))) {
                            self.adj[i] = fwd;
                        }
                    }
                    let idx = match self.hosts.get(&(port, ip)) {
                        Some(i) => *i,
                        None => {
                            self.roles.push(Some(Role::Host(port, ip)));
                            self.adj.push(fwd);
                            let i = (self.roles.len() - 1) as u32;
                            self.hosts.insert((port, ip), i);
                            i
                        }
                    };
                    self.adj[idx as usize] = fwd;
                    // The adjacency is visible before the route that points at it.
                    self.publish();
                    self.fib.insert(u32::from(ip), 32, idx);
                }
                ArpAction::Unreachable { port, ip, .. } => {
                    for (i, r) in self.roles.iter().enumerate() {
                        if *r == Some(Role::Route(Target::Via(port, ip))) {
                            self.adj[i] = NextHop::Punt;
                        }
                    }
                    if let Some(idx) = self.hosts.remove(&(port, ip)) {
                        self.fib.remove(u32::from(ip), 32);
                        self.adj[idx as usize] = NextHop::Unresolved;
                    }
                    self.publish();
                }
            }
        }
    }
}
