//! `security screen` in the SRX layout: parsed, printed back the same, checked at commit.

use savin_config::Configuration;

const TEXT: &str = "\
interfaces {
    eth2 {
        unit 0 {
            family inet {
                address 203.0.113.1/24;
            }
        }
    }
}
security {
    screen {
        ids-option untrust-screen {
            icmp {
                ping-death;
                flood {
                    threshold 500;
                }
            }
            ip {
                spoofing;
                tear-drop;
            }
            tcp {
                syn-fin;
                tcp-no-flag;
                land;
                syn-flood {
                    attack-threshold 1000;
                    source-threshold 50;
                }
                port-scan;
            }
            udp {
                flood {
                    threshold 2000;
                }
            }
            limit-session {
                source-ip-based 100;
            }
        }
    }
    zones {
        security-zone untrust {
            screen untrust-screen;
            interfaces {
                eth2.0;
            }
        }
    }
}
";

#[test]
fn a_screen_round_trips_and_binds_to_a_zone() {
    let c = Configuration::parse(TEXT, Some("screen.conf")).unwrap();
    assert_eq!(c.to_curly(), TEXT);
    let set = c.to_set();
    assert_eq!(
        Configuration::parse_set(&set, None).unwrap().to_curly(),
        TEXT
    );
    for line in [
        "set security screen ids-option untrust-screen icmp flood threshold 500",
        "set security screen ids-option untrust-screen tcp syn-flood source-threshold 50",
        "set security screen ids-option untrust-screen tcp port-scan",
        "set security zones security-zone untrust screen untrust-screen",
    ] {
        assert!(set.contains(line), "no {line:?} in\n{set}");
    }
    let cfg = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    let o = &cfg.security.screen.ids_option[0];
    assert_eq!(o.icmp.flood.as_ref().unwrap().threshold, Some(500));
    assert!(o.tcp.port_scan.is_some() && o.tcp.land.0);
    assert_eq!(o.tcp.syn_flood.as_ref().unwrap().source_threshold, Some(50));
    assert_eq!(
        cfg.security.zones.security_zone[0].screen.as_deref(),
        Some("untrust-screen")
    );
}

#[test]
fn a_zone_naming_an_undefined_screen_fails_commit() {
    let text = TEXT.replace("screen untrust-screen;", "screen nosuch;");
    let errs = Configuration::parse(&text, None)
        .unwrap()
        .check()
        .unwrap_err();
    assert!(
        errs.iter().any(|e| e
            .to_string()
            .contains("screen ids-option 'nosuch' is not defined")),
        "{errs:?}"
    );
}
