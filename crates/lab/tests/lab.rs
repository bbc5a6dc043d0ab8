//! The lab itself: real hosts in namespaces reach each other, and nothing is left behind.

use std::time::Duration;

use savin_lab::{wait_until, Lab};

fn netns_list() -> String {
    let out = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn hosts_on_a_link_ping_and_the_lab_cleans_up() {
    let Some(mut lab) = Lab::require("hosts_on_a_link_ping_and_the_lab_cleans_up") else {
        return;
    };
    let a = lab.netns("a").unwrap();
    let b = lab.netns("b").unwrap();
    lab.veth(&a, "eth0", &b, "eth0").unwrap();
    lab.addr(&a, "eth0", "192.0.2.1/24").unwrap();
    lab.addr(&b, "eth0", "192.0.2.2/24").unwrap();
    let out = lab
        .exec(
            &a,
            &["ping", "-c", "2", "-i", "0.2", "-W", "2", "192.0.2.2"],
            Duration::from_secs(10),
        )
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A process left running is killed with the lab.
    let pid = lab.spawn(&b, &["sleep", "600"], None, None).unwrap();
    let names: Vec<String> = lab.namespaces().iter().map(|n| n.name.clone()).collect();
    assert!(wait_until(Duration::from_secs(2), || std::path::Path::new(
        &format!("/proc/{pid}")
    )
    .exists()));
    drop(lab);
    let list = netns_list();
    for n in names {
        assert!(!list.contains(&n), "{n} left behind: {list}");
    }
    assert!(
        wait_until(Duration::from_secs(2), || !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()),
        "process {pid} survived the lab"
    );
}

#[test]
fn a_panicking_test_still_removes_its_namespaces() {
    let Some(mut lab) = Lab::require("a_panicking_test_still_removes_its_namespaces") else {
        return;
    };
    let ns = lab.netns("p").unwrap();
    let name = ns.name.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _lab = lab;
        panic!("simulated test failure");
    }));
    assert!(r.is_err());
    assert!(!netns_list().contains(&name));
}

#[test]
fn commands_that_hang_are_killed_at_the_timeout() {
    let Some(mut lab) = Lab::require("commands_that_hang_are_killed_at_the_timeout") else {
        return;
    };
    let ns = lab.netns("t").unwrap();
    let err = lab
        .exec(&ns, &["sleep", "30"], Duration::from_millis(300))
        .unwrap_err();
    assert!(err.to_string().contains("did not finish"), "{err}");
}

#[test]
fn hosts_on_vlan_tagged_links_reach_only_their_own_vlan() {
    let Some(mut lab) = Lab::require("hosts_on_vlan_tagged_links_reach_only_their_own_vlan") else {
        return;
    };
    let a = lab.netns("a").unwrap();
    let b = lab.netns("b").unwrap();
    lab.veth(&a, "eth0", &b, "eth0").unwrap();
    lab.vlan(&a, "eth0", 100, "eth0.100").unwrap();
    lab.vlan(&b, "eth0", 100, "eth0.100").unwrap();
    lab.vlan(&a, "eth0", 200, "eth0.200").unwrap();
    lab.addr(&a, "eth0.100", "192.0.2.1/24").unwrap();
    lab.addr(&b, "eth0.100", "192.0.2.2/24").unwrap();
    lab.addr(&a, "eth0.200", "198.51.100.1/24").unwrap();
    assert!(
        lab.ping(&a, "192.0.2.2"),
        "VLAN 100 is connected end to end"
    );
    // The same subnet on VLAN 300 at B: tagged, but a different VLAN, so unreachable.
    lab.vlan(&b, "eth0", 300, "eth0.300").unwrap();
    lab.addr(&b, "eth0.300", "198.51.100.2/24").unwrap();
    assert!(
        !lab.ping(&b, "198.51.100.1"),
        "VLAN 300 must not reach VLAN 200"
    );
    assert!(
        lab.ping(&b, "192.0.2.1"),
        "VLAN 100 still works from B's side"
    );
}
