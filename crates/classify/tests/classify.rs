//! The classifier answers exactly as a linear first-match scan, on the ClassBench rule sets and
//! on random policies.

use std::io::Read;

use proptest::prelude::*;
use rand::{Rng, RngCore, SeedableRng};
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
    let h: Header = Header {
        src: 1,
        dst: 2,
        sport: 3,
        dport: 4,
        proto: 6,
    };
    assert_eq!(Classifier::new(&[]).classify(&h), None);
    assert_eq!(Classifier::new(&[Rule::ANY]).classify(&h), Some(0));
}

/// IPv6 prefixes: few distinct /32s and lengths across all 128 bits (so rules nest and
/// shadow each other in the high and the low halves).
fn prefix6() -> impl Strategy<Value = Prefix<u128>> {
    (0u128..4, 0u8..=128, any::<u128>()).prop_map(|(base, len, noise)| {
        let a = 0x2001_0db8u128 << 96
            | base << 80
            | (noise & 0x0003_0000_0000_0000_0000_0000_0000_00ff);
        Prefix::new(a, len)
    })
}

fn rule6() -> impl Strategy<Value = Rule<u128>> {
    (
        prefix6(),
        prefix6(),
        ports(),
        ports(),
        prop_oneof![Just(None), Just(Some(6u8)), Just(Some(58u8))],
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
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// The same classifier over IPv6 headers answers as the linear scan does.
    #[test]
    fn agrees_with_a_linear_scan_on_random_ipv6_policies(
        rules in prop::collection::vec(rule6(), 1..200),
        seed in any::<u64>(),
    ) {
        let c: Classifier<u128> = Classifier::new(&rules);
        let l = Linear::new(&rules);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut matched = 0;
        for n in 0..400 {
            let h = if n % 3 == 0 {
                Rule::<u128>::ANY.sample(&mut || rng.next_u32())
            } else {
                rules[rng.gen_range(0..rules.len())].sample(&mut || rng.next_u32())
            };
            let want = l.classify(&h);
            matched += usize::from(want.is_some());
            prop_assert_eq!(c.classify(&h), want, "{:?}", h);
        }
        prop_assert!(matched > 0);
    }
}

#[test]
fn an_ipv6_header_matches_by_all_128_bits() {
    let net = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
    let rules = [
        Rule {
            dst: Prefix::new(net("2001:db8::80"), 128),
            dport: PortRange::exact(443),
            proto: Some(6),
            ..Rule::ANY
        },
        Rule {
            dst: Prefix::new(net("2001:db8::"), 64),
            ..Rule::ANY
        },
    ];
    let c = Classifier::new(&rules);
    let h = |dst: &str, dport: u16| Header {
        src: net("2001:db8:1::5"),
        dst: net(dst),
        sport: 40000,
        dport,
        proto: 6,
    };
    assert_eq!(c.classify(&h("2001:db8::80", 443)), Some(0));
    assert_eq!(
        c.classify(&h("2001:db8::81", 443)),
        Some(1),
        "the host bits count"
    );
    assert_eq!(c.classify(&h("2001:db8:0:1::80", 443)), None);
}
