//! The Poptrie against a naive longest-prefix match over random prefixes, after a bulk build
//! and after every incremental insert and remove.

use proptest::prelude::*;
use savin_fib::{Fib, FibError, Key, MAX_NEXT_HOP, MISS};

fn naive<K: Key>(routes: &[(K, u8, u32)], key: K) -> u32 {
    routes
        .iter()
        .filter(|(a, l, _)| key.masked(*l) == a.masked(*l))
        .max_by_key(|(_, l, _)| *l)
        .map_or(MISS, |r| r.2)
}

/// Later duplicates of the same prefix win, as with repeated inserts.
fn dedup<K: Key>(routes: Vec<(K, u8, u32)>) -> Vec<(K, u8, u32)> {
    let mut out: Vec<(K, u8, u32)> = Vec::new();
    for (a, l, nh) in routes {
        let a = a.masked(l);
        out.retain(|(b, m, _)| !(*b == a && *m == l));
        out.push((a, l, nh));
    }
    out
}

/// Prefixes (address, length, next hop).
type Routes<K> = Vec<(K, u8, u32)>;

/// Inserts `routes` one by one, removes the picked ones, then checks every probe (one at a
/// time and in a batch) against the naive match; returns what is left and the probes.
fn incremental<K: Key + std::fmt::LowerHex>(
    routes: &[(K, u8, u32)],
    removals: &[prop::sample::Index],
    probes: impl Fn(&[(K, u8, u32)]) -> Vec<K>,
) -> Result<(Routes<K>, Vec<K>), TestCaseError> {
    let mut fib = Fib::new();
    let mut live: Vec<(K, u8, u32)> = Vec::new();
    for (a, l, nh) in routes.iter().copied() {
        fib.insert(a, l, nh).expect("next hop in range");
        live = dedup([live, vec![(a, l, nh)]].concat());
    }
    for r in removals {
        if live.is_empty() {
            break;
        }
        let (a, l, _) = live.remove(r.index(live.len()));
        prop_assert!(fib.remove(a, l));
    }
    // The writer's exact view: each live prefix by itself, and all of them in order.
    for (a, l, nh) in &live {
        prop_assert_eq!(fib.get(*a, *l), Some(*nh));
    }
    let mut sorted = live.clone();
    sorted.sort_by_key(|(a, l, _)| (*a, *l));
    prop_assert_eq!(fib.entries(), sorted);
    let reader = fib.reader();
    let table = reader.load();
    let keys = probes(&live);
    let mut batch = vec![0u32; keys.len()];
    table.lookup_batch(&keys, &mut batch);
    for (k, b) in keys.iter().zip(&batch) {
        prop_assert_eq!(table.lookup(*k), naive(&live, *k), "key {:#x}", k);
        prop_assert_eq!(*b, naive(&live, *k), "batch, key {:#x}", k);
    }
    Ok((live, keys))
}

fn v4_routes() -> impl Strategy<Value = Vec<(u32, u8, u32)>> {
    // Addresses clustered in a few /8s so prefixes nest and overlap.
    prop::collection::vec(
        (
            prop::sample::select(vec![0x0a00_0000u32, 0xc0a8_0000, 0x0b00_0000]),
            any::<u32>(),
            0u8..=32,
            1u32..1000,
        ),
        0..120,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(base, r, l, nh)| (base | (r & 0x00ff_ffff), l, nh))
            .collect()
    })
}

fn probes(routes: &[(u32, u8, u32)], extra: &[u32]) -> Vec<u32> {
    let mut p: Vec<u32> = extra.to_vec();
    for (a, l, _) in routes {
        p.push(*a);
        let host = if *l >= 32 { 0 } else { u32::MAX >> l };
        p.push(a | host);
        p.push(a.wrapping_sub(1));
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn bulk_build_matches_naive_v4(routes in v4_routes(), extra in prop::collection::vec(any::<u32>(), 50)) {
        let routes = dedup(routes);
        let fib = Fib::from_routes(routes.iter().copied()).expect("next hops in range");
        for k in probes(&routes, &extra) {
            prop_assert_eq!(fib.lookup(k), naive(&routes, k), "key {:#x}", k);
        }
    }

    #[test]
    fn incremental_updates_match_naive_v4(
        routes in v4_routes(),
        removals in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        extra in prop::collection::vec(any::<u32>(), 30),
    ) {
        incremental(&routes, &removals, |live| probes(live, &extra))?;
    }

    /// Batches of adds, replaces and removes through `apply` give the table that the same
    /// changes one by one give (and the naive match): slots patched alone, rebuilt together,
    /// and the whole table rebuilt when a batch is large.
    #[test]
    fn batched_updates_match_naive_v4(
        first in v4_routes(),
        batch in v4_routes(),
        removals in prop::collection::vec(any::<prop::sample::Index>(), 0..60),
        extra in prop::collection::vec(any::<u32>(), 30),
    ) {
        let first = dedup(first);
        let mut fib = Fib::from_routes(first.iter().copied()).expect("next hops in range");
        let mut live = first.clone();
        let mut changes: Vec<(u32, u8, Option<u32>)> = batch.iter().map(|(a, l, nh)| (*a, *l, Some(*nh))).collect();
        for r in &removals {
            if first.is_empty() {
                break;
            }
            let (a, l, _) = first[r.index(first.len())];
            changes.push((a, l, None));
        }
        for (a, l, nh) in &changes {
            let a = a.masked(*l);
            live.retain(|(b, m, _)| !(*b == a && m == l));
            if let Some(nh) = nh {
                live.push((a, *l, *nh));
            }
        }
        fib.apply(changes).expect("next hops in range");
        let reader = fib.reader();
        let table = reader.load();
        for k in probes(&live, &extra).into_iter().chain(probes(&first, &[])) {
            prop_assert_eq!(table.lookup(k), naive(&live, k), "key {:#x}", k);
        }
        prop_assert_eq!(fib.len(), live.len());
    }

    #[test]
    fn bulk_build_matches_naive_v6(
        routes in prop::collection::vec((any::<u64>(), 0u8..=128, 1u32..1000), 0..80),
        extra in prop::collection::vec(any::<u128>(), 40),
    ) {
        // Keep the top 16 bits within two values so prefixes share direct slots.
        let routes: Vec<(u128, u8, u32)> = dedup(routes.into_iter().map(|(r, l, nh)| {
            let top: u128 = if r & 1 == 0 { 0x2001 } else { 0x2a00 };
            ((top << 112) | ((r as u128) << 48) | (r as u128 >> 16), l, nh)
        }).collect());
        let fib = Fib::from_routes(routes.iter().copied()).expect("next hops in range");
        let mut keys: Vec<u128> = extra;
        for (a, l, _) in &routes {
            keys.push(*a);
            keys.push(a | if *l >= 128 { 0 } else { u128::MAX >> l });
        }
        for k in keys {
            prop_assert_eq!(fib.lookup(k), naive(&routes, k), "key {:#x}", k);
        }
    }
}

/// IPv6 prefixes around the edges of the two direct arrays (global unicast 2000::/3 has one
/// of its own, resolving 24 bits; everything else shares an 18-bit one): short prefixes that
/// span both, prefixes right at the array depths, and keys just outside 2000::/3.
fn v6_routes() -> impl Strategy<Value = Vec<(u128, u8, u32)>> {
    prop::collection::vec(
        (
            prop::sample::select(vec![
                0x2001_0db8u128,
                0x2a00_1450,
                0x3fff_ffff,
                0x1fff_ffff,
                0x4000_0000,
                0xfe80_0000,
                0xfd00_0000,
                0x0000_0000,
            ]),
            any::<u128>(),
            prop::sample::select(vec![
                0u8, 1, 2, 3, 4, 16, 17, 18, 19, 23, 24, 25, 30, 32, 36, 47, 48, 64, 128,
            ]),
            1u32..1000,
        ),
        0..80,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(top, r, l, nh)| ((top << 96) | (r >> 40), l, nh))
            .collect()
    })
}

fn probes_v6(routes: &[(u128, u8, u32)], extra: &[u128]) -> Vec<u128> {
    let mut p: Vec<u128> = extra.to_vec();
    for (a, l, _) in routes {
        p.push(*a);
        p.push(a | u128::MAX.checked_shr(u32::from(*l)).unwrap_or(0));
        p.push(a.wrapping_sub(1));
    }
    p
}

proptest! {
    // Fewer cases: each builds IPv6 tables of 2.3M direct slots.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_updates_match_naive_v6(
        routes in v6_routes(),
        removals in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        extra in prop::collection::vec(any::<u128>(), 30),
    ) {
        let (live, keys) = incremental(&routes, &removals, |live| probes_v6(live, &extra))?;
        let rebuilt = Fib::from_routes(live.iter().copied()).expect("next hops in range");
        for k in &keys {
            prop_assert_eq!(rebuilt.lookup(*k), naive(&live, *k), "bulk, key {:#x}", k);
        }
    }
}

/// Long prefixes, up to /128: a batch lookup going fifteen levels deep, keys branching at
/// every level.
#[test]
fn batch_lookups_past_ten_levels() {
    let base: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0000;
    let mut routes = Vec::new();
    for len in (24..=128u8).step_by(7) {
        let a = (base | 0x0123_4567_89ab_cdef_0f1e_2d3c) & u128::MAX << (128 - u32::from(len));
        routes.push((a, len, u32::from(len)));
        // and, for the batch to branch, a sibling one bit off at the same length
        routes.push((
            a ^ (1u128 << (128 - u32::from(len))),
            len,
            1000 + u32::from(len),
        ));
    }
    let routes = dedup(routes);
    let fib = Fib::from_routes(routes.iter().copied()).expect("next hops in range");
    let keys = probes_v6(&routes, &[base | 0x0123_4567_89ab_cdef_0f1e_2d3c]);
    let mut batch = vec![0u32; keys.len()];
    fib.reader().load().lookup_batch(&keys, &mut batch);
    for (k, b) in keys.iter().zip(&batch) {
        assert_eq!(*b, naive(&routes, *k), "key {k:#x}");
        assert_eq!(fib.lookup(*k), naive(&routes, *k), "key {k:#x}");
    }
    assert_eq!(fib.lookup(base | 0x0123_4567_89ab_cdef_0f1e_2d3c), 122);
}

#[test]
fn a_default_route_and_a_host_route() {
    let mut fib: Fib<u32> = Fib::new();
    assert_eq!(fib.lookup(0x0a00_0001), MISS);
    fib.insert(0, 0, 7).expect("next hop in range");
    fib.insert(0x0a00_0001, 32, 9).expect("next hop in range");
    assert_eq!(fib.lookup(0x0a00_0001), 9);
    assert_eq!(fib.lookup(0x0a00_0002), 7);
    assert!(fib.remove(0, 0));
    assert_eq!(fib.lookup(0x0a00_0002), MISS);
    assert!(!fib.remove(0, 0));
}

#[test]
fn readers_see_the_table_before_or_after_an_update_never_between() {
    let mut fib: Fib<u32> = Fib::new();
    // A covering /16 and background routes in the same slot, so updates rebuild real nodes.
    fib.insert(0x0a0a_0000, 16, 1).expect("next hop in range");
    for i in 0..200u32 {
        fib.insert(0x0a0a_0000 | (i << 8), 24, 100 + i)
            .expect("next hop in range");
    }
    let reader = fib.reader();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let s = stop.clone();
    let key = 0x0a0a_fe01u32; // inside 10.10.254.0/24, which the writer toggles
    let t = std::thread::spawn(move || {
        let mut seen = [0u64; 3];
        while !s.load(std::sync::atomic::Ordering::Relaxed) {
            let table = reader.load();
            match table.lookup(key) {
                1 => seen[0] += 1,
                2 => seen[1] += 1,
                other => panic!("reader saw {other}"),
            }
            let mut out = [0u32; 4];
            table.lookup_batch(&[key, key, 0x0a0a_0001, 0x0a0a_0001], &mut out);
            assert!(out[0] == 1 || out[0] == 2, "batch saw {}", out[0]);
            assert_eq!(out[2], 100, "an untouched route changed");
            seen[2] += 1;
        }
        seen
    });
    for round in 0..20_000u32 {
        if round % 2 == 0 {
            fib.insert(0x0a0a_fe00, 24, 2).expect("next hop in range");
        } else {
            assert!(fib.remove(0x0a0a_fe00, 24));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = t.join().unwrap();
    assert!(seen[2] > 0, "the reader ran");
}

#[test]
fn a_node_whose_64_children_are_all_nodes_and_the_largest_next_hop() {
    // 10.0.0.0/18 is one direct slot; a /25 in each of its 64 /24s makes every child of its
    // node a node (ranks 0 to 63), and the covering route carries the largest next hop.
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 18, MAX_NEXT_HOP)
        .expect("next hop in range");
    for j in 0..64u32 {
        fib.insert(0x0a00_0080 | j << 8, 25, 1000 + j)
            .expect("next hop in range");
    }
    let check = |fib: &Fib<u32>, gone: &[u32]| {
        let keys: Vec<u32> = (0..64u32)
            .flat_map(|j| [0x0a00_0001 | j << 8, 0x0a00_0081 | j << 8])
            .collect();
        let want: Vec<u32> = (0..64u32)
            .flat_map(|j| {
                let deep = if gone.contains(&j) {
                    MAX_NEXT_HOP
                } else {
                    1000 + j
                };
                [MAX_NEXT_HOP, deep]
            })
            .collect();
        let single: Vec<u32> = keys.iter().map(|k| fib.lookup(*k)).collect();
        let mut batch = vec![0u32; keys.len()];
        fib.reader().load().lookup_batch(&keys, &mut batch);
        assert_eq!(single, want);
        assert_eq!(batch, want);
    };
    check(&fib, &[]);
    // Children leave one by one: ranks shift under the ones that stay.
    let gone = [0u32, 17, 63, 31];
    for (n, j) in gone.iter().enumerate() {
        assert!(fib.remove(0x0a00_0080 | j << 8, 25));
        check(&fib, &gone[..=n]);
    }
}

#[test]
fn a_next_hop_past_the_largest_or_miss_is_refused_and_the_table_kept() {
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 24, 7).expect("in range");
    for nh in [MAX_NEXT_HOP + 1, u32::MAX, MISS] {
        assert_eq!(
            fib.insert(0x0a00_0000, 24, nh),
            Err(FibError::NextHopOutOfRange(nh))
        );
        assert_eq!(
            fib.insert(0x0b00_0000, 8, nh),
            Err(FibError::NextHopOutOfRange(nh))
        );
        assert_eq!(fib.lookup(0x0a00_0001), 7, "the route is kept");
        assert_eq!(fib.lookup(0x0b00_0001), MISS, "nothing was added");
    }
    assert!(matches!(
        Fib::<u32>::from_routes([(0x0a00_0000, 24, 1), (0x0b00_0000, 8, MAX_NEXT_HOP + 1)]),
        Err(FibError::NextHopOutOfRange(n)) if n == MAX_NEXT_HOP + 1
    ));
}

#[test]
fn batches_switch_between_the_branching_and_branch_free_direct_step_and_agree() {
    // 10/8 ends in the direct array; 11.0.0.0/18 holds /24s, so its keys go a node deeper.
    // Groups of 32 with many direct ends take the branch-free step for the group after them,
    // groups with few take the branching one: each mix follows each other mix here.
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a00_0000, 8, 1).expect("in range");
    for j in 0..64u32 {
        fib.insert(0x0b00_0000 | j << 8, 24, 100 + j)
            .expect("in range");
    }
    let direct = |i: u32| 0x0a00_0000 | i.wrapping_mul(2_654_435_761) >> 8;
    let deep = |i: u32| 0x0b00_0000 | (i % 64) << 8 | (i & 0xff);
    let mixes = [0usize, 32, 8, 7, 31, 1, 16, 0, 32, 24];
    let mut keys = Vec::new();
    for (g, ends) in mixes.iter().enumerate() {
        for i in 0..32u32 {
            let n = g as u32 * 32 + i;
            // The direct ends spread through the group, not first.
            keys.push(if (i as usize * 7) % 32 < *ends {
                direct(n)
            } else {
                deep(n)
            });
        }
    }
    keys.push(deep(5)); // and a short last group
    let want: Vec<u32> = keys.iter().map(|k| fib.lookup_reference(*k)).collect();
    assert!(want.iter().all(|nh| *nh != MISS));
    let mut got = vec![0u32; keys.len()];
    fib.reader().load().lookup_batch(&keys, &mut got);
    assert_eq!(got, want);
}
