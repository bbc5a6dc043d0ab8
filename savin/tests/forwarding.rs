//! Real hosts in namespaces route through Savin: it answers ARP and ping for its own addresses,
//! forwards between connected subnets and along static routes, and refuses a commit that names
//! a netdev that does not exist.

use std::time::Duration;

mod labnet;

use labnet::{cli, have, start_daemon};
use savin_lab::{Lab, Ns};

/// h1 - eth1 [router] eth2 - h2, each host's side named eth0.
fn router_and_two_hosts(lab: &mut Lab) -> (Ns, Ns, Ns) {
    let r = lab.netns("router").unwrap();
    let h1 = lab.netns("h1").unwrap();
    let h2 = lab.netns("h2").unwrap();
    lab.veth(&r, "eth1", &h1, "eth0").unwrap();
    lab.veth(&r, "eth2", &h2, "eth0").unwrap();
    (r, h1, h2)
}

#[test]
fn hosts_ping_through_savin_on_connected_and_static_routes() {
    if !have(
        "hosts_ping_through_savin_on_connected_and_static_routes",
        &["ping"],
    ) {
        return;
    }
    let Some(mut lab) = Lab::require("hosts_ping_through_savin_on_connected_and_static_routes")
    else {
        return;
    };
    let (r, h1, h2) = router_and_two_hosts(&mut lab);
    lab.addr(&h1, "eth0", "10.0.1.2/24").unwrap();
    lab.route(&h1, &["default", "via", "10.0.1.1"]).unwrap();
    lab.addr(&h2, "eth0", "10.0.2.2/24").unwrap();
    lab.route(&h2, &["default", "via", "10.0.2.1"]).unwrap();
    lab.addr(&h2, "lo", "192.0.2.1/32").unwrap();
    let (state, sock) = start_daemon(&mut lab, &r);
    let daemon_log =
        || std::fs::read_to_string(state.path().join("daemon.log")).unwrap_or_default();
    let (ok, out) = cli(
        &sock,
        "configure; set interfaces eth1 unit 0 family inet address 10.0.1.1/24; \
         set interfaces eth2 unit 0 family inet address 10.0.2.1/24; \
         set routing-options static route 192.0.2.0/24 next-hop 10.0.2.2; \
         set routing-options static route 198.51.100.0/24 discard; commit",
    );
    assert!(ok, "{out}\n{}", daemon_log());
    assert!(
        lab.ping(&h1, "10.0.1.1"),
        "Savin answers ARP and ping for its own address\n{}",
        daemon_log()
    );
    assert!(
        lab.ping(&h1, "10.0.2.2"),
        "h1 reaches h2 through Savin\n{}",
        daemon_log()
    );
    assert!(lab.ping(&h2, "10.0.1.2"), "and back\n{}", daemon_log());
    assert!(
        lab.ping(&h1, "192.0.2.1"),
        "along the static route\n{}",
        daemon_log()
    );
    assert!(!lab.ping(&h1, "198.51.100.1"), "the discard route drops");
    // The kernel has no address on the netdev Savin owns (only on its host interface,
    // sv-eth1): the replies came from Savin.
    let kernel = lab
        .exec(
            &r,
            &["ip", "-4", "addr", "show", "dev", "eth1"],
            Duration::from_secs(5),
        )
        .unwrap();
    assert!(kernel.status.success());
    assert!(!String::from_utf8_lossy(&kernel.stdout).contains("10.0.1.1"));
    // A netdev that does not exist: kept, as Junos keeps an interface that is not plugged
    // in; the commit says so and the rest runs on.
    let (ok, out) = cli(
        &sock,
        "configure; set interfaces eth9 unit 0 family inet address 10.0.9.1/24; commit",
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: interface eth9 is not present"),
        "{out}"
    );
    let (_, out) = cli(&sock, "show interfaces eth9");
    assert!(out.contains("Not present"), "{out}");
    assert!(
        lab.ping(&h1, "10.0.2.2"),
        "forwarding still runs after the commit"
    );
}

/// Sends ARP requests for `target` from `count` senders, `first` and up (consecutive IPv4
/// addresses, one MAC), out of `ifname`, paced in bursts so that a router's punt path can
/// keep up; prints how many were sent.
const ARP_FLOOD: &str = r#"
import socket, struct, sys, time
ifname, target, first, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
paced = sys.argv[5:] != ["unpaced"]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
mac = bytes.fromhex(open(f"/sys/class/net/{ifname}/address").read().strip().replace(":", ""))
tpa = socket.inet_aton(target)
base = struct.unpack("!I", socket.inet_aton(first))[0]
head = b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac
for i in range(count):
    f = head + struct.pack("!I", base + i) + b"\x00" * 6 + tpa
    s.send(f + b"\x00" * (60 - len(f)))
    if paced and i % 200 == 199:
        time.sleep(0.002)
print(count)
"#;

/// h1 on a /14 (room for a flood of ARP senders) and h2 on a /24, either side of a running
/// Savin with both addresses committed.
struct FloodLab {
    lab: Lab,
    r: Ns,
    h1: Ns,
    h2: Ns,
    state: tempfile::TempDir,
    sock: std::path::PathBuf,
}

impl FloodLab {
    fn new(test: &str) -> Option<FloodLab> {
        let mut lab = Lab::require(test)?;
        if !labnet::have(test, &["python3"]) {
            return None;
        }
        let (r, h1, h2) = router_and_two_hosts(&mut lab);
        lab.addr(&h1, "eth0", "10.64.0.2/14").unwrap();
        lab.route(&h1, &["default", "via", "10.64.0.1"]).unwrap();
        lab.addr(&h2, "eth0", "10.0.2.2/24").unwrap();
        lab.route(&h2, &["default", "via", "10.0.2.1"]).unwrap();
        let (state, sock) = start_daemon(&mut lab, &r);
        let f = FloodLab {
            lab,
            r,
            h1,
            h2,
            state,
            sock,
        };
        let (ok, out) = f.cli(
            "configure; set interfaces eth1 unit 0 family inet address 10.64.0.1/14; \
             set interfaces eth2 unit 0 family inet address 10.0.2.1/24; commit",
        );
        assert!(ok, "{out}\n{}", f.log());
        Some(f)
    }

    fn cli(&self, cmds: &str) -> (bool, String) {
        cli(&self.sock, cmds)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("daemon.log")).unwrap_or_default()
    }

    /// `show system statistics | display json`, its `statistics` object.
    fn stats(&self) -> serde_json::Value {
        let (ok, out) = self.cli("show system statistics | display json");
        assert!(ok, "the daemon answers\n{out}\n{}", self.log());
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["statistics"].clone()
    }
}

#[test]
fn a_flood_of_neighbours_past_the_next_hop_table_is_refused_and_forwarding_goes_on() {
    if !have(
        "a_flood_of_neighbours_past_the_next_hop_table_is_refused_and_forwarding_goes_on",
        &["ping"],
    ) {
        return;
    }
    // One host answers for a whole /14: each ARP request to Savin from a new sender makes a
    // neighbour and its host route, each with a next-hop index; the FIB holds 65,535 of those.
    let Some(f) = FloodLab::new(
        "a_flood_of_neighbours_past_the_next_hop_table_is_refused_and_forwarding_goes_on",
    ) else {
        return;
    };
    let (lab, h1, h2) = (&f.lab, &f.h1, &f.h2);
    let daemon_log = || f.log();
    let stats = || f.stats();
    assert!(lab.ping(h2, "10.64.0.2"), "h2 reaches h1 before the flood");
    // 66,000 senders: more than the 65,536 neighbours ARP keeps and the indices the FIB has.
    // Punts the control plane cannot take at once are dropped, so the flood goes again until
    // the table is full (known neighbours are only refreshed).
    let mut full = false;
    for _ in 0..4 {
        let out = lab
            .exec(
                h1,
                &[
                    "python3",
                    "-c",
                    ARP_FLOOD,
                    "eth0",
                    "10.64.0.1",
                    "10.64.1.0",
                    "66000",
                ],
                Duration::from_secs(120),
            )
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        full = savin_lab::wait_until(Duration::from_secs(30), || {
            stats()["route"]["not-installed-next-hop-table-full"]
                .as_u64()
                .is_some_and(|n| n > 0)
        });
        if full {
            break;
        }
    }
    let s = stats();
    assert!(
        full,
        "the flood filled the next-hop table: {s}\n{}",
        daemon_log()
    );
    assert_eq!(
        s["route"]["next-hops"].as_u64(),
        Some(u64::from(savin_fib::MAX_NEXT_HOP)),
        "every index is in use, none past the last: {s}"
    );
    assert!(
        daemon_log().contains("next-hop table full"),
        "and it is logged"
    );
    // The daemon lives on and forwards: a neighbour with a host route (h1 was learnt before
    // the flood) and, through its subnet's route, one that found no index.
    assert!(
        lab.ping(h2, "10.64.0.2"),
        "h2 still reaches h1\n{}",
        daemon_log()
    );
    let (ok, out) = f.cli("show arp | display json");
    assert!(ok, "{out}");
    let arp: serde_json::Value = serde_json::from_str(&out).unwrap();
    let neighbours: std::collections::BTreeSet<String> = arp["arp-table-information"]
        ["arp-table-entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["ip-address"].as_str().unwrap().to_string())
        .collect();
    assert!(
        neighbours.len() > savin_fib::MAX_NEXT_HOP as usize - 10,
        "the neighbours are there: {}",
        neighbours.len()
    );
    let (ok, out) = f.cli("show route forwarding-table | display json");
    assert!(ok, "{out}");
    let ft: serde_json::Value = serde_json::from_str(&out).unwrap();
    let routed: std::collections::HashSet<String> = ft["forwarding-table-information"]
        ["route-table"][0]["rt-entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["destination-type"] == "dest")
        .map(|e| e["rt-destination"].as_str().unwrap().to_string())
        .collect();
    assert!(routed.len() > 65_000, "host routes: {}", routed.len());
    let homeless = neighbours
        .iter()
        .find(|ip| !routed.contains(&format!("{ip}/32")))
        .expect("a neighbour without a host route")
        .clone();
    lab.addr(h1, "eth0", &format!("{homeless}/14")).unwrap();
    assert!(
        lab.ping(h2, &homeless),
        "and {homeless}, which found no room, through its subnet's route\n{}",
        daemon_log()
    );
}

/// A TCP echo server on `sys.argv[1]` port 1790, one connection at a time.
const ECHO_SERVER: &str = r#"
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 1790))
s.listen(64)
while True:
    c, _ = s.accept()
    with c:
        c.settimeout(10)
        c.sendall(c.recv(100))
"#;

/// Connects to `sys.argv[1]` port 1790 and exchanges 100 bytes, over and over for
/// `sys.argv[2]` seconds; prints how many exchanges completed and how many failed.
const ECHO_CLIENT: &str = r#"
import socket, sys, time
end, ok, failed = time.time() + float(sys.argv[2]), 0, 0
while time.time() < end:
    try:
        with socket.create_connection((sys.argv[1], 1790), timeout=10) as c:
            c.sendall(b"k" * 100)
            got = b""
            while len(got) < 100:
                b = c.recv(100 - len(got))
                if not b:
                    break
                got += b
            ok, failed = (ok + 1, failed) if got == b"k" * 100 else (ok, failed + 1)
    except OSError:
        failed += 1
print(ok, failed)
"#;

#[test]
fn an_arp_flood_does_not_crowd_out_tcp_to_the_boxs_sockets() {
    // The punt queue keeps a share for the box's own sockets: a flood of ARP requests from
    // new senders overflows the queue, and a TCP exchange with a socket on the box (as BGP
    // keepalives would be) loses no frame in it.
    let Some(mut f) = FloodLab::new("an_arp_flood_does_not_crowd_out_tcp_to_the_boxs_sockets")
    else {
        return;
    };
    let r = f.r.clone();
    f.lab
        .spawn(&r, &["python3", "-c", ECHO_SERVER, "10.0.2.1"], None, None)
        .unwrap();
    let listening = savin_lab::wait_until(Duration::from_secs(10), || {
        f.lab
            .exec(
                &r,
                &["ss", "-Hltn", "sport = :1790"],
                Duration::from_secs(5),
            )
            .is_ok_and(|o| !o.stdout.is_empty())
    });
    assert!(listening, "the echo server listens on the box");
    let drops = |s: &serde_json::Value, reason: &str| -> u64 {
        s["ip"]["drops"][reason]
            .as_u64()
            .unwrap_or_else(|| panic!("no {reason} in {s}"))
    };
    // Two senders at once, each from its own part of the /14, as fast as python sends. On a
    // busy machine the box may keep up with one round; up to three rounds, until the queue
    // has overflowed (which the test needs to see), each with its TCP exchanges checked.
    let mut s = serde_json::Value::Null;
    for _round in 0..3 {
        let h1 = f.h1.clone();
        let floods: Vec<u32> = ["10.64.1.0", "10.66.0.0"]
            .iter()
            .map(|first| {
                f.lab
                    .spawn(
                        &h1,
                        &[
                            "python3",
                            "-c",
                            ARP_FLOOD,
                            "eth0",
                            "10.64.0.1",
                            first,
                            "150000",
                            "unpaced",
                        ],
                        None,
                        None,
                    )
                    .unwrap()
            })
            .collect();
        let out = f
            .lab
            .exec(
                &f.h2,
                &["python3", "-c", ECHO_CLIENT, "10.0.2.1", "3"],
                Duration::from_secs(60),
            )
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout).to_string();
        for pid in floods {
            f.lab.wait(pid, Duration::from_secs(60));
        }
        s = f.stats();
        let (ok, failed) = report
            .split_once(' ')
            .map(|(a, b)| {
                (
                    a.trim().parse::<u64>().unwrap(),
                    b.trim().parse::<u64>().unwrap(),
                )
            })
            .unwrap_or_else(|| {
                panic!(
                    "client report: {report:?} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        assert_eq!(
            drops(&s, "host-queue-full"),
            0,
            "no frame for the box's sockets was dropped: {s}"
        );
        assert!(
            ok > 0 && failed == 0,
            "echo exchanges during the flood: {ok} ok, {failed} failed"
        );
        if drops(&s, "punt-queue-full") > 0 {
            break;
        }
    }
    assert!(
        drops(&s, "punt-queue-full") > 0,
        "the flood overflowed the punt queue: {s}"
    );
}
