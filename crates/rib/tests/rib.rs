//! The RIB without I/O: selection by preference, floating statics, ECMP, qualified next hops,
//! link changes that touch only their routes, and a model check of the FIB it drives.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;
use savin_rib::{FibUpdate, Hop, IpPrefix, NextHops, Prefix, Protocol, Rib, Route, Source};

fn p(s: &str) -> IpPrefix {
    let (a, l) = s.split_once('/').unwrap();
    IpPrefix::new(a.parse().unwrap(), l.parse().unwrap())
}

fn gw(i: u32, a: &str) -> Hop {
    Hop::Gateway(i, a.parse().unwrap())
}

fn stat(pref: u32, hops: &[Hop]) -> Option<Route> {
    Some(Route {
        preference: pref,
        metric: 0,
        hops: NextHops::new(hops.iter().copied()),
    })
}

const STATIC5: Source = Source {
    protocol: Protocol::Static,
    id: 5,
};
const STATIC7: Source = Source {
    protocol: Protocol::Static,
    id: 7,
};

/// The one update for `prefix` in `u`, as (protocol, preference, usable hops).
fn only(rib: &Rib, u: &[FibUpdate]) -> Option<(Protocol, u32, Vec<Hop>)> {
    assert_eq!(u.len(), 1, "one update expected: {u:?}");
    u[0].active
        .as_ref()
        .map(|a| (a.protocol, a.preference, rib.usable_hops(a).hops().to_vec()))
}

/// Drains and returns the one update.
fn step(rib: &mut Rib) -> Option<(Protocol, u32, Vec<Hop>)> {
    let u = rib.drain_fib_updates();
    only(rib, &u)
}

#[test]
fn a_floating_static_takes_over_when_the_preferred_link_goes_down_and_gives_back() {
    let mut rib = Rib::new();
    rib.set_interface(1, true);
    rib.set_interface(2, true);
    let dst = p("192.0.2.0/24");
    rib.update(dst, STATIC5, stat(5, &[gw(1, "10.0.1.2")]));
    rib.update(dst, STATIC7, stat(7, &[gw(2, "10.0.2.2")]));
    let u = rib.drain_fib_updates();
    assert_eq!(
        only(&rib, &u),
        Some((Protocol::Static, 5, vec![gw(1, "10.0.1.2")]))
    );

    rib.set_interface(1, false);
    let u = rib.drain_fib_updates();
    assert_eq!(
        only(&rib, &u),
        Some((Protocol::Static, 7, vec![gw(2, "10.0.2.2")]))
    );
    let IpPrefix::V4(k) = dst else { unreachable!() };
    let e = rib.inet.get(k).unwrap();
    let c5 = e.candidates().iter().find(|c| c.source == STATIC5).unwrap();
    assert!(
        e.is_last_active(c5),
        "the route that was active is marked last active"
    );
    assert!(!e.is_active(c5));

    rib.set_interface(1, true);
    let u = rib.drain_fib_updates();
    assert_eq!(
        only(&rib, &u),
        Some((Protocol::Static, 5, vec![gw(1, "10.0.1.2")]))
    );
    // Both links down: withdrawn.
    rib.set_interface(1, false);
    rib.set_interface(2, false);
    let u = rib.drain_fib_updates();
    assert_eq!(only(&rib, &u), None);
    // Candidates stay (hidden): one comes back with its link.
    assert_eq!(rib.inet.get(k).unwrap().candidates().len(), 2);
    assert_eq!(rib.inet.summary(rib.next_hops()).hidden, 2);
    rib.set_interface(2, true);
    let u = rib.drain_fib_updates();
    assert_eq!(
        only(&rib, &u),
        Some((Protocol::Static, 7, vec![gw(2, "10.0.2.2")]))
    );
}

#[test]
fn ecmp_shrinks_to_the_members_whose_links_are_up_and_grows_back() {
    let mut rib = Rib::new();
    for i in 1..=3 {
        rib.set_interface(i, true);
    }
    let dst = p("198.51.100.0/24");
    let all = [gw(1, "10.0.1.2"), gw(2, "10.0.2.2"), gw(3, "10.0.3.2")];
    rib.update(dst, STATIC5, stat(5, &all));
    assert_eq!(step(&mut rib), Some((Protocol::Static, 5, all.to_vec())));
    rib.set_interface(2, false);
    assert_eq!(
        step(&mut rib),
        Some((Protocol::Static, 5, vec![all[0], all[2]]))
    );
    rib.set_interface(1, false);
    rib.set_interface(3, false);
    assert_eq!(step(&mut rib), None);
    rib.set_interface(1, true);
    rib.set_interface(2, true);
    rib.set_interface(3, true);
    // Three changes, one update: the set as it is now.
    assert_eq!(step(&mut rib), Some((Protocol::Static, 5, all.to_vec())));
}

#[test]
fn qualified_next_hops_at_the_route_preference_share_and_others_float() {
    // route 203.0.113.0/24 next-hop A; qualified-next-hop B; qualified-next-hop C preference 7:
    // the static producer offers one candidate per preference level.
    let mut rib = Rib::new();
    for i in 1..=3 {
        rib.set_interface(i, true);
    }
    let dst = p("203.0.113.0/24");
    let (a, b, c) = (gw(1, "10.0.1.2"), gw(2, "10.0.2.2"), gw(3, "10.0.3.2"));
    rib.update(dst, STATIC5, stat(5, &[b, a]));
    rib.update(dst, STATIC7, stat(7, &[c]));
    assert_eq!(step(&mut rib), Some((Protocol::Static, 5, vec![a, b])));
    rib.set_interface(1, false);
    assert_eq!(step(&mut rib), Some((Protocol::Static, 5, vec![b])));
    rib.set_interface(2, false);
    assert_eq!(step(&mut rib), Some((Protocol::Static, 7, vec![c])));
}

#[test]
fn a_direct_route_beats_a_static_to_the_same_prefix_and_the_static_takes_over_when_it_goes() {
    let mut rib = Rib::new();
    rib.set_interface(1, true);
    rib.set_interface(2, true);
    let dst = p("10.0.1.0/24");
    rib.update(
        dst,
        Source::new(Protocol::Direct, 1),
        Some(Route::new(
            Protocol::Direct,
            NextHops::one(Hop::Connected(1)),
        )),
    );
    rib.update(dst, STATIC5, stat(5, &[gw(2, "10.0.2.2")]));
    assert_eq!(
        step(&mut rib),
        Some((Protocol::Direct, 0, vec![Hop::Connected(1)]))
    );
    rib.update(dst, Source::new(Protocol::Direct, 1), None);
    assert_eq!(
        step(&mut rib),
        Some((Protocol::Static, 5, vec![gw(2, "10.0.2.2")]))
    );
}

#[test]
fn an_unresolved_next_hop_is_hidden_and_never_reaches_the_fib() {
    let mut rib = Rib::new();
    let dst = p("192.0.2.0/24");
    rib.update(
        dst,
        STATIC5,
        stat(5, &[Hop::Unresolved("10.9.9.9".parse().unwrap())]),
    );
    assert!(rib.drain_fib_updates().is_empty());
    let s = rib.inet.summary(rib.next_hops());
    assert_eq!((s.routes, s.active, s.hidden), (1, 0, 1));
    // Discard needs no interface.
    rib.update(dst, STATIC7, stat(7, &[Hop::Discard]));
    assert_eq!(
        step(&mut rib),
        Some((Protocol::Static, 7, vec![Hop::Discard]))
    );
}

#[test]
fn changes_between_drains_are_one_update_and_a_repeated_route_is_none() {
    let mut rib = Rib::new();
    rib.set_interface(1, true);
    let dst = p("192.0.2.0/24");
    rib.update(dst, STATIC5, stat(5, &[gw(1, "10.0.1.2")]));
    rib.update(dst, STATIC5, stat(5, &[gw(1, "10.0.1.3")]));
    rib.update(dst, STATIC5, stat(5, &[gw(1, "10.0.1.4")]));
    assert_eq!(
        step(&mut rib),
        Some((Protocol::Static, 5, vec![gw(1, "10.0.1.4")]))
    );
    // The same route again changes nothing.
    rib.update(dst, STATIC5, stat(5, &[gw(1, "10.0.1.4")]));
    assert!(rib.drain_fib_updates().is_empty());
    // Added and withdrawn before a drain: nothing reaches the FIB, nothing is left.
    let other = p("192.0.3.0/24");
    rib.update(other, STATIC5, stat(5, &[gw(1, "10.0.1.9")]));
    rib.update(other, STATIC5, None);
    assert!(rib.drain_fib_updates().is_empty());
    assert_eq!(rib.inet.len(), 1);
    // Withdrawing the last route removes the prefix and frees its next hops.
    rib.update(dst, STATIC5, None);
    assert_eq!(step(&mut rib), None);
    assert!(rib.inet.is_empty());
    assert!(rib.next_hops().is_empty(), "no next-hop set is left behind");
}

#[test]
fn a_link_change_reaches_only_the_routes_through_it() {
    let mut rib = Rib::new();
    rib.set_interface(1, true);
    rib.set_interface(2, true);
    for i in 0..2000u32 {
        let a = Ipv4Addr::from(0x0a00_0000 + (i << 8));
        let hop = if i % 2 == 0 {
            gw(1, "10.255.1.2")
        } else {
            gw(2, "10.255.2.2")
        };
        rib.update(
            IpPrefix::new(IpAddr::V4(a), 24),
            Source::new(Protocol::Bgp, 1),
            stat(170, &[hop]),
        );
    }
    assert_eq!(rib.drain_fib_updates().len(), 2000);
    rib.set_interface(1, false);
    let u = rib.drain_fib_updates();
    assert_eq!(u.len(), 1000);
    assert!(u
        .iter()
        .all(|u| u.active.is_none()
            && matches!(u.prefix, IpPrefix::V4(p) if (p.addr() >> 8) % 2 == 0)));
    // An interface no route uses changes nothing.
    rib.set_interface(7, false);
    rib.set_interface(7, true);
    assert!(rib.drain_fib_updates().is_empty());
}

#[test]
fn longest_match_and_within_find_prefixes_without_a_scan() {
    let mut rib = Rib::new();
    for s in [
        "0.0.0.0/0",
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.2.0/24",
        "11.0.0.0/8",
    ] {
        rib.update(p(s), STATIC5, stat(5, &[Hop::Discard]));
    }
    rib.drain_fib_updates();
    let hit = |a: &str| {
        let a: Ipv4Addr = a.parse().unwrap();
        rib.inet
            .longest_match(a.into(), |_| true)
            .map(|(p, _)| p.to_string())
    };
    assert_eq!(hit("10.1.2.3").as_deref(), Some("10.1.2.0/24"));
    assert_eq!(hit("10.1.3.3").as_deref(), Some("10.1.0.0/16"));
    assert_eq!(hit("10.2.0.1").as_deref(), Some("10.0.0.0/8"));
    assert_eq!(hit("12.0.0.1").as_deref(), Some("0.0.0.0/0"));
    let inside: Vec<String> = rib
        .inet
        .within(Prefix::new(u32::from(Ipv4Addr::new(10, 0, 0, 0)), 8))
        .map(|(p, _)| p.to_string())
        .collect();
    assert_eq!(inside, ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24"]);
    // A chunked walk goes on from where it was, to the end and no further.
    let outer = Prefix::new(u32::from(Ipv4Addr::new(10, 0, 0, 0)), 8);
    let mut after = None;
    let mut walked = Vec::new();
    loop {
        let chunk: Vec<Prefix<u32>> = rib
            .inet
            .within_after(outer, after)
            .take(2)
            .map(|(p, _)| p)
            .collect();
        walked.extend(chunk.iter().map(|p| p.to_string()));
        match chunk.last() {
            Some(p) if chunk.len() == 2 => after = Some(*p),
            _ => break,
        }
    }
    assert_eq!(walked, inside);
    let last = Prefix::new(u32::from(Ipv4Addr::new(12, 0, 0, 0)), 8);
    assert_eq!(rib.inet.within_after(outer, Some(last)).count(), 0);
    let all = Prefix::new(0u32, 0);
    assert_eq!(rib.inet.within_after(all, Some(outer)).count(), 3);
}

#[derive(Debug, Clone)]
enum Op {
    Update {
        prefix: u8,
        source: u8,
        pref: u8,
        hops: Vec<u8>,
    },
    Withdraw {
        prefix: u8,
        source: u8,
    },
    Link {
        ifid: u8,
        up: bool,
    },
    Drain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..8u8, 0..3u8, 0..3u8, prop::collection::vec(0..6u8, 1..4))
            .prop_map(|(prefix, source, pref, hops)| Op::Update { prefix, source, pref, hops }),
        2 => (0..8u8, 0..3u8).prop_map(|(prefix, source)| Op::Withdraw { prefix, source }),
        2 => (0..4u8, any::<bool>()).prop_map(|(ifid, up)| Op::Link { ifid, up }),
        1 => Just(Op::Drain),
    ]
}

/// Hop `h` of the model: interfaces 0-3 with a gateway, 4 discard, 5 unresolved.
fn hop(h: u8) -> Hop {
    match h {
        0..=3 => Hop::Gateway(u32::from(h), IpAddr::V4(Ipv4Addr::new(10, 0, h, 2))),
        4 => Hop::Discard,
        _ => Hop::Unresolved(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9))),
    }
}

proptest! {
    /// After any sequence of changes, the FIB that the updates build is the model's choice:
    /// per prefix the usable members of the best candidate with a usable member.
    #[test]
    fn the_fib_the_updates_build_is_the_best_usable_route(ops in prop::collection::vec(op(), 1..80)) {
        let mut rib = Rib::new();
        // Model: candidates by (prefix, source) -> (pref, hops); links up.
        let mut model: BTreeMap<(u8, u8), (u32, Vec<Hop>)> = BTreeMap::new();
        let mut up = [false; 4];
        let mut fib: BTreeMap<IpPrefix, (u32, Vec<Hop>)> = BTreeMap::new();
        let prefix = |i: u8| IpPrefix::new(IpAddr::V4(Ipv4Addr::new(192, 0, i, 0)), 24);
        let ops: Vec<Op> = ops.into_iter().chain([Op::Drain]).collect();
        for op in ops {
            match op {
                Op::Update { prefix: pi, source, pref, hops } => {
                    let hops: Vec<Hop> = hops.into_iter().map(hop).collect();
                    let pref = 5 + u32::from(pref);
                    rib.update(prefix(pi), Source::new(Protocol::Static, u32::from(source)),
                        stat(pref, &hops));
                    let mut h = hops.clone();
                    h.sort();
                    h.dedup();
                    model.insert((pi, source), (pref, h));
                }
                Op::Withdraw { prefix: pi, source } => {
                    rib.update(prefix(pi), Source::new(Protocol::Static, u32::from(source)), None);
                    model.remove(&(pi, source));
                }
                Op::Link { ifid, up: u } => {
                    rib.set_interface(u32::from(ifid), u);
                    up[usize::from(ifid)] = u;
                }
                Op::Drain => {
                    for u in rib.drain_fib_updates() {
                        match u.active {
                            Some(a) => fib.insert(u.prefix, (a.preference, rib.usable_hops(&a).hops().to_vec())),
                            None => fib.remove(&u.prefix),
                        };
                    }
                    let usable = |h: &Hop| match h {
                        Hop::Gateway(i, _) => up[*i as usize],
                        Hop::Discard => true,
                        _ => false,
                    };
                    let mut want: BTreeMap<IpPrefix, (u32, Vec<Hop>)> = BTreeMap::new();
                    for pi in 0..8u8 {
                        let best = model
                            .iter()
                            .filter(|((q, _), _)| *q == pi)
                            .map(|((_, s), (pref, hops))| (*pref, *s, hops.iter().filter(|h| usable(h)).copied().collect::<Vec<_>>()))
                            .filter(|(_, _, h)| !h.is_empty())
                            .min_by_key(|(pref, s, _)| (*pref, *s));
                        if let Some((pref, _, h)) = best {
                            want.insert(prefix(pi), (pref, h));
                        }
                    }
                    prop_assert_eq!(&fib, &want);
                }
            }
        }
        // Everything withdrawn: nothing left, no next-hop set leaked.
        for (pi, s) in model.keys().copied().collect::<Vec<_>>() {
            rib.update(prefix(pi), Source::new(Protocol::Static, u32::from(s)), None);
        }
        rib.drain_fib_updates();
        prop_assert!(rib.inet.is_empty());
        prop_assert!(rib.next_hops().is_empty());
    }
}

const BGP: Source = Source {
    protocol: Protocol::Bgp,
    id: 0,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The active hops of `prefix` as the FIB was last told, from a drained batch.
fn fib_of(rib: &Rib, u: &[FibUpdate], prefix: IpPrefix) -> Option<Option<Vec<Hop>>> {
    u.iter().rev().find(|x| x.prefix == prefix).map(|x| {
        x.active
            .as_ref()
            .map(|a| rib.usable_hops(a).hops().to_vec())
    })
}

#[test]
fn a_recursive_next_hop_is_resolved_again_when_the_route_it_resolves_through_changes() {
    let mut rib = Rib::new();
    rib.set_interface(1, true);
    rib.set_interface(2, true);
    // A thousand BGP routes through the iBGP next hop 10.9.9.9, which nothing reaches yet.
    let bgp: Vec<IpPrefix> = (0..1000u32)
        .map(|i| IpPrefix::new(IpAddr::V4(Ipv4Addr::from(0xC633_0000 + (i << 8))), 24))
        .collect();
    for p in &bgp {
        rib.update_via(*p, BGP, 170, 0, &[ip("10.9.9.9")]);
    }
    let u = rib.drain_fib_updates();
    assert!(u.is_empty(), "unresolved routes are hidden: {u:?}");
    let shown = rib.inet.get(Prefix::new(0xC633_0000, 24)).unwrap();
    let c = &shown.candidates()[0];
    assert_eq!(rib.hops(c.nh).hops(), &[Hop::Unresolved(ip("10.9.9.9"))]);
    assert_eq!(rib.next_hops().via(c.nh), Some(&[ip("10.9.9.9")][..]));

    // A static route to the next hop's network: every route through it comes up, through
    // the static route's gateway.
    rib.update(p("10.9.9.0/24"), STATIC5, stat(5, &[gw(1, "10.0.1.2")]));
    let u = rib.drain_fib_updates();
    assert_eq!(
        u.len(),
        1001,
        "the static route and the thousand BGP routes"
    );
    for p in &bgp {
        assert_eq!(fib_of(&rib, &u, *p), Some(Some(vec![gw(1, "10.0.1.2")])));
    }
    // The static route moves to another gateway: the BGP routes follow.
    rib.update(p("10.9.9.0/24"), STATIC5, stat(5, &[gw(2, "10.0.2.2")]));
    let u = rib.drain_fib_updates();
    assert_eq!(
        fib_of(&rib, &u, bgp[999]),
        Some(Some(vec![gw(2, "10.0.2.2")]))
    );
    assert_eq!(u.len(), 1001);
    // A longer route to the next hop wins over the shorter one; a connected subnet makes
    // the next hop itself the gateway.
    rib.update(
        p("10.9.9.0/28"),
        Source::new(Protocol::Direct, 1),
        stat(0, &[Hop::Connected(1)]),
    );
    let u = rib.drain_fib_updates();
    assert_eq!(
        fib_of(&rib, &u, bgp[0]),
        Some(Some(vec![gw(1, "10.9.9.9")]))
    );
    // The connected interface goes down: the next hop falls back to the static route.
    rib.set_interface(1, false);
    let u = rib.drain_fib_updates();
    assert_eq!(
        fib_of(&rib, &u, bgp[0]),
        Some(Some(vec![gw(2, "10.0.2.2")]))
    );
    rib.set_interface(1, true);
    rib.drain_fib_updates();
    // Routes the RIB resolves through that are themselves BGP's do not count.
    rib.update(p("10.9.9.0/28"), Source::new(Protocol::Direct, 1), None);
    rib.update(p("10.9.9.0/24"), STATIC5, None);
    rib.update_via(p("10.9.0.0/16"), BGP, 170, 0, &[ip("10.0.1.2")]);
    let u = rib.drain_fib_updates();
    assert_eq!(fib_of(&rib, &u, bgp[0]), Some(None), "hidden again: {u:?}");
    // A BGP route that goes releases its set once none uses it.
    let before = rib.next_hops().len();
    for p in &bgp {
        rib.update(*p, BGP, None);
    }
    rib.drain_fib_updates();
    assert_eq!(rib.next_hops().len(), before - 1);
}

/// A full table holds a million entries: a route record stays small (the memory goal).
#[test]
fn a_table_entry_is_small() {
    assert!(std::mem::size_of::<savin_rib::Entry>() <= 48);
    assert!(std::mem::size_of::<savin_rib::Candidate>() <= 32);
}

proptest! {
    /// Replacing a protocol's candidates of a prefix in one call leaves the RIB as offering
    /// and withdrawing them one by one does: the same FIB, the same candidates, no next-hop
    /// set leaked.
    #[test]
    fn replacing_a_prefixs_candidates_at_once_is_the_same_as_one_by_one(
        batches in prop::collection::vec(
            (0u8..4, prop::collection::vec((0u32..3, 0u32..3, 0u8..3), 0..5)),
            1..40,
        )
    ) {
        let mut at_once = Rib::new();
        let mut one_by_one = Rib::new();
        for rib in [&mut at_once, &mut one_by_one] {
            rib.set_interface(1, true);
            rib.update(
                IpPrefix::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, 0)), 24),
                Source::new(Protocol::Direct, 1),
                Some(Route::new(Protocol::Direct, NextHops::one(Hop::Connected(1)))),
            );
        }
        let nh = |i: u8| IpAddr::V4(Ipv4Addr::new(10, 0, 1, 2 + i));
        // Next-hop set ids differ between the two (reused in another order): compared by hops.
        type Fib = BTreeMap<IpPrefix, (Protocol, u32, Vec<Hop>)>;
        let mut fib_a = Fib::new();
        let mut fib_b = Fib::new();
        let mut counts: BTreeMap<u8, u32> = BTreeMap::new();
        for (pi, routes) in batches {
            let prefix = IpPrefix::new(IpAddr::V4(Ipv4Addr::new(192, 0, pi, 0)), 24);
            let vias: Vec<[IpAddr; 1]> = routes.iter().map(|r| [nh(r.2)]).collect();
            at_once.replace_via(
                prefix,
                Protocol::Bgp,
                routes.iter().zip(&vias).map(|(r, v)| (170 + r.0, r.1, &v[..])),
            );
            for (i, (r, v)) in routes.iter().zip(&vias).enumerate() {
                one_by_one.update_via(prefix, Source::new(Protocol::Bgp, i as u32), 170 + r.0, r.1, v);
            }
            let had = counts.insert(pi, routes.len() as u32).unwrap_or(0);
            for id in routes.len() as u32..had {
                one_by_one.update(prefix, Source::new(Protocol::Bgp, id), None);
            }
            for (rib, fib) in [(&mut at_once, &mut fib_a), (&mut one_by_one, &mut fib_b)] {
                for u in rib.drain_fib_updates() {
                    match u.active {
                        Some(a) => fib.insert(u.prefix, (a.protocol, a.preference, rib.usable_hops(&a).hops().to_vec())),
                        None => fib.remove(&u.prefix),
                    };
                }
            }
            prop_assert_eq!(&fib_a, &fib_b);
            let p = Prefix::new(u32::from(Ipv4Addr::new(192, 0, pi, 0)), 24);
            let cands = |r: &Rib| r.inet.get(p).map(|e| e.candidates().iter().map(|c| (c.source, c.preference, c.metric)).collect::<Vec<_>>());
            prop_assert_eq!(cands(&at_once), cands(&one_by_one));
        }
        prop_assert_eq!(at_once.next_hops().len(), one_by_one.next_hops().len());
    }
}

proptest! {
    /// inet.0's packed index answers as a map from prefix to slot does: the same slot for
    /// each prefix, and the same prefixes in the same order from any starting point.
    #[test]
    fn the_packed_index_is_a_map_in_prefix_order(
        ops in proptest::collection::vec((any::<u32>(), 0u8..=32, 0u32..1 << 20, any::<bool>()), 1..300),
        from in (any::<u32>(), 0u8..=32, any::<bool>()),
    ) {
        use savin_rib::{PackedIndex, PrefixIndex};
        use std::ops::Bound;
        let mut packed = PackedIndex::default();
        let mut model: BTreeMap<Prefix<u32>, u32> = BTreeMap::new();
        for (addr, len, slot, insert) in ops {
            // Near addresses, so prefixes nest and collide.
            let p = Prefix::new(addr & 0xff00_0f00, len);
            if insert && !model.contains_key(&p) {
                packed.insert(p, slot);
                model.insert(p, slot);
            } else if !insert {
                prop_assert_eq!(packed.remove(p), model.remove(&p));
            }
            prop_assert_eq!(packed.get(p), model.get(&p).copied());
        }
        prop_assert_eq!(packed.len(), model.len());
        let f = Prefix::new(from.0 & 0xff00_0f00, from.1);
        let bound = if from.2 { Bound::Included(f) } else { Bound::Excluded(f) };
        let got: Vec<(Prefix<u32>, u32)> = packed.iter_from(bound).collect();
        let want: Vec<(Prefix<u32>, u32)> =
            model.range((bound, Bound::Unbounded)).map(|(p, s)| (*p, *s)).collect();
        prop_assert_eq!(got, want);
    }
}
