//! What saved Junos configurations hold and Savin reads as written: Junos interface names,
//! the logical interfaces (`lo0`, `st0`, `vlan`), and the statements of issue 17.

use savin_config::Configuration;

fn errors(text: &str) -> Vec<String> {
    let c = Configuration::parse(text, Some("t.conf")).expect("parses");
    match c.check() {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn junos_interface_names_parse_print_and_check() {
    let text = "\
interfaces {
    ge-0/0/0 {
        unit 0 {
            family inet {
                address 192.0.2.1/24;
            }
        }
    }
    xe-0/0/1:2 {
        vlan-tagging;
        unit 10 {
            vlan-id 10;
            family inet {
                address 198.51.100.1/24;
            }
        }
    }
    lo0 {
        unit 0 {
            family inet {
                address 10.255.0.1/32;
            }
        }
        unit 5 {
            description for-a-routing-instance;
        }
    }
    st0 {
        unit 1 {
            family inet;
        }
    }
    vlan {
        unit 20 {
            family inet {
                address 10.20.0.1/24;
            }
        }
    }
}
vlans {
    v20 {
        vlan-id 20;
        l3-interface vlan.20;
    }
}
";
    let c = Configuration::parse(text, None).expect("parses");
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert!(c
        .to_curly()
        .contains("    xe-0/0/1:2 {\n        vlan-tagging;\n"));
    assert!(c
        .to_set()
        .contains("set interfaces ge-0/0/0 unit 0 family inet address 192.0.2.1/24"));
    assert_eq!(Configuration::parse_set(&c.to_set(), None).unwrap(), c);
    assert_eq!(errors(text), Vec::<String>::new());
    // A port still needs vlan-tagging for units other than 0.
    let e = errors("interfaces { ge-0/0/2 { unit 3 { family inet; } } }");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("only unit 0"), "{e:?}");
    // Not a Junos port and not a netdev name.
    let bad = Configuration::parse("interfaces { ge-0/0 { disable; } }", Some("t.conf"))
        .unwrap_err()
        .to_string();
    assert!(
        bad.starts_with("t.conf:1:14: ") && bad.contains("invalid interface name 'ge-0/0'"),
        "{bad}"
    );
    assert!(Configuration::parse("interfaces { zz-0/0/0 { disable; } }", None).is_err());
}

const GROUPS: &str = "\
groups {
    global {
        system {
            host-name from-group;
            domain-name example.net;
        }
        interfaces {
            <ge-*> {
                mtu 9000;
                unit <*> {
                    description \"set by global\";
                }
            }
            \"<[egx][te]-*>\" {
                description fabric;
            }
            eth9 {
                description added;
            }
        }
    }
    site {
        system {
            host-name site-name;
        }
        interfaces {
            <*> {
                mtu 1500;
            }
        }
    }
}
apply-groups [ global site ];
system {
    domain-name local.example;
}
interfaces {
    ge-0/0/0 {
        unit 0 {
            family inet {
                address 192.0.2.1/24;
            }
        }
    }
    xe-0/0/1 {
        apply-groups-except global;
        unit 0;
    }
    eth1 {
        apply-groups site;
        mtu 1400;
    }
}
";

#[test]
fn groups_apply_in_junos_order_with_wildcards_and_exceptions() {
    let c = Configuration::parse(GROUPS, Some("g.conf")).expect("parses");
    // Kept as written.
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert!(
        c.to_curly().contains("            <ge-*> {"),
        "{}",
        c.to_curly()
    );
    assert!(c.to_curly().contains("apply-groups [ global site ];"));
    assert!(c
        .to_set()
        .contains("set groups global interfaces <ge-*> mtu 9000"));
    assert!(
        c.to_set().contains("set apply-groups global"),
        "{}",
        c.to_set()
    );
    assert_eq!(Configuration::parse_set(&c.to_set(), None).unwrap(), c);

    let typed = c.check().expect("valid");
    // The first group listed wins over a later one; the block's own statement over both.
    assert_eq!(typed.system.host_name.as_deref(), Some("from-group"));
    let ifd = |n: &str| {
        typed
            .interfaces
            .interface
            .iter()
            .find(|i| i.name == n)
            .unwrap_or_else(|| panic!("{n} in {:?}", typed.interfaces))
    };
    let ge = ifd("ge-0/0/0");
    assert_eq!(ge.mtu, Some(9000), "<ge-*> of global before <*> of site");
    assert_eq!(ge.description.as_deref(), Some("fabric"));
    assert_eq!(ge.unit[0].description.as_deref(), Some("set by global"));
    // apply-groups-except global: only site's <*> reaches xe-0/0/1.
    let xe = ifd("xe-0/0/1");
    assert_eq!((xe.mtu, xe.description.as_deref()), (Some(1500), None));
    // A group's plain key adds the entry; a pattern adds none.
    assert_eq!(ifd("eth9").description.as_deref(), Some("added"));
    assert_eq!(typed.interfaces.interface.len(), 4);
    // The block's own value wins; its own apply-groups comes before the root's.
    assert_eq!(ifd("eth1").mtu, Some(1400));

    let shown = c.expanded().unwrap().to_curly();
    assert!(!shown.contains("groups"), "{shown}");
    assert!(
        shown.contains("    ge-0/0/0 {\n        description fabric;\n        mtu 9000;"),
        "{shown}"
    );

    // A group that is not defined fails the commit and says which.
    let bad = Configuration::parse("apply-groups nothere; system { host-name a; }", None)
        .unwrap()
        .check()
        .unwrap_err();
    assert!(
        bad[0]
            .to_string()
            .contains("group 'nothere' is not defined"),
        "{bad:?}"
    );
    // Patterns are for groups only.
    assert!(Configuration::parse("interfaces { <*> { mtu 1500; } }", None).is_err());
}

#[test]
fn system_statements_of_a_saved_srx_load_print_back_and_reach_the_typed_view() {
    let text = "\
system {
    host-name fw_01;
    domain-name example.net;
    time-zone Europe/Amsterdam;
    root-authentication {
        encrypted-password \"$6$abc$def\"; ## SECRET-DATA
        ssh-ed25519 \"ssh-ed25519 AAAAC3Nza lab@example\";
    }
    name-server {
        192.0.2.53;
        2001:db8::53;
    }
    login {
        message \"Authorised access only\";
        user admin {
            uid 2000;
            class super-user;
            authentication {
                ssh-rsa \"ssh-rsa AAAAB3Nza admin@example\";
            }
        }
    }
    services {
        ssh {
            root-login deny;
        }
        netconf {
            ssh;
        }
    }
    syslog {
        user * {
            any emergency;
        }
        host 192.0.2.10 {
            any notice;
            structured-data;
        }
        file messages {
            any notice;
            authorization info;
            archive size 1m files 5;
        }
    }
    license {
        autoupdate {
            url https://ae1.juniper.net/junos/key_retrieval;
        }
    }
    ntp {
        server 192.0.2.123 prefer;
    }
}
";
    let c = Configuration::parse(text, None).expect("parses");
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert!(
        c.to_curly()
            .contains("    name-server {\n        192.0.2.53;\n        2001:db8::53;\n    }"),
        "{}",
        c.to_curly()
    );
    assert!(
        c.to_set()
            .contains("set system syslog file messages archive size 1m"),
        "{}",
        c.to_set()
    );
    assert_eq!(Configuration::parse_set(&c.to_set(), None).unwrap(), c);
    let t = c.check().expect("valid");
    assert_eq!(t.system.host_name.as_deref(), Some("fw_01"));
    assert_eq!(t.system.time_zone.as_deref(), Some("Europe/Amsterdam"));
    assert_eq!(t.system.name_server.server.len(), 2);
    // A severity Junos does not have is refused where it stands.
    let e = Configuration::parse("system { syslog { file m { any loud; } } }", Some("s.conf"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("s.conf:1:32:") && e.contains("loud"), "{e}");
}

#[test]
fn a_host_address_without_a_length_is_a_host_route_or_host_prefix() {
    let c = Configuration::parse(
        "routing-options { static { route 192.0.2.1 next-hop 10.0.0.2; } \
         rib inet6.0 { static { route 2001:db8::1 discard; } } }",
        None,
    )
    .expect("parses");
    let set = c.to_set();
    assert!(
        set.contains("set routing-options static route 192.0.2.1/32 next-hop 10.0.0.2"),
        "{set}"
    );
    assert!(set.contains("route 2001:db8::1/128 discard"), "{set}");
    let t = c.check().expect("valid");
    let (_, r) = t.routing_options.all_static().next().expect("a route");
    assert_eq!(r.name.len, 32);
    // Still refused: a length past the family's.
    assert!(Configuration::parse(
        "routing-options { static { route 192.0.2.1/33 discard; } }",
        None
    )
    .is_err());
}

#[test]
fn protected_statements_print_in_every_form_and_refuse_changes() {
    use savin_config::parse::Editor;
    use savin_config::tree::Word;
    let text = "\
system {
    host-name r1;
}
protect: interfaces {
    eth1 {
        unit 0 {
            family inet {
                address 10.0.0.1/24;
            }
        }
    }
}
routing-options {
    static {
        protect: route 10.9.0.0/16 next-hop 10.0.0.2;
    }
}
";
    let mut c = Configuration::parse(text, None).expect("parses");
    assert_eq!(c.to_curly(), text);
    let set = c.to_set();
    assert!(set.contains("protect interfaces\n"), "{set}");
    assert!(
        set.contains("protect routing-options static route 10.9.0.0/16\n"),
        "{set}"
    );
    assert_eq!(Configuration::parse_set(&set, None).unwrap(), c);
    let json = c.to_json().to_string();
    assert!(
        json.contains(r#""@interfaces":{"protect":true}"#) || json.contains(r#""protect":true"#),
        "{json}"
    );

    let words = |s: &str| s.split_whitespace().map(Word::new).collect::<Vec<_>>();
    let mut ed = Editor::new(true);
    let before = c.clone();
    for cmd in [
        "set interfaces eth1 mtu 9000",
        "set interfaces eth2 disable",
        "delete interfaces eth1",
        "deactivate interfaces eth1 unit 0",
        "delete interfaces",
        "set routing-options static route 10.9.0.0/16 preference 7",
        "delete routing-options",
    ] {
        let e = ed.exec(&mut c.root, &words(cmd)).unwrap_err().to_string();
        assert!(e.contains("is protected"), "{cmd}: {e}");
        assert_eq!(c, before, "{cmd} changed nothing");
    }
    // Outside the protected statements, edits go on.
    ed.exec(&mut c.root, &words("set system host-name r2"))
        .unwrap();
    ed.exec(
        &mut c.root,
        &words("set routing-options static route 10.8.0.0/16 discard"),
    )
    .unwrap();
    // unprotect, then the change is taken; protect creates what it protects.
    ed.exec(&mut c.root, &words("unprotect interfaces"))
        .unwrap();
    ed.exec(&mut c.root, &words("set interfaces eth1 mtu 9000"))
        .unwrap();
    ed.exec(&mut c.root, &words("protect vlans")).unwrap();
    assert!(c.to_curly().contains("protect: vlans;"), "{}", c.to_curly());
    let e = ed
        .exec(&mut c.root, &words("set vlans v10 vlan-id 10"))
        .unwrap_err();
    assert!(e.to_string().contains("[vlans] is protected"), "{e}");
}

#[test]
fn error_headers_name_the_level_above_the_statement() {
    let e = errors(
        "security { zones { security-zone z1; } policies { from-zone z1 to-zone z4 { policy p { match { source-address any; destination-address any; application any; } then { permit; } } } } }",
    );
    assert!(
        e.iter()
            .any(|e| e.starts_with("[edit security policies]\n  'from-zone z1 to-zone z4'")),
        "{e:?}"
    );
    let e = errors("applications { application a { protocol tcp; destination-port 99999x; } }");
    assert!(
        e[0].starts_with("[edit applications]\n  'application a'"),
        "{e:?}"
    );
}

#[test]
fn named_ports_vlan_ranges_address_forms_and_predefined_applications_are_taken() {
    let text = "\
interfaces {
    ge-0/0/1 {
        unit 0 {
            family ethernet-switching {
                interface-mode trunk;
                vlan {
                    members [ 10-20 v30 ];
                }
            }
        }
    }
    ge-0/0/2 {
        unit 0 {
            family ethernet-switching {
                interface-mode trunk;
                vlan {
                    members all;
                }
            }
        }
    }
}
vlans {
    v10 {
        vlan-id 10;
    }
    v15 {
        vlan-id 15;
    }
    v30 {
        vlan-id 30;
    }
}
security {
    address-book {
        global {
            address web {
                description \"web servers\";
                192.0.2.10/32;
            }
            address pool {
                range-address 192.0.2.20 to 192.0.2.27;
            }
            address wild {
                wildcard-address 10.0.0.0/255.255.0.0;
            }
            address byname {
                dns-name www.example.net;
            }
            address-set servers {
                description \"all of them\";
                address web;
                address pool;
            }
        }
    }
    nat {
        destination {
            pool http-in {
                address 10.0.0.80/32 port http;
            }
            rule-set in {
                from zone untrust;
                rule r {
                    match {
                        destination-address 192.0.2.1/32;
                        destination-port {
                            http;
                        }
                    }
                    then {
                        destination-nat {
                            pool {
                                http-in;
                            }
                        }
                    }
                }
            }
        }
    }
    zones {
        security-zone trust;
        security-zone untrust;
    }
    policies {
        from-zone trust to-zone untrust {
            policy p {
                match {
                    source-address servers;
                    destination-address wild;
                    application [ junos-icmp-ping junos-ike junos-cifs pop ];
                }
                then {
                    permit;
                }
            }
        }
    }
}
applications {
    application pop {
        protocol tcp;
        destination-port pop3;
    }
    application a {
        protocol icmp;
        icmp-type 5;
    }
}
";
    let c = Configuration::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    let t = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    use savin_config::model::{applications, security, vlans};
    assert_eq!(vlans::members(&t, "10-20").len(), 2);
    assert_eq!(vlans::members(&t, "all").len(), 3);
    let pool = security::resolve_address(&t, "pool").unwrap();
    assert_eq!(pool.len(), 2, "192.0.2.20/30 and 192.0.2.24/30: {pool:?}");
    assert_eq!(pool[0].len, 30);
    assert_eq!(security::resolve_address(&t, "wild").unwrap()[0].len, 16);
    assert!(
        security::resolve_address(&t, "byname").is_err(),
        "DNS names are not resolved yet"
    );
    assert_eq!(
        applications::resolve(&t, "pop").unwrap()[0].destination_ports,
        (110, 110)
    );
    assert_eq!(applications::resolve(&t, "junos-cifs").unwrap().len(), 2);
    let nat = &t.security.nat.destination;
    assert_eq!(
        nat.rule_set[0].rule[0].matches.destination_port.port[0].range(),
        (80, 80)
    );
    // One set line, two sibling statements, as the Junos CLI takes it.
    let s = Configuration::parse_set(
        "set applications application b protocol icmp icmp-type 5",
        None,
    )
    .unwrap();
    let t = s.check().unwrap();
    assert_eq!(t.applications.application[0].icmp_type, Some(5));
    // A range with no configured VLAN, and an unknown port name, are refused.
    let e = errors(
        "interfaces { eth1 { unit 0 { family ethernet-switching { interface-mode trunk; vlan { members 100-200; } } } } }",
    );
    assert!(e[0].contains("no VLAN with an ID in '100-200'"), "{e:?}");
    assert!(Configuration::parse(
        "applications { application x { protocol tcp; destination-port nosuch; } }",
        None
    )
    .unwrap()
    .check()
    .is_err());
}

#[test]
fn interface_ranges_give_their_statements_to_every_member() {
    let text = "\
interfaces {
    interface-range access {
        member ge-0/0/1;
        member \"ge-0/0/[3-4]\";
        member-range ge-0/0/10 to ge-0/0/12;
        description access-port;
        mtu 1514;
        unit 0 {
            family ethernet-switching {
                vlan {
                    members v10;
                }
            }
        }
    }
    ge-0/0/1 {
        description uplink-own;
    }
}
vlans {
    v10 {
        vlan-id 10;
    }
}
";
    let c = Configuration::parse(text, None).expect("parses");
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert_eq!(Configuration::parse_set(&c.to_set(), None).unwrap(), c);
    let t = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    let names: Vec<&str> = t
        .interfaces
        .interface
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "ge-0/0/1",
            "ge-0/0/3",
            "ge-0/0/4",
            "ge-0/0/10",
            "ge-0/0/11",
            "ge-0/0/12"
        ]
    );
    let one = &t.interfaces.interface[0];
    assert_eq!(
        one.description.as_deref(),
        Some("uplink-own"),
        "its own statement wins"
    );
    assert_eq!(one.mtu, Some(1514));
    let sw = t.interfaces.interface[2].unit[0]
        .family
        .ethernet_switching
        .as_ref()
        .unwrap();
    assert_eq!(sw.vlan.members, ["v10"]);
    let shown = c.expanded().unwrap().to_set();
    assert!(!shown.contains("interface-range"), "{shown}");
    assert!(
        shown.contains("set interfaces ge-0/0/11 description access-port"),
        "{shown}"
    );
    // A span across PICs is refused and says why.
    let e =
        errors("interfaces { interface-range r { member-range ge-0/0/1 to ge-0/1/2; mtu 1500; } }");
    assert!(e[0].contains("one FPC and PIC"), "{e:?}");
}

#[test]
fn firewall_filters_parse_print_back_and_are_checked_at_commit() {
    let text = "\
interfaces {
    lo0 {
        unit 0 {
            family inet {
                filter {
                    input protect-re;
                }
                address 10.255.0.1/32;
            }
        }
    }
}
firewall {
    family inet {
        filter protect-re {
            term ssh {
                from {
                    source-address {
                        10.0.0.0/8;
                        10.9.0.0/16 except;
                    }
                    protocol tcp;
                    destination-port ssh;
                    tcp-flags \"syn & !ack\";
                }
                then {
                    policer one-meg;
                    count ssh;
                    accept;
                }
            }
            term rest {
                then {
                    reject tcp-reset;
                }
            }
        }
    }
    policer one-meg {
        if-exceeding {
            bandwidth-limit 1m;
            burst-size-limit 15k;
        }
        then discard;
    }
}
";
    let c = Configuration::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert!(
        c.to_curly().contains("reject tcp-reset;"),
        "{}",
        c.to_curly()
    );
    assert!(c.to_curly().contains("then discard;"), "{}", c.to_curly());
    assert_eq!(Configuration::parse_set(&c.to_set(), None).unwrap(), c);
    let t = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    let f = t.firewall.inet("protect-re").expect("the filter");
    assert_eq!(f.term.len(), 2);
    assert_eq!(t.firewall.policer[0].limits().unwrap(), (1_000_000, 15_000));
    // References are checked: a filter and a policer that do not exist, a prefix list
    // (policy-options is not there yet), a filter of another family, and an output filter on
    // lo0 (the box's own traffic is not filtered).
    for (bad, want) in [
        ("interfaces { eth1 { unit 0 { family inet { filter { input nope; } } } } }", "firewall filter 'nope' is not defined"),
        ("firewall { filter f { term t { then policer nope; } } }", "policer 'nope' is not defined"),
        ("firewall { filter f { term t { from { prefix-list mgmt; } then accept; } } }", "policy-options"),
        ("firewall { family inet { filter f4 { term t { then accept; } } } } interfaces { eth1 { unit 0 { family inet6 { filter { input f4; } } } } }", "'f4' is not defined under [edit firewall family inet6]"),
        ("firewall { family inet { filter f4 { term t { then accept; } } } } interfaces { lo0 { unit 0 { family inet { filter { output f4; } } } } }", "output filter on lo0 is not supported"),
    ] {
        let e = errors(bad);
        assert!(e.iter().any(|e| e.contains(want)), "{bad}: {e:?}");
    }
}

#[test]
fn statements_kept_without_effect_load_and_those_savin_cannot_do_say_so_at_commit() {
    // Kept, shown, no effect: chassis port speeds, link speed, hold-time, forwarding-table
    // knobs, system processes.
    let ok = "\
chassis {
    aggregated-devices {
        ethernet {
            device-count 4;
        }
    }
    fpc 0 {
        pic 0 {
            port 0 {
                speed 10g;
            }
        }
    }
}
interfaces {
    ge-0/0/0 {
        speed 1g;
        hold-time up 100 down 200;
        unit 0 {
            family inet {
                address 192.0.2.1/24 {
                    primary;
                }
            }
        }
    }
}
routing-options {
    forwarding-table {
        ecmp-fast-reroute;
    }
}
";
    let c = Configuration::parse(ok, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert!(
        c.to_curly().contains("                speed 10g;"),
        "shown as written"
    );
    assert_eq!(errors(ok), Vec::<String>::new());
    // The usual per-packet load-balancing export is what Savin does anyway: accepted.
    assert_eq!(
        errors("policy-options { policy-statement PPLB { then { load-balance per-packet; accept; } } } routing-options { forwarding-table { export PPLB; } }"),
        Vec::<String>::new()
    );
    // One loopback unit in the master instance, whichever its number; two are refused.
    assert_eq!(
        errors("interfaces { lo0 { unit 5 { family inet { address 10.255.0.5/32; } } } }"),
        Vec::<String>::new()
    );
    let e = errors("interfaces { lo0 { unit 0 { family inet { address 10.255.0.1/32; } } unit 5 { family inet { address 10.255.0.5/32; } } } }");
    assert!(
        e[0].contains("multiple loopback interfaces not permitted in master routing instance"),
        "{e:?}"
    );
    // A QFX's routing-engine management port is a valid name (bound to no netdev).
    assert_eq!(
        errors("interfaces { re0:mgmt-0 { unit 0 { family inet { address 10.48.9.221/22; } } } }"),
        Vec::<String>::new()
    );
    // Accepted in the configuration, refused at commit with the reason, first of all errors.
    for (text, want) in [
        ("interfaces { ge-0/0/1 { flexible-vlan-tagging; unit 5 { vlan-id 5; } } }", "[edit interfaces ge-0/0/1]\n  'flexible-vlan-tagging'\n    not supported by Savin yet: flexible-vlan-tagging"),
        ("interfaces { ge-0/0/1 { gigether-options { 802.3ad ae0; } } }", "aggregated Ethernet (LAG, LACP)"),
        ("interfaces { ge-0/0/1 { unit 0 { family mpls; } } }", "[edit interfaces ge-0/0/1 unit 0 family]\n  'mpls'"),
        ("routing-options { forwarding-table { export load-balance; } }", "policy 'load-balance' is not defined"),
        ("policy-options { policy-statement nh { then { next-hop discard; accept; } } } routing-options { forwarding-table { export nh; } }", "forwarding-table policies other than load-balance"),
        ("policy-options { policy-statement rf { from { route-filter 10.0.0.0/8 orlonger reject; } then accept; } } routing-options { forwarding-table { export rf; } }", "forwarding-table policies other than load-balance"),
        ("chassis { cluster { reth-count 2; } }", "chassis cluster"),
        ("chassis { high-availability { local-id { 1; local-ip 10.0.0.1; } peer-id 2 { peer-ip 10.0.0.2; liveness-detection { multiplier 3; } } services-redundancy-group 1 { install-on-failure-route { 192.168.255.0; routing-instance VR; } } } }", "multinode high availability"),
        ("security { certificates { local web \"-----BEGIN CERTIFICATE-----\\nMIID\\n-----END CERTIFICATE-----\\n\"; } }", "PKI certificates"),
        ("vlans { v100 { vlan-id 100; vxlan { vni 10100; ingress-node-replication; } } }", "VXLAN"),
        ("routing-options { graceful-restart; }", "graceful restart"),
        ("routing-options { aggregate { route 10.0.0.0/8 policy p; } }", "aggregate routes"),
        ("interfaces { ge-0/0/1 { unit 0 { family inet { address 10.0.0.1/24 { arp 10.0.0.2 mac 02:00:00:00:00:02; } } } } }", "static ARP"),
        ("routing-options { rib-groups { g { import-rib [ inet.3 inet.0 ]; import-policy p; } } }", "RIB groups"),
        ("routing-options { source-packet-routing { srv6 { block b { 5f00:1::/32; } locator l { algorithm 128; 5f00:1:56::/48; micro-sid { block-name b; } } } } }", "segment routing"),
        ("routing-options { flex-algorithm 128 { definition { metric-type delay-metric; } } }", "flexible algorithms"),
        ("routing-options { rib inet.3 { protect core; } }", "core protection"),
        ("routing-options { rib inet.3 { static { route 2001:db8::/32 discard; } } }", "routes in inet.3"),
        ("interfaces { ge-0/0/1 { unit 1 { esi { 00:01:71:81:11:12:a1:00:00:01; single-active; } } } }", "EVPN Ethernet segments"),
        ("interfaces { ms-1/0/0 { unit 1 { service-domain inside; load-balancing-options { disable-hash; } } } }", "services interfaces"),
        ("security { authentication-key-chains { key-chain k { key 1 { secret \"s\"; algorithm ao; ao-attribute { send-id 1; recv-id 1; } } } } }", "key chains"),
    ] {
        assert!(Configuration::parse(text, None).is_ok(), "{text} loads");
        let e = errors(text);
        assert!(e[0].contains(want), "{text}: {e:?}");
    }
    // Kept without effect, from the corpus: commit notification, password rules, process
    // names, netconf trace options, NAT pool pairing (Savin always pairs), ALGs (none).
    let quiet = "\
system {
    commit {
        notification;
    }
    login {
        password {
            change-type set-transitions;
            minimum-changes 0;
        }
    }
    processes {
        sdk-service enable;
    }
    services {
        netconf {
            ssh;
            traceoptions {
                file netconf-ops.log size 3m files 20;
                flag all;
            }
        }
    }
}
security {
    alg {
        sip disable;
    }
    flow {
        drop-flow {
            timeout 30;
        }
    }
}
";
    let c = Configuration::parse(quiet, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    assert_eq!(errors(quiet), Vec::<String>::new());
    // NAT rules: IPv6 addresses load and are refused at commit; applications other than
    // `any` too (address-book names work: see the NAT tests).
    let zones = "security { zones { security-zone a; security-zone b; } }";
    for (rule, want) in [
        (
            "match { source-address 2001:db8::/32; }",
            "only IPv4 is translated",
        ),
        (
            "match { application junos-http; }",
            "'application any' only",
        ),
    ] {
        let text = format!("{zones} security {{ nat {{ source {{ rule-set r {{ from zone a; to zone b; rule x {{ {rule} then {{ source-nat {{ interface; }} }} }} }} }} }} }}");
        let e = errors(&text);
        assert!(e.iter().any(|e| e.contains(want)), "{text}: {e:?}");
    }
    // An inactive unsupported statement is no obstacle.
    assert_eq!(
        errors("interfaces { ge-0/0/1 { inactive: flexible-vlan-tagging; } }"),
        Vec::<String>::new()
    );
}

#[test]
fn ranges_and_groups_cannot_grow_a_configuration_without_bound() {
    let members: String = (0..6)
        .map(|i| format!("member \"ge-{i}/0/[0-4095]\"; "))
        .collect();
    let e = errors(&format!(
        "interfaces {{ interface-range r {{ {members} mtu 1500; }} }}"
    ));
    assert!(e[0].contains("more than 16384 member interfaces"), "{e:?}");
}

#[test]
fn quoted_escapes_are_kept_as_written_and_cli_banners_are_not_commands() {
    // `\n` in a login message or a certificate stays backslash-n, as Junos keeps it; `\"`
    // and `\\` are the characters they escape.
    let text = "system { login { message \"line one\\nline two \\\"quoted\\\" back\\\\\"; } }";
    let c = Configuration::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
    let curly = c.to_curly();
    assert!(
        curly.contains(r#"message "line one\nline two \"quoted\" back\\";"#),
        "{curly}"
    );
    assert_eq!(Configuration::parse(&curly, None).unwrap(), c);
    let json = c.to_json().to_string();
    assert!(
        json.contains(r#"line one\\nline two \"quoted\" back\\"#),
        "{json}"
    );

    // A Junos CLI banner line pasted with `show | display set` output is no command; a
    // line that only looks like one is still refused.
    let set = "set system host-name r1\n\n{master:0}\nset system domain-name example.net\n{primary:node0}\n";
    let c = Configuration::parse_set(set, Some("paste.set")).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.to_set().contains("set system domain-name example.net"));
    let e = Configuration::parse_set("set system host-name r1\n{master:0;}\n", Some("x.set"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.set:2:"), "{e}");
    // Inside a quoted value that spans lines, such a line is the value's.
    let set = "{master:0}\nset security certificates local web \"before\n{master:0}\nafter \\\" quote\"\nset system host-name r1\n";
    let c = Configuration::parse_set(set, None).unwrap_or_else(|e| panic!("{e}"));
    let curly = c.to_curly();
    assert!(curly.contains("before\n{master:0}\nafter"), "{curly}");
    assert!(curly.contains("host-name r1;"), "{curly}");
}

#[test]
fn applications_with_terms_match_each_term() {
    let text = "\
applications {
    application dns-and-ping {
        inactivity-timeout 60;
        term t1 protocol udp destination-port 53;
        term t2 protocol icmp icmp-type 8 inactivity-timeout 10;
    }
}
";
    let c = Configuration::parse(text, None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Configuration::parse(&c.to_curly(), None).unwrap(), c);
    let cfg = c.typed().unwrap();
    let terms = savin_config::model::applications::resolve(&cfg, "dns-and-ping").unwrap();
    assert_eq!(terms.len(), 2);
    assert_eq!(terms[0].protocol, Some(17));
    assert_eq!(terms[0].destination_ports, (53, 53));
    assert_eq!(
        terms[0].inactivity_timeout,
        Some(60),
        "the application's timeout"
    );
    assert_eq!(terms[1].protocol, Some(1));
    assert_eq!(terms[1].icmp_type, Some(8));
    assert_eq!(terms[1].inactivity_timeout, Some(10), "the term's own");
    // Both at once is refused, and a term is checked as an application is.
    let e = errors("applications { application a { protocol tcp; term t1 protocol udp; } }");
    assert!(e[0].contains("go in its terms"), "{e:?}");
    let e = errors("applications { application a { term t1 protocol icmp destination-port 80; } }");
    assert!(e[0].contains("term t1: ports need protocol"), "{e:?}");
    // An ICMP code narrows its type; a code without a type is refused, not widened.
    let c = Configuration::parse(
        "applications { application frag-needed { protocol icmp; icmp-type 3; icmp-code 4; }
                        application pkt-too-big { protocol icmp6; icmp6-type 2; icmp6-code 0; } }",
        None,
    )
    .unwrap();
    let cfg = c.typed().unwrap();
    let t = &savin_config::model::applications::resolve(&cfg, "frag-needed").unwrap()[0];
    assert_eq!((t.icmp_type, t.icmp_code), (Some(3), Some(4)));
    let t = &savin_config::model::applications::resolve(&cfg, "pkt-too-big").unwrap()[0];
    assert_eq!((t.icmp_type, t.icmp_code), (Some(2), Some(0)));
    let e = errors("applications { application a { protocol icmp; icmp-code 4; } }");
    assert!(e[0].contains("icmp-code needs an icmp-type"), "{e:?}");
}
