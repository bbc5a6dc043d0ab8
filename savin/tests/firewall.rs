//! Firewall filters and policers on real traffic: a `lo0` filter that lets SSH and ICMP in from
//! one prefix guards the box against nmap and hping3 from two hosts; a transit filter's counter
//! matches the packets hping3 sent; a policer holds an iperf3 UDP flow to its rate.

mod labnet;

use std::time::Duration;

use labnet::{have, Net};

/// "open", "filtered" or "closed" for each port, as nmap sees it from `ns`.
fn nmap(net: &Net, ns: &savin_lab::Ns, host: &str, ports: &str) -> String {
    let (_, out) = net.run(
        ns,
        &[
            "nmap",
            "-n",
            "-Pn",
            "-sS",
            "--max-retries",
            "1",
            "--host-timeout",
            "20s",
            "-p",
            ports,
            host,
        ],
        30,
    );
    out
}

/// How many replies hping3 got from `args` (its statistics line).
fn hping(net: &Net, ns: &savin_lab::Ns, args: &[&str]) -> u32 {
    let mut all = vec!["hping3"];
    all.extend_from_slice(args);
    let (_, out) = net.run(ns, &all, 30);
    out.lines()
        .find_map(|l| {
            let (_, rest) = l.split_once("packets transmitted, ")?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no hping3 statistics in {out}"))
}

/// A counter's packets in `show firewall`.
fn counter(net: &Net, name: &str) -> u64 {
    labnet::firewall_counter(&net.sock, name)
}

#[test]
fn a_lo0_filter_lets_ssh_and_ping_in_from_one_prefix_and_drops_the_rest() {
    const T: &str = "a_lo0_filter_lets_ssh_and_ping_in_from_one_prefix_and_drops_the_rest";
    if !have(T, &["nmap", "hping3", "python3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (r, h1, h2) = (net.r.clone(), net.h1.clone(), net.h2.clone());
    // The box's own services: listeners on 22 and 8080 in the router's namespace (reached
    // through Savin's host interfaces).
    let listen = "import socket,time\nss=[]\nfor p in (22,8080):\n    s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0',p)); s.listen(16); ss.append(s)\ntime.sleep(120)\n";
    let services = net
        .lab
        .spawn(&r, &["python3", "-c", listen], None, None)
        .unwrap();
    // Before the filter: both ports answer from either side.
    assert!(
        savin_lab::wait_until(Duration::from_secs(10), || nmap(
            &net, &h2, "10.0.2.1", "22,8080"
        )
        .contains("8080/tcp open")),
        "the box's services did not come up\n{}",
        net.log()
    );
    let f = "set firewall family inet filter protect-re term";
    let (ok, out) = net.cli(&format!(
        "configure; \
         {f} mgmt from source-address 10.0.1.0/24; {f} mgmt from protocol tcp; \
         {f} mgmt from destination-port ssh; {f} mgmt then count re-ssh; {f} mgmt then accept; \
         {f} ping from source-address 10.0.1.0/24; {f} ping from protocol icmp; \
         {f} ping then count re-ping; {f} ping then accept; \
         {f} rest then count re-denied; {f} rest then syslog; {f} rest then discard; \
         set system syslog file fw-log firewall info; \
         set interfaces lo0 unit 0 family inet filter input protect-re; commit"
    ));
    assert!(ok, "{out}\n{}", net.log());
    // From h1's prefix: SSH open, the rest filtered (dropped, no answer at all).
    let from_h1 = nmap(&net, &h1, "10.0.1.1", "22,8080");
    assert!(from_h1.contains("22/tcp   open"), "{from_h1}");
    assert!(from_h1.contains("8080/tcp filtered"), "{from_h1}");
    // From h2: nothing reaches the box, on its own side's address or the other.
    for host in ["10.0.2.1", "10.0.1.1"] {
        let from_h2 = nmap(&net, &h2, host, "22,8080");
        assert!(
            from_h2.contains("22/tcp   filtered") && from_h2.contains("8080/tcp filtered"),
            "{host}: {from_h2}"
        );
    }
    // ICMP: h1's pings answered, h2's not; a SYN from h1 to 8080 gets nothing back.
    assert_eq!(
        hping(&net, &h1, &["-1", "-c", "3", "-i", "u200000", "10.0.1.1"]),
        3
    );
    assert_eq!(
        hping(&net, &h2, &["-1", "-c", "3", "-i", "u200000", "10.0.2.1"]),
        0
    );
    assert_eq!(
        hping(
            &net,
            &h1,
            &["-S", "-p", "8080", "-c", "3", "-i", "u200000", "10.0.1.1"]
        ),
        0
    );
    assert!(counter(&net, "re-ping") >= 3);
    assert!(counter(&net, "re-ssh") >= 1);
    assert!(counter(&net, "re-denied") >= 6);
    // The `syslog` term's drops reach `system syslog` (facility firewall) as Junos writes
    // them, and `show firewall log` lists them.
    let fw_log = net.state.path().join("log").join("fw-log");
    let mut text = String::new();
    assert!(
        savin_lab::wait_until(Duration::from_secs(5), || {
            text = std::fs::read_to_string(&fw_log).unwrap_or_default();
            text.contains("PFE_FW_SYSLOG_IP: FW: eth2.0 D icmp 10.0.2.2 10.0.2.1")
        }),
        "{text}"
    );
    let (_, log) = net.cli("show firewall log");
    assert!(
        log.contains("protect-re") && log.contains("eth2.0"),
        "{log}"
    );
    // Traffic through the box is not the box's: h1 still reaches h2.
    assert_eq!(
        hping(&net, &h1, &["-1", "-c", "2", "-i", "u200000", "10.0.2.2"]),
        2
    );
    net.lab.signal(services, nix::sys::signal::Signal::SIGKILL);
    net.lab.wait(services, Duration::from_secs(5));
}

#[test]
fn a_transit_filter_counts_what_was_sent_and_a_policer_holds_iperf3_to_its_rate() {
    const T: &str = "a_transit_filter_counts_what_was_sent_and_a_policer_holds_iperf3_to_its_rate";
    if !have(T, &["hping3", "iperf3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    let f = "set firewall family inet filter from-h1 term";
    let (ok, out) = net.cli(&format!(
        "configure; \
         set firewall policer ten-meg if-exceeding bandwidth-limit 10m burst-size-limit 50k; \
         set firewall policer ten-meg then discard; \
         {f} probes from protocol udp; {f} probes from destination-port 7000; \
         {f} probes then count probes; {f} probes then accept; \
         {f} iperf from protocol udp; {f} iperf from destination-port 5201; \
         {f} iperf then policer ten-meg; {f} iperf then count iperf; {f} iperf then accept; \
         {f} rest then accept; \
         set interfaces eth1 unit 0 family inet filter input from-h1; commit"
    ));
    assert!(ok, "{out}\n{}", net.log());
    // hping3 sends exactly 50 datagrams to port 7000: the counter says 50.
    hping(
        &net,
        &h1,
        &[
            "--udp", "-p", "7000", "-c", "50", "-i", "u10000", "10.0.2.2",
        ],
    );
    let seen = labnet::wait_counter(&net.sock, "probes", |n| n == 50);
    assert_eq!(seen, 50, "probes counted {seen}, sent 50");
    // A commit that leaves the filters alone keeps them, and their counters.
    let (ok, out) = net.cli("configure; set system host-name edge-1; commit");
    assert!(ok, "{out}");
    assert_eq!(
        counter(&net, "probes"),
        50,
        "counters kept across an unrelated commit"
    );
    // A commit of the firewall alone reaches the data plane: the term counts anew.
    let (ok, out) = net.cli(&format!(
        "configure; delete firewall family inet filter from-h1 term probes then count; \
         {f} probes then count probes-b; commit"
    ));
    assert!(ok, "{out}");
    hping(
        &net,
        &h1,
        &["--udp", "-p", "7000", "-c", "5", "-i", "u10000", "10.0.2.2"],
    );
    let seen = labnet::wait_counter(&net.sock, "probes-b", |n| n == 5);
    assert_eq!(seen, 5, "probes-b counted {seen}, sent 5");
    // A commit of policy-options alone is compiled too: one that cannot run fails.
    let (ok, out) = net.cli("configure; set policy-options as-path BAD \"65001 abc\"; commit");
    assert!(!ok && out.contains("as-path BAD"), "{out}");
    // iperf3 offers 30 Mbit/s of UDP; the policer lets 10 Mbit/s of IP through.
    let server = net
        .lab
        .spawn(&h2, &["iperf3", "-s", "-1", "-B", "10.0.2.2"], None, None)
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let (ok, out) = net.run(
        &h1,
        &[
            "iperf3", "-c", "10.0.2.2", "-u", "-b", "30M", "-l", "1000", "-t", "8", "--json",
        ],
        30,
    );
    assert!(ok, "iperf3: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("iperf3 JSON");
    let sum = &v["end"]["sum"];
    let secs = sum["seconds"].as_f64().unwrap();
    let lost = sum["lost_packets"].as_f64().unwrap();
    let sent = sum["packets"].as_f64().unwrap();
    // What arrived, as IP bits per second (1000 bytes of payload + 8 UDP + 20 IP).
    let arrived_bps = (sent - lost) * 1028.0 * 8.0 / secs;
    let ratio = arrived_bps / 10e6;
    eprintln!("policer: {arrived_bps:.0} bit/s arrived of 30 Mbit/s offered ({ratio:.3} of the 10 Mbit/s rate)");
    assert!(
        (0.95..=1.05).contains(&ratio),
        "policed to {arrived_bps:.0} bit/s ({ratio:.3} of 10 Mbit/s); sent {sent}, lost {lost}"
    );
    let (_, fw) = net.cli("show firewall filter from-h1");
    assert!(fw.contains("ten-meg-iperf"), "{fw}");
    net.lab.wait(server, Duration::from_secs(5));
}

#[test]
fn lo0_addresses_answer_from_both_sides_and_the_box_s_sockets_listen_on_them() {
    const T: &str = "lo0_addresses_answer_from_both_sides_and_the_box_s_sockets_listen_on_them";
    if !have(T, &["ping", "python3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (r, h1, h2) = (net.r.clone(), net.h1.clone(), net.h2.clone());
    let (ok, out) =
        net.cli("configure; set interfaces lo0 unit 0 family inet address 10.255.0.1/32; commit");
    assert!(ok && !out.contains("not present"), "{out}\n{}", net.log());
    for h in [&h1, &h2] {
        assert!(
            savin_lab::wait_until(Duration::from_secs(10), || net
                .run(h, &["ping", "-c", "1", "-W", "1", "10.255.0.1"], 5)
                .0),
            "no ping answer from lo0's address\n{}",
            net.log()
        );
    }
    // A socket of the box bound to lo0's address (the kernel has it on sv-lo0), reached
    // from h2 through Savin.
    let listen = "import socket,time\ns=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('10.255.0.1',2222)); s.listen(4)\nc,_=s.accept(); c.sendall(b'lo0 here'); time.sleep(1)\n";
    let server = net
        .lab
        .spawn(&r, &["python3", "-c", listen], None, None)
        .unwrap();
    let client = "import socket,time\nfor _ in range(50):\n    try:\n        s=socket.create_connection(('10.255.0.1',2222),timeout=2); print(s.recv(64).decode()); break\n    except OSError:\n        time.sleep(0.1)\n";
    let (_, got) = net.run(&h2, &["python3", "-c", client], 15);
    assert!(got.contains("lo0 here"), "{got}\n{}", net.log());
    let (_, terse) = net.cli("show interfaces terse");
    assert!(
        terse.contains("lo0.0") && terse.contains("10.255.0.1/32"),
        "{terse}"
    );
    net.lab.wait(server, Duration::from_secs(5));
}

/// Sends `n` UDP datagrams from `ns` to `[dst]:port` and, with `tcp`, tries one TCP connect to
/// `[dst]:tcp`: "refused", "timeout" or "connected".
fn v6_probe(net: &Net, ns: &savin_lab::Ns, dst: &str, port: u16, n: u32, tcp: u16) -> String {
    let script = format!(
        "import socket\n\
         u=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)\n\
         for _ in range({n}): u.sendto(b'x'*64, ('{dst}', {port}))\n\
         t=socket.socket(socket.AF_INET6, socket.SOCK_STREAM); t.settimeout(2)\n\
         try:\n    t.connect(('{dst}', {tcp})); print('connected')\n\
         except ConnectionRefusedError: print('refused')\n\
         except (socket.timeout, TimeoutError): print('timeout')\n"
    );
    let (_, out) = net.run(ns, &["python3", "-c", &script], 20);
    out.trim().to_string()
}

/// `ping -6 -c COUNT -W WAIT DST` from `ns`, 0.2 s apart: whether all were answered, and
/// what ping said.
fn ping6(net: &Net, ns: &savin_lab::Ns, count: u32, wait: u32, dst: &str) -> (bool, String) {
    let (count, wait) = (count.to_string(), wait.to_string());
    net.run(
        ns,
        &["ping", "-6", "-c", &count, "-i", "0.2", "-W", &wait, dst],
        15,
    )
}

#[test]
fn inet6_filters_guard_transit_and_the_box_and_count_what_they_match() {
    const T: &str = "inet6_filters_guard_transit_and_the_box_and_count_what_they_match";
    if !have(T, &["ping", "python3"]) {
        return;
    }
    let Some(net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    // Before any filter: TCP to a closed port of h2 is refused (h2's RST comes back).
    assert!(net.lab.ping(&h1, "2001:db8:2::2"), "{}", net.log());
    assert_eq!(
        v6_probe(&net, &h1, "2001:db8:2::2", 7000, 1, 9000),
        "refused"
    );
    let i = "set firewall family inet6 filter v6-in term";
    let o = "set firewall family inet6 filter v6-out term";
    let l = "set firewall family inet6 filter v6-re term";
    let (ok, out) = net.cli(&format!(
        "configure; \
         {i} unroutable from destination-address 2001:db8:77::/48; \
         {i} unroutable then count v6-unroutable; {i} unroutable then discard; \
         {i} pings from next-header icmp6; {i} pings from icmp-type echo-request; \
         {i} pings then count v6-pings; {i} pings then accept; \
         {i} udp from next-header udp; {i} udp from destination-port 7000; \
         {i} udp then count v6-udp; {i} udp then discard; \
         {i} rest then accept; \
         {o} tcp from next-header tcp; {o} tcp from destination-port 9000; \
         {o} tcp then count v6-out-tcp; {o} tcp then discard; \
         {o} rest then accept; \
         {l} nd from next-header icmp6; \
         {l} nd from icmp-type [ neighbor-solicit neighbor-advertisement router-solicit ]; \
         {l} nd then accept; \
         {l} ping from source-address 2001:db8:1::/64; {l} ping from next-header icmp6; \
         {l} ping then count re6-ping; {l} ping then accept; \
         {l} rest then count re6-denied; {l} rest then log; {l} rest then discard; \
         set interfaces eth1 unit 0 family inet6 filter input v6-in; \
         set interfaces eth2 unit 0 family inet6 filter output v6-out; \
         set interfaces lo0 unit 0 family inet6 filter input v6-re; commit"
    ));
    assert!(ok, "{out}\n{}", net.log());
    // Transit: exactly the three echo requests ping sent are counted, and answered.
    let (ok, ping) = ping6(&net, &h1, 3, 2, "2001:db8:2::2");
    assert!(ok, "{ping}\n{}", net.log());
    // (The worker publishes its counters about every 100 ms.)
    let seen = labnet::wait_counter(&net.sock, "v6-pings", |n| n == 3);
    assert_eq!(seen, 3, "v6-pings counted {seen}, sent 3");
    // The input filter runs before the route lookup: pings to a prefix with no route are
    // counted and dropped by it, and the box sends no unreachable back.
    let (ok, out) = ping6(&net, &h1, 3, 1, "2001:db8:77::1");
    assert!(!ok && !out.contains("nreachable"), "{out}");
    let seen = labnet::wait_counter(&net.sock, "v6-unroutable", |n| n == 3);
    assert_eq!(seen, 3, "v6-unroutable counted {seen}, sent 3");
    // Twenty datagrams to 7000 are dropped by the input filter, counted to the one; TCP to
    // 9000 is dropped leaving by eth2 (no RST comes back: a timeout, not a refusal).
    assert_eq!(
        v6_probe(&net, &h1, "2001:db8:2::2", 7000, 20, 9000),
        "timeout"
    );
    let seen = labnet::wait_counter(&net.sock, "v6-udp", |n| n == 20);
    assert_eq!(seen, 20, "v6-udp counted {seen}, sent 20");
    assert!(counter(&net, "v6-out-tcp") >= 1);
    // The box: h1's prefix may ping it, h2's may not (on either of its addresses); Neighbor
    // Discovery still works for both.
    assert!(net.lab.ping(&h1, "2001:db8:1::1"), "{}", net.log());
    for addr in ["2001:db8:2::1", "2001:db8:1::1"] {
        let (ok, out) = ping6(&net, &h2, 2, 1, addr);
        assert!(!ok, "h2 pinged the box at {addr}: {out}");
    }
    assert!(counter(&net, "re6-ping") >= 1);
    assert!(counter(&net, "re6-denied") >= 4);
    // Link-scoped traffic for the box takes no route, and lo0's filter sees it too: three
    // pings to all-nodes from h2 are denied and counted.
    let before = counter(&net, "re6-denied");
    let _ = net.run(
        &h2,
        &[
            "ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", "-I", "eth0", "ff02::1",
        ],
        10,
    );
    let seen = labnet::wait_counter(&net.sock, "re6-denied", |n| n >= before + 3);
    assert!(
        seen >= before + 3,
        "re6-denied went from {before} to {seen}"
    );
    let (_, log) = net.cli("show firewall log");
    assert!(
        log.contains("v6-re") && log.contains("2001:db8:2::2") && log.contains("ICMPv6"),
        "{log}"
    );
    // h2 still reaches h1 through the box: the filters guard what they name only.
    assert!(net.lab.ping(&h2, "2001:db8:1::2"), "{}", net.log());
}
