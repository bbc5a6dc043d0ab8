//! `security nat` in the SRX layout: parsed, printed back the same, checked at commit.

use savin_config::Configuration;

const TEXT: &str = "\
interfaces {
    eth1 {
        unit 0 {
            family inet {
                address 10.0.1.1/24;
            }
        }
    }
    eth2 {
        unit 0 {
            family inet {
                address 203.0.113.1/24;
            }
        }
    }
}
security {
    nat {
        source {
            pool public {
                address 203.0.113.10/32 to 203.0.113.12/32;
                port {
                    range 2000 to 2999;
                }
            }
            rule-set trust-to-untrust {
                from zone trust;
                to zone untrust;
                rule web {
                    match {
                        source-address 10.0.1.0/24;
                        destination-port {
                            80;
                        }
                        protocol tcp;
                    }
                    then {
                        source-nat {
                            pool public;
                        }
                    }
                }
                rule rest {
                    match {
                        source-address 0.0.0.0/0;
                    }
                    then {
                        source-nat {
                            interface;
                        }
                    }
                }
            }
        }
        destination {
            pool web-server {
                address 10.0.1.10/32 port 80;
            }
            rule-set from-untrust {
                from zone untrust;
                rule web {
                    match {
                        destination-address 203.0.113.20/32;
                        destination-port {
                            8080;
                        }
                    }
                    then {
                        destination-nat {
                            pool web-server;
                        }
                    }
                }
            }
        }
        static {
            rule-set one-to-one {
                from zone untrust;
                rule host {
                    match {
                        destination-address 203.0.113.30/32;
                    }
                    then {
                        static-nat prefix 10.0.1.30/32;
                    }
                }
            }
        }
        proxy-arp {
            interface eth2.0 {
                address 203.0.113.10/32 to 203.0.113.12/32;
                address 203.0.113.20/32;
            }
        }
    }
    zones {
        security-zone trust {
            interfaces {
                eth1.0;
            }
        }
        security-zone untrust {
            interfaces {
                eth2.0;
            }
        }
    }
}
";

#[test]
fn a_nat_configuration_round_trips_in_the_srx_layout_and_validates() {
    let c = Configuration::parse(TEXT, Some("nat.conf")).unwrap();
    assert_eq!(c.to_curly(), TEXT);
    let set = c.to_set();
    let again = Configuration::parse_set(&set, None).unwrap();
    assert_eq!(again.to_curly(), TEXT);
    for line in [
        "set security nat source pool public address 203.0.113.10/32 to 203.0.113.12/32",
        "set security nat source pool public port range 2000 to 2999",
        "set security nat source rule-set trust-to-untrust from zone trust",
        "set security nat source rule-set trust-to-untrust rule web then source-nat pool public",
        "set security nat source rule-set trust-to-untrust rule rest then source-nat interface",
        "set security nat destination pool web-server address 10.0.1.10/32 port 80",
        "set security nat static rule-set one-to-one rule host then static-nat prefix 10.0.1.30/32",
        "set security nat proxy-arp interface eth2.0 address 203.0.113.20/32",
    ] {
        assert!(set.contains(line), "no {line:?} in\n{set}");
    }
    let cfg = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    let nat = &cfg.security.nat;
    let pool = &nat.source.pool[0];
    assert_eq!(pool.address[0].range(), Some((0xcb00_710a, 0xcb00_710c)));
    assert_eq!(pool.ports(), Some((2000, 2999)));
    let rules = &nat.source.rule_set[0].rule;
    assert_eq!(rules[0].name, "web", "rules keep their order");
    assert_eq!(rules[0].matches.protocols().unwrap(), [6]);
    assert_eq!(
        nat.destination.pool[0].address[0].port.map(|p| p.0),
        Some(80)
    );
}

#[test]
fn nat_commit_check_names_what_is_wrong() {
    let cases = [
        (
            TEXT.replace("pool public;", "pool nosuch;"),
            "source NAT pool 'nosuch' is not defined",
        ),
        (
            TEXT.replace("pool web-server;", "pool nosuch;"),
            "destination NAT pool 'nosuch' is not defined",
        ),
        (
            TEXT.replace("to zone untrust;", "to zone dmz;"),
            "zone 'dmz' is not defined",
        ),
        (
            TEXT.replace("range 2000 to 2999;", "range 2999 to 2000;"),
            "port range must lie within",
        ),
        (
            TEXT.replace(
                "203.0.113.10/32 to 203.0.113.12/32;\n                port",
                "203.0.113.12/32 to 203.0.113.10/32;\n                port",
            ),
            "the range ends before it starts",
        ),
        (
            TEXT.replace(
                "static-nat prefix 10.0.1.30/32;",
                "static-nat prefix 10.0.1.0/24;",
            ),
            "as long as the destination-address",
        ),
        (
            TEXT.replace("protocol tcp;", "protocol bogus;"),
            "invalid protocol 'bogus'",
        ),
        (
            TEXT.replace("interface eth2.0 {", "interface eth7.0 {"),
            "eth7.0 is not configured",
        ),
        (
            TEXT.replace("                to zone untrust;\n", ""),
            "rule-set needs 'to zone' or 'to interface'",
        ),
    ];
    for (text, want) in cases {
        assert_ne!(text, TEXT, "case {want:?} changed nothing");
        let c = Configuration::parse(&text, None).unwrap_or_else(|e| panic!("{want}: {e}"));
        let errs = c.check().expect_err(want);
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            all.iter().any(|e| e.contains(want)),
            "want {want:?}, got {all:#?}"
        );
    }
}

#[test]
fn source_nat_choices_exclude_each_other_as_on_junos() {
    let c = Configuration::parse_set(
        "set security nat source rule-set r rule a then source-nat interface\n\
         set security nat source rule-set r rule a then source-nat off\n",
        None,
    )
    .unwrap();
    let set = c.to_set();
    assert!(set.contains("source-nat off"), "{set}");
    assert!(!set.contains("source-nat interface"), "{set}");
}

/// Pool addresses keep what was typed: host bits stay (a range written with lengths is the
/// range of its addresses, as on an SRX, never the network twice), and an address without a
/// length is a /32.
#[test]
fn pool_addresses_keep_their_host_bits_and_may_omit_the_length() {
    let c = Configuration::parse_set(
        "set security nat source pool wide address 203.0.113.10/24 to 203.0.113.20/24\n\
         set security nat source pool bare address 1.0.0.1 to 1.0.0.3\n\
         set security nat source pool net address 198.51.100.0/30\n",
        None,
    )
    .expect("valid Junos");
    let set = c.to_set();
    assert!(
        set.contains("pool wide address 203.0.113.10/24 to 203.0.113.20/24"),
        "{set}"
    );
    assert!(
        set.contains("pool bare address 1.0.0.1/32 to 1.0.0.3/32"),
        "{set}"
    );
    let typed = c.check().expect("valid");
    let range = |name: &str| {
        let p = typed
            .security
            .nat
            .source
            .pool
            .iter()
            .find(|p| p.name == name)
            .unwrap();
        let (lo, hi) = p.address[0].range().unwrap();
        (std::net::Ipv4Addr::from(lo), std::net::Ipv4Addr::from(hi))
    };
    assert_eq!(
        range("wide"),
        (
            "203.0.113.10".parse().unwrap(),
            "203.0.113.20".parse().unwrap()
        )
    );
    assert_eq!(
        range("bare"),
        ("1.0.0.1".parse().unwrap(), "1.0.0.3".parse().unwrap())
    );
    assert_eq!(
        range("net"),
        (
            "198.51.100.0".parse().unwrap(),
            "198.51.100.3".parse().unwrap()
        )
    );
    // A range that ends before it starts is refused at commit.
    let bad = Configuration::parse_set(
        "set security nat source pool back address 10.0.0.9 to 10.0.0.1\n",
        None,
    )
    .unwrap();
    let errors = bad.check().expect_err("refused");
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("ends before it starts")),
        "{errors:?}"
    );
}
