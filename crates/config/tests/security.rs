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

#[test]
fn insert_moves_a_policy_before_or_after_another_and_refuses_what_it_cannot() {
    use savin_config::parse::{command_words, Editor};
    let mut c = Configuration::parse(TEXT, None).unwrap();
    let mut ed = Editor::new(false);
    let mut run = |c: &mut Configuration, line: &str| {
        ed.exec(&mut c.root, &command_words(line).unwrap())
            .map_err(|e| e.to_string())
    };
    let order = |c: &Configuration| -> Vec<String> {
        c.check().unwrap().security.policies.from_zone[0].to_zone[0]
            .policy
            .iter()
            .map(|p| p.name.clone())
            .collect()
    };
    let ctx = "security policies from-zone trust to-zone untrust";
    run(
        &mut c,
        &format!("insert {ctx} policy no-ssh before policy allow-web"),
    )
    .unwrap();
    assert_eq!(order(&c), ["no-ssh", "allow-web"]);
    run(
        &mut c,
        &format!("insert {ctx} policy no-ssh after policy allow-web"),
    )
    .unwrap();
    assert_eq!(order(&c), ["allow-web", "no-ssh"]);
    // A third policy, then moved to the front, relative to the one already there.
    run(
        &mut c,
        &format!("set {ctx} policy p3 match source-address any"),
    )
    .unwrap();
    run(
        &mut c,
        &format!("insert {ctx} policy p3 before policy allow-web"),
    )
    .unwrap();
    assert_eq!(
        c.to_set()
            .lines()
            .filter(|l| l.contains(" policy ") && l.ends_with("source-address any"))
            .map(|l| l.split_whitespace().nth(8).unwrap().to_string())
            .collect::<Vec<_>>(),
        ["p3", "allow-web", "no-ssh"]
    );
    for (line, want) in [
        (
            format!("insert {ctx} policy p3 before policy nosuch"),
            "policy nosuch not found",
        ),
        (
            format!("insert {ctx} policy p3 before rule allow-web"),
            "expected 'policy'",
        ),
        (
            format!("insert {ctx} policy p3 above policy allow-web"),
            "usage: insert",
        ),
        (
            "insert interfaces eth2 before eth1".to_string(),
            "kept sorted",
        ),
    ] {
        let e = run(&mut c, &line).unwrap_err();
        assert!(e.contains(want), "{line}: {e}");
    }
}
