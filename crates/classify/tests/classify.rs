//! The classifier answers exactly as a linear first-match scan, on the ClassBench rule sets and
//! on random policies.

use std::io::Read;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use savin_classify::{parse_classbench, Classifier, Header, Linear, PortRange, Prefix, Rule};

fn classbench(name: &str) -> Vec<Rule> {
    let path = format!(
        "{}/../../../shared/data/classbench/{name}.rules.gz",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).expect(&path))
        .read_to_string(&mut text)
        .unwrap();
    parse_classbench(&text).unwrap()
}

/// A header inside rule `r` (`Rule::ANY`: anywhere).
fn header_in(r: &Rule, rng: &mut impl Rng) -> Header {
    r.sample(&mut || rng.next_u32())
}

fn agree_on(rules: &[Rule], packets: usize, seed: u64) {
    let c = Classifier::new(rules);
    let l = Linear::new(rules);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut matched = 0;
    for n in 0..packets {
        let h = if n % 4 == 3 {
            header_in(&Rule::ANY, &mut rng)
        } else {
            header_in(&rules[rng.gen_range(0..rules.len())], &mut rng)
        };
        let want = l.classify(&h);
        assert_eq!(c.classify(&h), want, "{h:?}");
        matched += usize::from(want.is_some());
    }
    // The headers inside rules must mostly match something, or the check says little.
    assert!(matched > packets / 2, "{matched} of {packets} matched");
}

#[test]
fn agrees_with_a_linear_scan_on_classbench_acl1_1k_and_10k_and_fw1_10k() {
    for (name, packets) in [
        ("acl1_1000", 200_000),
        ("acl1_10000", 100_000),
        ("fw1_10000", 100_000),
    ] {
        let rules = classbench(name);
        agree_on(&rules, packets, 1);
        let s = Classifier::new(&rules).stats();
        eprintln!("{name}: {s:?}");
        assert!(
            s.tables < rules.len() / 10,
            "{name}: the tables merge: {s:?}"
        );
    }
}

#[test]
fn agrees_with_a_linear_scan_on_classbench_acl1_100k() {
    // The linear scan is the slow side: fewer packets.
    agree_on(&classbench("acl1_100000"), 10_000, 2);
}

fn prefix() -> impl Strategy<Value = Prefix> {
    // Few distinct addresses, so that rules overlap and shadow each other.
    (0u32..4, 0u8..=32, any::<u32>())
        .prop_map(|(base, len, noise)| Prefix::new((base << 30) | (noise & 0x0300_00ff), len))
}

fn ports() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        Just(PortRange::ANY),
        (0u16..8).prop_map(|p| PortRange::exact(p * 1000)),
        (0u16..8, 0u16..4000).prop_map(|(lo, w)| PortRange {
            lo: lo * 1000,
            hi: (lo * 1000).saturating_add(w)
        }),
    ]
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prefix(),
        prefix(),
        ports(),
        ports(),
        prop_oneof![Just(None), Just(Some(6u8)), Just(Some(17u8))],
    )
        .prop_map(|(src, dst, sport, dport, proto)| Rule {
            src,
            dst,
            sport,
            dport,
            proto,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn agrees_with_a_linear_scan_on_random_policies(
        rules in prop::collection::vec(rule(), 1..300),
        seed in any::<u64>(),
    ) {
        let c = Classifier::new(&rules);
        let l = Linear::new(&rules);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        for n in 0..500 {
            let h = if n % 3 == 0 {
                header_in(&Rule::ANY, &mut rng)
            } else {
                header_in(&rules[rng.gen_range(0..rules.len())], &mut rng)
            };
            prop_assert_eq!(c.classify(&h), l.classify(&h), "{:?}", h);
        }
    }
}

#[test]
fn an_empty_policy_matches_nothing_and_a_catch_all_matches_everything() {
    let h = Header {
        src: 1,
        dst: 2,
        sport: 3,
        dport: 4,
        proto: 6,
    };
    assert_eq!(Classifier::new(&[]).classify(&h), None);
    assert_eq!(Classifier::new(&[Rule::ANY]).classify(&h), Some(0));
}
