//! Layer 3 through Savin with real Linux hosts and real tools: traceroute shows Savin's hop,
//! a `reject` route answers ICMP unreachable, a small egress MTU makes path MTU discovery work
//! for TCP (and fragments when DF is clear), iperf3 TCP and UDP run, the `show` commands
//! report what happened, and commits that change other routes and addresses while iperf3 runs
//! lose none of its packets. tshark on the hosts is the wire oracle.

mod labnet;

use std::time::Duration;

use labnet::{have, Net};
use savin_lab::wait_until;

#[test]
fn traceroute_reject_pmtud_fragmentation_and_iperf3_through_savin() {
    const T: &str = "traceroute_reject_pmtud_fragmentation_and_iperf3_through_savin";
    if !have(T, &["ping", "traceroute", "iperf3", "tshark", "ethtool"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    assert!(net.lab.ping(&h1, "10.0.2.2"), "{}", net.log());

    // traceroute: hop 1 is Savin (its time exceeded), hop 2 the host.
    let (_, features) = net.run(&net.r, &["ethtool", "-k", "eth1"], 5);
    assert!(
        features.contains("generic-receive-offload: off"),
        "Savin turned GRO off on its port"
    );
    let hops = net.traceroute(&h1, "10.0.2.2");
    assert_eq!(hops, ["10.0.1.1", "10.0.2.2"], "{}", net.log());

    // A reject route: ICMP host unreachable from Savin, seen on the wire.
    let (pid, file) = net.capture(&h1, "icmp.type == 3", &["ip.src", "icmp.code", "icmp.mtu"]);
    let (ok, out) = net.run(&h1, &["ping", "-c", "1", "-W", "2", "203.0.113.5"], 10);
    assert!(!ok);
    assert!(out.contains("Destination Host Unreachable"), "{out}");

    // DF clear and bigger than eth2's 1280: Savin fragments, h2 reassembles and answers.
    let (ok, out) = net.run(
        &h1,
        &[
            "ping", "-c", "2", "-W", "2", "-M", "dont", "-s", "1400", "10.0.2.2",
        ],
        10,
    );
    assert!(ok, "fragmented echo answered: {out}");
    // DF set: fragmentation needed, with the MTU.
    let (ok, out) = net.run(
        &h1,
        &[
            "ping", "-c", "1", "-W", "2", "-M", "do", "-s", "1400", "10.0.2.2",
        ],
        10,
    );
    assert!(!ok);
    assert!(out.contains("mtu = 1280"), "{out}");
    let icmp = net.captured(pid, &file);
    assert!(
        icmp.iter().any(|l| l.starts_with("10.0.1.1\t1")),
        "host unreachable from 10.0.1.1 on the wire: {icmp:?}"
    );
    assert!(
        icmp.iter().any(|l| l == "10.0.1.1\t4\t1280"),
        "fragmentation needed (MTU 1280) on the wire: {icmp:?}"
    );

    // Super-frames: h1 and h3 keep TSO on, so TCP leaves h1 as 64 KB GSO frames; Savin takes
    // them with virtio headers and forwards them whole (h3 sees TCP segments larger than an
    // MSS), and none is dropped as a giant.
    let h3 = net.h3.clone();
    let (pid, file) = net.capture(&h3, "tcp.len > 1448", &["tcp.len"]);
    let server = net.lab.iperf3_server(&h3, "10.0.3.2").unwrap();
    let (ok, out) = net.run(&h1, &["iperf3", "-c", "10.0.3.2", "-n", "8M"], 60);
    assert!(ok, "TCP with TSO on: {out}\n{}", net.log());
    net.lab.wait(server, Duration::from_secs(10));
    let big = net.captured(pid, &file);
    assert!(
        big.len() > 10,
        "super-frames reached h3 whole: {} of them",
        big.len()
    );
    let (_, out) = net.cli("show interfaces eth1 extensive | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let giants =
        &v["interface-information"]["physical-interface"][0]["input-error-list"]["input-giants"];
    assert_eq!(giants.as_u64(), Some(0), "{out}");

    // PMTUD: a TCP transfer (DF set by Linux) of 4 MB completes across the 1280 link, h1's
    // super-frames cut to segments that fit (Savin checks each segment against the MTU).
    net.run(&h1, &["ip", "route", "flush", "cache"], 5);
    let server = net.lab.iperf3_server(&h2, "10.0.2.2").unwrap();
    let (ok, out) = net.run(&h1, &["iperf3", "-c", "10.0.2.2", "-n", "4M", "-J"], 60);
    assert!(ok, "TCP across the 1280-byte link: {out}\n{}", net.log());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tcp_bps = v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap();
    assert!(tcp_bps > 0.0);
    net.lab.wait(server, Duration::from_secs(10));
    let (_, route) = net.run(&h1, &["ip", "route", "get", "10.0.2.2"], 5);
    assert!(
        route.contains("mtu 1280"),
        "h1 learnt the path MTU: {route}"
    );

    // iperf3 UDP.
    let server = net.lab.iperf3_server(&h2, "10.0.2.2").unwrap();
    let (ok, out) = net.run(
        &h1,
        &[
            "iperf3", "-c", "10.0.2.2", "-u", "-b", "20M", "-l", "1200", "-t", "2", "-J",
        ],
        60,
    );
    assert!(ok, "UDP: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sum = &v["end"]["sum"];
    assert!(sum["packets"].as_u64().unwrap() > 1000, "{sum}");
    net.lab.wait(server, Duration::from_secs(10));
    eprintln!(
        "TCP {:.0} Mbit/s through Savin (PMTU 1280); UDP {} of {} lost",
        tcp_bps / 1e6,
        sum["lost_packets"],
        sum["packets"]
    );

    // What the show commands say about it.
    let (ok, out) = net.cli("show route");
    assert!(ok, "{out}");
    for want in [
        "inet.0: 7 destinations",
        "10.0.1.0/24        *[Direct/0]",
        ">  via eth1.0",
        "10.0.1.1/32        *[Local/0]",
        "203.0.113.0/24     *[Static/5]",
        "Reject",
    ] {
        assert!(out.contains(want), "show route: no {want:?}\n{out}");
    }
    let (_, out) = net.cli("show route 10.0.2.77");
    assert!(
        out.contains("10.0.2.0/24") && !out.contains("10.0.1.0/24"),
        "{out}"
    );
    let (_, out) = net.cli("show route 10.0.0.0/16 longer | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["route-information"]["route-table"][0]["rt"]
            .as_array()
            .unwrap()
            .len(),
        6,
        "three connected and three local routes: {out}"
    );
    let (_, out) = net.cli("show arp");
    assert!(out.contains("10.0.1.2") && out.contains("eth1.0"), "{out}");
    assert!(out.contains("Total entries: 3"), "h1, h2 and h3: {out}");
    let (_, out) = net.cli("show route forwarding-table");
    assert!(out.contains("10.0.2.2/32") && out.contains("dest"), "{out}");
    let (_, out) = net.cli("show interfaces terse");
    assert!(
        out.contains("eth1.0                  up    up   inet     10.0.1.1/24"),
        "{out}"
    );
    let (_, out) = net.cli("monitor interface traffic");
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("eth2 ") && l.contains("Up")),
        "{out}"
    );
    let (_, out) = net.cli("monitor interface eth2");
    assert!(
        out.contains("Interface: eth2, Enabled, Link is Up") && out.contains("Output packets:"),
        "{out}"
    );
    let (_, out) = net.cli("show interfaces eth2 | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let phy = &v["interface-information"]["physical-interface"][0];
    assert_eq!(phy["oper-status"], "up");
    assert!(
        phy["traffic-statistics"]["output-packets"]
            .as_u64()
            .unwrap()
            > 1000,
        "{phy}"
    );
    let (_, out) = net.cli("show system statistics | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let drops = &v["statistics"]["ip"]["drops"];
    assert!(drops["reject-route"].as_u64().unwrap() >= 1, "{v}");
    assert!(drops["ttl-expired"].as_u64().unwrap() >= 1, "{v}");
    assert!(drops["fragmentation-needed"].as_u64().unwrap() >= 1, "{v}");
    assert!(
        v["statistics"]["icmp"]["errors-sent"].as_u64().unwrap() >= 3,
        "{v}"
    );
    // clear interfaces statistics and clear arp.
    let (ok, _) = net.cli("clear interfaces statistics all");
    assert!(ok);
    let (_, out) = net.cli("show interfaces eth2 | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let out_pkts = v["interface-information"]["physical-interface"][0]["traffic-statistics"]
        ["output-packets"]
        .as_u64()
        .unwrap();
    assert!(out_pkts < 100, "cleared: {out_pkts}");
    net.cli("clear arp");
    let (_, out) = net.cli("show arp");
    assert!(out.contains("Total entries: 0"), "{out}");
    assert!(net.lab.ping(&h1, "10.0.2.2"), "neighbours learnt again");
    let (_, out) = net.cli("show interfaces eth9");
    assert!(out.contains("device eth9 not found"), "{out}");
}

#[test]
fn a_netdev_that_goes_away_is_reported_down_and_comes_back_when_it_returns() {
    const T: &str = "a_netdev_that_goes_away_is_reported_down_and_comes_back_when_it_returns";
    if !have(T, &["ping", "ethtool"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (r, h1, h3) = (net.r.clone(), net.h1.clone(), net.h3.clone());
    assert!(net.lab.ping(&h3, "10.0.1.2"), "{}", net.log());
    // The veth goes (both ends), as when a NIC is unplugged or a VM's tap is deleted.
    net.run(&r, &["ip", "link", "del", "eth3"], 5);
    let down = wait_until(Duration::from_secs(10), || {
        net.cli("show interfaces terse")
            .1
            .lines()
            .any(|l| l.starts_with("eth3 ") && l.contains("down"))
    });
    assert!(
        down,
        "{}\n{}",
        net.cli("show interfaces terse").1,
        net.log()
    );
    let (_, out) = net.cli("show interfaces eth3");
    assert!(out.contains("Physical link is Down"), "{out}");
    assert!(net.lab.ping(&h1, "10.0.2.2"), "the other ports forward on");
    // It returns, under the same name.
    net.lab.veth(&r, "eth3", &h3, "eth0").unwrap();
    net.lab.addr(&h3, "eth0", "10.0.3.2/24").unwrap();
    net.lab.route(&h3, &["default", "via", "10.0.3.1"]).unwrap();
    let back = wait_until(Duration::from_secs(15), || net.lab.ping(&h3, "10.0.1.2"));
    assert!(
        back,
        "h3 reaches h1 again through the returned port\n{}",
        net.log()
    );
    let (_, out) = net.cli("show interfaces terse");
    assert!(
        out.lines()
            .any(|l| l.starts_with("eth3 ") && l.contains("up    up")),
        "{out}"
    );
}

/// Junos keeps the configuration of an interface that is not there. A restart with a
/// configured netdev missing applies everything else (before, the whole last commit failed to
/// apply and the box came up with no configuration in effect); the interface shows as not
/// present, a commit naming it succeeds with a warning, and when the netdev appears (a
/// netlink link event) its routes come alive with no commit.
#[test]
fn a_configured_interface_that_is_missing_is_not_present_and_the_rest_applies() {
    const T: &str = "a_configured_interface_that_is_missing_is_not_present_and_the_rest_applies";
    if !have(T, &["ping"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (r, h1, h2, h3) = (
        net.r.clone(),
        net.h1.clone(),
        net.h2.clone(),
        net.h3.clone(),
    );
    assert!(net.lab.ping(&h3, "10.0.1.2"), "{}", net.log());
    let (ok, out) = net.cli(
        "configure; set routing-options static route 198.51.100.0/24 next-hop 10.0.3.2; commit",
    );
    assert!(ok, "{out}");
    // The veth goes while the daemon is down; the daemon comes back.
    net.run(&r, &["ip", "link", "del", "eth3"], 5);
    net.restart();
    assert!(
        wait_until(Duration::from_secs(10), || net.lab.ping(&h1, "10.0.2.2")),
        "eth1 and eth2 forward after a restart with eth3 missing\n{}",
        net.log()
    );
    let (_, out) = net.cli("show interfaces eth3");
    assert!(out.contains("eth3, Enabled, Not present"), "{out}");
    let (_, out) = net.cli("show interfaces terse");
    assert!(
        out.contains("(not present)") && out.contains("eth1.0"),
        "{out}"
    );
    // Its static route stays configured, hidden (its gateway is on no present subnet).
    let (_, out) = net.cli("show route 198.51.100.0/24 exact");
    assert!(!out.contains("198.51.100.0/24"), "{out}");
    let (_, out) = net.cli("show route hidden");
    assert!(
        out.contains("198.51.100.0/24") && out.contains("[Static/5]"),
        "{out}"
    );
    // A commit that names it goes through, with a warning.
    let (ok, out) = net.cli("configure; set interfaces eth3 description \"to h3\"; commit");
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: interface eth3 is not present") && out.contains("commit complete"),
        "{out}"
    );
    assert!(
        net.lab.ping(&h2, "10.0.1.2"),
        "still forwarding after the commit"
    );
    // The netdev appears: taken over, its routes alive, traffic through it flows.
    net.lab.veth(&r, "eth3", &h3, "eth0").unwrap();
    net.lab.addr(&h3, "eth0", "10.0.3.2/24").unwrap();
    net.lab.route(&h3, &["default", "via", "10.0.3.1"]).unwrap();
    let back = wait_until(Duration::from_secs(15), || net.lab.ping(&h3, "10.0.1.2"));
    assert!(back, "h3 reaches h1 through the new eth3\n{}", net.log());
    let (_, out) = net.cli("show route 198.51.100.0/24 exact");
    assert!(
        out.contains("*[Static/5]") && out.contains("to 10.0.3.2 via eth3.0"),
        "{out}"
    );
    let (_, out) = net.cli("show interfaces terse");
    assert!(!out.contains("not present"), "{out}");
}

/// Receives one OSPF packet (IP protocol 89) sent to 224.0.0.5 on the box's host interface
/// sv-eth1 (joined as an OSPF daemon joins), within argv[1] seconds: prints its source.
const OSPF_LISTEN: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 89)
mreq = struct.pack('4s4s', socket.inet_aton('224.0.0.5'), socket.inet_aton('10.0.1.1'))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
s.settimeout(float(sys.argv[1]))
print('joined', flush=True)
try:
    data, addr = s.recvfrom(2048)
    print('hello from', addr[0], flush=True)
except socket.timeout:
    print('nothing', flush=True)
"#;

/// Sends OSPFv2 hellos to 224.0.0.5 with TTL 1 out of eth0 (10.0.1.2), every 0.2 s for 4 s.
const OSPF_HELLO: &str = r#"
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 89)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('10.0.1.2'))
hello = bytes([2, 1, 0, 44]) + socket.inet_aton('10.0.1.2') + bytes(4) + bytes(36)
for _ in range(20):
    s.sendto(hello, ('224.0.0.5', 0))
    time.sleep(0.2)
"#;

/// Link-local multicast reaches the box's own sockets, subject to host-inbound: an OSPF hello
/// from a host arrives on a raw socket on the box when the zone allows `protocols ospf`, and
/// not when it does not (counted as host-inbound-denied). Before, 224.0.0.0/24 fell into a
/// route miss and never reached the box.
#[test]
fn an_ospf_hello_reaches_the_box_when_host_inbound_allows_ospf_and_not_otherwise() {
    const T: &str = "an_ospf_hello_reaches_the_box_when_host_inbound_allows_ospf_and_not_otherwise";
    if !have(T, &["ping", "python3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (r, h1) = (net.r.clone(), net.h1.clone());
    let (ok, out) = net.cli(
        "configure; \
         set security zones security-zone trust interfaces eth1.0 host-inbound-traffic protocols ospf; \
         set security zones security-zone trust interfaces eth1.0 host-inbound-traffic system-services ping; \
         set security zones security-zone untrust interfaces eth2.0; \
         commit",
    );
    assert!(ok, "{out}");
    assert!(net.lab.ping(&h1, "10.0.1.1"), "{}", net.log());
    let hello_seen = |net: &mut Net| {
        let sender = net
            .lab
            .spawn(&h1, &["python3", "-c", OSPF_HELLO], None, None)
            .unwrap();
        let (_, out) = net.run(&r, &["python3", "-c", OSPF_LISTEN, "3"], 10);
        net.lab.signal(sender, nix::sys::signal::Signal::SIGKILL);
        net.lab.wait(sender, Duration::from_secs(5));
        assert!(out.contains("joined"), "{out}");
        out.contains("hello from 10.0.1.2")
    };
    assert!(
        hello_seen(&mut net),
        "allowed: the hello arrives\n{}",
        net.log()
    );
    let denied = |net: &Net| {
        let (_, out) = net.cli("show system statistics | display json");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["statistics"]["ip"]["drops"]["host-inbound-denied"]
            .as_u64()
            .unwrap()
    };
    let before = denied(&net);
    let (ok, out) = net.cli(
        "configure; \
         delete security zones security-zone trust interfaces eth1.0 host-inbound-traffic protocols; \
         commit",
    );
    assert!(ok, "{out}");
    assert!(!hello_seen(&mut net), "not allowed: nothing arrives");
    assert!(denied(&net) > before, "counted as host-inbound-denied");
}

/// `show route` over a large table runs off the control thread and outside the management
/// lock: while listings of 150,000 routes run, a commit completes and a neighbour is resolved
/// (ARP, answered by the control thread) without waiting for them. Before, each listing ran
/// on the control thread under the management lock, so both waited for it.
#[test]
fn a_long_show_route_does_not_hold_up_the_management_plane_or_the_control_thread() {
    use savin_mgmt::proto::{Attachment, Client, Request};
    use std::time::Instant;
    const T: &str = "a_long_show_route_does_not_hold_up_the_management_plane_or_the_control_thread";
    if !have(T, &["ping"]) {
        return;
    }
    let Some(net) = Net::new(T) else {
        return;
    };
    let h1 = net.h1.clone();
    let mut set = String::new();
    for i in 0..150_000u32 {
        let n = 0x6400_0000u32 + (i << 8);
        set.push_str(&format!(
            "set routing-options static route {}.{}.{}.0/24 discard\n",
            n >> 24,
            (n >> 16) & 255,
            (n >> 8) & 255
        ));
    }
    let mut c = Client::connect(&net.sock).unwrap();
    let exec = |c: &mut Client, line: &str, data: Option<Attachment>| {
        let r = c
            .request(&Request::Exec {
                line: line.into(),
                data,
            })
            .unwrap();
        assert!(r.ok, "{line}: {}", r.output);
    };
    let t = Instant::now();
    exec(&mut c, "configure", None);
    exec(
        &mut c,
        "load set terminal",
        Some(Attachment {
            name: "terminal".into(),
            text: set,
        }),
    );
    exec(&mut c, "commit", None);
    eprintln!("150k routes committed in {:?}", t.elapsed());
    let (_, out) = net.cli("show route summary");
    assert!(
        out.contains("Static: 150001 routes, 150001 active"),
        "{out}"
    );
    // The same as a typed query (what an API or NETCONF server sends), as JSON.
    let r = c
        .request(&Request::Show {
            command: "show route summary".into(),
            json: true,
        })
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&r.output).unwrap();
    let inet = &v["route-summary-information"]["route-table"][0];
    assert_eq!(inet["table-name"], "inet.0", "{}", r.output);
    assert!(
        inet["active-route-count"].as_u64().unwrap() > 150_000,
        "{}",
        r.output
    );
    // The listing alone, for the record.
    let t = Instant::now();
    let (ok, out) = net.cli("show route | count");
    assert!(ok, "{out}");
    let alone = t.elapsed();
    // Listings at once; meanwhile the management plane (an edit, `show version`) and the
    // control thread (`clear arp`, a neighbour resolved again) answer at once, each before
    // the first listing is done. Before, a listing held the management lock and the control
    // thread for its whole length, and these waited behind it.
    let sock = net.sock.clone();
    let started = Instant::now();
    let shows: Vec<_> = (0..4)
        .map(|_| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let (ok, out) = labnet::cli(&sock, "show route detail | count");
                assert!(ok, "{out}");
                started.elapsed()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    exec(&mut c, "set system host-name during-show", None);
    let (ok, out) = net.cli("show version");
    assert!(ok, "{out}");
    let mgmt_done = started.elapsed();
    let (ok, out) = net.cli("clear arp");
    assert!(ok, "{out}");
    let control_done = started.elapsed();
    let first_show = shows.into_iter().map(|h| h.join().unwrap()).min().unwrap();
    eprintln!(
        "show route alone {alone:?}; with four listings running: an edit and show version \
         done at {mgmt_done:?}, clear arp at {control_done:?}, the first listing at \
         {first_show:?}"
    );
    assert!(
        mgmt_done < first_show && control_done < first_show,
        "the management plane and the control thread answered while the listings ran"
    );
    // The neighbour is learnt again, and the edit commits.
    assert!(net.lab.ping(&h1, "10.0.2.2"), "{}", net.log());
    exec(&mut c, "commit", None);
}

#[test]
fn ipv6_ping_traceroute_reject_packet_too_big_and_tcp_through_savin() {
    const T: &str = "ipv6_ping_traceroute_reject_packet_too_big_and_tcp_through_savin";
    if !have(T, &["ping", "traceroute", "iperf3", "tshark", "ethtool"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    let ping6 = |net: &Net, dst: &str| {
        net.run(
            &h1,
            &["ping", "-6", "-c", "2", "-i", "0.3", "-W", "2", dst],
            15,
        )
    };
    let (ok, out) = ping6(&net, "2001:db8:1::1");
    assert!(
        ok,
        "Savin answers ND and ping6 for its address: {out}\n{}",
        net.log()
    );
    let (ok, out) = ping6(&net, "2001:db8:2::2");
    assert!(ok, "h1 reaches h2 over IPv6 through Savin: {out}");
    // Its link-local address answers too.
    let (_, terse) = net.cli("show interfaces terse");
    let ll = terse
        .lines()
        .skip_while(|l| !l.starts_with("eth1.0"))
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("fe80::")))
        .expect("a link-local address on eth1.0")
        .trim_end_matches("/64")
        .to_string();
    let (ok, out) = ping6(&net, &format!("{ll}%eth0"));
    assert!(ok, "link-local {ll}: {out}");
    // traceroute6: hop 1 is Savin's address on h1's side.
    let hops = net.traceroute(&h1, "2001:db8:2::2");
    assert_eq!(hops, ["2001:db8:1::1", "2001:db8:2::2"]);
    // Reject and packet too big, on the wire.
    let (pid, file) = net.capture(
        &h1,
        "icmpv6.type == 1 || icmpv6.type == 2",
        &["ipv6.src", "icmpv6.type", "icmpv6.code", "icmpv6.mtu"],
    );
    let (ok, out) = net.run(
        &h1,
        &["ping", "-6", "-c", "1", "-W", "2", "2001:db8:99::7"],
        10,
    );
    assert!(!ok);
    assert!(out.contains("Destination unreachable"), "{out}");
    let (ok, out) = net.run(
        &h1,
        &[
            "ping",
            "-6",
            "-c",
            "1",
            "-W",
            "2",
            "-M",
            "do",
            "-s",
            "1400",
            "2001:db8:2::2",
        ],
        10,
    );
    assert!(!ok);
    assert!(out.contains("Packet too big: mtu=1280"), "{out}");
    let icmp = net.captured(pid, &file);
    assert!(
        icmp.iter().any(|l| l.starts_with("2001:db8:1::1\t1\t0")),
        "unreachable: {icmp:?}"
    );
    assert!(
        icmp.iter().any(|l| l == "2001:db8:1::1\t2\t0\t1280"),
        "packet too big: {icmp:?}"
    );
    // TCP over IPv6 across the 1280 link: PMTUD with packet too big.
    let server = net.lab.iperf3_server(&h2, "2001:db8:2::2").unwrap();
    let (ok, out) = net.run(
        &h1,
        &["iperf3", "-6", "-c", "2001:db8:2::2", "-n", "4M", "-J"],
        60,
    );
    assert!(ok, "TCP over IPv6: {out}\n{}", net.log());
    net.lab.wait(server, Duration::from_secs(10));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    eprintln!(
        "IPv6 TCP {:.0} Mbit/s through Savin (PMTU 1280)",
        v["end"]["sum_received"]["bits_per_second"]
            .as_f64()
            .unwrap()
            / 1e6
    );
    // What Savin shows.
    let (_, out) = net.cli("show route table inet6.0");
    for want in [
        "inet6.0: ",
        "2001:db8:1::/64    *[Direct/0]",
        "2001:db8:99::/48   *[Static/5]",
        "Reject",
    ] {
        assert!(out.contains(want), "no {want:?}:\n{out}");
    }
    assert!(!out.contains("inet.0"), "only the table asked for: {out}");
    let (_, out) = net.cli("show ipv6 neighbors");
    assert!(
        out.contains("2001:db8:1::2") && out.contains("reachable"),
        "{out}"
    );
    let (_, out) = net.cli("show route 2001:db8:2::77");
    assert!(
        out.contains("2001:db8:2::/64") && !out.contains("10.0.2.0/24"),
        "{out}"
    );
    net.cli("clear ipv6 neighbors");
    let (_, out) = net.cli("show ipv6 neighbors");
    assert!(out.contains("Total entries: 0"), "{out}");
    let (ok, _) = ping6(&net, "2001:db8:2::2");
    assert!(ok, "neighbours learnt again");
}

#[test]
fn the_boxs_own_sockets_answer_through_host_interfaces() {
    const T: &str = "the_boxs_own_sockets_answer_through_host_interfaces";
    if !have(T, &["ping", "iperf3", "ethtool"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (r, h1, h3) = (net.r.clone(), net.h1.clone(), net.h3.clone());
    // The kernel in the router's namespace got a TAP per routed port, with its addresses.
    let (_, addrs) = net.run(&r, &["ip", "-br", "addr"], 5);
    assert!(
        addrs
            .lines()
            .any(|l| l.starts_with("sv-eth1") && l.contains("10.0.1.1/24")),
        "{addrs}"
    );
    // A host beyond a static route: the kernel needs the route to answer it.
    net.lab.addr(&net.h2, "lo", "192.0.2.1/32").unwrap();
    let (ok, out) = net
        .cli("configure; set routing-options static route 192.0.2.0/24 next-hop 10.0.2.2; commit");
    assert!(ok, "{out}");
    let (_, routes) = net.run(&r, &["ip", "route", "show", "192.0.2.0/24"], 5);
    assert!(
        routes.contains("via 10.0.2.2 dev sv-eth2"),
        "the kernel has the static route: {routes}"
    );
    let h2 = net.h2.clone();
    let server = net.lab.iperf3_server(&r, "10.0.1.1").unwrap();
    let (ok, out) = net.run(
        &h2,
        &["iperf3", "-c", "10.0.1.1", "-B", "192.0.2.1", "-n", "1M"],
        30,
    );
    assert!(
        ok,
        "TCP to the box from beyond a static route: {out}\n{}",
        net.log()
    );
    net.lab.wait(server, Duration::from_secs(10));
    // TCP to a kernel socket on the box, IPv4 and IPv6, from a host on either side.
    for (bind, client) in [("10.0.1.1", &h1), ("10.0.1.1", &h3), ("2001:db8:1::1", &h1)] {
        let server = net.lab.iperf3_server(&r, bind).unwrap();
        let (ok, out) = net.run(client, &["iperf3", "-c", bind, "-n", "1M"], 30);
        assert!(
            ok,
            "TCP to the box's {bind} from {}: {out}\n{}",
            client.name,
            net.log()
        );
        net.lab.wait(server, Duration::from_secs(10));
    }
    // Four 1 MB transfers each way through the host interfaces: with the hosts' TSO on
    // the data crosses as super-frames, so a few dozen frames each way at least.
    // (The worker publishes its counters every 100 ms: allow for that.)
    let mut out = String::new();
    let counted = savin_lab::wait_until(Duration::from_secs(5), || {
        out = net.cli("show system statistics | display json").1;
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let ip = &v["statistics"]["ip"];
        ip["packets-to-host"].as_u64().unwrap() > 30
            && ip["packets-from-host"].as_u64().unwrap() > 30
    });
    assert!(counted, "{out}");
    // Ping is still the data plane's: answered without the kernel.
    assert!(net.lab.ping(&h1, "10.0.1.1"));
}

#[test]
fn ecmp_spreads_flows_and_qualified_next_hops_float() {
    const T: &str = "ecmp_spreads_flows_and_qualified_next_hops_float";
    if !have(T, &["ping", "traceroute", "ethtool"]) {
        return;
    }
    let Some(net) = Net::new(T) else {
        return;
    };
    let (h1, h2, h3) = (net.h1.clone(), net.h2.clone(), net.h3.clone());
    for h in [&h2, &h3] {
        net.lab.addr(h, "lo", "192.0.2.1/32").unwrap();
    }
    let (ok, out) = net.cli(
        "configure; \
         set routing-options static route 192.0.2.0/24 next-hop [ 10.0.2.2 10.0.3.2 ]; \
         set routing-options static route 198.51.100.0/24 qualified-next-hop 10.0.2.2 preference 10; \
         set routing-options static route 198.51.100.0/24 qualified-next-hop 10.0.3.2 preference 20; \
         commit",
    );
    assert!(ok, "{out}");
    let (_, out) = net.cli("show route 192.0.2.0/24 exact");
    assert!(
        out.contains(">  to 10.0.2.2 via eth2.0") && out.contains(">  to 10.0.3.2 via eth3.0"),
        "both next hops active:\n{out}"
    );
    let (_, out) = net.cli("show route 198.51.100.0/24 exact");
    assert!(
        out.contains("*[Static/10]") && out.contains("to 10.0.2.2 via eth2.0"),
        "{out}"
    );
    // The preference 20 next hop waits, listed as an inactive route (no mark), as on Junos.
    assert!(
        out.contains("                   [Static/20]") && out.contains("to 10.0.3.2 via eth3.0"),
        "the preference 20 next hop waits, shown inactive:\n{out}"
    );
    let (_, out) = net.cli("show route 198.51.100.0/24 exact detail");
    assert!(
        out.contains("(2 entries, 1 announced)")
            && out.contains("Inactive reason: Route Preference"),
        "{out}"
    );
    // 40 UDP probes with different ports (traceroute's, all at TTL 2): the flow hash sends
    // some through h2 and some through h3, and both answer for 192.0.2.1.
    let sent = |iface: &str| {
        let (_, out) = net.cli(&format!("show interfaces {iface} | display json"));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["interface-information"]["physical-interface"][0]["traffic-statistics"]["output-packets"]
            .as_u64()
            .unwrap()
    };
    assert!(net.lab.ping(&h1, "10.0.2.2") && net.lab.ping(&h1, "10.0.3.2"));
    std::thread::sleep(Duration::from_millis(300));
    let before = (sent("eth2"), sent("eth3"));
    for port in ["33434", "40000", "45000", "50000"] {
        let (_, out) = net.run(
            &h1,
            &[
                "traceroute",
                "-n",
                "-f",
                "2",
                "-m",
                "2",
                "-q",
                "10",
                "-N",
                "10",
                "-w",
                "1",
                "-p",
                port,
                "192.0.2.1",
            ],
            30,
        );
        assert!(out.contains("192.0.2.1"), "answered: {out}");
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = (sent("eth2"), sent("eth3"));
    let (via2, via3) = (after.0 - before.0, after.1 - before.1);
    eprintln!("40 flows: {via2} packets through h2, {via3} through h3");
    assert!(
        via2 >= 3 && via3 >= 3,
        "both paths carry flows: {via2} and {via3}"
    );
    // h2's side of the link goes down: eth2's routes are withdrawn, the floating static moves
    // to its preference 20 next hop, the ECMP group shrinks to h3; and all comes back.
    net.run(&h2, &["ip", "link", "set", "eth0", "down"], 5);
    let floated = wait_until(Duration::from_secs(5), || {
        net.cli("show route 198.51.100.0/24 exact")
            .1
            .contains("*[Static/20]")
    });
    let (_, out) = net.cli("show route");
    assert!(floated, "{out}\n{}", net.log());
    assert!(
        !out.contains("10.0.2.0/24"),
        "eth2's direct route withdrawn:\n{out}"
    );
    let (_, out) = net.cli("show route 192.0.2.0/24 exact");
    assert!(
        out.contains("to 10.0.3.2") && !out.contains("10.0.2.2"),
        "{out}"
    );
    assert!(
        net.lab.ping(&h1, "192.0.2.1"),
        "through h3 while eth2 is down"
    );
    net.run(&h2, &["ip", "link", "set", "eth0", "up"], 5);
    let back = wait_until(Duration::from_secs(5), || {
        net.cli("show route 198.51.100.0/24 exact")
            .1
            .contains("*[Static/10]")
    });
    assert!(back, "{}", net.cli("show route").1);
    assert!(net.cli("show route").1.contains("10.0.2.0/24"));
    // Each flap shrinks the group and grows it back: the next-hop entries it frees are reused
    // (after their grace second), so the table does not grow with flaps.
    let top_index = || {
        let (_, out) = net.cli("show route forwarding-table | display json");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let mut top = 0;
        for t in v["forwarding-table-information"]["route-table"]
            .as_array()
            .unwrap()
        {
            for r in t["rt-entry"].as_array().unwrap() {
                top = top.max(r["nh"]["nh-index"].as_u64().unwrap());
            }
        }
        top
    };
    let before = top_index();
    for _ in 0..3 {
        for (state, pref) in [("down", "*[Static/20]"), ("up", "*[Static/10]")] {
            std::thread::sleep(Duration::from_millis(1100));
            net.run(&h2, &["ip", "link", "set", "eth0", state], 5);
            assert!(wait_until(Duration::from_secs(5), || {
                net.cli("show route 198.51.100.0/24 exact").1.contains(pref)
            }));
        }
    }
    let after = top_index();
    assert!(
        after <= before,
        "next-hop indices grew with flaps: {before} -> {after}"
    );
    // (No ping through h2 here: its kernel dropped its routes when its link went down.)
    let (_, out) = net.cli("show route 192.0.2.0/24 exact");
    assert!(
        out.contains("to 10.0.2.2") && out.contains("to 10.0.3.2"),
        "the group is whole again:\n{out}"
    );
    // The preferred next hop goes away (its subnet is removed): the route floats to the
    // preference 20 one.
    let (ok, out) = net.cli("configure; delete interfaces eth2 unit 0 family inet; commit");
    assert!(ok, "{out}");
    let (_, out) = net.cli("show route 198.51.100.0/24 exact");
    assert!(
        out.contains("*[Static/20]") && out.contains("to 10.0.3.2 via eth3.0"),
        "{out}"
    );
    let (_, out) = net.cli("show route 192.0.2.0/24 exact");
    assert!(
        out.contains("to 10.0.3.2") && !out.contains("10.0.2.2"),
        "ECMP down to one:\n{out}"
    );
    assert!(net.lab.ping(&h1, "192.0.2.1"), "still reachable through h3");
}

#[test]
fn addresses_added_by_commit_are_announced_with_gratuitous_arp_and_unsolicited_na() {
    const T: &str =
        "addresses_added_by_commit_are_announced_with_gratuitous_arp_and_unsolicited_na";
    if !have(T, &["tshark", "ethtool"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let h3 = net.h3.clone();
    let (pid, file) = net.capture(
        &h3,
        "arp || icmpv6.type == 136",
        &[
            "arp.src.proto_ipv4",
            "arp.dst.proto_ipv4",
            "icmpv6.nd.na.target_address",
            "icmpv6.nd.na.flag.o",
        ],
    );
    let (ok, out) = net.cli(
        "configure; set interfaces eth3 unit 0 family inet address 10.0.33.1/24; \
         set interfaces eth3 unit 0 family inet6 address 2001:db8:33::1/64; commit",
    );
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(500));
    let seen = net.captured(pid, &file);
    assert!(
        seen.iter().any(|l| l.starts_with("10.0.33.1\t10.0.33.1")),
        "a gratuitous ARP for the new address: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.contains("2001:db8:33::1") && (l.ends_with("True") || l.ends_with('1'))),
        "an unsolicited NA (override) for the new IPv6 address: {seen:?}"
    );
}
