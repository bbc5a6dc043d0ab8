//! Security zones and policies on real traffic: hosts in trust and untrust namespaces, curl
//! and plain TCP through Savin, ping to the gateway.

mod labnet;

use std::time::Duration;

use labnet::{have, Net, PERMIT_TRUST_TO_UNTRUST};

/// A TCP connection attempt from `ns` with python: "ok", "refused" (a RST came back) or
/// "timeout" (nothing came back).
fn connect(net: &Net, ns: &savin_lab::Ns, host: &str, port: u16) -> String {
    let code = format!(
        "import socket\ns=socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(('{host}',{port}))\n    print('ok')\nexcept ConnectionRefusedError:\n    print('refused')\nexcept OSError:\n    print('timeout')\n"
    );
    let (_, out) = net.run(ns, &["python3", "-c", &code], 10);
    out.trim().to_string()
}

/// Commits zones trust (eth1) and untrust (eth2) and one policy permitting everything from
/// trust to untrust.
fn permit_all(net: &mut Net) {
    let (ok, out) = net.cli(&format!("configure; {PERMIT_TRUST_TO_UNTRUST}; commit"));
    assert!(ok, "{out}\n{}", net.log());
}

#[test]
fn zone_policies_permit_http_reject_ssh_deny_the_rest_and_guard_the_box() {
    const T: &str = "zone_policies_permit_http_reject_ssh_deny_the_rest_and_guard_the_box";
    if !have(T, &["ping", "curl", "python3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    let (ok, out) = net.cli(
        "configure; \
         set security zones security-zone trust interfaces eth1.0 host-inbound-traffic system-services ping; \
         set security zones security-zone untrust interfaces eth2.0; \
         set security zones security-zone dmz interfaces eth3.0; \
         set security address-book global address web 10.0.2.2/32; \
         set security policies from-zone trust to-zone untrust policy allow-web match source-address any; \
         set security policies from-zone trust to-zone untrust policy allow-web match destination-address web; \
         set security policies from-zone trust to-zone untrust policy allow-web match application junos-http; \
         set security policies from-zone trust to-zone untrust policy allow-web then permit; \
         set security policies from-zone trust to-zone untrust policy no-ssh match source-address any; \
         set security policies from-zone trust to-zone untrust policy no-ssh match destination-address any; \
         set security policies from-zone trust to-zone untrust policy no-ssh match application junos-ssh; \
         set security policies from-zone trust to-zone untrust policy no-ssh then reject; \
         commit",
    );
    assert!(ok, "{out}\n{}", net.log());
    // Servers on h2 (untrust): HTTP on 80, and listeners on 22 and 8080.
    let http = net
        .lab
        .spawn(
            &h2,
            &["python3", "-m", "http.server", "80", "--bind", "10.0.2.2"],
            None,
            None,
        )
        .unwrap();
    let listen = "import socket,time\nss=[]\nfor p in (22,8080,9090):\n    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0',p)); s.listen(16); ss.append(s)\ntime.sleep(60)\n";
    let tcp = net
        .lab
        .spawn(&h2, &["python3", "-c", listen], None, None)
        .unwrap();
    let h1_listen = net
        .lab
        .spawn(&h1, &["python3", "-c", listen], None, None)
        .unwrap();
    assert!(
        savin_lab::wait_until(Duration::from_secs(10), || connect(
            &net, &h2, "10.0.2.2", 80
        ) == "ok"
            && connect(&net, &h2, "10.0.2.2", 22) == "ok"),
        "servers did not start"
    );
    // Permitted: curl from trust gets the page (and its replies need no policy of their own).
    let (ok, page) = net.run(&h1, &["curl", "-s", "-m", "5", "http://10.0.2.2/"], 10);
    assert!(
        ok && page.contains("Directory listing"),
        "curl: {page}\n{}",
        net.log()
    );
    // A connection held open shows as a session, both directions, with its policy.
    let hold = "import socket,time\ns=socket.create_connection(('10.0.2.2',80),timeout=3)\ntime.sleep(20)\n";
    let holder = net
        .lab
        .spawn(&h1, &["python3", "-c", hold], None, None)
        .unwrap();
    let mut shown = String::new();
    assert!(
        savin_lab::wait_until(Duration::from_secs(5), || {
            shown = net.cli("show security flow session destination-port 80").1;
            shown.contains("Total sessions: 1")
        }),
        "{shown}"
    );
    assert!(shown.contains("Policy name: allow-web/1"), "{shown}");
    assert!(shown.contains("In: 10.0.1.2/"), "{shown}");
    assert!(shown.contains("--> 10.0.2.2/80;tcp, If: eth1.0"), "{shown}");
    assert!(shown.contains("Out: 10.0.2.2/80 --> 10.0.1.2/"), "{shown}");
    assert!(shown.contains(";tcp, If: eth2.0"), "{shown}");
    let (_, out) = net.cli("show security flow session summary | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["flow-session-summary-information"]["active-sessions"].as_u64() >= Some(1),
        "{out}"
    );
    let (_, out) = net.cli("clear security flow session destination-port 80");
    assert!(out.contains("1 sessions cleared"), "{out}");
    let (_, out) = net.cli("show security flow session destination-port 80");
    assert!(out.contains("Total sessions: 0"), "{out}");
    net.lab.signal(holder, nix::sys::signal::Signal::SIGKILL);
    net.lab.wait(holder, Duration::from_secs(5));
    let (_, out) = net.cli("show security policies");
    for want in [
        "Default policy: deny-all",
        "From zone: trust, To zone: untrust",
        "Policy: allow-web, State: enabled, Index: 1, Scope Policy: 0, Sequence number: 1",
        "Applications: junos-http",
        "Policy: no-ssh",
        "Action: reject",
    ] {
        assert!(
            out.contains(want),
            "show security policies: no {want:?}\n{out}"
        );
    }
    let (_, out) = net.cli("show security zones");
    assert!(
        out.contains("Security zone: untrust") && out.contains("    eth2.0"),
        "{out}"
    );
    // Rejected: SSH gets a RST at once.
    assert_eq!(connect(&net, &h1, "10.0.2.2", 22), "refused");
    // Denied by default: 8080 and other destinations see nothing at all.
    assert_eq!(connect(&net, &h1, "10.0.2.2", 8080), "timeout");
    // Nothing from untrust to trust.
    assert_eq!(connect(&net, &h2, "10.0.1.2", 9090), "timeout");
    // Host-inbound: trust may ping the box, untrust may not.
    assert!(net.lab.ping(&h1, "10.0.1.1"), "trust pings its gateway");
    assert!(
        !net.lab.ping(&h2, "10.0.2.1"),
        "untrust may not ping the box"
    );
    // Ping through the box is a flow like any other: no policy permits it.
    assert!(!net.lab.ping(&h1, "10.0.2.2"));
    std::thread::sleep(Duration::from_millis(300)); // the worker publishes every 100 ms
    let (_, out) = net.cli("show system statistics | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let drops = &v["statistics"]["ip"]["drops"];
    for (what, at_least) in [
        ("policy-denied", 2),
        ("policy-rejected", 1),
        ("host-inbound-denied", 1),
    ] {
        assert!(
            drops[what].as_u64().unwrap_or(0) >= at_least,
            "{what}: {drops}"
        );
    }
    // Sessions survive a policy change, new flows see the new policy: permit 8080 by a
    // global policy and it connects.
    let (ok, out) = net.cli(
        "configure; \
         set applications application alt protocol tcp; \
         set applications application alt destination-port 8080; \
         set security policies global policy alt match source-address any; \
         set security policies global policy alt match destination-address any; \
         set security policies global policy alt match application alt; \
         set security policies global policy alt then permit; commit",
    );
    assert!(ok, "{out}");
    assert_eq!(connect(&net, &h1, "10.0.2.2", 8080), "ok");
    // IPv6 through the box: dropped by default (SRX inet6 mode drop); routed without
    // security in packet-based mode; flow-based is refused at commit, with the reason.
    assert!(
        !net.lab.ping(&h1, "2001:db8:2::2"),
        "IPv6 crossed in drop mode"
    );
    let (ok, out) =
        net.cli("configure; set security forwarding-options family inet6 mode flow-based; commit");
    assert!(
        !ok && out.contains("flow-based processing of IPv6 is not supported"),
        "{out}"
    );
    let (ok, out) = net
        .cli("configure; set security forwarding-options family inet6 mode packet-based; commit");
    assert!(ok, "{out}");
    assert!(
        net.lab.ping(&h1, "2001:db8:2::2"),
        "IPv6 routed in packet-based mode"
    );
    assert_eq!(
        connect(&net, &h1, "10.0.2.2", 9090),
        "timeout",
        "IPv4 still filtered"
    );
    // Without zones, nothing is filtered.
    let (ok, out) = net.cli("configure; delete security; delete applications; commit");
    assert!(ok, "{out}");
    assert_eq!(connect(&net, &h2, "10.0.1.2", 9090), "ok");
    for pid in [http, tcp, h1_listen] {
        net.lab.signal(pid, nix::sys::signal::Signal::SIGKILL);
        net.lab.wait(pid, Duration::from_secs(5));
    }
}

/// Sends three bare TCP ACKs (no session, no SYN) from h1 to h2's port 80 with scapy, from
/// source port 31337, and returns how many h2 saw.
fn stray_acks_seen(net: &mut Net) -> usize {
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    let (pid, file) = net.capture(&h2, "tcp.srcport == 31337", &["tcp.flags"]);
    let send = "from scapy.all import IP, TCP, send\n\
                send(IP(dst='10.0.2.2')/TCP(sport=31337, dport=80, flags='A', seq=1000, ack=2000), count=3, verbose=False)\n";
    let (ok, out) = net.run(&h1, &["python3", "-c", send], 20);
    assert!(ok, "scapy: {out}");
    net.captured(pid, &file).len()
}

#[test]
fn a_tcp_segment_without_a_syn_starts_no_session_unless_the_check_is_off() {
    const T: &str = "a_tcp_segment_without_a_syn_starts_no_session_unless_the_check_is_off";
    if !have(T, &["python3", "tshark"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    permit_all(&mut net);
    assert_eq!(stray_acks_seen(&mut net), 0, "the ACKs must not cross");
    std::thread::sleep(Duration::from_millis(300));
    let (_, out) = net.cli("show system statistics | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["statistics"]["ip"]["drops"]["tcp-not-syn"].as_u64() >= Some(3),
        "{out}"
    );
    let (ok, out) = net.cli("configure; set security flow tcp-session no-syn-check; commit");
    assert!(ok, "{out}");
    assert!(
        stray_acks_seen(&mut net) >= 1,
        "with no-syn-check they cross"
    );
}

/// The open, closed and filtered ports `nmap -sS` reports from `ns` for `host`.
fn nmap(net: &Net, ns: &savin_lab::Ns, host: &str, ports: &str) -> Vec<(u16, String)> {
    let (ok, out) = net.run(
        ns,
        &[
            "nmap",
            "-sS",
            "-Pn",
            "-n",
            "-T4",
            "--max-retries",
            "1",
            "--host-timeout",
            "60s",
            "-p",
            ports,
            "-oG",
            "-",
            host,
        ],
        90,
    );
    assert!(ok, "nmap: {out}");
    let line = out
        .lines()
        .find(|l| l.contains("Ports:"))
        .unwrap_or_else(|| panic!("no ports in nmap output: {out}"));
    line.split("Ports:")
        .nth(1)
        .unwrap()
        .split("\t")
        .next()
        .unwrap()
        .split(',')
        .filter_map(|p| {
            let mut f = p.trim().split('/');
            Some((f.next()?.parse().ok()?, f.next()?.to_string()))
        })
        .collect()
}

#[test]
fn nmap_from_untrust_sees_exactly_the_ports_a_policy_opens() {
    const T: &str = "nmap_from_untrust_sees_exactly_the_ports_a_policy_opens";
    if !have(T, &["nmap", "python3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    let p = "set security policies from-zone untrust to-zone trust policy";
    let (ok, out) = net.cli(&format!(
        "configure; \
         set security zones security-zone trust interfaces eth1.0; \
         set security zones security-zone untrust interfaces eth2.0; \
         set applications application-set web-ssh application junos-http; \
         set applications application-set web-ssh application junos-ssh; \
         {p} open match source-address any; {p} open match destination-address any; \
         {p} open match application web-ssh; {p} open then permit; commit"
    ));
    assert!(ok, "{out}\n{}", net.log());
    // h1 listens on every port scanned: what nmap sees is the policy's doing.
    let listen = "import socket,time\nss=[]\nfor p in (21,22,23,25,80,443,3306,8080):\n    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0',p)); s.listen(64); ss.append(s)\ntime.sleep(120)\n";
    let server = net
        .lab
        .spawn(&h1, &["python3", "-c", listen], None, None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let ports = "21,22,23,25,80,443,3306,8080";
    let seen = nmap(&net, &h2, "10.0.1.2", ports);
    assert_eq!(seen.len(), 8, "{seen:?}");
    for (port, state) in &seen {
        let want = if matches!(port, 22 | 80) {
            "open"
        } else {
            "filtered"
        };
        assert_eq!(state, want, "port {port}: {seen:?}");
    }
    // A reject policy answers with a RST: nmap sees the port closed, not filtered.
    let (ok, out) = net.cli(&format!(
        "configure; {p} no-db match source-address any; {p} no-db match destination-address any; \
         {p} no-db match application mysql; {p} no-db then reject; \
         set applications application mysql protocol tcp; \
         set applications application mysql destination-port 3306; commit"
    ));
    assert!(ok, "{out}");
    let seen = nmap(&net, &h2, "10.0.1.2", "3306,8080");
    assert_eq!(
        seen,
        [(3306, "closed".to_string()), (8080, "filtered".to_string())]
    );
    net.lab.signal(server, nix::sys::signal::Signal::SIGKILL);
}

#[test]
fn a_tcp_segment_outside_the_window_is_dropped_unless_the_check_is_off() {
    const T: &str = "a_tcp_segment_outside_the_window_is_dropped_unless_the_check_is_off";
    if !have(T, &["python3", "tshark"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    permit_all(&mut net);
    let listen = "import socket,time\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0',9090)); s.listen(4)\nc=s.accept()\ntime.sleep(60)\n";
    let server = net
        .lab
        .spawn(&h2, &["python3", "-c", listen], None, None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // The handshake's sequence numbers, from h1's side.
    let (pid, file) = net.capture(
        &h1,
        "tcp.port == 9090 && tcp.flags.syn == 1",
        &["tcp.srcport", "tcp.seq_raw"],
    );
    let hold = "import socket,time\ns=socket.create_connection(('10.0.2.2',9090),timeout=3)\ntime.sleep(60)\n";
    let client = net
        .lab
        .spawn(&h1, &["python3", "-c", hold], None, None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let lines = net.captured(pid, &file);
    let field = |l: &String| -> (u16, u32) {
        let mut f = l.split_whitespace();
        (
            f.next().unwrap().parse().unwrap(),
            f.next().unwrap().parse().unwrap(),
        )
    };
    let (sport, isn) = lines
        .iter()
        .map(field)
        .find(|(p, _)| *p != 9090)
        .unwrap_or_else(|| panic!("no SYN: {lines:?}"));
    let (_, server_isn) = lines
        .iter()
        .map(field)
        .find(|(p, _)| *p == 9090)
        .unwrap_or_else(|| panic!("no SYN-ACK: {lines:?}"));
    // Two ACKs on that connection: one where the window is, one half the sequence space
    // away; each tagged with an IP ID h2's capture looks for.
    let send = |net: &mut Net, tag: u16, seq: u32| -> Vec<String> {
        let (pid, file) = net.capture(&h2, &format!("ip.id == {tag}"), &["ip.id"]);
        let code = format!(
            "from scapy.all import IP, TCP, send\n\
             send(IP(dst='10.0.2.2', id={tag})/TCP(sport={sport}, dport=9090, flags='A', seq={seq}, ack={ack}, window=502), verbose=False)\n",
            ack = server_isn.wrapping_add(1)
        );
        let (ok, out) = net.run(&h1, &["python3", "-c", &code], 20);
        assert!(ok, "scapy: {out}");
        net.captured(pid, &file)
    };
    let in_window = isn.wrapping_add(1);
    let far = isn.wrapping_add(1).wrapping_add(1 << 31);
    assert_eq!(
        send(&mut net, 5001, in_window).len(),
        1,
        "in the window it crosses"
    );
    assert!(
        send(&mut net, 5002, far).is_empty(),
        "out of the window it must not"
    );
    std::thread::sleep(Duration::from_millis(300));
    let (_, out) = net.cli("show system statistics | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["statistics"]["ip"]["drops"]["tcp-out-of-window"].as_u64() >= Some(1),
        "{out}"
    );
    let (ok, out) = net.cli("configure; set security flow tcp-session no-sequence-check; commit");
    assert!(ok, "{out}");
    assert_eq!(
        send(&mut net, 5003, far).len(),
        1,
        "with no-sequence-check it crosses"
    );
    for pid in [server, client] {
        net.lab.signal(pid, nix::sys::signal::Signal::SIGKILL);
    }
}

#[test]
fn a_client_reusing_the_port_of_a_reset_connection_connects_at_once() {
    const T: &str = "a_client_reusing_the_port_of_a_reset_connection_connects_at_once";
    if !have(T, &["python3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    permit_all(&mut net);
    let listen = "import socket\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0',9091)); s.listen(64)\nwhile True:\n    c,_=s.accept(); c.settimeout(10)\n    try:\n        if c.recv(16) == b'ping': c.sendall(b'pong')\n    except OSError:\n        pass\n    c.close()\n";
    let server = net
        .lab
        .spawn(&h2, &["python3", "-c", listen], None, None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // Five connections from one source port, each reset by the client (SO_LINGER 0: no
    // TIME_WAIT, so the port is free at once) before the next; then one more that lives
    // longer than a closed session lingers (2 s) and still carries data: it has a session of
    // its own, not the closed one's.
    let code = "import socket,struct,time\n\
        def conn():\n    \
            s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n    \
            s.bind(('0.0.0.0', 45123)); s.settimeout(1.5)\n    \
            s.connect(('10.0.2.2', 9091)); return s\n\
        for i in range(5):\n    \
            try:\n        s=conn(); print('ok')\n    \
            except OSError as e:\n        print('failed', e); continue\n    \
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); s.close()\n\
        try:\n    \
            s=conn(); time.sleep(3); s.settimeout(3); s.sendall(b'ping'); print(s.recv(16).decode())\n\
        except OSError as e:\n    print('failed', e)\n";
    let (ran, out) = net.run(&h1, &["python3", "-c", code], 30);
    net.lab.signal(server, nix::sys::signal::Signal::SIGTERM);
    assert!(ran, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec!["ok", "ok", "ok", "ok", "ok", "pong"],
        "{out}\n{}",
        net.log()
    );
}
