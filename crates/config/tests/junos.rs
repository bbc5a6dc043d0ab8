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
            family inet {
                address 10.255.0.5/32;
            }
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
    assert!(c.to_curly().contains("    xe-0/0/1:2 {\n        vlan-tagging;\n"));
    assert!(c.to_set().contains("set interfaces ge-0/0/0 unit 0 family inet address 192.0.2.1/24"));
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
    assert!(bad.starts_with("t.conf:1:14: ") && bad.contains("invalid interface name 'ge-0/0'"), "{bad}");
    assert!(Configuration::parse("interfaces { zz-0/0/0 { disable; } }", None).is_err());
}
