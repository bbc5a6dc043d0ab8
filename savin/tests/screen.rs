//! Screens on real traffic from the untrust zone: an hping3 SYN flood is throttled while
//! another host still connects; land, SYN-FIN, no-flag, tear-drop, ping-of-death and
//! spoofed-source packets crafted with scapy never arrive and are counted; an ICMP flood is
//! cut at its threshold; session limits hold and release.

mod labnet;

use std::time::Duration;

use labnet::{have, Net};

/// A TCP connection attempt from `ns` with python: "ok" or "timeout".
fn connect(net: &Net, ns: &savin_lab::Ns, host: &str, port: u16) -> String {
    let code = format!(
        "import socket\ns=socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(('{host}',{port}))\n    print('ok')\nexcept OSError:\n    print('timeout')\n"
    );
    let (_, out) = net.run(ns, &["python3", "-c", &code], 10);
    out.trim().to_string()
}

fn stats(net: &Net, zone: &str) -> serde_json::Value {
    std::thread::sleep(Duration::from_millis(300)); // the worker publishes every 100 ms
    let (ok, out) = net.cli(&format!(
        "show security screen statistics zone {zone} | display json"
    ));
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["ids-statistics-information"].clone()
}

#[test]
fn screens_drop_floods_and_crafted_attacks_from_untrust() {
    const T: &str = "screens_drop_floods_and_crafted_attacks_from_untrust";
    if !have(T, &["ping", "python3", "hping3", "tshark"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2, h3) = (net.h1.clone(), net.h2.clone(), net.h3.clone());
    let mut cmds = String::from(
        "configure; \
         set security zones security-zone trust interfaces eth1.0; \
         set security zones security-zone untrust interfaces eth2.0; \
         set security zones security-zone untrust interfaces eth3.0; \
         set security zones security-zone untrust screen edge; ",
    );
    for (from, to) in [("trust", "untrust"), ("untrust", "trust")] {
        let p = format!("set security policies from-zone {from} to-zone {to} policy all");
        cmds += &format!(
            "{p} match source-address any; {p} match destination-address any; \
             {p} match application any; {p} then permit; "
        );
    }
    let s = "set security screen ids-option edge";
    cmds += &format!(
        "{s} icmp ping-death; {s} icmp flood threshold 50; {s} ip spoofing; {s} ip tear-drop; \
         {s} tcp syn-fin; {s} tcp tcp-no-flag; {s} tcp land; \
         {s} tcp syn-flood attack-threshold 100000; {s} tcp syn-flood source-threshold 20; \
         {s} tcp syn-flood destination-threshold 100000; {s} ip source-route-option; \
         {s} ip timestamp-option; {s} ip unknown-protocol; {s} tcp winnuke; {s} icmp large; \
         commit"
    );
    let (ok, out) = net.cli(&cmds);
    assert!(ok, "{out}\n{}", net.log());
    // Accepts and closes at once: sessions end when the client closes too.
    let listen = "import socket,time\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind(('0.0.0.0',80)); s.listen(1024)\nend=time.time()+90\nwhile time.time()<end:\n    s.settimeout(1)\n    try:\n        s.accept()[0].close()\n    except OSError:\n        pass\n";
    let server = net
        .lab
        .spawn(&h1, &["python3", "-c", listen], None, None)
        .unwrap();
    assert!(
        savin_lab::wait_until(Duration::from_secs(10), || connect(
            &net, &h3, "10.0.1.2", 80
        ) == "ok"),
        "server did not start"
    );

    // SYN flood from h2 (about 5000 a second for 1.5 s) while h3 connects.
    let flood = net
        .lab
        .spawn(
            &h2,
            &[
                "hping3", "-S", "-p", "80", "-i", "u200", "-c", "7500", "-q", "10.0.1.2",
            ],
            None,
            None,
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..3 {
        assert_eq!(
            connect(&net, &h3, "10.0.1.2", 80),
            "ok",
            "a legitimate connection during the flood"
        );
    }
    net.lab.wait(flood, Duration::from_secs(20));
    let st = stats(&net, "untrust");
    let syn = st["tcp-syn-flood"].as_u64().unwrap_or(0);
    assert!(syn >= 5000, "SYN flood drops: {st}");

    // Crafted attacks from h2, each tagged with an IP ID h1's capture looks for; a clean
    // packet with a tag of its own shows the capture works.
    let (pid, file) = net.capture(&h1, "ip.id >= 4000 && ip.id < 4100", &["ip.id"]);
    let craft = "\
from scapy.all import IP, TCP, ICMP, UDP, Raw, IPOption, IPOption_LSRR, send
d = '10.0.1.2'
pk = [
    IP(src=d, dst=d, id=4001)/TCP(sport=80, dport=80, flags='S'),          # land
    IP(dst=d, id=4002)/TCP(sport=1234, dport=80, flags='SF'),              # syn-fin
    IP(dst=d, id=4003)/TCP(sport=1234, dport=80, flags=''),                # no flag
    IP(dst=d, id=4004, flags='MF', frag=0, proto=17)/Raw(b'a' * 48),       # tear-drop, 1st
    IP(dst=d, id=4004, frag=3, proto=17)/Raw(b'b' * 40),                   # overlapping
    IP(dst=d, id=4005, frag=8189, proto=1)/Raw(b'c' * 100),                # ping of death
    IP(src='10.0.1.50', dst=d, id=4006)/ICMP(),                            # spoofed (trust)
    IP(src='10.0.3.2', dst=d, id=4007)/ICMP(),                             # spoofed (eth3)
    IP(dst=d, id=4010, options=[IPOption_LSRR(routers=[d])])/ICMP(),      # source route
    IP(dst=d, id=4011, options=[IPOption(b'D\\x08\\x05\\x00\\x00\\x00\\x00\\x00')])/ICMP(),  # timestamp
    IP(dst=d, id=4012, proto=200)/Raw(b'x' * 8),                          # unknown protocol
    IP(dst=d, id=4013)/TCP(sport=1234, dport=139, flags='PAU'),           # winnuke
    IP(dst=d, id=4014)/ICMP()/Raw(b'x' * 1100),                           # large ICMP
    IP(dst=d, id=4099)/ICMP(),                                             # clean
]
send(pk, verbose=False)
";
    let (ok, out) = net.run(&h2, &["python3", "-c", craft], 30);
    assert!(ok, "scapy: {out}");
    let seen = net.captured(pid, &file);
    // The tear-drop's first fragment is fine on its own: only the overlap is dropped.
    let ids: Vec<u32> = seen
        .iter()
        .filter_map(|i| u32::from_str_radix(i.trim_start_matches("0x"), 16).ok())
        .filter(|i| *i != 4004)
        .collect();
    assert_eq!(ids, [4099], "only the clean packet arrives: {seen:?}");
    let st = stats(&net, "untrust");
    for key in [
        "tcp-land-attack",
        "tcp-syn-fin",
        "tcp-no-flag",
        "ip-tear-drop",
        "icmp-ping-of-death",
        "ip-source-route-option",
        "ip-timestamp-option",
        "ip-unknown-protocol",
        "tcp-winnuke",
        "icmp-large",
    ] {
        assert_eq!(st[key], 1, "{key}: {st}");
    }

    // alarm-without-drop: the same attack is counted and passes.
    let (ok, out) = net.cli(&format!("configure; {s} alarm-without-drop; commit"));
    assert!(ok, "{out}");
    let (pid, file) = net.capture(&h1, "ip.id == 4020 && !icmp", &["ip.id"]);
    let alarm = "from scapy.all import IP, Raw, send\nsend(IP(dst='10.0.1.2', id=4020, proto=200)/Raw(b'x' * 8), verbose=False)\n";
    let (ok, out) = net.run(&h2, &["python3", "-c", alarm], 30);
    assert!(ok, "scapy: {out}");
    assert_eq!(net.captured(pid, &file).len(), 1, "alarmed and passed");
    assert_eq!(stats(&net, "untrust")["ip-unknown-protocol"], 2);
    let (ok, out) =
        net.cli("configure; delete security screen ids-option edge alarm-without-drop; commit");
    assert!(ok, "{out}");
    assert_eq!(st["ip-spoofing"], 2, "{st}");

    // ICMP flood: 300 pings at 500 a second, the screen lets 50 a second through.
    let (_, out) = net.run(
        &h2,
        &[
            "ping", "-q", "-i", "0.002", "-c", "300", "-W", "1", "10.0.1.2",
        ],
        20,
    );
    let st = stats(&net, "untrust");
    assert!(st["icmp-flood"].as_u64() >= Some(100), "{st}\n{out}");

    let (_, text) = net.cli("show security screen statistics zone untrust");
    assert!(text.contains("TCP SYN flood"), "{text}");
    assert!(
        text.contains("IP spoofing                                  2"),
        "{text}"
    );
    let (_, trust) = net.cli("show security screen statistics zone trust | display json");
    assert!(
        trust.contains("\"tcp-syn-flood\": 0"),
        "no screen on trust: {trust}"
    );

    // Session limits: three concurrent sessions from one source, then no more; they free
    // up when the sessions end.
    let (ok, out) = net.cli(&format!(
        "configure; {s} limit-session source-ip-based 3; commit"
    ));
    assert!(ok, "{out}");
    let hold = "import socket,sys,time\nok=0\ncs=[]\nfor i in range(5):\n    s=socket.socket(); s.settimeout(2)\n    try:\n        s.connect(('10.0.1.2',80)); cs.append(s); ok+=1\n    except OSError:\n        pass\nprint(ok, flush=True)\nfor s in cs: s.close()\n";
    let (_, out) = net.run(&h3, &["python3", "-c", hold], 30);
    assert_eq!(out.trim(), "3", "three sessions allowed: {out}");
    let st = stats(&net, "untrust");
    assert!(st["session-source-limit"].as_u64() >= Some(2), "{st}");
    // Closed sessions linger 2 s (the SRX default after both FINs), then count no more.
    assert!(
        savin_lab::wait_until(Duration::from_secs(15), || connect(
            &net, &h3, "10.0.1.2", 80
        ) == "ok"),
        "the limit releases once the sessions are gone"
    );

    // tcp-rst: a segment that is no SYN and has no session is answered with a RST whose
    // sequence number is the segment's acknowledgment (RFC 9293), only when the zone says so.
    let probe = "from scapy.all import IP, TCP, sr1\n\
r = sr1(IP(dst='10.0.1.2')/TCP(sport=4321, dport=80, flags='A', seq=1000, ack=5000), timeout=2, verbose=False)\n\
print('none' if r is None else '%s %d' % (r[TCP].flags, r[TCP].seq))\n";
    let (ok, out) = net.run(&h2, &["python3", "-c", probe], 30);
    assert!(ok, "scapy: {out}");
    assert_eq!(out.trim(), "none", "no tcp-rst: dropped silently");
    let (ok, out) = net.cli("configure; set security zones security-zone untrust tcp-rst; commit");
    assert!(ok, "{out}");
    let (ok, out) = net.run(&h2, &["python3", "-c", probe], 30);
    assert!(ok, "scapy: {out}");
    assert_eq!(out.trim(), "R 5000", "tcp-rst answers with a RST");
    net.lab.signal(server, nix::sys::signal::Signal::SIGKILL);
}
