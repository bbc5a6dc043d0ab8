//! Commits that change other routes and addresses while iperf3 runs lose none of its packets.
//! A test binary of its own: cargo runs test binaries one at a time, so no other lab test
//! competes with the flow for this machine's two cores.

mod labnet;

use std::time::Duration;

use labnet::{have, Net};

#[test]
fn commits_that_change_other_routes_and_addresses_lose_no_packets() {
    const T: &str = "commits_that_change_other_routes_and_addresses_lose_no_packets";
    if !have(T, &["ping", "iperf3", "ethtool"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2, h3) = (net.h1.clone(), net.h2.clone(), net.h3.clone());
    assert!(net.lab.ping(&h1, "10.0.2.2"), "{}", net.log());
    assert!(net.lab.ping(&h3, "10.0.3.1"));
    let server = net.lab.iperf3_server(&h2, "10.0.2.2").unwrap();
    let out_file = net.state.path().join("iperf3.json");
    let client = net
        .lab
        .spawn(
            &h1,
            &[
                "iperf3", "-c", "10.0.2.2", "-u", "-b", "10M", "-l", "1000", "-t", "8", "-J",
            ],
            Some(std::fs::File::create(&out_file).unwrap()),
            None,
        )
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    // Commits while the flow runs: static routes added, changed and removed, an address
    // added to and removed from the interface of another host, a new reject route.
    let changes = [
        "set routing-options static route 192.0.2.0/24 next-hop 10.0.3.2",
        "set routing-options static route 198.51.100.0/24 discard",
        "set interfaces eth3 unit 0 family inet address 10.0.33.1/24",
        "set routing-options static route 192.0.2.0/24 next-hop 10.0.33.2",
        "delete routing-options static route 198.51.100.0/24",
        "delete interfaces eth3 unit 0 family inet address 10.0.33.1/24",
        "set routing-options static route 203.0.113.0/25 discard",
        "delete routing-options static route 192.0.2.0/24",
    ];
    for c in changes {
        let (ok, out) = net.cli(&format!("configure; {c}; commit"));
        assert!(ok, "{c}: {out}");
        std::thread::sleep(Duration::from_millis(400));
    }
    // The host behind the changed interface is still reachable on its kept address.
    assert!(net.lab.ping(&h3, "10.0.3.1"));
    let st = net.lab.wait(client, Duration::from_secs(30));
    assert!(st.is_some_and(|s| s.success()), "iperf3 client failed");
    net.lab.wait(server, Duration::from_secs(10));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    let sum = &v["end"]["sum"];
    let (lost, packets) = (
        sum["lost_packets"].as_u64().unwrap(),
        sum["packets"].as_u64().unwrap(),
    );
    eprintln!(
        "{} commits during the flow: {lost} of {packets} datagrams lost",
        changes.len()
    );
    assert!(packets > 5000, "{sum}");
    for i in ["eth1", "eth2"] {
        let (_, out) = net.cli(&format!("show interfaces {i} extensive"));
        eprintln!("{out}");
    }
    eprintln!("{}", net.cli("show system statistics").1);
    assert_eq!(
        lost,
        0,
        "no datagram of the untouched flow is lost: {sum}\n{}",
        net.log()
    );
}
