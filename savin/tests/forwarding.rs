//! Real hosts in namespaces route through Savin: it answers ARP and ping for its own addresses,
//! forwards between connected subnets and along static routes, and refuses a commit that names
//! a netdev that does not exist.

use std::time::Duration;

mod labnet;

use labnet::{cli, start_daemon};
use savin_lab::Lab;

#[test]
fn hosts_ping_through_savin_on_connected_and_static_routes() {
    let Some(mut lab) = Lab::require("hosts_ping_through_savin_on_connected_and_static_routes")
    else {
        return;
    };
    let r = lab.netns("router").unwrap();
    let h1 = lab.netns("h1").unwrap();
    let h2 = lab.netns("h2").unwrap();
    lab.veth(&r, "eth1", &h1, "eth0").unwrap();
    lab.veth(&r, "eth2", &h2, "eth0").unwrap();
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
    // A netdev that does not exist fails the commit, clearly, and changes nothing.
    let (ok, out) = cli(
        &sock,
        "configure; set interfaces eth9 unit 0 family inet address 10.0.9.1/24; commit",
    );
    assert!(!ok);
    assert!(out.contains("interface eth9 does not exist"), "{out}");
    assert!(
        lab.ping(&h1, "10.0.2.2"),
        "forwarding still runs after the refused commit"
    );
}
