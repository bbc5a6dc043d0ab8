//! The `security` and `applications` hierarchies in the Junos layout: parsed, printed back the
//! same, checked at commit.

use savin_config::model::security::Action;
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
                address 10.0.2.1/24;
            }
        }
    }
}
security {
    address-book {
        global {
            address web1 10.0.2.2/32;
            address-set servers {
                address web1;
            }
        }
    }
    policies {
        from-zone trust to-zone untrust {
            policy allow-web {
                match {
                    source-address any;
                    destination-address servers;
                    application [ junos-http web-alt ];
                }
                then {
                    permit;
                    log {
                        session-close;
                    }
                }
            }
            policy no-ssh {
                match {
                    source-address any;
                    destination-address any;
                    application junos-ssh;
                }
                then {
                    reject;
                }
            }
        }
        default-policy {
            deny-all;
        }
    }
    zones {
        security-zone trust {
            host-inbound-traffic {
                system-services {
                    ping;
                    ssh;
                }
            }
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
applications {
    application web-alt {
        protocol tcp;
        destination-port 8080-8081;
        inactivity-timeout 600;
    }
}
";

#[test]
fn a_zone_policy_configuration_round_trips_in_the_junos_layout_and_validates() {
    let c = Configuration::parse(TEXT, Some("sec.conf")).unwrap();
    assert_eq!(c.to_curly(), TEXT);
    let again = Configuration::parse_set(&c.to_set(), None).unwrap();
    assert_eq!(again.to_curly(), TEXT);
    let set = c.to_set();
    for line in [
        "set security address-book global address web1 10.0.2.2/32",
        "set security zones security-zone trust host-inbound-traffic system-services ping",
        "set security zones security-zone trust interfaces eth1.0",
        "set security policies from-zone trust to-zone untrust policy allow-web match application junos-http",
        "set security policies from-zone trust to-zone untrust policy no-ssh then reject",
        "set security policies default-policy deny-all",
    ] {
        assert!(set.contains(line), "no {line:?} in\n{set}");
    }
    let cfg = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    let sec = &cfg.security;
    assert_eq!(sec.zone_of("eth1.0").unwrap().name, "trust");
    let pols = &sec.policies.from_zone[0].to_zone[0].policy;
    assert_eq!(pols[0].name, "allow-web", "policies keep their order");
    assert_eq!(pols[1].then.action(), Some(Action::Reject));
    let web = savin_config::model::applications::resolve(&cfg, "web-alt").unwrap();
    assert_eq!(web[0].destination_ports, (8080, 8081));
    assert_eq!(web[0].inactivity_timeout, Some(600));
    let servers = savin_config::model::security::resolve_address(&cfg, "servers").unwrap();
    assert_eq!(servers[0].to_string(), "10.0.2.2/32");
}

#[test]
fn policies_are_kept_in_the_order_written_not_sorted() {
    let text = TEXT
        .replace("policy allow-web", "policy zz-web")
        .replace("policy no-ssh", "policy aa-ssh");
    let c = Configuration::parse(&text, None).unwrap();
    let cfg = c.check().unwrap();
    let names: Vec<&str> = cfg.security.policies.from_zone[0].to_zone[0]
        .policy
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["zz-web", "aa-ssh"]);
}

#[test]
fn commit_check_names_what_is_wrong() {
    let cases = [
        (
            TEXT.replace(
                "destination-address servers;",
                "destination-address nosuch;",
            ),
            "address 'nosuch' is not defined",
        ),
        (
            TEXT.replace(
                "application [ junos-http web-alt ];",
                "application junos-htp;",
            ),
            "application 'junos-htp' is not defined",
        ),
        (
            TEXT.replace("to-zone untrust", "to-zone dmz"),
            "zone 'dmz' is not defined",
        ),
        (
            TEXT.replace("                eth2.0;", "                eth1.0;"),
            "already in zone trust",
        ),
        (
            TEXT.replace("                eth2.0;", "                eth9.0;"),
            "eth9.0 is not configured",
        ),
        (
            TEXT.replace("destination-port 8080-8081;", "destination-port 9000-80;"),
            "port range 9000-80 is empty",
        ),
        (
            TEXT.replace("protocol tcp;", "protocol icmp;"),
            "ports need protocol",
        ),
        (
            TEXT.replace("                    reject;\n", ""),
            "then needs permit, deny or reject",
        ),
        (
            TEXT.replace("                    destination-address any;\n", ""),
            "match destination-address is required",
        ),
        (
            TEXT.replace("inactivity-timeout 600;", "inactivity-timeout 2;"),
            "invalid inactivity-timeout",
        ),
    ];
    for (text, want) in cases {
        let c = Configuration::parse(&text, None).unwrap_or_else(|e| panic!("{want}: {e}"));
        let errs = c.check().expect_err(want);
        let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            all.iter().any(|e| e.contains(want)),
            "want {want:?}, got {all:#?}"
        );
    }
    // permit and deny exclude each other, as on Junos: setting one removes the other.
    let c = Configuration::parse_set(
        "set security policies global policy g match source-address any\n\
         set security policies global policy g then permit\n\
         set security policies global policy g then deny\n",
        None,
    )
    .unwrap();
    assert!(!c.to_curly().contains("permit"), "{}", c.to_curly());
}
