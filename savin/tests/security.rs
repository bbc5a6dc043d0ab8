//! Security zones and policies on real traffic: hosts in trust and untrust namespaces, curl
//! and plain TCP through Savin, ping to the gateway.

mod labnet;

use std::time::Duration;

use labnet::{have, Net};

/// A TCP connection attempt from `ns` with python: "ok", "refused" (a RST came back) or
/// "timeout" (nothing came back).
fn connect(net: &Net, ns: &savin_lab::Ns, host: &str, port: u16) -> String {
    let code = format!(
        "import socket\ns=socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(('{host}',{port}))\n    print('ok')\nexcept ConnectionRefusedError:\n    print('refused')\nexcept OSError:\n    print('timeout')\n"
    );
    let (_, out) = net.run(ns, &["python3", "-c", &code], 10);
    out.trim().to_string()
}

#[test]
fn zone_policies_permit_http_reject_ssh_deny_the_rest_and_guard_the_box() {
    const T: &str = "zone_policies_permit_http_reject_ssh_deny_the_rest_and_guard_the_box";
    if !have(T, &["curl", "python3"]) {
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
    let (ok, out) = net.cli(
        "configure; \
         set security zones security-zone trust interfaces eth1.0; \
         set security zones security-zone untrust interfaces eth2.0; \
         set security policies from-zone trust to-zone untrust policy all match source-address any; \
         set security policies from-zone trust to-zone untrust policy all match destination-address any; \
         set security policies from-zone trust to-zone untrust policy all match application any; \
         set security policies from-zone trust to-zone untrust policy all then permit; \
         commit",
    );
    assert!(ok, "{out}\n{}", net.log());
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
