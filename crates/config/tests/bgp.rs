//! `protocols bgp`: the Junos layout round-trips through both text forms, neighbours take
//! each statement from the nearest level, and commit refuses what Junos refuses.

use std::net::IpAddr;

use savin_config::Configuration;

const BGP: &str = r#"routing-options {
    router-id 192.0.2.1;
    autonomous-system 65001;
}
protocols {
    bgp {
        hold-time 30;
        log-updown;
        group upstream {
            type external;
            import from-upstream;
            family inet {
                unicast {
                    prefix-limit {
                        maximum 1000000;
                        teardown 90;
                    }
                }
            }
            family inet6 {
                unicast;
            }
            export to-upstream;
            peer-as 65002;
            multipath;
            neighbor 10.0.0.2 {
                description "transit A";
                authentication-key s3cret;
            }
            neighbor 10.0.1.2 {
                hold-time 9;
                local-as 64999;
                peer-as 65003;
            }
        }
        group core {
            type internal;
            local-address 192.0.2.1;
            cluster 192.0.2.1;
            neighbor 192.0.2.2;
            neighbor 192.0.2.3 {
                passive;
            }
        }
    }
}
policy-options {
    policy-statement from-upstream {
        then accept;
    }
    policy-statement to-upstream {
        from protocol static;
        then accept;
    }
}
"#;

#[test]
fn a_bgp_configuration_round_trips_through_both_forms() {
    let c = Configuration::parse(BGP, None).expect("parses");
    assert_eq!(c.to_curly(), BGP);
    let set = c.to_set();
    assert!(
        set.contains("set protocols bgp group upstream neighbor 10.0.1.2 local-as 64999\n"),
        "{set}"
    );
    assert!(
        set.contains(
            "set protocols bgp group upstream family inet unicast prefix-limit maximum 1000000\n"
        ),
        "{set}"
    );
    let back = Configuration::parse_set(&set, None).expect("set form loads");
    assert_eq!(back.to_curly(), BGP);
    let json = c.to_json();
    assert_eq!(
        json["configuration"]["protocols"]["bgp"]["group"][0]["neighbor"][1]["peer-as"],
        65003
    );
    c.check().expect("commits");
}

#[test]
fn neighbours_take_each_statement_from_the_nearest_level() {
    let cfg = Configuration::parse(BGP, None).unwrap().check().unwrap();
    let peers = cfg.protocols.bgp.as_ref().unwrap().peers(65001);
    let find = |a: &str| {
        let a: IpAddr = a.parse().unwrap();
        peers.iter().find(|p| p.address == a).unwrap()
    };
    let a = find("10.0.0.2");
    assert!(!a.internal);
    assert_eq!((a.peer_as, a.local_as, a.hold_time), (65002, 65001, 30));
    assert_eq!(a.import, vec!["from-upstream".to_string()]);
    assert_eq!(a.authentication_key.as_deref(), Some("s3cret"));
    assert_eq!(a.ttl, 1, "a direct external peer is one hop away");
    assert!(a.ipv4.as_ref().unwrap().prefix_limit.unwrap().maximum == Some(1_000_000));
    assert!(a.ipv6.is_some() && a.multipath.is_some() && a.log_updown);
    let b = find("10.0.1.2");
    assert_eq!((b.peer_as, b.local_as, b.hold_time), (65003, 64999, 9));
    let c = find("192.0.2.2");
    assert!(c.internal && c.multihop);
    assert_eq!((c.peer_as, c.ttl), (65001, 64));
    assert_eq!(c.cluster, Some("192.0.2.1".parse().unwrap()));
    // No family statement: IPv4 unicast alone, as on Junos.
    assert!(c.ipv4.is_some() && c.ipv6.is_none());
    assert!(find("192.0.2.3").passive && !c.passive);
    assert_eq!(c.hold_time, 30);
}

fn refused(text: &str) -> String {
    let c = Configuration::parse(text, None).expect("parses");
    match c.check() {
        Ok(_) => panic!("committed:\n{text}"),
        Err(e) => e
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn commit_refuses_what_junos_refuses() {
    let e = refused("protocols { bgp { group g { type external; neighbor 10.0.0.2; } } }");
    assert!(e.contains("peer-as must be set"), "{e}");
    assert!(e.contains("set routing-options autonomous-system"), "{e}");
    let e = refused(
        "routing-options { autonomous-system 1; } protocols { bgp { group g { type external; \
         peer-as 2; export nope; neighbor 10.0.0.2; } } }",
    );
    assert!(
        e.contains("[edit protocols bgp group g]") && e.contains("policy 'nope' is not defined"),
        "{e}"
    );
    let e = refused(
        "routing-options { autonomous-system 1; } protocols { bgp { group g { type internal; \
         peer-as 2; neighbor 10.0.0.2; } } }",
    );
    assert!(e.contains("must be the local AS 1"), "{e}");
    let e = refused(
        "routing-options { autonomous-system 1; } protocols { bgp { group g { peer-as 2; \
         neighbor 10.0.0.2; } group h { peer-as 3; neighbor 10.0.0.2; } } }",
    );
    assert!(e.contains("already configured in group g"), "{e}");
    let e = refused(
        "routing-options { autonomous-system 1; } protocols { bgp { group g { peer-as 2; \
         bfd-liveness-detection { minimum-interval 300; } neighbor 10.0.0.2; } } }",
    );
    assert!(e.contains("not supported by Savin yet: BFD"), "{e}");
    let e = refused(
        "routing-options { autonomous-system 1; } protocols { bgp { group g { peer-as 2; \
         family evpn { signaling; } neighbor 10.0.0.2; } } }",
    );
    assert!(e.contains("EVPN"), "{e}");
    // Without `type`, the peer's AS decides: the same AS is an internal peer.
    let c = Configuration::parse(
        "routing-options { autonomous-system 1; } protocols { bgp { group g { peer-as 1; \
         neighbor 10.0.0.2; } } }",
        None,
    )
    .unwrap()
    .check()
    .expect("commits");
    assert!(c.protocols.bgp.unwrap().peers(1)[0].internal);
}

#[test]
fn disabled_neighbours_and_groups_are_left_out() {
    let c = Configuration::parse(
        "routing-options { autonomous-system 1; } protocols { bgp { group g { peer-as 2; \
         neighbor 10.0.0.2 { disable; } neighbor 10.0.0.3; } group h { disable; peer-as 3; \
         neighbor 10.0.0.4; } } }",
        None,
    )
    .unwrap()
    .check()
    .unwrap();
    let peers = c.protocols.bgp.unwrap().peers(1);
    let addrs: Vec<String> = peers.iter().map(|p| p.address.to_string()).collect();
    assert_eq!(addrs, vec!["10.0.0.3"]);
}

#[test]
fn setting_a_value_again_replaces_it() {
    let mut c = Configuration::parse_set(
        "set routing-options autonomous-system 1\n\
         set protocols bgp group g peer-as 2\n\
         set protocols bgp group g neighbor 10.0.0.2 metric-out 10\n\
         set protocols bgp group g neighbor 10.0.0.2 metric-out 20\n\
         set protocols bgp group g local-as 64512\n\
         set protocols bgp group g local-as 64513\n\
         set policy-options policy-statement p then preference 160\n\
         set policy-options policy-statement p then preference 150\n",
        None,
    )
    .unwrap();
    let set = c.to_set();
    assert!(
        !set.contains("metric-out 10") && set.contains("metric-out 20"),
        "{set}"
    );
    assert!(!set.contains("local-as 64512"), "{set}");
    assert!(
        !set.contains("preference 160") && set.contains("preference 150"),
        "{set}"
    );
    let cfg = c.check().expect("commits");
    let peers = cfg.protocols.bgp.as_ref().unwrap().peers(1);
    assert_eq!((peers[0].metric_out, peers[0].local_as), (Some(20), 64513));
    c = Configuration::parse(&c.to_curly(), None).unwrap();
    assert!(c.to_curly().contains("metric-out 20;"));
}
