//! The forwarding subsystem on in-memory netdevs ([`MemorySystem`]): commits through the
//! subsystem interface, hosts on the far ends of the wires, the engine's worker and control
//! threads as the daemon runs them. No namespaces, no root.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use savin_config::subsystem::{Changes, Operational, State, Subsystem};
use savin_config::{Config, Configuration};
use savin_dataplane::ipv4::test_frame;
use savin_forwarding::names::{InterfaceMap, Named};
use savin_forwarding::{Forwarding, MemorySystem};
use savin_io::memory::MemoryPort;
use savin_io::{FrameBatch, PacketIo};
use savin_wire::arp::frame as arp_frame;
use savin_wire::checksum::checksum;

const R1: [u8; 6] = [0x02, 0x52, 0, 0, 0, 1];
const R2: [u8; 6] = [0x02, 0x52, 0, 0, 0, 2];
const R3: [u8; 6] = [0x02, 0x52, 0, 0, 0, 3];
const H1: [u8; 6] = [0x02, 0x48, 0, 0, 0, 1];
const H2: [u8; 6] = [0x02, 0x48, 0, 0, 0, 2];
const BROADCAST: [u8; 6] = [0xff; 6];

const BASE: &str = "
interfaces {
    eth1 { unit 0 { family inet { address 10.1.0.1/24; } } }
    eth2 { unit 0 { family inet { address 10.2.0.1/24; } } }
}
routing-options {
    static {
        route 10.9.0.0/16 {
            next-hop 10.2.0.2;
            qualified-next-hop 10.1.0.9 { preference 20; }
        }
    }
}
";

/// The subsystem on a memory system, and the configuration it last took.
struct Rig {
    system: Arc<MemorySystem>,
    fwd: Forwarding,
    ops: Arc<dyn Operational>,
    active: Config,
}

impl Rig {
    fn new() -> Rig {
        Rig::named("")
    }

    /// A rig whose Junos port names bind by `map` (`--interface-map`), else by netdev order.
    fn named(map: &str) -> Rig {
        let system = Arc::new(MemorySystem::default());
        let named = Named::new(system.clone(), InterfaceMap::parse(map).expect("map"));
        let fwd = Forwarding::on(Arc::new(named));
        let ops = fwd.operational();
        Rig {
            system,
            fwd,
            ops,
            active: Config::default(),
        }
    }

    /// Commits `text` as the mgmt engine does: prepare, then apply. Returns the warnings.
    fn commit(&mut self, text: &str) -> Vec<String> {
        let new = Configuration::parse(text, None)
            .expect("parses")
            .check()
            .expect("valid");
        let staged = self
            .fwd
            .prepare(&self.active, &new, &Changes::everything())
            .expect("prepared");
        let warnings = staged.warnings();
        staged.apply().expect("applied");
        self.active = new;
        warnings
    }

    fn show(&self, command: &[&str], args: &[&str]) -> String {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.ops.run(command, &args).expect("show").text()
    }

    /// A command's typed reply.
    fn state(&self, command: &[&str], args: &[&str]) -> Box<dyn State> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        self.ops.run(command, &args).expect("show")
    }

    /// Waits (at most 5 s) until `show` answers with text for which `ok` holds.
    fn wait_show(&self, command: &[&str], args: &[&str], ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let out = self.show(command, args);
            if ok(&out) || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn send(port: &mut MemoryPort, frame: &[u8]) {
    let mut b = FrameBatch::with_capacity(1);
    b.push(frame);
    assert_eq!(port.tx(&b, &[0]).unwrap(), 1);
}

/// The next frame on `port` for which `want` holds, within 3 s (others are skipped).
fn expect(port: &mut MemoryPort, what: &str, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut b = FrameBatch::with_capacity(64);
    loop {
        b.clear();
        port.rx(&mut b).unwrap();
        if let Some(f) = b.iter().find(|f| want(f)) {
            return f.to_vec();
        }
        assert!(Instant::now() < deadline, "no {what} within 3 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn is_arp(f: &[u8], op: u16, target: Ipv4Addr) -> bool {
    f.len() >= 42
        && f[12..14] == [8, 6]
        && f[20..22] == op.to_be_bytes()
        && f[38..42] == target.octets()
}

fn ipv4_of(f: &[u8], proto: u8) -> bool {
    f.len() >= 34 && f[12..14] == [8, 0] && f[23] == proto
}

/// `frame` (from `test_frame`) readdressed at the Ethernet layer.
fn ethernet(mut frame: Vec<u8>, dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    frame[..6].copy_from_slice(&dst);
    frame[6..12].copy_from_slice(&src);
    frame
}

/// An ICMP echo request from `src` to `dst`.
fn echo_request(src: [u8; 4], dst: [u8; 4], dst_mac: [u8; 6], src_mac: [u8; 6]) -> Vec<u8> {
    let mut f = ethernet(test_frame(src, dst, 64, 14 + 20 + 16), dst_mac, src_mac);
    f[23] = 1;
    f[24..26].copy_from_slice(&[0, 0]);
    let c = checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f[34..50].copy_from_slice(&[8, 0, 0, 0, 0x12, 0x34, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8]);
    let c = checksum(&f[34..50]);
    f[36..38].copy_from_slice(&c.to_be_bytes());
    f
}

/// ARP, echo and errors for the box, and forwarding between two ports with a neighbour
/// resolved on the way; the box's own sockets reached through the host interface, which the
/// engine configures with `ip`.
#[test]
fn two_ports_answer_for_the_box_resolve_neighbours_and_forward() {
    let mut r = Rig::new();
    let mut h1 = r.system.add("eth1", R1, 1500);
    let mut h2 = r.system.add("eth2", R2, 1500);
    assert!(r.commit(BASE).is_empty());

    // ARP for the box's address on eth1.
    let (me, h1_ip) = (Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 1, 0, 2));
    send(&mut h1, &arp_frame(1, BROADCAST, H1, h1_ip, [0; 6], me));
    let reply = expect(&mut h1, "ARP reply", |f| is_arp(f, 2, h1_ip));
    assert_eq!(reply[..6], H1);
    assert_eq!(reply[22..28], R1, "the box's MAC on eth1");

    // An echo request to the box is answered (by the worker's route back to h1).
    send(&mut h1, &echo_request([10, 1, 0, 2], [10, 1, 0, 1], R1, H1));
    let reply = expect(&mut h1, "echo reply", |f| ipv4_of(f, 1) && f[34] == 0);
    assert_eq!((&reply[..6], &reply[6..12]), (&H1[..], &R1[..]));
    assert_eq!(reply[26..30], [10, 1, 0, 1]);

    // Through the box to 10.2.0.2: the box asks for its MAC on eth2, then forwards the packet
    // it held, TTL decremented.
    let through = ethernet(test_frame([10, 1, 0, 2], [10, 2, 0, 2], 64, 100), R1, H1);
    send(&mut h1, &through);
    let h2_ip = Ipv4Addr::new(10, 2, 0, 2);
    let ask = expect(&mut h2, "ARP request", |f| is_arp(f, 1, h2_ip));
    assert_eq!(ask[6..12], R2);
    send(
        &mut h2,
        &arp_frame(2, R2, H2, h2_ip, R2, Ipv4Addr::new(10, 2, 0, 1)),
    );
    let fwd = expect(&mut h2, "forwarded packet", |f| ipv4_of(f, 17));
    assert_eq!((&fwd[..6], &fwd[6..12]), (&H2[..], &R2[..]));
    assert_eq!(fwd[22], 63, "TTL decremented");
    assert_eq!(fwd[26..34], through[26..34]);

    // TTL 1: time exceeded back to h1, from the box's address on eth1.
    send(
        &mut h1,
        &ethernet(test_frame([10, 1, 0, 2], [10, 2, 0, 2], 1, 100), R1, H1),
    );
    let err = expect(&mut h1, "time exceeded", |f| ipv4_of(f, 1) && f[34] == 11);
    assert_eq!(err[26..30], [10, 1, 0, 1]);
    assert_eq!(err[30..34], [10, 1, 0, 2]);

    // For the box's own sockets (BGP here): straight to eth1's host interface.
    let mut tap = r
        .system
        .take_tap("sv-eth1")
        .expect("a host interface for eth1");
    let mut bgp = ethernet(test_frame([10, 1, 0, 2], [10, 1, 0, 1], 64, 80), R1, H1);
    bgp[36..38].copy_from_slice(&179u16.to_be_bytes());
    send(&mut h1, &bgp);
    let got = expect(&mut tap, "frame for the box's sockets", |f| ipv4_of(f, 17));
    assert_eq!(got[36..38], 179u16.to_be_bytes());
    let ip = r.system.ip_commands();
    assert!(
        ip.iter()
            .any(|c| c.join(" ") == "addr add 10.1.0.1/24 dev sv-eth1"),
        "the host interface has eth1's address: {ip:?}"
    );
    assert!(
        ip.iter().any(|c| c
            .join(" ")
            .starts_with("route replace 10.9.0.0/16 proto static")),
        "the kernel has the static route: {ip:?}"
    );

    // One typed reply per command, rendered as text and as Junos JSON from the same rows.
    let arp = r.state(&["show", "arp"], &[]);
    let (text, json) = (arp.text(), arp.json());
    assert!(
        text.contains("10.2.0.2") && text.contains("02:48:00:00:00:02"),
        "{text}"
    );
    let rows = json["arp-table-information"]["arp-table-entry"]
        .as_array()
        .expect("arp-table-entry rows");
    assert_eq!(rows.len(), text.lines().count() - 2, "{json}\n{text}");
    assert!(rows.iter().any(|e| e["ip-address"] == "10.2.0.2"
        && e["mac-address"] == "02:48:00:00:00:02"
        && e["interface-name"] == "eth2.0"));
    let route = r.state(&["show", "route"], &["10.9.1.1"]);
    let rt = &route.json()["route-information"]["route-table"][0]["rt"][0];
    assert_eq!(rt["rt-destination"], "10.9.0.0/16");
    assert_eq!(rt["rt-entry"][0]["active-tag"], "*");
    assert_eq!(rt["rt-entry"][0]["nh"][0]["to"], "10.2.0.2");
    assert!(
        route.text().contains("10.9.0.0/16        *[Static/5]"),
        "{}",
        route.text()
    );
}

/// A port whose carrier drops takes its routes with it: the floating static through the
/// other port takes over, and gives back when the carrier returns (link state from the
/// system, read by the engine's monitor).
#[test]
fn junos_port_names_bind_to_netdevs_in_order_or_as_mapped_and_say_why_when_absent() {
    // As a virtual SRX: the first Ethernet netdev is fxp0, the next ge-0/0/0, then ge-0/0/1.
    let mut r = Rig::named("ge-0/0/5=eth9");
    let _mgmt = r.system.add("eth0", [2, 0, 0, 0, 0, 0xf0], 1500);
    let mut h1 = r.system.add("eth1", R1, 1500);
    let _h2 = r.system.add("eth2", R2, 1500);
    let warnings = r.commit(
        "interfaces {
            ge-0/0/0 { unit 0 { family inet { address 10.1.0.1/24; } } }
            xe-0/0/1 { unit 0 { family inet { address 10.2.0.1/24; } } }
            ge-0/0/5 { unit 0 { family inet { address 10.5.0.1/24; } } }
            st0 { unit 0 { family inet; } unit 1 { family inet; } }
        }",
    );
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("st0") && w.contains("IPsec")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("ge-0/0/5") && w.contains("--interface-map")),
        "{warnings:?}"
    );
    // ge-0/0/0 is eth1: it answers ARP for its address with eth1's MAC.
    let (me, h1_ip) = (Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 1, 0, 2));
    send(&mut h1, &arp_frame(1, BROADCAST, H1, h1_ip, [0; 6], me));
    let reply = expect(&mut h1, "ARP reply", |f| is_arp(f, 2, h1_ip));
    assert_eq!(reply[22..28], R1);
    let detail = r.show(&["show", "interfaces"], &["ge-0/0/0", "detail"]);
    assert!(detail.contains("Physical interface: ge-0/0/0"), "{detail}");
    assert!(detail.contains("Linux netdev   : eth1"), "{detail}");
    let xe = r.show(&["show", "interfaces"], &["xe-0/0/1", "detail"]);
    assert!(xe.contains("Linux netdev   : eth2"), "{xe}");
    let st0 = r.show(&["show", "interfaces"], &["st0"]);
    assert!(
        st0.contains("Not present") && st0.contains("IPsec"),
        "{st0}"
    );

    // The mapped netdev appears: ge-0/0/5 is taken as any absent interface is.
    let _h9 = r.system.add("eth9", R3, 1500);
    let out = r.wait_show(&["show", "interfaces"], &["terse"], |o| {
        o.contains("ge-0/0/5.0") && !o.contains("ge-0/0/5                up    down (not present)")
    });
    assert!(out.contains("10.5.0.1/24"), "{out}");
}

#[test]
fn a_carrier_loss_moves_routes_to_the_floating_static_and_back() {
    let mut r = Rig::new();
    let _h1 = r.system.add("eth1", R1, 1500);
    let _h2 = r.system.add("eth2", R2, 1500);
    r.commit(BASE);
    let route = |r: &Rig, ok: &dyn Fn(&str) -> bool| {
        r.wait_show(&["show", "route"], &["10.9.1.1"], |o| ok(o))
    };
    // Both candidates are listed; the active one is marked `*`.
    let via_eth2 = |o: &str| o.contains("*[Static/5]") && o.contains(">  to 10.2.0.2 via eth2.0");
    let via_eth1 = |o: &str| o.contains("*[Static/20]") && o.contains(">  to 10.1.0.9 via eth1.0");
    let out = route(&r, &via_eth2);
    assert!(via_eth2(&out), "{out}");
    r.system.set_carrier("eth2", false);
    let out = route(&r, &via_eth1);
    assert!(via_eth1(&out) && !out.contains("*[Static/5]"), "{out}");
    let ifs = r.show(&["show", "interfaces"], &["terse"]);
    assert!(
        ifs.lines()
            .any(|l| l.starts_with("eth2 ") && l.contains("down")),
        "{ifs}"
    );
    r.system.set_carrier("eth2", true);
    let out = route(&r, &via_eth2);
    assert!(via_eth2(&out), "{out}");
}

/// A configured interface with no netdev: the commit warns and applies the rest; when the
/// netdev appears the engine takes it with no commit, and when it goes its routes go.
#[test]
fn a_netdev_that_appears_after_the_commit_is_taken_and_one_that_goes_is_let_go() {
    let mut r = Rig::new();
    let _h1 = r.system.add("eth1", R1, 1500);
    let _h2 = r.system.add("eth2", R2, 1500);
    let config = BASE.replacen(
        "interfaces {",
        "interfaces {\n    eth3 { unit 0 { family inet { address 10.3.0.1/24; } } }",
        1,
    );
    let warnings = r.commit(&config);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("eth3 is not present"), "{warnings:?}");
    let eth3 = r.state(&["show", "interfaces"], &["eth3"]);
    assert!(eth3.text().contains("Not present"), "{}", eth3.text());
    let ifd = &eth3.json()["interface-information"]["physical-interface"][0];
    assert_eq!(
        (&ifd["name"], &ifd["oper-status"]),
        (&"eth3".into(), &"not-present".into())
    );
    let all = r.state(&["show", "interfaces"], &[]).json();
    let names: Vec<&str> = all["interface-information"]["physical-interface"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(names, ["eth1", "eth2", "eth3"], "{all}");
    let out = r.show(&["show", "route"], &["10.3.0.0/24", "exact"]);
    assert!(
        !out.contains("Direct"),
        "no route of an absent interface: {out}"
    );

    let mut h3 = r.system.add("eth3", R3, 1500);
    let out = r.wait_show(&["show", "route"], &["10.3.0.0/24", "exact"], |o| {
        o.contains("Direct")
    });
    assert!(
        out.contains("*[Direct/0]") && out.contains("via eth3.0"),
        "{out}"
    );
    let (me, h3_ip) = (Ipv4Addr::new(10, 3, 0, 1), Ipv4Addr::new(10, 3, 0, 2));
    send(&mut h3, &arp_frame(1, BROADCAST, H2, h3_ip, [0; 6], me));
    let reply = expect(&mut h3, "ARP reply on eth3", |f| is_arp(f, 2, h3_ip));
    assert_eq!(reply[22..28], R3);

    r.system.remove("eth3");
    let out = r.wait_show(&["show", "route"], &["10.3.0.0/24", "exact"], |o| {
        !o.contains("*[Direct/0]")
    });
    assert!(
        !out.contains("*[Direct/0]"),
        "its routes went with it: {out}"
    );
    let out = r.show(&["show", "route"], &["10.9.1.1"]);
    assert!(
        out.contains(">  to 10.2.0.2 via eth2.0"),
        "the rest stays: {out}"
    );
}

/// With zones, the security stage runs on the worker's arcs: a flow the policy permits is
/// forwarded (and its session listed), one it does not is dropped; `show system statistics`
/// counts what each arc gave the stage and what it dropped.
#[test]
fn the_security_stage_runs_on_the_arcs_and_counts_there() {
    let mut r = Rig::new();
    let mut h1 = r.system.add("eth1", R1, 1500);
    let mut h2 = r.system.add("eth2", R2, 1500);
    let config = format!(
        "{BASE}
security {{
    zones {{
        security-zone trust {{ interfaces {{ eth1.0; }} host-inbound-traffic {{ system-services {{ ping; }} }} }}
        security-zone untrust {{ interfaces {{ eth2.0; }} }}
    }}
    policies {{
        from-zone trust to-zone untrust {{
            policy out {{ match {{ source-address any; destination-address any; application any; }} then {{ permit; }} }}
        }}
    }}
}}"
    );
    r.commit(&config);
    // h2 answers for itself first, so the box has its neighbour.
    let h2_ip = Ipv4Addr::new(10, 2, 0, 2);
    send(
        &mut h1,
        &ethernet(test_frame([10, 1, 0, 2], [10, 2, 0, 2], 64, 100), R1, H1),
    );
    expect(&mut h2, "ARP request", |f| is_arp(f, 1, h2_ip));
    send(
        &mut h2,
        &arp_frame(2, R2, H2, h2_ip, R2, Ipv4Addr::new(10, 2, 0, 1)),
    );
    expect(&mut h2, "the permitted packet", |f| ipv4_of(f, 17));
    // From untrust to trust: no policy, dropped.
    send(
        &mut h2,
        &ethernet(test_frame([10, 2, 0, 2], [10, 1, 0, 2], 64, 100), R2, H2),
    );
    let out = r.wait_show(&["show", "system", "statistics"], &[], |o| {
        o.contains("policy-denied") && !o.contains("0 packets dropped: policy-denied")
    });
    let line = |o: &str, after: &str| -> Vec<u64> {
        let mut lines = o.lines().skip_while(|l| *l != after).skip(1);
        (0..2)
            .filter_map(|_| lines.next()?.split_whitespace().next()?.parse().ok())
            .collect()
    };
    let output = line(&out, "security (ip4-output):");
    assert_eq!(output.len(), 2, "{out}");
    assert!(
        output[0] >= 2 && output[1] >= 1,
        "ip4-output: {output:?}\n{out}"
    );
    let unicast = line(&out, "security (ip4-unicast):");
    assert!(unicast.first().is_some_and(|n| *n >= 2), "{out}");
    let sessions = r.state(&["show", "security", "flow", "session"], &[]);
    let text = sessions.text();
    assert!(text.contains("10.1.0.2/1234 --> 10.2.0.2/5678"), "{text}");
    let json = sessions.json();
    let flow = &json["flow-session-information"]["flow-session"][0]["flow-information"][0];
    assert_eq!(flow["source-address"], "10.1.0.2", "{json}");
    assert_eq!(flow["destination-port"], 5678);
    assert_eq!(
        json["flow-session-information"]["displayed-session-count"],
        1
    );
}

/// A UDP datagram from `src` to `dst` for destination port `dport`.
fn udp_to(src: [u8; 4], dst: [u8; 4], dport: u16, dst_mac: [u8; 6], src_mac: [u8; 6]) -> Vec<u8> {
    let mut f = ethernet(test_frame(src, dst, 64, 100), dst_mac, src_mac);
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f
}

/// Nothing for which `want` holds arrives on `port` within 300 ms.
fn expect_none(port: &mut MemoryPort, what: &str, want: impl Fn(&[u8]) -> bool) {
    let deadline = Instant::now() + Duration::from_millis(300);
    let mut b = FrameBatch::with_capacity(64);
    while Instant::now() < deadline {
        b.clear();
        port.rx(&mut b).unwrap();
        assert!(!b.iter().any(&want), "{what} arrived");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn firewall_filters_count_discard_and_guard_the_box_through_lo0() {
    let mut r = Rig::new();
    let mut h1 = r.system.add("eth1", R1, 1500);
    let mut h2 = r.system.add("eth2", R2, 1500);
    let warnings = r.commit(
        "interfaces {
            eth1 { unit 0 { family inet { filter { input edge; } address 10.1.0.1/24; } } }
            eth2 { unit 0 { family inet { address 10.2.0.1/24; } } }
            lo0 { unit 0 { family inet { filter { input protect-re; } } } }
        }
        firewall {
            family inet {
                filter edge {
                    term no-discard-port {
                        from { protocol udp; destination-port discard-me; }
                        then { count dropped-9; log; discard; }
                    }
                    term rest { then { count passed; accept; } }
                }
                filter protect-re {
                    term ping-from-inside {
                        from { source-address 10.1.0.0/24; protocol icmp; icmp-type echo-request; }
                        then { count re-ping; accept; }
                    }
                }
            }
        }"
        .replace("discard-me", "9")
        .as_str(),
    );
    assert!(warnings.iter().all(|w| w.contains("lo0")), "{warnings:?}");
    let h2_ip = Ipv4Addr::new(10, 2, 0, 2);
    // h1 asks for the box's address (so the box knows h1's, for its replies).
    let (me, h1_ip) = (Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 1, 0, 2));
    send(&mut h1, &arp_frame(1, BROADCAST, H1, h1_ip, [0; 6], me));
    expect(&mut h1, "ARP reply", |f| is_arp(f, 2, h1_ip));
    // UDP to port 9 is discarded by eth1's input filter; other UDP is forwarded.
    send(&mut h1, &udp_to([10, 1, 0, 2], [10, 2, 0, 2], 9, R1, H1));
    send(&mut h1, &udp_to([10, 1, 0, 2], [10, 2, 0, 2], 53, R1, H1));
    let ask = expect(&mut h2, "ARP request", |f| is_arp(f, 1, h2_ip));
    assert_eq!(ask[6..12], R2);
    send(
        &mut h2,
        &arp_frame(2, R2, H2, h2_ip, R2, Ipv4Addr::new(10, 2, 0, 1)),
    );
    let fwd = expect(&mut h2, "forwarded datagram", |f| ipv4_of(f, 17));
    assert_eq!(fwd[36..38], 53u16.to_be_bytes(), "only port 53 passes");
    expect_none(&mut h2, "the datagram to port 9", |f| {
        ipv4_of(f, 17) && f[36..38] == [0, 9]
    });

    // The box answers a ping from 10.1.0.0/24 and not one from eth2's side (which it would
    // answer without the filter: h2 is a known neighbour): lo0's filter guards everything
    // addressed to the box.
    send(&mut h1, &echo_request([10, 1, 0, 2], [10, 1, 0, 1], R1, H1));
    expect(&mut h1, "echo reply", |f| ipv4_of(f, 1) && f[34] == 0);
    send(&mut h2, &echo_request([10, 2, 0, 2], [10, 2, 0, 1], R2, H2));
    expect_none(
        &mut h2,
        "an echo reply to a host lo0's filter leaves out",
        |f| ipv4_of(f, 1) && f[34] == 0,
    );

    let out = r.wait_show(&["show", "firewall"], &[], |o| {
        o.contains("re-ping") && o.contains("passed")
    });
    let row = |name: &str| -> Vec<u64> {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} in {out}"))
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().unwrap())
            .collect()
    };
    assert_eq!(row("dropped-9")[1], 1, "{out}");
    assert_eq!(
        row("passed")[1],
        2,
        "the datagram and the echo request: {out}"
    );
    assert_eq!(row("re-ping")[1], 1, "{out}");
    let stats = r.show(&["show", "system", "statistics"], &[]);
    assert!(stats.contains("firewall-filter-discard"), "{stats}");
    let json = r
        .state(&["show", "firewall"], &["filter", "edge"])
        .json()
        .to_string();
    assert!(json.contains(r#""counter-name":"dropped-9""#), "{json}");
    // The `log` term's packet is in the firewall log, as discarded, with where it came in.
    let log = r.show(&["show", "firewall", "log"], &[]);
    let line = log
        .lines()
        .find(|l| l.contains("edge"))
        .unwrap_or_else(|| panic!("{log}"));
    for want in [" D ", "eth1.0", "UDP", "10.1.0.2:1234", "10.2.0.2:9"] {
        assert!(line.contains(want), "{want} in {log}");
    }
    assert_eq!(
        log.lines().filter(|l| l.contains("edge")).count(),
        1,
        "{log}"
    );
    r.show(&["clear", "firewall"], &[]);
    let out = r.show(&["show", "firewall"], &["filter", "edge"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("dropped-9") && l.trim_end().ends_with(" 0")),
        "{out}"
    );
}

#[test]
fn lo0_addresses_are_the_box_s_own_from_every_port() {
    let mut r = Rig::new();
    let mut h1 = r.system.add("eth1", R1, 1500);
    let mut h2 = r.system.add("eth2", R2, 1500);
    let warnings = r.commit(
        "interfaces {
            eth1 { unit 0 { family inet { address 10.1.0.1/24; } } }
            eth2 { unit 0 { family inet { address 10.2.0.1/24; } } }
            lo0 { unit 0 { family inet { address 10.255.0.1/32; } } }
        }",
    );
    assert!(warnings.is_empty(), "lo0 is present: {warnings:?}");
    let terse = r.wait_show(&["show", "interfaces"], &["terse"], |o| o.contains("lo0.0"));
    assert!(terse.contains("10.255.0.1/32"), "{terse}");
    let route = r.show(&["show", "route"], &["10.255.0.1"]);
    assert!(
        route.contains("10.255.0.1/32") && route.contains("Local"),
        "{route}"
    );
    // The kernel gets the address on the host interface sv-lo0.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !r
        .system
        .ip_commands()
        .iter()
        .any(|c| c.contains(&"10.255.0.1/32".to_string()) && c.contains(&"sv-lo0".to_string()))
    {
        assert!(Instant::now() < deadline, "{:?}", r.system.ip_commands());
        std::thread::sleep(Duration::from_millis(10));
    }
    // Pings to it from either side are the box's to answer.
    for (port, mac_h, mac_r, src, me) in [
        (&mut h1, H1, R1, [10, 1, 0, 2], Ipv4Addr::new(10, 1, 0, 1)),
        (&mut h2, H2, R2, [10, 2, 0, 2], Ipv4Addr::new(10, 2, 0, 1)),
    ] {
        let ip = Ipv4Addr::from(src);
        send(port, &arp_frame(1, BROADCAST, mac_h, ip, [0; 6], me));
        expect(port, "ARP reply", |f| is_arp(f, 2, ip));
        send(port, &echo_request(src, [10, 255, 0, 1], mac_r, mac_h));
        let reply = expect(port, "echo reply from lo0's address", |f| {
            ipv4_of(f, 1) && f[34] == 0
        });
        assert_eq!(reply[26..30], [10, 255, 0, 1]);
    }
}

#[test]
fn test_policy_lists_the_routes_a_policy_accepts_and_counts_the_rest() {
    let mut r = Rig::new();
    let _h1 = r.system.add("eth1", R1, 1500);
    r.commit(
        "interfaces { eth1 { unit 0 { family inet { address 10.1.0.1/24; } } } }
         routing-options { static {
             route 10.7.0.0/16 discard; route 10.2.0.0/16 discard; route 192.0.2.0/24 reject; } }
         policy-options { policy-statement only-10 {
             term t { from { protocol static; route-filter 10.0.0.0/8 orlonger; } then accept; }
             then reject; } }",
    );
    let out = r.wait_show(&["test", "policy"], &["only-10", "0.0.0.0/0"], |o| {
        o.contains("10.2.0.0/16")
    });
    assert!(
        out.contains("10.7.0.0/16") && out.contains("10.2.0.0/16"),
        "{out}"
    );
    assert!(!out.contains("192.0.2.0/24"), "{out}");
    // Rejected: 192.0.2.0/24, and eth1's direct and local routes (not static).
    assert!(
        out.contains("Policy only-10: 2 prefix accepted, 3 prefix rejected"),
        "{out}"
    );
    // Only the prefix asked for (and more specific) is tested.
    let v = r
        .state(&["test", "policy"], &["only-10", "10.2.0.0/16"])
        .json();
    assert_eq!(v["policy-test"]["prefixes-accepted"], 1, "{v}");
    assert_eq!(v["policy-test"]["prefixes-rejected"], 0, "{v}");
    let args = vec!["nope".to_string(), "0.0.0.0/0".to_string()];
    let e = r.ops.run(&["test", "policy"], &args).err().unwrap();
    assert!(e.contains("policy 'nope' is not defined"), "{e}");
}

/// A routing protocol's routes through the RIB's door: next hops resolve through connected
/// subnets (and through a static route, one level down), unresolvable ones are hidden, and
/// watchers see every active route change, their own first.
#[test]
fn protocol_routes_resolve_through_the_rib_and_watchers_see_the_active_routes() {
    use savin_forwarding::{ActiveChange, ProtocolRoute};
    use savin_rib::{IpPrefix, Protocol};
    use std::sync::mpsc;
    let mut r = Rig::new();
    let _h1 = r.system.add("eth1", R1, 1500);
    let _h2 = r.system.add("eth2", R2, 1500);
    r.commit(BASE);
    let feed = r.fwd.routes();
    let (tx, rx) = mpsc::channel::<Vec<ActiveChange>>();
    let tx = std::sync::Mutex::new(tx);
    feed.watch(Box::new(move |c| {
        let _ = tx.lock().unwrap().send(c);
    }));
    // The snapshot: eth1's and eth2's subnets, their local addresses and the static route.
    let snapshot = rx.recv_timeout(Duration::from_secs(5)).expect("snapshot");
    let p = |s: &str| {
        let (a, l) = s.split_once('/').unwrap();
        IpPrefix::new(a.parse().unwrap(), l.parse().unwrap())
    };
    assert!(snapshot
        .iter()
        .any(|c| c.prefix == p("10.9.0.0/16")
            && c.active.as_ref().unwrap().protocol == Protocol::Static));
    let bgp = |nh: &str| ProtocolRoute {
        preference: 170,
        metric: 0,
        next_hops: vec![nh.parse().unwrap()],
    };
    feed.update(
        Protocol::Bgp,
        vec![
            // On eth2's subnet.
            (p("203.0.113.0/24"), vec![bgp("10.2.0.7")]),
            // Behind the static route to 10.9.0.0/16: its gateway carries it.
            (p("198.51.100.0/24"), vec![bgp("10.9.3.3")]),
            // Nowhere.
            (p("192.0.2.0/24"), vec![bgp("172.16.0.1")]),
        ],
    );
    let out = r.wait_show(&["show", "route"], &["203.0.113.1"], |o| o.contains("BGP"));
    assert!(
        out.contains("*[BGP/170]") && out.contains("to 10.2.0.7 via eth2.0"),
        "{out}"
    );
    let out = r.show(&["show", "route"], &["198.51.100.1"]);
    assert!(out.contains("to 10.2.0.2 via eth2.0"), "{out}");
    let out = r.show(&["show", "route"], &["192.0.2.0/24", "hidden"]);
    assert!(
        !out.contains("*[BGP"),
        "an unresolvable route is not active: {out}"
    );
    // The watcher saw the two active ones as BGP's.
    let mut seen: Vec<ActiveChange> = Vec::new();
    while let Ok(c) = rx.recv_timeout(Duration::from_millis(500)) {
        seen.extend(c);
    }
    let bgp_active = |s: &str| {
        seen.iter().any(|c| {
            c.prefix == p(s)
                && c.active
                    .as_ref()
                    .is_some_and(|a| a.protocol == Protocol::Bgp)
        })
    };
    assert!(bgp_active("203.0.113.0/24") && bgp_active("198.51.100.0/24"));
    assert!(!bgp_active("192.0.2.0/24"));
    // Two candidates (the protocol's best, then a backup): when the best one's link goes,
    // the backup carries the traffic, with no word from the protocol.
    let backup = ProtocolRoute {
        metric: 1,
        ..bgp("10.1.0.7")
    };
    feed.update(
        Protocol::Bgp,
        vec![(p("198.51.100.0/24"), vec![bgp("10.2.0.7"), backup])],
    );
    let out = r.wait_show(&["show", "route"], &["198.51.100.1"], |o| {
        o.contains("to 10.2.0.7 via eth2.0")
    });
    assert!(out.contains("to 10.1.0.7 via eth1.0"), "both listed: {out}");
    r.system.set_carrier("eth2", false);
    let out = r.wait_show(&["show", "route"], &["198.51.100.1"], |o| {
        o.lines()
            .skip_while(|l| !l.contains("*[BGP"))
            .nth(1)
            .is_some_and(|l| l.contains("10.1.0.7"))
    });
    assert!(
        out.lines()
            .skip_while(|l| !l.contains("*[BGP"))
            .nth(1)
            .is_some_and(|l| l.contains("to 10.1.0.7 via eth1.0")),
        "{out}"
    );
    r.system.set_carrier("eth2", true);
    r.wait_show(&["show", "route"], &["203.0.113.1"], |o| {
        o.contains("*[BGP")
    });
    // A withdrawal: the prefix goes, and the watcher hears it.
    feed.update(Protocol::Bgp, vec![(p("203.0.113.0/24"), vec![])]);
    let withdrawn = |c: &Vec<ActiveChange>| {
        c.iter()
            .any(|c| c.prefix == p("203.0.113.0/24") && c.active.is_none())
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut heard = false;
    while !heard && Instant::now() < deadline {
        heard = rx
            .recv_timeout(Duration::from_millis(200))
            .is_ok_and(|c| withdrawn(&c));
    }
    assert!(heard, "the watcher heard the withdrawal");
}
