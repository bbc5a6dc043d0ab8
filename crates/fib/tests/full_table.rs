//! The full Internet table from `../shared/data/full-table/`: every lookup of the Poptrie
//! agrees with the reference trie, after the bulk build and after a burst of updates.

use std::io::Read;

use rand::{Rng, SeedableRng};
use savin_fib::Fib;

fn table() -> Option<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/full-table/prefixes.txt.gz"
    );
    match std::fs::File::open(path) {
        Ok(f) => {
            let mut text = String::new();
            flate2::read::GzDecoder::new(f)
                .read_to_string(&mut text)
                .unwrap();
            Some(text)
        }
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{path}: {e}"),
        Err(e) => {
            eprintln!("SKIP full-table test: {path}: {e}");
            None
        }
    }
}

#[test]
fn full_table_lookups_agree_with_the_reference_before_and_after_updates() {
    let Some(text) = table() else { return };
    let v4: Vec<(u32, u8)> = text
        .lines()
        .filter_map(|l| l.parse::<ipnet::Ipv4Net>().ok())
        .map(|n| (u32::from(n.network()), n.prefix_len()))
        .collect();
    let v6: Vec<(u128, u8)> = text
        .lines()
        .filter_map(|l| l.parse::<ipnet::Ipv6Net>().ok())
        .map(|n| (u128::from(n.network()), n.prefix_len()))
        .collect();
    assert_eq!((v4.len(), v6.len()), (901_899, 160_147));
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut fib4 = Fib::from_routes(
        v4.iter()
            .enumerate()
            .map(|(i, (a, l))| (*a, *l, 1 + (i as u32 % 60_000))),
    )
    .expect("next hops in range");
    let mut fib6 = Fib::from_routes(
        v6.iter()
            .enumerate()
            .map(|(i, (a, l))| (*a, *l, 1 + (i as u32 % 60_000))),
    )
    .expect("next hops in range");
    let check = |fib4: &Fib<u32>, fib6: &Fib<u128>, rng: &mut rand::rngs::StdRng| {
        for _ in 0..200_000 {
            let (a, l) = v4[rng.gen_range(0..v4.len())];
            let k = a | (rng.gen::<u32>() & u32::MAX.checked_shr(u32::from(l)).unwrap_or(0));
            assert_eq!(fib4.lookup(k), fib4.lookup_reference(k), "{k:#x}");
            let r = rng.gen::<u32>();
            assert_eq!(fib4.lookup(r), fib4.lookup_reference(r), "{r:#x}");
        }
        for _ in 0..100_000 {
            let (a, l) = v6[rng.gen_range(0..v6.len())];
            let k = a | (rng.gen::<u128>() & u128::MAX.checked_shr(u32::from(l)).unwrap_or(0));
            assert_eq!(fib6.lookup(k), fib6.lookup_reference(k), "{k:#x}");
        }
    };
    check(&fib4, &fib6, &mut rng);
    // Withdraw and re-announce with new next hops, including short prefixes.
    for i in 0..5_000 {
        let (a, l) = v4[rng.gen_range(0..v4.len())];
        if i % 2 == 0 {
            fib4.remove(a, l);
        } else {
            fib4.insert(a, l, 60_001 + i % 1000)
                .expect("next hop in range");
        }
        let (a, l) = v6[rng.gen_range(0..v6.len())];
        match i % 3 {
            0 => {
                fib6.remove(a, l);
            }
            1 => fib6
                .insert(a, l, 60_001 + i % 1000)
                .expect("next hop in range"),
            _ => {
                // A more-specific inside an existing prefix.
                let sub = (l + 8).min(128);
                let more =
                    a | (rng.gen::<u128>() & u128::MAX.checked_shr(u32::from(l)).unwrap_or(0));
                fib6.insert(more, sub, 61_001 + i % 1000)
                    .expect("next hop in range");
            }
        }
    }
    fib4.insert(0x0a00_0000, 8, 65_000)
        .expect("next hop in range");
    fib4.insert(0, 1, 65_001).expect("next hop in range");
    check(&fib4, &fib6, &mut rng);
}
