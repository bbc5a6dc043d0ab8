//! Speakers wired back to back in memory, on a virtual clock: sessions come up (and collide),
//! routes flow with Junos' defaults and policies, timers expire, best paths are chosen.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use savin_bgp::packet::{self, Family, PathAttrs};
use savin_bgp::session::{Conn, Output, State};
use savin_bgp::speaker::{ActiveRoute, Global, PeerId, RibRoute, Speaker};
use savin_config::Configuration;
use savin_policy::Policies;
use savin_rib::IpPrefix;

/// One box: its speaker, its addresses, and the RIB as BGP sees it.
struct BoxUnderTest {
    sp: Speaker,
    addr: IpAddr,
    rib: HashMap<IpPrefix, savin_bgp::speaker::RibRoute>,
    /// The RIB's other BGP candidates per prefix.
    backups: HashMap<IpPrefix, Vec<savin_bgp::speaker::RibRoute>>,
}

/// Boxes joined by in-memory "TCP" connections.
struct Net {
    boxes: Vec<BoxUnderTest>,
    /// (box, peer, conn) -> (box, peer, conn) at the other end.
    links: HashMap<(usize, PeerId, Conn), (usize, PeerId, Conn)>,
    now: Instant,
    /// Links that drop everything (a dead path).
    cut: Vec<(usize, usize)>,
    depth: usize,
}

fn policies(text: &str) -> Arc<Policies> {
    let c = Configuration::parse(text, None).unwrap().check().unwrap();
    Arc::new(Policies::compile(&c.policy_options).unwrap())
}

fn po(text: &str) -> savin_config::model::policy_options::PolicyOptions {
    Configuration::parse(text, None)
        .unwrap()
        .check()
        .unwrap()
        .policy_options
}

fn peers(text: &str) -> (u32, Vec<savin_config::model::protocols::Peer>) {
    let c = Configuration::parse(text, None)
        .unwrap()
        .check()
        .unwrap_or_else(|e| panic!("{e:?}"));
    let asn = c.routing_options.autonomous_system.unwrap();
    (asn, c.protocols.bgp.unwrap().peers(asn))
}

impl Net {
    fn new() -> Net {
        Net {
            boxes: Vec::new(),
            links: HashMap::new(),
            now: Instant::now(),
            cut: Vec::new(),
            depth: 0,
        }
    }

    /// A box at `addr` with router ID `id` and this configuration.
    fn add(&mut self, addr: &str, id: &str, config: &str) -> usize {
        let (asn, p) = peers(config);
        let g = Global {
            router_id: id.parse().unwrap(),
            local_as: asn,
        };
        let mut sp = Speaker::new(g.clone(), Default::default(), self.now);
        let po = Configuration::parse(config, None)
            .unwrap()
            .check()
            .unwrap()
            .policy_options;
        sp.configure(g, p, policies(config), &po, self.now);
        self.boxes.push(BoxUnderTest {
            sp,
            addr: addr.parse().unwrap(),
            rib: HashMap::new(),
            backups: HashMap::new(),
        });
        self.boxes.len() - 1
    }

    fn by_addr(&self, a: IpAddr) -> Option<usize> {
        self.boxes.iter().position(|b| b.addr == a)
    }

    /// Moves everything until nothing more happens (timers are not run).
    fn settle(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            for i in 0..self.boxes.len() {
                moved |= self.flush(i);
            }
            if !moved {
                return;
            }
        }
        panic!("the network did not settle");
    }

    /// Carries out what box `i` has to do, as the daemon's adapter does after each event
    /// (so a box's outputs are never reordered with the events that follow them).
    fn flush(&mut self, i: usize) -> bool {
        self.depth += 1;
        assert!(self.depth < 200, "the network does not settle");
        let mut moved = false;
        loop {
            self.boxes[i].sp.pump(self.now);
            let mut any = false;
            // What BGP holds in its RIB now (it writes there directly).
            if self.boxes[i].sp.take_rib_written() {
                let view = self.boxes[i].sp.rib_view();
                let b = &mut self.boxes[i];
                let rib: HashMap<IpPrefix, RibRoute> = view
                    .values()
                    .filter_map(|c| Some((c.prefix, c.route.clone()?)))
                    .collect();
                let backups = view
                    .values()
                    .map(|c| (c.prefix, c.backups.clone()))
                    .collect();
                if rib != b.rib || backups != b.backups {
                    moved = true;
                }
                b.rib = rib;
                b.backups = backups;
            }
            while let Some(io) = self.boxes[i].sp.poll_io() {
                any = true;
                moved = true;
                if std::env::var("TRACE").is_ok() {
                    eprintln!(
                        "{i} -> {} {:?}",
                        io.address,
                        match &io.output {
                            Output::Send(c, b) => format!(
                                "send {c:?} {} bytes {:?}",
                                b.len(),
                                packet::decode(
                                    b,
                                    &packet::DecodeCtx {
                                        four_octet_as: true,
                                        ebgp: true,
                                        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast]
                                    }
                                )
                            ),
                            o => format!("{o:?}"),
                        }
                    );
                }
                self.io(i, io.peer, io.address, io.output);
            }
            if !any {
                break;
            }
        }
        self.depth -= 1;
        moved
    }

    fn io(&mut self, i: usize, peer: PeerId, addr: IpAddr, out: Output) {
        let now = self.now;
        match out {
            Output::Connect => {
                let Some(j) = self.by_addr(addr) else {
                    self.boxes[i].sp.connect_failed(peer, now);
                    return;
                };
                let from = self.boxes[i].addr;
                match self.boxes[j].sp.accept(from, now) {
                    Some(pj) => {
                        self.links
                            .insert((i, peer, Conn::Outgoing), (j, pj, Conn::Incoming));
                        self.links
                            .insert((j, pj, Conn::Incoming), (i, peer, Conn::Outgoing));
                        let (ai, aj) = (self.boxes[i].addr, self.boxes[j].addr);
                        self.boxes[i].sp.connected(peer, Conn::Outgoing, ai, now);
                        self.boxes[j].sp.connected(pj, Conn::Incoming, aj, now);
                        self.flush(j);
                    }
                    None => self.boxes[i].sp.connect_failed(peer, now),
                }
            }
            Output::Send(c, bytes) => {
                if let Some(&(j, pj, cj)) = self.links.get(&(i, peer, c)) {
                    if !self.cut.contains(&(i, j)) {
                        self.boxes[j].sp.received(pj, cj, &bytes, now);
                        self.flush(j);
                    }
                }
            }
            Output::Close(c) => {
                if let Some((j, pj, cj)) = self.links.remove(&(i, peer, c)) {
                    self.links.remove(&(j, pj, cj));
                    self.boxes[j].sp.closed(pj, cj, now);
                    self.flush(j);
                }
            }
            o => panic!("unexpected output {o:?}"),
        }
    }

    /// Advances the clock by `d` in one-second steps, running the timers.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now += Duration::from_secs(1);
            for b in &mut self.boxes {
                b.sp.poll(self.now);
            }
            self.settle();
        }
    }

    fn state(&self, i: usize, peer: &str) -> State {
        let sp = &self.boxes[i].sp;
        let id = sp.peer_by_addr(peer.parse().unwrap()).unwrap();
        sp.neighbor(id).unwrap().session.state()
    }

    /// Box `i`'s RIB learns that `prefix` is a static route (a route to export).
    fn static_route(&mut self, i: usize, prefix: &str) {
        let p = prefix_of(prefix);
        self.boxes[i].sp.rib_changed(vec![(
            p,
            Some(ActiveRoute {
                protocol: "static",
                next_hops: vec![],
                interfaces: vec![],
                metric: 0,
            }),
        )]);
        self.settle();
    }
}

fn prefix_of(s: &str) -> IpPrefix {
    let (a, l) = s.split_once('/').unwrap();
    IpPrefix::new(a.parse().unwrap(), l.parse().unwrap())
}

const EXPORT_STATIC: &str = "policy-options { policy-statement statics { from protocol static; \
                             then { community add c1; accept; } } community c1 members 65001:7; }";

fn ebgp_pair() -> Net {
    let mut net = Net::new();
    net.add(
        "10.0.0.1",
        "1.1.1.1",
        &format!(
            "routing-options {{ autonomous-system 65001; }} protocols {{ bgp {{ group x {{ \
             type external; peer-as 65002; export statics; family inet {{ unicast; }} \
             family inet6 {{ unicast; }} neighbor 10.0.0.2; }} }} }} {EXPORT_STATIC}"
        ),
    );
    net.add(
        "10.0.0.2",
        "2.2.2.2",
        "routing-options { autonomous-system 65002; } protocols { bgp { group x { \
         type external; peer-as 65001; family inet { unicast; } family inet6 { unicast; } \
         neighbor 10.0.0.1; } } }",
    );
    net.settle();
    net
}

#[test]
fn an_external_session_comes_up_even_when_both_sides_connect_at_once() {
    let net = ebgp_pair();
    assert_eq!(net.state(0, "10.0.0.2"), State::Established);
    assert_eq!(net.state(1, "10.0.0.1"), State::Established);
    // Both connected; the collision left one connection per side.
    assert_eq!(net.links.len(), 2, "{:?}", net.links.keys());
    let n = net.boxes[0].sp.neighbor(0).unwrap();
    let neg = n.session.negotiated().unwrap();
    assert_eq!(neg.families, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert_eq!(neg.hold_time, 90);
}

#[test]
fn routes_go_out_with_our_as_prepended_and_next_hop_self() {
    let mut net = ebgp_pair();
    net.static_route(0, "192.0.2.0/24");
    let r = net.boxes[1]
        .rib
        .get(&prefix_of("192.0.2.0/24"))
        .expect("learned");
    assert_eq!(r.next_hops, vec!["10.0.0.1".parse::<IpAddr>().unwrap()]);
    assert_eq!(r.preference, 170);
    let mut seen: Vec<(IpPrefix, PathAttrs)> = Vec::new();
    net.boxes[1]
        .sp
        .for_each_path(|p, _, rx, _, _, _| seen.push((p, rx.clone())));
    assert_eq!(seen.len(), 1);
    let a = &seen[0].1;
    assert_eq!(a.as_path_flat(), vec![65001]);
    assert_eq!(a.communities, vec![(65001 << 16) | 7]);
    assert_eq!(a.local_pref, None, "no LOCAL_PREF to an external peer");
    // Box 1 does not send the route back, nor a withdrawal of what it never announced:
    // box 0 heard only its two End-of-RIB markers.
    let updates_in = net.boxes[0]
        .sp
        .neighbor(0)
        .unwrap()
        .session
        .stats
        .updates_in;
    assert_eq!(updates_in, 2);
    // Without a policy, nothing else is exported: box 1 has a static route of its own.
    net.static_route(1, "198.51.100.0/24");
    assert!(!net.boxes[0].rib.contains_key(&prefix_of("198.51.100.0/24")));
    // A withdrawal reaches the peer.
    net.boxes[0]
        .sp
        .rib_changed(vec![(prefix_of("192.0.2.0/24"), None)]);
    net.settle();
    assert!(!net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
}

#[test]
fn ipv6_routes_travel_in_mp_reach() {
    let mut net = ebgp_pair();
    net.static_route(0, "2001:db8:1::/48");
    let r = net.boxes[1]
        .rib
        .get(&prefix_of("2001:db8:1::/48"))
        .expect("learned");
    // An IPv6 route over an IPv4 session: the next hop is the IPv4-mapped address.
    assert_eq!(
        r.next_hops,
        vec!["::ffff:10.0.0.1".parse::<IpAddr>().unwrap()]
    );
}

#[test]
fn the_hold_timer_takes_a_silent_peer_down_and_its_routes_go() {
    let mut net = ebgp_pair();
    net.static_route(0, "192.0.2.0/24");
    assert!(net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    // Box 0 stops hearing box 1: no keepalives arrive.
    net.cut.push((1, 0));
    net.advance(Duration::from_secs(89));
    assert_eq!(net.state(0, "10.0.0.2"), State::Established);
    net.advance(Duration::from_secs(2));
    assert_ne!(net.state(0, "10.0.0.2"), State::Established);
    let n = net.boxes[0].sp.neighbor(0).unwrap();
    assert_eq!(n.session.stats.flaps, 1);
    assert!(n
        .session
        .stats
        .last_error
        .as_ref()
        .unwrap()
        .to_string()
        .contains("Hold Timer"));
    // Box 1 got the NOTIFICATION? No: the cut drops 1->0 only, so 0's NOTIFICATION reached
    // 1 and its session went down too; the route is gone there.
    assert!(!net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    // The path heals: the sessions come back by themselves, and the route with them.
    net.cut.clear();
    net.advance(Duration::from_secs(35));
    assert_eq!(net.state(0, "10.0.0.2"), State::Established);
    assert!(net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
}

#[test]
fn import_policy_filters_and_a_policy_change_applies_without_a_reset() {
    let mut net = ebgp_pair();
    let cfg = |allow: &str| {
        format!(
            "routing-options {{ autonomous-system 65002; }} protocols {{ bgp {{ group x {{ \
             type external; peer-as 65001; import in; neighbor 10.0.0.1; }} }} }} \
             policy-options {{ policy-statement in {{ term a {{ from {{ route-filter {allow} \
             orlonger; }} then {{ local-preference 300; accept; }} }} then reject; }} }}"
        )
    };
    let (asn, p) = peers(&cfg("192.0.2.0/24"));
    let g = Global {
        router_id: "2.2.2.2".parse().unwrap(),
        local_as: asn,
    };
    let now = net.now;
    net.boxes[1].sp.configure(
        g.clone(),
        p,
        policies(&cfg("192.0.2.0/24")),
        &po(&cfg("192.0.2.0/24")),
        now,
    );
    net.settle();
    net.static_route(0, "192.0.2.0/24");
    net.static_route(0, "198.51.100.0/24");
    let rib = &net.boxes[1].rib;
    assert!(rib.contains_key(&prefix_of("192.0.2.0/24")));
    assert!(!rib.contains_key(&prefix_of("198.51.100.0/24")));
    let n = net.boxes[1].sp.neighbor(0).unwrap();
    assert_eq!((n.received[0], n.accepted[0]), (2, 1));
    let mut lp = None;
    net.boxes[1].sp.for_each_path(|p, _, _, acc, _, _| {
        if p == prefix_of("192.0.2.0/24") {
            lp = acc.and_then(|a| a.local_pref);
        }
    });
    assert_eq!(lp, Some(300));
    // (The first configure changed the families, which restarted the session once.)
    let flaps = net.boxes[1].sp.neighbor(0).unwrap().session.stats.flaps;
    // The policy now lets the other prefix in: applied to the paths held, no reset.
    let (_, p) = peers(&cfg("198.51.100.0/24"));
    net.boxes[1].sp.configure(
        g,
        p,
        policies(&cfg("198.51.100.0/24")),
        &po(&cfg("198.51.100.0/24")),
        now,
    );
    net.settle();
    let rib = &net.boxes[1].rib;
    assert!(!rib.contains_key(&prefix_of("192.0.2.0/24")));
    assert!(rib.contains_key(&prefix_of("198.51.100.0/24")));
    let n = net.boxes[1].sp.neighbor(0).unwrap();
    assert_eq!(n.session.stats.flaps, flaps, "no session reset");
    assert_eq!(net.state(1, "10.0.0.1"), State::Established);
}

#[test]
fn the_shorter_as_path_wins_and_multipath_shares_equal_paths() {
    let mut net = Net::new();
    // Box 0 hears 203.0.113.0/24 from box 1 (AS 65002) and box 2 (AS 65003, which prepends).
    let center = "routing-options { autonomous-system 65001; } protocols { bgp { group x { \
                  type external; multipath multiple-as; neighbor 10.0.0.2 { peer-as 65002; } \
                  neighbor 10.0.0.3 { peer-as 65003; } } } }";
    net.add("10.0.0.1", "1.1.1.1", center);
    let edge = |asn: u32, prepend: &str| {
        format!(
            "routing-options {{ autonomous-system {asn}; }} protocols {{ bgp {{ group x {{ \
             type external; peer-as 65001; export out; neighbor 10.0.0.1; }} }} }} \
             policy-options {{ policy-statement out {{ from protocol static; then {{ {prepend} \
             accept; }} }} }}"
        )
    };
    net.add("10.0.0.2", "2.2.2.2", &edge(65002, ""));
    net.add(
        "10.0.0.3",
        "3.3.3.3",
        &edge(65003, "as-path-prepend \"65003 65003\";"),
    );
    net.settle();
    net.static_route(1, "203.0.113.0/24");
    net.static_route(2, "203.0.113.0/24");
    let r = &net.boxes[0].rib[&prefix_of("203.0.113.0/24")];
    assert_eq!(r.next_hops, vec!["10.0.0.2".parse::<IpAddr>().unwrap()]);
    // The longer path waits in the RIB as a backup.
    let b = &net.boxes[0].backups[&prefix_of("203.0.113.0/24")];
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].next_hops, vec!["10.0.0.3".parse::<IpAddr>().unwrap()]);
    // Without the prepend the two paths are equal: both carry traffic.
    let now = net.now;
    let (asn, p) = peers(&edge(65003, ""));
    let g = Global {
        router_id: "3.3.3.3".parse().unwrap(),
        local_as: asn,
    };
    net.boxes[2]
        .sp
        .configure(g, p, policies(&edge(65003, "")), &po(&edge(65003, "")), now);
    net.settle();
    let r = &net.boxes[0].rib[&prefix_of("203.0.113.0/24")];
    let mut hops = r.next_hops.clone();
    hops.sort();
    assert_eq!(
        hops,
        vec![
            "10.0.0.2".parse::<IpAddr>().unwrap(),
            "10.0.0.3".parse().unwrap()
        ]
    );
    // Both paths share the forwarding: no backup left.
    assert!(net.boxes[0].backups[&prefix_of("203.0.113.0/24")].is_empty());
    // The best path is not sent back to where it came from, but to the other peer, with
    // two ASes.
    let adv = net.boxes[0].sp.advertised_to(1);
    assert_eq!(adv.len(), 1);
    assert_eq!(adv[0].1.as_path_flat(), vec![65001, 65002]);
    assert!(net.boxes[0].sp.advertised_to(0).is_empty());
}

#[test]
fn a_route_reflector_passes_a_clients_route_to_the_other_client() {
    let mut net = Net::new();
    net.add(
        "10.0.0.1",
        "1.1.1.1",
        "routing-options { autonomous-system 65000; } protocols { bgp { group rr { \
         type internal; cluster 1.1.1.1; neighbor 10.0.0.2; neighbor 10.0.0.3; } } }",
    );
    let client = |me: &str| {
        format!(
            "routing-options {{ autonomous-system 65000; }} protocols {{ bgp {{ group rr {{ \
             type internal; export out; neighbor 10.0.0.1; }} }} }} policy-options {{ \
             policy-statement out {{ from protocol static; then {{ next-hop self; accept; }} }} }} \
             {me}"
        )
    };
    net.add("10.0.0.2", "2.2.2.2", &client(""));
    net.add("10.0.0.3", "3.3.3.3", &client(""));
    net.settle();
    net.static_route(1, "192.0.2.0/24");
    let r = &net.boxes[2].rib[&prefix_of("192.0.2.0/24")];
    // The next hop is the originating client's, untouched by the reflector.
    assert_eq!(r.next_hops, vec!["10.0.0.2".parse::<IpAddr>().unwrap()]);
    let mut attrs = None;
    net.boxes[2]
        .sp
        .for_each_path(|_, _, rx, _, _, _| attrs = Some(rx.clone()));
    let a = attrs.unwrap();
    assert_eq!(a.originator_id, Some(Ipv4Addr::new(2, 2, 2, 2)));
    assert_eq!(a.cluster_list, vec![Ipv4Addr::new(1, 1, 1, 1)]);
    assert_eq!(a.local_pref, Some(100));
    assert!(a.as_path.is_empty());
}

#[test]
fn a_malformed_update_withdraws_its_routes_and_keeps_the_session() {
    let mut net = ebgp_pair();
    net.static_route(0, "192.0.2.0/24");
    assert!(net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    // Box 0 sends an UPDATE for the same prefix whose ORIGIN has a bad value (RFC 7606
    // §7.1: treat-as-withdraw).
    let mut attrs = PathAttrs {
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ..PathAttrs::default()
    };
    attrs.as_path = vec![packet::Segment {
        kind: packet::SegmentKind::Sequence,
        asns: vec![65001],
    }];
    let mut bytes = Vec::new();
    packet::encode_announce(
        Family::Ipv4Unicast,
        &attrs,
        &[prefix_of("192.0.2.0/24")],
        &packet::EncodeCtx {
            four_octet_as: true,
        },
        &mut bytes,
    );
    // ORIGIN is the first attribute: flags, type 1, length 1, value. Make the value 7.
    let at = bytes
        .windows(3)
        .position(|w| w == [0x40, 1, 1])
        .expect("ORIGIN");
    bytes[at + 3] = 7;
    let link = *net
        .links
        .keys()
        .find(|(b, _, _)| *b == 0)
        .expect("a connection");
    let (j, pj, cj) = net.links[&link];
    let now = net.now;
    net.boxes[j].sp.received(pj, cj, &bytes, now);
    net.settle();
    assert!(!net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    assert_eq!(net.state(1, "10.0.0.1"), State::Established);
}

#[test]
fn an_export_policy_change_withdraws_what_it_no_longer_exports() {
    let mut net = ebgp_pair();
    net.static_route(0, "192.0.2.0/24");
    net.static_route(0, "198.51.100.0/24");
    assert!(net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    // Box 0 now keeps 192.0.2.0/24 to itself.
    let text = "routing-options { autonomous-system 65001; } protocols { bgp { group x { \
         type external; peer-as 65002; export statics; family inet { unicast; } \
         family inet6 { unicast; } neighbor 10.0.0.2; } } } \
         policy-options { policy-statement statics { term no { from route-filter \
         192.0.2.0/24 exact; then reject; } term yes { from protocol static; then accept; } } }";
    let (asn, p) = peers(text);
    let g = Global {
        router_id: "1.1.1.1".parse().unwrap(),
        local_as: asn,
    };
    let now = net.now;
    net.boxes[0]
        .sp
        .configure(g, p, policies(text), &po(text), now);
    net.settle();
    assert!(!net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    assert!(net.boxes[1].rib.contains_key(&prefix_of("198.51.100.0/24")));
    assert_eq!(net.state(0, "10.0.0.2"), State::Established);
    assert_eq!(net.boxes[0].sp.neighbor(0).unwrap().session.stats.flaps, 0);
}

#[test]
fn a_restarting_neighbor_s_routes_are_kept_stale_until_its_time_runs_out() {
    let mut net = Net::new();
    let gr = |asn: u32, peer: u32, nb: &str, export: &str| {
        format!(
            "routing-options {{ autonomous-system {asn}; }} protocols {{ bgp {{ group x {{ \
             type external; peer-as {peer}; graceful-restart {{ restart-time 60; }} {export} \
             neighbor {nb}; }} }} }} {EXPORT_STATIC}"
        )
    };
    net.add(
        "10.0.0.1",
        "1.1.1.1",
        &gr(65001, 65002, "10.0.0.2", "export statics;"),
    );
    net.add("10.0.0.2", "2.2.2.2", &gr(65002, 65001, "10.0.0.1", ""));
    net.settle();
    net.static_route(0, "192.0.2.0/24");
    assert!(net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    // The TCP connection between them dies with no NOTIFICATION (box 0 restarts).
    let links: Vec<_> = net.links.keys().copied().collect();
    net.cut.push((0, 1));
    net.cut.push((1, 0));
    let now = net.now;
    for (b, p, c) in links {
        net.links.remove(&(b, p, c));
        net.boxes[b].sp.closed(p, c, now);
    }
    net.settle();
    // Box 1 helps: the route stays, stale, while box 0 is away.
    assert!(net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    let stale = net.boxes[1]
        .sp
        .neighbor(0)
        .unwrap()
        .stale
        .as_ref()
        .map(|s| s.prefixes.len());
    assert_eq!(stale, Some(1));
    net.advance(Duration::from_secs(55));
    assert!(net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    // Box 0 never comes back within its restart time: the stale route goes.
    net.advance(Duration::from_secs(10));
    assert!(!net.boxes[1].rib.contains_key(&prefix_of("192.0.2.0/24")));
    assert!(net.boxes[1].sp.neighbor(0).unwrap().stale.is_none());
}
