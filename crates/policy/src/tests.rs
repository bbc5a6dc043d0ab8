use super::*;

fn policies(text: &str) -> Policies {
    let c = savin_config::Configuration::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
    let cfg = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    Policies::compile(&cfg.policy_options).unwrap_or_else(|e| panic!("{e}"))
}

fn net(s: &str) -> Net {
    let (a, l) = s.split_once('/').unwrap();
    Net::new(a.parse().unwrap(), l.parse().unwrap())
}

fn route<'a>(prefix: &str, protocol: &'a str) -> RouteIn<'a> {
    RouteIn {
        prefix: net(prefix),
        protocol,
        neighbor: None,
        next_hops: &[],
        interfaces: &[],
        rib: if prefix.contains(':') {
            "inet6.0"
        } else {
            "inet.0"
        },
    }
}

fn run(p: &Policies, chain: &[&str], default: Action, r: &RouteIn, a: &mut Attrs) -> bool {
    let chain: Vec<String> = chain.iter().map(|s| s.to_string()).collect();
    p.evaluate(&chain, default, r, a).unwrap()
}

#[test]
fn the_longest_route_filter_decides_and_its_length_rule_must_hold() {
    let p = policies(
        "policy-options { policy-statement f {
            term t { from { route-filter 10.0.0.0/8 orlonger; route-filter 10.1.0.0/16 exact;
                            route-filter 192.168.0.0/16 upto /24; route-filter 172.16.0.0/12 prefix-length-range /20-/24;
                            route-filter 2001:db8::/32 longer; }
                     then accept; }
            then reject; } }",
    );
    let ok = |prefix: &str| {
        run(
            &p,
            &["f"],
            Action::Reject,
            &route(prefix, "static"),
            &mut Attrs::default(),
        )
    };
    assert!(ok("10.2.0.0/16"));
    assert!(ok("10.0.0.0/8"));
    assert!(ok("10.1.0.0/16"), "exact");
    // 10.1.2.0/24 is within 10.1/16 (the longest filter), which is exact: no match, and the
    // shorter 10/8 orlonger is not tried.
    assert!(!ok("10.1.2.0/24"));
    assert!(ok("192.168.1.0/24"));
    assert!(!ok("192.168.1.0/25"), "upto /24");
    assert!(ok("172.16.16.0/20"));
    assert!(!ok("172.16.0.0/16"), "shorter than the range");
    assert!(!ok("172.16.1.0/25"), "longer than the range");
    assert!(ok("2001:db8:1::/48"));
    assert!(!ok("2001:db8::/32"), "longer: not the prefix itself");
    assert!(!ok("11.0.0.0/8"));
}

#[test]
fn route_lists_in_a_term_are_alternatives_and_prefix_list_filters_take_the_longest_entry() {
    let p = policies(
        "policy-options {
            prefix-list LOOPS { 192.0.2.1/32; }
            prefix-list AGG { 10.0.0.0/8; 10.1.0.0/16; }
            route-filter-list NO-DEFAULT { 0.0.0.0/0 exact reject; }
            policy-statement f {
                term either { from { prefix-list LOOPS; route-filter 172.16.0.0/12 orlonger; } then accept; }
                term longer { from { prefix-list-filter AGG longer; } then accept; }
                term lists { from { route-filter-list NO-DEFAULT; } then accept; }
                then reject; } }",
    );
    let ok = |prefix: &str| {
        run(
            &p,
            &["f"],
            Action::Reject,
            &route(prefix, "bgp"),
            &mut Attrs::default(),
        )
    };
    assert!(ok("192.0.2.1/32"), "in the prefix list");
    assert!(ok("172.16.5.0/24"), "in the route filter");
    assert!(ok("10.2.0.0/16"), "longer than 10/8");
    assert!(
        !ok("10.1.0.0/16"),
        "10.1/16 is the longest entry, and the route is not longer than it"
    );
    assert!(ok("10.1.2.0/24"));
    assert!(!ok("0.0.0.0/0"), "the list's own action");
}

#[test]
fn route_filter_lists_and_attribute_matches() {
    let p = policies(
        "policy-options {
            route-filter-list DEFAULTS { 0.0.0.0/0 exact; ::/0 exact; }
            policy-statement f {
                term defaults { from route-filter-list DEFAULTS; then reject; }
                term pref { from local-preference 250; then { metric 9; accept; } }
                then accept; } }",
    );
    let mut a = Attrs::default();
    assert!(!run(
        &p,
        &["f"],
        Action::Accept,
        &route("0.0.0.0/0", "static"),
        &mut a
    ));
    assert!(!run(
        &p,
        &["f"],
        Action::Accept,
        &route("::/0", "static"),
        &mut a
    ));
    assert!(run(
        &p,
        &["f"],
        Action::Accept,
        &route("10.0.0.0/8", "static"),
        &mut a
    ));
    assert_eq!(a.metric, 0);
    let mut a = Attrs {
        local_preference: 250,
        ..Attrs::default()
    };
    assert!(run(
        &p,
        &["f"],
        Action::Accept,
        &route("10.0.0.0/8", "bgp"),
        &mut a
    ));
    assert_eq!(a.metric, 9);
}

#[test]
fn prefix_lists_match_exactly_and_prefix_list_filters_by_their_rule() {
    let p = policies(
        "policy-options {
            prefix-list MARTIANS { 0.0.0.0/8; 127.0.0.0/8; 10.0.0.0/8; }
            prefix-list LOOPS { 192.0.2.1/32; }
            policy-statement f {
                term martians { from { prefix-list-filter MARTIANS orlonger; } then reject; }
                term loops { from { prefix-list LOOPS; } then accept; }
                term rest { then reject; } } }",
    );
    let ok = |prefix: &str| {
        run(
            &p,
            &["f"],
            Action::Accept,
            &route(prefix, "bgp"),
            &mut Attrs::default(),
        )
    };
    assert!(!ok("10.20.0.0/16"));
    assert!(!ok("127.0.0.1/32"));
    assert!(ok("192.0.2.1/32"));
    assert!(!ok("192.0.2.0/24"), "a prefix list matches exactly");
}

#[test]
fn communities_match_every_member_and_are_added_set_and_deleted() {
    let p = policies(
        "policy-options {
            community CUST members [ 65000:100 65000:200 ];
            community ANY-65001 members 65001:.*;
            community NOEXP members no-export;
            community BIG members large:65000:1:2;
            community ALL members *:*;
            community NOT-CUST { invert-match; members 65000:100; }
            community ALL-OF-3 members 3:.*;
            policy-statement f {
                term both { from community CUST; then { local-preference 200; accept; } }
                term any { from community ANY-65001; then { community delete ANY-65001; community add NOEXP; accept; } }
                term big { from community BIG; then { community set CUST; accept; } }
                term strip { from community [ ALL-OF-3 ]; then { community delete ALL; accept; } }
                term not-cust { from community NOT-CUST; then { metric 7; accept; } }
                then reject; } }",
    );
    let r = route("203.0.113.0/24", "bgp");
    let c = |a: u32, v: u32| Community(a << 16 | v);
    let mut a = Attrs {
        communities: vec![c(65000, 100), c(65000, 200), c(1, 1)],
        ..Attrs::default()
    };
    assert!(run(&p, &["f"], Action::Reject, &r, &mut a));
    assert_eq!(a.local_preference, 200);
    // One member of two: not CUST; but not-cust's inverted match fails too (it has 65000:100).
    let mut a = Attrs {
        communities: vec![c(65000, 100)],
        ..Attrs::default()
    };
    assert!(!run(&p, &["f"], Action::Reject, &r, &mut a));
    // The expression: any value of 65001; deleted, and no-export added.
    let mut a = Attrs {
        communities: vec![c(65001, 7), c(65001, 9), c(2, 2)],
        ..Attrs::default()
    };
    assert!(run(&p, &["f"], Action::Reject, &r, &mut a));
    assert_eq!(a.communities, vec![c(2, 2), Community(0xFFFF_FF01)]);
    assert_eq!(a.communities[1].to_string(), "no-export");
    // A large community; `set` replaces them all.
    let mut a = Attrs {
        large_communities: vec![Large(65000, 1, 2)],
        communities: vec![c(3, 3)],
        ..Attrs::default()
    };
    assert!(run(&p, &["f"], Action::Reject, &r, &mut a));
    assert_eq!(a.communities, vec![c(65000, 100), c(65000, 200)]);
    assert!(a.large_communities.is_empty());
    // `*:*` is every community: deleted all.
    let mut a = Attrs {
        communities: vec![c(3, 3), c(65000, 7)],
        ..Attrs::default()
    };
    assert!(run(&p, &["f"], Action::Reject, &r, &mut a));
    assert!(a.communities.is_empty(), "{:?}", a.communities);
    // invert-match: not all of its members.
    let mut a = Attrs::default();
    assert!(run(&p, &["f"], Action::Reject, &r, &mut a));
    assert_eq!(a.metric, 7);
}

#[test]
fn as_path_expressions_take_as_numbers_as_units() {
    let re = |t: &str| AsPathRegex::compile(t).unwrap();
    assert!(re("65001 .*").matches(&[65001, 3, 4]));
    assert!(re("65001 .*").matches(&[65001]));
    assert!(!re("65001 .*").matches(&[650011]), "whole AS numbers");
    assert!(!re("65001 .*").matches(&[3, 65001]));
    assert!(re(".* 65002").matches(&[1, 2, 65002]));
    assert!(re("(65001|65002) .{0,2}").matches(&[65002, 1, 2]));
    assert!(!re("(65001|65002) .{0,2}").matches(&[65002, 1, 2, 3]));
    assert!(re("()").matches(&[]));
    assert!(!re("()").matches(&[1]));
    assert!(re("^65001+$").matches(&[65001, 65001]));
    assert!(AsPathRegex::compile("65001-65010").is_err());
    assert!(AsPathRegex::compile("65001 [a-z]").is_err());
    let p = policies(
        "policy-options { as-path VIA-2 \".* 2 .*\";
            policy-statement f { term t { from as-path VIA-2; then reject; } then accept; } }",
    );
    let r = route("198.51.100.0/24", "bgp");
    let mut a = Attrs {
        as_path: vec![1, 2, 3],
        ..Attrs::default()
    };
    assert!(!run(&p, &["f"], Action::Accept, &r, &mut a));
    a.as_path = vec![1, 22, 3];
    assert!(run(&p, &["f"], Action::Accept, &r, &mut a));
}

#[test]
fn flow_control_and_defaults_follow_junos() {
    let p = policies(
        "policy-options {
            policy-statement first {
                term mark { from protocol static; then { local-preference 300; next term; } }
                term skip { from protocol direct; then next policy; }
                term bump { then { metric add 5; } }
                term nothing { from protocol ospf; then reject; } }
            policy-statement second {
                term statics { from protocol static; then { metric subtract 100; accept; } }
                term defaults { from protocol local; then default-action reject; } } }",
    );
    // Static: marked, bumped (no flow control: on to the next term and the next policy),
    // accepted by the second, its metric floored at 0.
    let mut a = Attrs {
        metric: 50,
        ..Attrs::default()
    };
    assert!(run(
        &p,
        &["first", "second"],
        Action::Reject,
        &route("10.9.0.0/16", "static"),
        &mut a
    ));
    assert_eq!((a.local_preference, a.metric), (300, 0));
    // Direct: `next policy` skips the rest of the first; nothing decides: the default.
    let mut a = Attrs::default();
    assert!(run(
        &p,
        &["first", "second"],
        Action::Accept,
        &route("10.9.0.0/16", "direct"),
        &mut a
    ));
    assert_eq!(a.metric, 0, "the bump was skipped");
    assert!(!run(
        &p,
        &["first", "second"],
        Action::Reject,
        &route("10.9.0.0/16", "direct"),
        &mut Attrs::default()
    ));
    // OSPF: rejected in the first policy; the second is never reached.
    assert!(!run(
        &p,
        &["first", "second"],
        Action::Accept,
        &route("10.9.0.0/16", "ospf"),
        &mut Attrs::default()
    ));
    // default-action changes the chain's default.
    assert!(!run(
        &p,
        &["second"],
        Action::Accept,
        &route("10.9.0.1/32", "local"),
        &mut Attrs::default()
    ));
    // An undefined policy in a chain is an error, not a silent pass.
    let chain = vec!["nope".to_string()];
    assert_eq!(
        p.evaluate(
            &chain,
            Action::Accept,
            &route("10.0.0.0/8", "static"),
            &mut Attrs::default()
        ),
        Err(PolicyError::Undefined("nope".into()))
    );
}

#[test]
fn then_actions_change_the_attributes() {
    let p = policies(
        "policy-options { policy-statement f { then {
            preference 20; as-path-prepend \"65000 65000\"; next-hop self; origin incomplete; accept; } } }",
    );
    let mut a = Attrs {
        as_path: vec![65001],
        preference: 170,
        ..Attrs::default()
    };
    assert!(run(
        &p,
        &["f"],
        Action::Reject,
        &route("10.0.0.0/8", "bgp"),
        &mut a
    ));
    assert_eq!(a.as_path, vec![65000, 65000, 65001]);
    assert_eq!(a.preference, 20);
    assert_eq!(a.next_hop, NextHopAction::Myself);
    assert_eq!(a.origin, Origin::Incomplete);
}

#[test]
fn what_cannot_run_fails_the_compile_with_its_reason() {
    let bad = |text: &str| {
        let c = savin_config::Configuration::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
        let cfg = c.typed().unwrap();
        Policies::compile(&cfg.policy_options)
            .unwrap_err()
            .to_string()
    };
    let e = bad("policy-options { policy-statement f { term t { from { route-filter 10.0.0.0/8; } then accept; } } }");
    assert!(e.contains("give one of exact"), "{e}");
    let e = bad("policy-options { community RE members 65000:.*; policy-statement f { then { community add RE; } } }");
    assert!(e.contains("regular expression cannot be added"), "{e}");
    let e = bad("policy-options { community NOT { invert-match; members 1:1; } policy-statement f { then { community delete NOT; } } }");
    assert!(e.contains("invert-match cannot be deleted"), "{e}");
    let e = bad("policy-options { community X members 70000:1; }");
    assert!(e.contains("at most 65535"), "{e}");
    let e = bad("policy-options { as-path A \"65001 abc\"; }");
    assert!(e.contains("as-path A"), "{e}");
    // References are checked at commit, with the Junos path.
    let c = savin_config::Configuration::parse(
        "policy-options { policy-statement f { term t { from { prefix-list NOPE; community C; } then accept; } } }",
        None,
    )
    .unwrap();
    let errs: Vec<String> = c
        .check()
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        errs.iter()
            .any(|e| e.contains("prefix-list 'NOPE' is not defined")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("community 'C' is not defined")),
        "{errs:?}"
    );
}
