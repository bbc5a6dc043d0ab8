//! NAT on real traffic: source NAT to a pool and to the interface (the server sees only the
//! translated address, parallel connections get distinct ports), ICMP errors translated back
//! (traceroute through the NAT), destination NAT to a server in the DMZ, static NAT both ways,
//! proxy-ARP for the NAT addresses. The untrust host has no route to the inside at all.

mod labnet;

use std::collections::HashSet;
use std::time::Duration;

use labnet::{have, Net};

/// Listens on `ports` and writes each peer as `PORT ADDR:PEERPORT` to stdout.
const RECORDER: &str = "\
import socket, select, sys, time
ls = []
for p in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', p)); s.listen(128); ls.append(s)
keep = []
end = time.time() + 60
while time.time() < end:
    r, _, _ = select.select(ls, [], [], 0.5)
    for s in r:
        c, a = s.accept(); keep.append(c)
        print(s.getsockname()[1], '%s:%d' % a, flush=True)
";

/// Opens `n` connections to HOST:PORT at once, holds them all, then closes them; prints ok.
const CLIENTS: &str = "\
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cs = [socket.create_connection((host, port), timeout=5) for _ in range(n)]
time.sleep(1)
print('ok')
";

fn peers(text: &str, port: u16) -> Vec<(String, u16)> {
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(p, _)| p.parse() == Ok(port))
        .filter_map(|(_, peer)| peer.rsplit_once(':'))
        .map(|(a, p)| (a.to_string(), p.parse().unwrap()))
        .collect()
}

#[test]
fn source_destination_and_static_nat_with_proxy_arp_and_translated_icmp_errors() {
    const T: &str = "source_destination_and_static_nat_with_proxy_arp_and_translated_icmp_errors";
    if !have(T, &["ping", "curl", "python3", "traceroute"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2, h3) = (net.h1.clone(), net.h2.clone(), net.h3.clone());
    // The outside host knows nothing of the inside: only its own subnet.
    let (ok, out) = net.run(&h2, &["ip", "route", "del", "default"], 5);
    assert!(ok, "{out}");
    let mut cmds = String::from("configure; ");
    for zone in [
        ("trust", "eth1.0"),
        ("untrust", "eth2.0"),
        ("dmz", "eth3.0"),
    ] {
        cmds += &format!(
            "set security zones security-zone {} interfaces {}; ",
            zone.0, zone.1
        );
    }
    for (from, to) in [("trust", "untrust"), ("untrust", "dmz"), ("dmz", "untrust")] {
        let p = format!("set security policies from-zone {from} to-zone {to} policy all");
        cmds += &format!(
            "{p} match source-address any; {p} match destination-address any; \
             {p} match application any; {p} then permit; \
             {p} then log session-init; {p} then log session-close; "
        );
    }
    // HTTPS to the DMZ is refused: matched after destination NAT (8443 -> 443).
    let p = "set security policies from-zone untrust to-zone dmz policy no-tls";
    cmds += &format!(
        "{p} match source-address any; {p} match destination-address any; \
         {p} match application junos-https; {p} then reject; \
         insert security policies from-zone untrust to-zone dmz policy no-tls before policy all; "
    );
    cmds += "set security zones security-zone trust host-inbound-traffic system-services ping; \
        set security nat source pool public address 10.0.2.100/32 to 10.0.2.102/32; \
        set security nat source pool public port range 20000 to 20999; \
        set security nat source rule-set out from zone trust; \
        set security nat source rule-set out to zone untrust; \
        set security nat source rule-set out rule web match destination-port 80; \
        set security nat source rule-set out rule web match protocol tcp; \
        set security nat source rule-set out rule web then source-nat pool public; \
        set security nat source rule-set out rule rest match source-address 0.0.0.0/0; \
        set security nat source rule-set out rule rest then source-nat interface; \
        set security nat destination pool dmz-web address 10.0.3.2/32 port 80; \
        set security nat destination rule-set in from zone untrust; \
        set security nat destination rule-set in rule web match destination-address 10.0.2.50/32; \
        set security nat destination rule-set in rule web match destination-port 8080; \
        set security nat destination rule-set in rule web then destination-nat pool dmz-web; \
        set security nat destination pool dmz-tls address 10.0.3.2/32 port 443; \
        set security nat destination rule-set in rule tls match destination-address 10.0.2.50/32; \
        set security nat destination rule-set in rule tls match destination-port 8443; \
        set security nat destination rule-set in rule tls then destination-nat pool dmz-tls; \
        set security nat static rule-set one from zone untrust; \
        set security nat static rule-set one rule h3 match destination-address 10.0.2.60/32; \
        set security nat static rule-set one rule h3 then static-nat prefix 10.0.3.2/32; \
        set security nat proxy-arp interface eth2.0 address 10.0.2.100/32 to 10.0.2.102/32; \
        set security nat proxy-arp interface eth2.0 address 10.0.2.50/32; \
        set security nat proxy-arp interface eth2.0 address 10.0.2.60/32; \
        commit";
    let (ok, out) = net.cli(&cmds);
    assert!(ok, "{out}\n{}", net.log());

    let rec_out = net.state.path().join("recorder.out");
    let recorder = net
        .lab
        .spawn(
            &h2,
            &["python3", "-c", RECORDER, "80", "9000"],
            Some(std::fs::File::create(&rec_out).unwrap()),
            None,
        )
        .unwrap();
    let web3 = net
        .lab
        .spawn(
            &h3,
            &["python3", "-m", "http.server", "80", "--bind", "10.0.3.2"],
            None,
            None,
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));

    // Source NAT to the pool: 20 connections at once to port 80.
    let (ok, out) = net.run(&h1, &["python3", "-c", CLIENTS, "10.0.2.2", "80", "20"], 20);
    assert!(
        ok && out.contains("ok"),
        "pool clients: {out}\n{}",
        net.log()
    );
    // ... and to the interface address: 20 to port 9000.
    let (ok, out) = net.run(
        &h1,
        &["python3", "-c", CLIENTS, "10.0.2.2", "9000", "20"],
        20,
    );
    assert!(ok && out.contains("ok"), "interface clients: {out}");
    let seen = std::fs::read_to_string(&rec_out).unwrap();
    let pool = peers(&seen, 80);
    assert_eq!(pool.len(), 20, "{seen}");
    for (a, p) in &pool {
        assert!(
            ["10.0.2.100", "10.0.2.101", "10.0.2.102"].contains(&a.as_str()),
            "the server sees a pool address, not {a}"
        );
        assert!(
            (20000..=20999).contains(p),
            "port {p} outside the pool range"
        );
    }
    let distinct: HashSet<_> = pool.iter().collect();
    assert_eq!(
        distinct.len(),
        20,
        "every connection its own port: {pool:?}"
    );
    let addrs: HashSet<_> = pool.iter().map(|(a, _)| a).collect();
    assert_eq!(addrs.len(), 1, "one host keeps one pool address: {pool:?}");
    let iface = peers(&seen, 9000);
    assert_eq!(iface.len(), 20, "{seen}");
    assert!(iface.iter().all(|(a, _)| a == "10.0.2.1"), "{iface:?}");
    let ports: HashSet<_> = iface.iter().map(|(_, p)| p).collect();
    assert_eq!(ports.len(), 20, "{iface:?}");

    // A held connection shows its translation in the session.
    let hold = "import socket,time\ns=socket.create_connection(('10.0.2.2',80),timeout=3)\ntime.sleep(15)\n";
    let holder = net
        .lab
        .spawn(&h1, &["python3", "-c", hold], None, None)
        .unwrap();
    let mut shown = String::new();
    assert!(
        savin_lab::wait_until(Duration::from_secs(5), || {
            shown = net.cli("show security flow session destination-port 80").1;
            // The held one (the 20 before it are closing).
            shown.contains("State: Established") && shown.contains("Out: 10.0.2.2/80 --> 10.0.2.10")
        }),
        "{shown}"
    );
    net.lab.signal(holder, nix::sys::signal::Signal::SIGKILL);

    // ICMP through interface NAT (the echo identifier is translated), and traceroute: h2's
    // port unreachable goes to the NAT address and must come back translated to h1.
    assert!(net.lab.ping(&h1, "10.0.2.2"), "ping through source NAT");
    // Fragmented datagrams through source NAT: 3000-byte echoes leave h1 in three fragments
    // (DF clear); the later ones carry no identifier, yet find the session of the first
    // and are translated with it, both ways.
    let (ok, out) = net.run(
        &h1,
        &[
            "ping", "-c", "3", "-i", "0.2", "-W", "2", "-s", "3000", "-M", "dont", "10.0.2.2",
        ],
        15,
    );
    assert!(
        ok && out.contains(" 0% packet loss"),
        "fragmented ping through source NAT: {out}"
    );
    // A later fragment whose first never came has no session to join: dropped, counted.
    let stray = "from scapy.all import IP, Raw, send\n\
        send(IP(dst='10.0.2.2', id=4242, frag=100, proto=17)/Raw(b'x' * 64), count=3, verbose=False)\n";
    let (ok, out) = net.run(&h1, &["python3", "-c", stray], 30);
    assert!(ok, "scapy: {out}");
    std::thread::sleep(Duration::from_millis(300)); // the worker publishes every 100 ms
    let (_, out) = net.cli("show system statistics | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let strays = v["statistics"]["ip"]["drops"]["fragment-no-session"]
        .as_u64()
        .unwrap_or(0);
    assert!(strays >= 3, "stray fragments counted: {out}");
    let hops = net.traceroute(&h1, "10.0.2.2");
    assert_eq!(hops, ["10.0.1.1", "10.0.2.2"], "traceroute through NAT");

    // Destination NAT: 10.0.2.50:8080 is h3's web server; proxy-ARP makes h2 find it.
    let (ok, page) = net.run(
        &h2,
        &["curl", "-s", "-m", "5", "http://10.0.2.50:8080/"],
        10,
    );
    assert!(
        ok && page.contains("Directory listing"),
        "destination NAT: {page}\n{}",
        net.log()
    );
    // A reject after destination NAT answers as the address the client sent to: refused
    // at once, not a silent timeout (an RST from 10.0.3.2:443 would match no socket of h2).
    let (ok, out) = net.run(
        &h2,
        &[
            "python3",
            "-c",
            "import socket\ntry:\n socket.create_connection(('10.0.2.50', 8443), timeout=3)\n print('connected')\nexcept ConnectionRefusedError:\n print('refused')\nexcept OSError as e:\n print('other', e)",
        ],
        10,
    );
    assert!(
        ok && out.trim() == "refused",
        "reject after destination NAT: {out}\n{}",
        net.log()
    );
    // Static NAT inbound: 10.0.2.60 is h3.
    let (ok, page) = net.run(&h2, &["curl", "-s", "-m", "5", "http://10.0.2.60/"], 10);
    assert!(
        ok && page.contains("Directory listing"),
        "static NAT in: {page}"
    );
    // Static NAT outbound: h3's connections leave as 10.0.2.60.
    let (ok, out) = net.run(
        &h3,
        &["python3", "-c", CLIENTS, "10.0.2.2", "9000", "1"],
        20,
    );
    assert!(ok && out.contains("ok"), "static NAT out: {out}");
    let seen = std::fs::read_to_string(&rec_out).unwrap();
    let from_h3: Vec<_> = peers(&seen, 9000).into_iter().skip(20).collect();
    assert_eq!(
        from_h3.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["10.0.2.60"],
        "{seen}"
    );

    // Proxy-ARP answered for the NAT addresses with Savin's eth2 MAC.
    let (_, mac) = net.run(&net.r, &["cat", "/sys/class/net/eth2/address"], 5);
    let (_, neigh) = net.run(&h2, &["ip", "neigh", "show", "dev", "eth0"], 5);
    let used = pool[0].0.clone();
    for a in [used.as_str(), "10.0.2.50", "10.0.2.60"] {
        let line = neigh
            .lines()
            .find(|l| l.starts_with(&format!("{a} ")))
            .unwrap_or_default();
        assert!(
            line.contains(mac.trim()),
            "{a} not answered by proxy-ARP: {neigh}"
        );
    }
    // The rules and pools count what they translated; policies count their first packets.
    std::thread::sleep(Duration::from_millis(300)); // the worker publishes every 100 ms
    let json = |cmd: &str| -> serde_json::Value {
        let (ok, out) = net.cli(&format!("{cmd} | display json"));
        assert!(ok, "{cmd}: {out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{cmd}: {e}\n{out}"))
    };
    let v = json("show security nat source rule all");
    let rules = &v["source-nat-rule-detail-information"]["rules"];
    assert_eq!(rules[0]["rule-name"], "web", "{v}");
    assert_eq!(rules[0]["rule-action"], "public", "{v}");
    assert!(
        rules[0]["rule-translation-hits"].as_u64() >= Some(21),
        "{v}"
    );
    assert_eq!(rules[1]["rule-action"], "interface", "{v}");
    assert!(
        rules[1]["rule-translation-hits"].as_u64() >= Some(21),
        "{v}"
    );
    let v = json("show security nat source pool all");
    let p = &v["source-nat-pool-detail-information"]["pools"][0];
    assert_eq!(p["pool-name"], "public", "{v}");
    assert_eq!(p["total-addresses"], 3, "{v}");
    assert!(p["translation-hits"].as_u64() >= Some(21), "{v}");
    let v = json("show security nat destination rule all");
    let r = &v["destination-nat-rule-detail-information"]["rules"][0];
    assert_eq!(r["rule-action"], "dmz-web", "{v}");
    assert_eq!(r["rule-translation-hits"], 1, "{v}");
    let v = json("show security nat static rule all");
    let r = &v["static-nat-rule-detail-information"]["rules"][0];
    assert_eq!(r["rule-translation-hits"], 2, "one in, one out: {v}");
    let (_, text) = net.cli("show security nat source rule all");
    for want in [
        "Total source-nat rules: 2",
        "source NAT rule: web",
        "Rule-set: out",
        "From zone                  : trust",
        "To zone                    : untrust",
        "Action                     : public",
    ] {
        assert!(text.contains(want), "no {want:?} in\n{text}");
    }
    let (_, text) = net.cli("show security nat source pool all");
    assert!(
        text.contains("Port               : [20000, 20999]"),
        "{text}"
    );
    assert!(text.contains("10.0.2.100 - 10.0.2.102"), "{text}");
    let v = json("show security policies hit-count");
    let entries = v["policy-hit-count"]["policy-hit-count-entry"]
        .as_array()
        .unwrap()
        .clone();
    let out_hits = entries
        .iter()
        .find(|e| e["policy-hit-count-from-zone"] == "trust")
        .and_then(|e| e["policy-hit-count-count"].as_u64());
    assert!(out_hits >= Some(42), "{v}");
    // Hit counts survive a commit that changes something else, and clear on request.
    let (ok, out) =
        net.cli("configure; set security zones security-zone dmz description servers; commit");
    assert!(ok, "{out}");
    let v = json("show security policies hit-count");
    let again = v["policy-hit-count"]["policy-hit-count-entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["policy-hit-count-from-zone"] == "trust")
        .and_then(|e| e["policy-hit-count-count"].as_u64());
    assert!(
        again >= out_hits,
        "{again:?} after commit, {out_hits:?} before"
    );
    net.cli("clear security policies hit-count");
    let (_, text) = net.cli("show security policies hit-count");
    assert!(
        text.lines()
            .any(|l| l.contains("trust") && l.trim_end().ends_with(" 0")),
        "{text}"
    );
    // Session logs, RT_FLOW style: creation with the NAT rule, close when cleared.
    let (_, out) = net.cli("clear security flow session destination-port 80");
    assert!(out.contains("sessions cleared"), "{out}");
    let mut log = String::new();
    assert!(
        savin_lab::wait_until(Duration::from_secs(5), || {
            log = net.log();
            log.contains("RT_FLOW_SESSION_CLOSE: session closed CLI: 10.0.1.2/")
        }),
        "no close log:\n{log}"
    );
    let create = log
        .lines()
        .find(|l| l.contains("RT_FLOW_SESSION_CREATE") && l.contains("->10.0.2.2/80 0x0"))
        .unwrap_or_else(|| panic!("no create log:\n{log}"));
    for want in [
        "session created 10.0.1.2/",
        " 0x0 any 10.0.2.10",
        "->10.0.2.2/80 0x0 source rule web N/A N/A 6 all trust untrust ",
        "N/A(N/A) eth1.0",
    ] {
        assert!(create.contains(want), "{want:?} not in {create}");
    }
    let dnat = log
        .lines()
        .find(|l| l.contains("RT_FLOW_SESSION_CREATE") && l.contains("->10.0.2.50/8080 "))
        .unwrap_or_else(|| panic!("no destination NAT log:\n{log}"));
    assert!(
        dnat.contains("->10.0.3.2/80 0x0 N/A N/A destination rule web 6 all untrust dmz"),
        "{dnat}"
    );
    for pid in [recorder, web3] {
        net.lab.signal(pid, nix::sys::signal::Signal::SIGKILL);
    }
}
