//! Layer 2 through Savin with real Linux hosts: two hosts in one VLAN switch through Savin
//! (one on an access port, one on a trunk behind an 802.1Q subinterface), a third in another
//! VLAN is reached through IRB routing, broadcasts never leak across VLANs (tshark on the
//! other VLAN's host is the oracle), and the MAC table and VLANs show what happened.

use std::path::Path;
use std::time::Duration;

mod labnet;

use labnet::{cli, have, start_daemon};
use savin_lab::{wait_until, Lab, Ns};

fn mac_of(lab: &Lab, ns: &Ns, ifname: &str) -> String {
    let o = lab
        .exec(
            ns,
            &["cat", &format!("/sys/class/net/{ifname}/address")],
            Duration::from_secs(5),
        )
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn hosts_switch_in_a_vlan_route_through_irb_and_broadcasts_stay_in_their_vlan() {
    const T: &str = "hosts_switch_in_a_vlan_route_through_irb_and_broadcasts_stay_in_their_vlan";
    if !have(T, &["ping", "tshark", "python3"]) {
        return;
    }
    let Some(mut lab) = Lab::require(T) else {
        return;
    };
    let r = lab.netns("router").unwrap();
    let h1 = lab.netns("h1").unwrap();
    let h2 = lab.netns("h2").unwrap();
    let h3 = lab.netns("h3").unwrap();
    lab.veth(&r, "eth1", &h1, "eth0").unwrap();
    lab.veth(&r, "eth2", &h2, "eth0").unwrap();
    lab.veth(&r, "eth3", &h3, "eth0").unwrap();
    // h1: access port in VLAN 100. h2: on the trunk, in VLAN 100 through an 802.1Q
    // subinterface. h3: access port in VLAN 200.
    lab.addr(&h1, "eth0", "10.0.100.11/24").unwrap();
    lab.route(&h1, &["default", "via", "10.0.100.1"]).unwrap();
    lab.vlan(&h2, "eth0", 100, "v100").unwrap();
    lab.addr(&h2, "v100", "10.0.100.12/24").unwrap();
    lab.route(&h2, &["default", "via", "10.0.100.1"]).unwrap();
    lab.addr(&h3, "eth0", "10.0.200.13/24").unwrap();
    lab.route(&h3, &["default", "via", "10.0.200.1"]).unwrap();
    let (state, sock) = start_daemon(&mut lab, &r);
    let log_path = state.path().join("daemon.log");
    let daemon_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let (ok, out) = cli(
        &sock,
        "configure; \
         set vlans v100 vlan-id 100; set vlans v100 l3-interface irb.100; \
         set vlans v200 vlan-id 200; set vlans v200 l3-interface irb.200; \
         set interfaces eth1 unit 0 family ethernet-switching interface-mode access; \
         set interfaces eth1 unit 0 family ethernet-switching vlan members v100; \
         set interfaces eth2 unit 0 family ethernet-switching interface-mode trunk; \
         set interfaces eth2 unit 0 family ethernet-switching vlan members [ v100 v200 ]; \
         set interfaces eth3 unit 0 family ethernet-switching vlan members v200; \
         set interfaces irb unit 100 family inet address 10.0.100.1/24; \
         set interfaces irb unit 200 family inet address 10.0.200.1/24; commit",
    );
    assert!(ok, "{out}\n{}", daemon_log());

    // tshark on h3 (VLAN 200) watches every ARP while VLAN 100 talks.
    let cap_out = state.path().join("h3.arp");
    let cap_err = state.path().join("h3.err");
    let cap = lab
        .spawn(
            &h3,
            &[
                "tshark",
                "-l",
                "-n",
                "-i",
                "eth0",
                "-Y",
                "arp",
                "-T",
                "fields",
                "-e",
                "arp.dst.proto_ipv4",
            ],
            Some(std::fs::File::create(&cap_out).unwrap()),
            Some(std::fs::File::create(&cap_err).unwrap()),
        )
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || std::fs::read_to_string(
            &cap_err
        )
        .unwrap_or_default()
        .contains("Capture started")),
        "tshark did not start"
    );

    assert!(
        lab.ping(&h1, "10.0.100.12"),
        "h1 (access) and h2 (trunk, tagged) switch through Savin\n{}",
        daemon_log()
    );
    assert!(lab.ping(&h2, "10.0.100.11"), "and back");
    assert!(
        lab.ping(&h1, "10.0.100.1"),
        "the IRB answers\n{}",
        daemon_log()
    );
    assert!(
        lab.ping(&h1, "10.0.200.13"),
        "h1 reaches h3 in VLAN 200 through IRB routing\n{}",
        daemon_log()
    );
    assert!(lab.ping(&h2, "10.0.200.13"), "so does h2, from the trunk");
    // A broadcast in VLAN 100 for an address nobody has.
    let _ = lab.exec(
        &h1,
        &["ping", "-c", "2", "-W", "1", "10.0.100.99"],
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_millis(300));
    lab.signal(cap, nix::sys::signal::Signal::SIGINT);
    lab.wait(cap, Duration::from_secs(10));
    let seen = std::fs::read_to_string(&cap_out).unwrap_or_default();
    assert!(
        seen.lines().any(|l| l.starts_with("10.0.200.")),
        "the capture works: h3's own ARP for its gateway or from the IRB: {seen:?}"
    );
    assert!(
        !seen.lines().any(|l| l.starts_with("10.0.100.")),
        "no VLAN 100 broadcast reached VLAN 200: {seen:?}"
    );

    // What Savin shows.
    let h1_mac = mac_of(&lab, &h1, "eth0");
    let (_, out) = cli(&sock, "show ethernet-switching table");
    assert!(
        out.lines()
            .any(|l| l.contains("v100") && l.contains(&h1_mac) && l.contains("eth1.0")),
        "h1's MAC learnt on eth1.0 in v100:\n{out}"
    );
    let (_, out) = cli(
        &sock,
        "show ethernet-switching table vlan v200 | display json",
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entries = v["l2ng-l2ald-rtb-macdb"]["l2ng-l2ald-mac-entry-vlan"][0]["l2ng-mac-entry"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        !entries.is_empty() && entries.iter().all(|e| e["l2ng-l2-mac-vlan-name"] == "v200"),
        "{out}"
    );
    let (_, out) = cli(&sock, "show vlans");
    assert!(
        out.contains("v100") && out.contains("eth1.0*") && out.contains("eth2.0*"),
        "{out}"
    );
    let (_, out) = cli(&sock, "show interfaces terse");
    assert!(
        out.contains("eth-switch") && out.contains("irb.100") && out.contains("10.0.100.1/24"),
        "{out}"
    );
    let (_, out) = cli(&sock, "show system statistics | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["statistics"]["bridge"]["bridged"].as_u64().unwrap() > 0,
        "{out}"
    );
    // Cleared addresses are learnt again: the learnt counter moves on.
    let learnt = |sock: &Path| {
        let (_, out) = cli(sock, "show system statistics | display json");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["statistics"]["bridge"]["mac-learnt"].as_u64().unwrap()
    };
    std::thread::sleep(Duration::from_millis(1100));
    let before = learnt(&sock);
    let (ok, _) = cli(&sock, "clear ethernet-switching table");
    assert!(ok);
    assert!(lab.ping(&h1, "10.0.100.12"), "relearnt");
    std::thread::sleep(Duration::from_millis(1100));
    assert!(
        learnt(&sock) >= before + 2,
        "h1 and h2 learnt again after the clear"
    );
}

#[test]
fn ethernet_switching_filters_drop_what_they_name_on_the_way_in_and_out() {
    const T: &str = "ethernet_switching_filters_drop_what_they_name_on_the_way_in_and_out";
    if !have(T, &["ping", "python3"]) {
        return;
    }
    let Some(mut lab) = Lab::require(T) else {
        return;
    };
    let r = lab.netns("router").unwrap();
    let h1 = lab.netns("h1").unwrap();
    let h2 = lab.netns("h2").unwrap();
    lab.veth(&r, "eth1", &h1, "eth0").unwrap();
    lab.veth(&r, "eth2", &h2, "eth0").unwrap();
    lab.addr(&h1, "eth0", "10.0.100.11/24").unwrap();
    lab.addr(&h2, "eth0", "10.0.100.12/24").unwrap();
    let (state, sock) = start_daemon(&mut lab, &r);
    let log_path = state.path().join("daemon.log");
    let daemon_log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let h1_mac = mac_of(&lab, &h1, "eth0");
    let (ok, out) = cli(
        &sock,
        "configure; \
         set vlans v100 vlan-id 100; set vlans v100 l3-interface irb.100; \
         set interfaces eth1 unit 0 family ethernet-switching vlan members v100; \
         set interfaces eth2 unit 0 family ethernet-switching vlan members v100; \
         set interfaces irb unit 100 family inet address 10.0.100.1/24; commit",
    );
    assert!(ok, "{out}\n{}", daemon_log());
    // TCP to a closed port of h2 is refused before any filter (h2's RST comes back).
    let connect = |port: u16| {
        let script = format!(
            "import socket\nt=socket.socket(); t.settimeout(2)\n\
             try:\n    t.connect(('10.0.100.12', {port})); print('connected')\n\
             except ConnectionRefusedError: print('refused')\n\
             except (socket.timeout, TimeoutError): print('timeout')\n"
        );
        let o = lab
            .exec(&h1, &["python3", "-c", &script], Duration::from_secs(10))
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    assert!(lab.ping(&h1, "10.0.100.12"), "{}", daemon_log());
    assert_eq!(connect(23), "refused");
    let i = "set firewall family ethernet-switching filter edge-in term";
    let o = "set firewall family ethernet-switching filter edge-out term";
    let (ok, out) = cli(
        &sock,
        &format!(
            "configure; \
             {i} telnet from ip-protocol tcp; {i} telnet from destination-port 23; \
             {i} telnet then count es-telnet; {i} telnet then discard; \
             {i} ping-h2 from ip-protocol icmp; {i} ping-h2 from ip-destination-address 10.0.100.12/32; \
             {i} ping-h2 then count es-ping-h2; {i} ping-h2 then discard; \
             {i} rest then accept; \
             {o} h1-udp from source-mac-address {h1_mac}; {o} h1-udp from ether-type ipv4; \
             {o} h1-udp from ip-protocol udp; {o} h1-udp then count es-h1-udp; {o} h1-udp then discard; \
             {o} rest then accept; \
             set interfaces eth1 unit 0 family ethernet-switching filter input edge-in; \
             set interfaces eth2 unit 0 family ethernet-switching filter output edge-out; commit"
        ),
    );
    assert!(ok, "{out}\n{}", daemon_log());
    // Pings from h1 to h2 are dropped as they come in, to the last one; to the IRB they pass,
    // and so does ARP (h1 resolved h2 and the gateway through the same filter).
    let ok = lab
        .exec(
            &h1,
            &["ping", "-c", "3", "-i", "0.2", "-W", "1", "10.0.100.12"],
            Duration::from_secs(15),
        )
        .is_ok_and(|o| o.status.success());
    assert!(!ok, "h1's pings to h2 went through");
    let seen = labnet::wait_counter(&sock, "es-ping-h2", |n| n == 3);
    assert_eq!(seen, 3, "es-ping-h2 counted {seen}, sent 3");
    assert!(lab.ping(&h1, "10.0.100.1"), "{}", daemon_log());
    assert_eq!(connect(23), "timeout", "telnet is dropped on the way in");
    assert!(labnet::firewall_counter(&sock, "es-telnet") >= 1);
    // Ten datagrams from h1's MAC are kept from leaving by eth2; h2 sees none. h2's own
    // datagrams to h1 leave by eth1, which has no output filter.
    let listen = "import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                  s.bind(('0.0.0.0', 7000)); s.settimeout(2)\nn=0\n\
                  try:\n    while True: s.recv(100); n+=1\nexcept Exception: pass\nprint(n)\n";
    let out_path = state.path().join("h2.udp");
    let listener = lab
        .spawn(
            &h2,
            &["python3", "-c", listen],
            Some(std::fs::File::create(&out_path).unwrap()),
            None,
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let send = "import socket\nu=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                for _ in range(10): u.sendto(b'x'*64, ('10.0.100.12', 7000))\n";
    lab.exec(&h1, &["python3", "-c", send], Duration::from_secs(10))
        .unwrap();
    lab.wait(listener, Duration::from_secs(10));
    let got = std::fs::read_to_string(&out_path).unwrap_or_default();
    assert_eq!(got.trim(), "0", "h2 received h1's datagrams");
    let seen = labnet::wait_counter(&sock, "es-h1-udp", |n| n == 10);
    assert_eq!(seen, 10, "es-h1-udp counted {seen}, sent 10");
    let (_, fw) = cli(&sock, "show firewall filter edge-out | display json");
    let v: serde_json::Value = serde_json::from_str(&fw).unwrap();
    assert_eq!(
        v["firewall-information"]["filter-information"][0]["counter"][0]["packet-count"], 10,
        "{fw}"
    );
}
