//! Policies decide as an SRX does: the zone pair's policies in the order written, then the
//! global ones, then the default; checked against a direct reading of the configuration.

use proptest::prelude::*;
use savin_classify::Header;
use savin_config::model::applications;
use savin_config::model::security;
use savin_config::{Config, Configuration};
use savin_security::{icmp_port, Action, Compiled, DEFAULT_POLICY};

const BASE: &str = "\
set interfaces eth1 unit 0 family inet address 10.0.1.1/24
set interfaces eth2 unit 0 family inet address 10.0.2.1/24
set interfaces eth3 unit 0 family inet address 10.0.3.1/24
set security zones security-zone trust interfaces eth1.0
set security zones security-zone untrust interfaces eth2.0
set security zones security-zone dmz interfaces eth3.0
set security address-book global address web1 10.0.2.2/32
set security address-book global address lan 10.0.1.0/24
set security address-book global address-set servers address web1
set applications application web-alt protocol tcp
set applications application web-alt destination-port 8080-8081
set applications application web-alt inactivity-timeout 600
";

fn compile(extra: &str) -> (Config, Compiled) {
    let c = Configuration::parse_set(&format!("{BASE}{extra}"), None).unwrap();
    let cfg = c.check().unwrap_or_else(|e| panic!("{e:?}"));
    let compiled = savin_security::compile_policy(&cfg).unwrap();
    (cfg, compiled)
}

fn tcp(src: u32, dst: u32, dport: u16) -> Header {
    Header {
        src,
        dst,
        sport: 40000,
        dport,
        proto: 6,
    }
}

const H1: u32 = 0x0a00_0102;
const WEB1: u32 = 0x0a00_0202;
const OTHER: u32 = 0x0a00_0203;

#[test]
fn zone_pair_policies_in_order_then_global_then_default() {
    let (_, c) = compile(
        "set security policies from-zone trust to-zone untrust policy allow-web match source-address lan\n\
         set security policies from-zone trust to-zone untrust policy allow-web match destination-address servers\n\
         set security policies from-zone trust to-zone untrust policy allow-web match application junos-http\n\
         set security policies from-zone trust to-zone untrust policy allow-web match application web-alt\n\
         set security policies from-zone trust to-zone untrust policy allow-web then permit\n\
         set security policies from-zone trust to-zone untrust policy no-ssh match source-address any\n\
         set security policies from-zone trust to-zone untrust policy no-ssh match destination-address any\n\
         set security policies from-zone trust to-zone untrust policy no-ssh match application junos-ssh\n\
         set security policies from-zone trust to-zone untrust policy no-ssh then reject\n\
         set security policies global policy pings match source-address any\n\
         set security policies global policy pings match destination-address any\n\
         set security policies global policy pings match application junos-ping\n\
         set security policies global policy pings then permit\n\
         set security policies default-policy deny-all\n",
    );
    let (trust, untrust, dmz) = (
        c.zone_id("trust").unwrap(),
        c.zone_id("untrust").unwrap(),
        c.zone_id("dmz").unwrap(),
    );
    let d = c.decide(trust, untrust, &tcp(H1, WEB1, 80));
    assert_eq!(
        (c.policies[d.policy as usize].name.as_str(), d.action),
        ("allow-web", Action::Permit)
    );
    assert_eq!(d.timeout, None);
    let d = c.decide(trust, untrust, &tcp(H1, WEB1, 8081));
    assert_eq!(
        (d.action, d.timeout),
        (Action::Permit, Some(600)),
        "web-alt's own timeout"
    );
    // Not a server: HTTP falls through to the default.
    let d = c.decide(trust, untrust, &tcp(H1, OTHER, 80));
    assert_eq!((d.policy, d.action), (DEFAULT_POLICY, Action::Deny));
    let d = c.decide(trust, untrust, &tcp(H1, WEB1, 22));
    assert_eq!(
        (c.policies[d.policy as usize].name.as_str(), d.action),
        ("no-ssh", Action::Reject)
    );
    // The reverse pair has no policy of its own: only the global ping.
    assert_eq!(
        c.decide(untrust, trust, &tcp(WEB1, H1, 80)).action,
        Action::Deny
    );
    let ping = Header {
        src: WEB1,
        dst: H1,
        sport: 0,
        dport: icmp_port(8, 0),
        proto: 1,
    };
    let d = c.decide(untrust, trust, &ping);
    assert_eq!(
        (c.policies[d.policy as usize].name.as_str(), d.action),
        ("pings", Action::Permit)
    );
    assert!(c.policies[d.policy as usize].global);
    let reply = Header {
        dport: icmp_port(0, 0),
        ..ping
    };
    assert_eq!(
        c.decide(untrust, trust, &reply).action,
        Action::Deny,
        "echo reply is not junos-ping"
    );
    assert_eq!(c.decide(dmz, trust, &ping).action, Action::Permit);
}

#[test]
fn an_icmp_code_narrows_its_type() {
    let (_, c) = compile(
        "set applications application frag-needed protocol icmp icmp-type 3 icmp-code 4\n\
         set security policies from-zone untrust to-zone trust policy pmtu match source-address any\n\
         set security policies from-zone untrust to-zone trust policy pmtu match destination-address any\n\
         set security policies from-zone untrust to-zone trust policy pmtu match application frag-needed\n\
         set security policies from-zone untrust to-zone trust policy pmtu then permit\n",
    );
    let (trust, untrust) = (c.zone_id("trust").unwrap(), c.zone_id("untrust").unwrap());
    let icmp = |t, code| Header {
        src: WEB1,
        dst: H1,
        sport: 0,
        dport: icmp_port(t, code),
        proto: 1,
    };
    assert_eq!(c.decide(untrust, trust, &icmp(3, 4)).action, Action::Permit);
    assert_eq!(
        c.decide(untrust, trust, &icmp(3, 1)).action,
        Action::Deny,
        "host unreachable is another code of the type"
    );
}

#[test]
fn the_default_policy_can_permit_and_an_earlier_deny_shadows_a_later_permit() {
    let (_, c) = compile(
        "set security policies from-zone trust to-zone untrust policy block match source-address any\n\
         set security policies from-zone trust to-zone untrust policy block match destination-address web1\n\
         set security policies from-zone trust to-zone untrust policy block match application any\n\
         set security policies from-zone trust to-zone untrust policy block then deny\n\
         set security policies from-zone trust to-zone untrust policy web match source-address any\n\
         set security policies from-zone trust to-zone untrust policy web match destination-address any\n\
         set security policies from-zone trust to-zone untrust policy web match application junos-http\n\
         set security policies from-zone trust to-zone untrust policy web then permit\n\
         set security policies default-policy permit-all\n",
    );
    let (t, u) = (c.zone_id("trust").unwrap(), c.zone_id("untrust").unwrap());
    assert_eq!(c.decide(t, u, &tcp(H1, WEB1, 80)).action, Action::Deny);
    assert_eq!(c.decide(t, u, &tcp(H1, OTHER, 80)).action, Action::Permit);
    let d = c.decide(t, u, &tcp(H1, OTHER, 5555));
    assert_eq!((d.policy, d.action), (DEFAULT_POLICY, Action::Permit));
}

/// A direct reading of the configuration: what the compiled form must agree with.
fn reference(cfg: &Config, from: &str, to: &str, h: &Header) -> (Option<String>, Action) {
    let sec = &cfg.security;
    let addr_ok = |names: &Vec<String>, a: u32| {
        names.iter().any(|n| {
            security::resolve_address(cfg, n)
                .unwrap()
                .iter()
                .any(|p| p.addr.is_ipv4() && p.contains(std::net::Ipv4Addr::from(a).into()))
        })
    };
    let app_ok = |names: &Vec<String>| {
        names.iter().any(|n| {
            applications::resolve(cfg, n).unwrap().iter().any(|t| {
                t.protocol.is_none_or(|p| p == h.proto)
                    && match t.icmp_type {
                        Some(ty) => {
                            h.dport >> 8 == u16::from(ty)
                                && t.icmp_code.is_none_or(|c| h.dport & 0xff == u16::from(c))
                        }
                        None => {
                            (t.source_ports.0..=t.source_ports.1).contains(&h.sport)
                                && (t.destination_ports.0..=t.destination_ports.1)
                                    .contains(&h.dport)
                        }
                    }
            })
        })
    };
    let matches = |p: &security::Policy| {
        addr_ok(&p.matches.source_address, h.src)
            && addr_ok(&p.matches.destination_address, h.dst)
            && app_ok(&p.matches.application)
    };
    for f in sec.policies.from_zone.iter().filter(|f| f.name == from) {
        for t in f.to_zone.iter().filter(|t| t.name == to) {
            if let Some(p) = t.policy.iter().find(|p| matches(p)) {
                return (
                    Some(p.name.clone()),
                    savin_security::policy_action(p.then.action().unwrap()),
                );
            }
        }
    }
    let zone_in =
        |list: &Vec<String>, z: &str| list.is_empty() || list.iter().any(|x| x == "any" || x == z);
    if let Some(p) = sec.policies.global.policy.iter().find(|p| {
        zone_in(&p.matches.from_zone, from) && zone_in(&p.matches.to_zone, to) && matches(p)
    }) {
        return (
            Some(p.name.clone()),
            savin_security::policy_action(p.then.action().unwrap()),
        );
    }
    let dflt = if sec.policies.default_policy.permit_all.0 {
        Action::Permit
    } else {
        Action::Deny
    };
    (None, dflt)
}

fn policy_lines(ctx: &str, name: &str, src: &str, dst: &str, app: &str, action: &str) -> String {
    format!(
        "set security policies {ctx} policy {name} match source-address {src}\n\
         set security policies {ctx} policy {name} match destination-address {dst}\n\
         set security policies {ctx} policy {name} match application {app}\n\
         set security policies {ctx} policy {name} then {action}\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn compiled_policies_agree_with_reading_the_configuration(
        pols in prop::collection::vec((0usize..4, 0usize..4, 0usize..4, 0usize..6, 0usize..3, any::<bool>()), 1..12),
        packets in prop::collection::vec((0usize..3, 0usize..3, 0usize..4, 0usize..4, 0usize..6), 50),
        permit_all in any::<bool>(),
    ) {
        let zones = ["trust", "untrust", "dmz"];
        let addrs = ["any", "web1", "lan", "servers"];
        let apps = ["any", "junos-http", "junos-ssh", "web-alt", "junos-ping", "junos-dns-udp"];
        let actions = ["permit", "deny", "reject"];
        let mut extra = String::new();
        for (i, (s, d, z, a, act, global)) in pols.iter().enumerate() {
            let ctx = if *global {
                "global".to_string()
            } else {
                format!("from-zone {} to-zone {}", zones[z % 3], zones[(z + 1) % 3])
            };
            extra += &policy_lines(&ctx, &format!("p{i}"), addrs[*s], addrs[*d], apps[*a], actions[*act]);
        }
        if permit_all {
            extra += "set security policies default-policy permit-all\n";
        }
        let (cfg, c) = compile(&extra);
        let hosts = [H1, WEB1, OTHER, 0x0a00_0105];
        let probes: [(u8, u16); 6] = [(6, 80), (6, 22), (6, 8080), (1, icmp_port(8, 0)), (17, 53), (6, 9999)];
        for (f, t, s, d, probe) in packets {
            let (proto, dport) = probes[probe];
            let h = Header { src: hosts[s], dst: hosts[d], sport: if proto == 1 { 0 } else { 33333 }, dport, proto };
            let (fz, tz) = (c.zone_id(zones[f]).unwrap(), c.zone_id(zones[t]).unwrap());
            let got = c.decide(fz, tz, &h);
            let (name, action) = reference(&cfg, zones[f], zones[t], &h);
            let got_name = (got.policy != DEFAULT_POLICY).then(|| c.policies[got.policy as usize].name.clone());
            prop_assert_eq!((got_name, got.action), (name, action), "{:?} {}->{}", h, zones[f], zones[t]);
        }
    }
}
