//! BGP against real peers in namespaces: BIRD 2 on h2 peers with Savin over IPv4 and IPv6,
//! routes flow both ways with policy applied (checked on BIRD's side with `birdc`), and real
//! traffic follows them (h2 has no default route: its way back to h1 is the route it learnt
//! from Savin).

mod labnet;

use std::path::Path;
use std::time::Duration;

use labnet::{have, Net};
use savin_lab::{wait_until, Ns};

/// BIRD on `ns`: AS 65002, announcing 198.51.100.0/24 and 2001:db8:100::/48 (addresses on
/// its loopback), and 192.0.2.0/24 (which Savin's import policy refuses) besides; what it
/// learns goes to the kernel.
fn start_bird(net: &mut Net, ns: &Ns) -> (std::path::PathBuf, u32) {
    let dir = net.state.path().join("bird");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bird.conf");
    let sock = dir.join("bird.ctl");
    std::fs::write(
        &conf,
        r#"
router id 10.0.2.2;
log stderr all;
protocol device { }
protocol kernel { ipv4 { import none; export where source = RTS_BGP; }; }
protocol kernel { ipv6 { import none; export where source = RTS_BGP; }; }
protocol static { ipv4; route 198.51.100.0/24 unreachable; route 192.0.2.0/24 unreachable; }
protocol static { ipv6; route 2001:db8:100::/48 unreachable; }
protocol bgp savin4 {
    local 10.0.2.2 as 65002;
    neighbor 10.0.2.1 as 65001;
    hold time 9;
    ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp savin6 {
    local 2001:db8:2::2 as 65002;
    neighbor 2001:db8:2::1 as 65001;
    ipv6 { import all; export where source = RTS_STATIC; };
}
"#,
    )
    .unwrap();
    for cmd in [
        // The addresses behind BIRD's networks (which it announces as static routes).
        vec!["ip", "addr", "add", "198.51.100.1/32", "dev", "lo"],
        vec![
            "ip",
            "-6",
            "addr",
            "add",
            "2001:db8:100::1/128",
            "dev",
            "lo",
        ],
        // The way back to h1 must come from BGP.
        vec!["ip", "route", "del", "default"],
        vec!["ip", "-6", "route", "del", "default"],
    ] {
        let (ok, out) = net.run(ns, &cmd, 5);
        assert!(ok, "{cmd:?}: {out}");
    }
    let pid = spawn_bird(net, ns, &dir);
    (sock, pid)
}

/// Runs BIRD (in the foreground, as the lab's child) on the configuration in `dir`.
fn spawn_bird(net: &mut Net, ns: &Ns, dir: &Path) -> u32 {
    spawn_bird_with(net, ns, dir, &[])
}

/// [`spawn_bird`] with more arguments (`-R`: recovering from a graceful restart).
fn spawn_bird_with(net: &mut Net, ns: &Ns, dir: &Path, extra: &[&str]) -> u32 {
    let sock = dir.join("bird.ctl");
    let _ = std::fs::remove_file(&sock);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("bird.log"))
        .unwrap();
    let c = dir.join("bird.conf").to_string_lossy().to_string();
    let s = sock.to_string_lossy().to_string();
    let mut args = vec!["bird", "-f", "-c", &c, "-s", &s];
    args.extend_from_slice(extra);
    let pid = net.lab.spawn(ns, &args, None, Some(log)).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || sock.exists()),
        "BIRD did not start: {}",
        std::fs::read_to_string(dir.join("bird.log")).unwrap_or_default()
    );
    pid
}

fn birdc(net: &Net, ns: &Ns, sock: &Path, cmd: &str) -> String {
    let s = sock.to_string_lossy().to_string();
    let mut args = vec!["birdc", "-s", &s];
    args.extend(cmd.split_whitespace());
    net.run(ns, &args, 10).1
}

const CONFIG: &str = "configure; \
    set routing-options router-id 10.0.1.1; \
    set routing-options autonomous-system 65001; \
    set policy-options community ours members 65001:7; \
    set policy-options community ours-large members large:65001:1:2; \
    set policy-options policy-statement to-bird term direct from protocol direct; \
    set policy-options policy-statement to-bird term direct from route-filter 10.0.1.0/24 exact; \
    set policy-options policy-statement to-bird term direct from route-filter 2001:db8:1::/64 exact; \
    set policy-options policy-statement to-bird term direct then community add ours; \
    set policy-options policy-statement to-bird term direct then community add ours-large; \
    set policy-options policy-statement to-bird term direct then accept; \
    set policy-options policy-statement from-bird term bogon from route-filter 192.0.2.0/24 exact; \
    set policy-options policy-statement from-bird term bogon then reject; \
    set policy-options policy-statement from-bird then local-preference 200; \
    set policy-options policy-statement from-bird then accept; \
    set protocols bgp group bird type external; \
    set protocols bgp group bird peer-as 65002; \
    set protocols bgp group bird import from-bird; \
    set protocols bgp group bird export to-bird; \
    set protocols bgp group bird neighbor 10.0.2.2 family inet unicast; \
    set protocols bgp group bird neighbor 2001:db8:2::2 family inet6 unicast; \
    commit";

#[test]
fn savin_and_bird_exchange_routes_with_policy_and_traffic_follows_them() {
    const T: &str = "savin_and_bird_exchange_routes_with_policy_and_traffic_follows_them";
    if !have(T, &["bird", "birdc", "ping", "iperf3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let h2 = net.h2.clone();
    let (bird, bird_pid) = start_bird(&mut net, &h2);
    let (ok, out) = net.cli(CONFIG);
    assert!(ok, "{out}\n{}", net.log());

    // Both sessions come up.
    let established = |net: &Net| {
        let (_, out) = net.cli("show bgp summary");
        out.matches("Establ").count() == 2
    };
    assert!(
        wait_until(Duration::from_secs(30), || established(&net)),
        "{}\n{}\n{}",
        net.cli("show bgp summary").1,
        birdc(&net, &h2, &bird, "show protocols all"),
        net.log()
    );

    // Savin took BIRD's networks, not the one its import policy refuses.
    let route = |net: &Net, dst: &str| net.cli(&format!("show route {dst}")).1;
    assert!(
        wait_until(Duration::from_secs(10), || route(&net, "198.51.100.0/24")
            .contains("*[BGP/")),
        "{}",
        route(&net, "198.51.100.0/24")
    );
    let out = route(&net, "198.51.100.0/24");
    assert!(
        out.contains("*[BGP/170]") && out.contains("to 10.0.2.2 via eth2.0"),
        "{out}"
    );
    assert!(!route(&net, "192.0.2.0/24").contains("BGP"));
    // The BGP attributes, in detail: the import policy's local preference among them.
    let out = net.cli("show route 198.51.100.0/24 detail").1;
    for want in [
        "Source: 10.0.2.2",
        "Local AS: 65001 Peer AS: 65002",
        "AS path: 65002 I",
        "Localpref: 200",
        "Router ID: 10.0.2.2",
    ] {
        assert!(out.contains(want), "{want}: {out}");
    }
    let v: serde_json::Value = serde_json::from_str(
        &net.cli("show route 198.51.100.0/24 detail | display json")
            .1,
    )
    .unwrap();
    let entry = &v["route-information"]["route-table"][0]["rt"][0]["rt-entry"][0];
    assert_eq!(entry["as-path"], "65002 I", "{v}");
    assert_eq!(entry["local-preference"], 200, "{v}");
    assert!(
        wait_until(Duration::from_secs(10), || route(&net, "2001:db8:100::/48")
            .contains("*[BGP/170]")),
        "{}",
        route(&net, "2001:db8:100::/48")
    );

    // BIRD took Savin's connected networks, with the communities the export policy added
    // and Savin's AS in the path.
    assert!(
        wait_until(Duration::from_secs(10), || birdc(
            &net,
            &h2,
            &bird,
            "show route 10.0.1.0/24"
        )
        .contains("10.0.2.1")),
        "{}",
        birdc(&net, &h2, &bird, "show route all")
    );
    let all = birdc(&net, &h2, &bird, "show route all 10.0.1.0/24");
    assert!(all.contains("BGP.as_path: 65001"), "{all}");
    assert!(all.contains("(65001,7)"), "{all}");
    assert!(all.contains("(65001, 1, 2)"), "{all}");
    let v6 = birdc(&net, &h2, &bird, "show route 2001:db8:1::/64");
    assert!(v6.contains("2001:db8:2::1"), "{v6}");

    // Traffic follows: h1 reaches h2's dum0 through Savin, and h2 answers by the route it
    // learnt.
    let h1 = net.h1.clone();
    assert!(
        wait_until(Duration::from_secs(10), || net
            .lab
            .ping(&h1, "198.51.100.1")),
        "ping 198.51.100.1: {}",
        net.run(&h2, &["ip", "route"], 5).1
    );
    // TCP too: iperf3 from h1 to the address behind BIRD.
    let server = net.lab.iperf3_server(&h2, "198.51.100.1").unwrap();
    let (ok, out) = net.run(&h1, &["iperf3", "-c", "198.51.100.1", "-n", "4M"], 30);
    assert!(ok, "iperf3 through the BGP route: {out}");
    net.lab.wait(server, Duration::from_secs(10));
    let (ok, out) = net.run(
        &h1,
        &["ping", "-6", "-c", "2", "-W", "2", "2001:db8:100::1"],
        10,
    );
    assert!(
        ok,
        "ping 2001:db8:100::1: {out}\n{}\n{}\n{}",
        route(&net, "2001:db8:100::/48"),
        birdc(&net, &h2, &bird, "show route all 2001:db8:1::/64"),
        net.run(&h2, &["ip", "-6", "route"], 5).1
    );

    // show bgp neighbor, in Junos' words and JSON.
    let (_, out) = net.cli("show bgp neighbor 10.0.2.2");
    assert!(
        out.contains("Peer: 10.0.2.2+179 AS 65002") && out.contains("State: Established"),
        "{out}"
    );
    assert!(out.contains("Received prefixes:             2"), "{out}");
    assert!(out.contains("Accepted prefixes:             1"), "{out}");
    // What came in and what went out, per neighbour, in Junos' columns.
    let (_, out) = net.cli("show route receive-protocol bgp 10.0.2.2");
    let line = out
        .lines()
        .find(|l| l.contains("198.51.100.0/24"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.starts_with('*') && line.contains("10.0.2.2") && line.ends_with("65002 I"),
        "{out}"
    );
    assert!(
        !out.contains("192.0.2.0/24"),
        "refused routes are hidden: {out}"
    );
    let (_, out) = net.cli("show route receive-protocol bgp 10.0.2.2 hidden");
    assert!(out.contains("192.0.2.0/24"), "{out}");
    let (_, out) = net.cli("show route advertising-protocol bgp 10.0.2.2");
    let line = out
        .lines()
        .find(|l| l.contains("10.0.1.0/24"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("Self") && line.ends_with(" I"), "{out}");
    assert!(
        !out.contains("10.0.3.0/24"),
        "only what the policy exports: {out}"
    );
    let (_, out) = net.cli("show bgp summary | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["bgp-information"]["peer-count"], 2, "{out}");

    // BIRD dies: the routes go with the session, and come back with a new BIRD, the
    // session re-established by itself.
    net.lab.signal(bird_pid, nix::sys::signal::Signal::SIGKILL);
    net.lab.wait(bird_pid, Duration::from_secs(5));
    assert!(
        wait_until(Duration::from_secs(20), || !route(&net, "198.51.100.0/24")
            .contains("BGP")),
        "{}",
        route(&net, "198.51.100.0/24")
    );
    assert!(!net.lab.ping(&h1, "198.51.100.1"));
    let dir = bird.parent().unwrap().to_path_buf();
    spawn_bird(&mut net, &h2, &dir);
    assert!(
        wait_until(Duration::from_secs(60), || established(&net)
            && route(&net, "198.51.100.0/24").contains("BGP")),
        "{}\n{}",
        net.cli("show bgp summary").1,
        net.log()
    );
    let (_, out) = net.cli("show bgp neighbor 10.0.2.2");
    assert!(out.contains("Number of flaps: 1"), "{out}");
    assert!(
        wait_until(Duration::from_secs(10), || net
            .lab
            .ping(&h1, "198.51.100.1")),
        "traffic is back"
    );
}

/// FRR (zebra and bgpd) on `ns`, in its own directory (sockets, pid files, logs).
fn start_frr(net: &mut Net, ns: &Ns, name: &str, bgpd: &str) -> std::path::PathBuf {
    let dir = net.state.path().join(format!("frr-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("zebra.conf"), format!("hostname {name}\n")).unwrap();
    std::fs::write(dir.join("bgpd.conf"), bgpd).unwrap();
    // FRR drops to its own user (which must be in its vty group): it must reach and write
    // its directory.
    use std::os::unix::fs::PermissionsExt;
    for (p, mode) in [(net.state.path(), 0o755), (dir.as_path(), 0o777)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let d = dir.to_string_lossy().to_string();
    let zsock = format!("{d}/zserv.api");
    for daemon in ["zebra", "bgpd"] {
        let log = std::fs::File::create(dir.join(format!("{daemon}.log"))).unwrap();
        let bin = format!("/usr/lib/frr/{daemon}");
        let conf = format!("{d}/{daemon}.conf");
        let pid = format!("{d}/{daemon}.pid");
        net.lab
            .spawn(
                ns,
                &[
                    &bin,
                    "-f",
                    &conf,
                    "-i",
                    &pid,
                    "-z",
                    &zsock,
                    "--vty_socket",
                    &d,
                    "-u",
                    "frr",
                    "-g",
                    "frr",
                ],
                None,
                Some(log),
            )
            .unwrap();
        let vty = dir.join(format!("{daemon}.vty"));
        assert!(
            wait_until(Duration::from_secs(10), || vty.exists()),
            "{daemon} did not start: {}",
            std::fs::read_to_string(dir.join(format!("{daemon}.log"))).unwrap_or_default()
        );
    }
    dir
}

fn vtysh(net: &Net, ns: &Ns, dir: &Path, cmd: &str) -> String {
    let d = dir.to_string_lossy().to_string();
    net.run(ns, &["vtysh", "--vty_socket", &d, "-c", cmd], 10).1
}

fn frr_client(name: &str, id: &str, savin: &str, network: &str, extra: &str) -> String {
    format!(
        "frr defaults traditional
hostname {name}
router bgp 65000
 bgp router-id {id}
 no bgp network import-check
 neighbor {savin} remote-as 65000
 neighbor {savin} timers connect 5
{extra}
 address-family ipv4 unicast
  network {network}
 exit-address-family
"
    )
}

#[test]
fn savin_reflects_routes_between_frr_clients_and_signs_a_session_with_md5() {
    const T: &str = "savin_reflects_routes_between_frr_clients_and_signs_a_session_with_md5";
    if !have(T, &["vtysh", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h3) = (net.h1.clone(), net.h3.clone());
    let c1 = start_frr(
        &mut net,
        &h1,
        "c1",
        &frr_client("c1", "10.0.1.2", "10.0.1.1", "198.51.101.0/24", ""),
    );
    let c2 = start_frr(
        &mut net,
        &h3,
        "c2",
        &frr_client(
            "c2",
            "10.0.3.2",
            "10.0.3.1",
            "198.51.103.0/24",
            " neighbor 10.0.3.1 password s3cret-key",
        ),
    );
    let (ok, out) = net.cli(
        "configure; \
         set routing-options router-id 10.0.2.1; \
         set routing-options autonomous-system 65000; \
         set protocols bgp group rr type internal; \
         set protocols bgp group rr cluster 10.0.2.1; \
         set protocols bgp group rr neighbor 10.0.1.2; \
         set protocols bgp group rr neighbor 10.0.3.2 authentication-key s3cret-key; \
         commit",
    );
    assert!(ok, "{out}");
    let established = |net: &Net, n: usize| {
        let (_, out) = net.cli("show bgp summary");
        out.matches("Establ").count() == n
    };
    assert!(
        wait_until(Duration::from_secs(30), || established(&net, 2)),
        "{}\n{}\n{}",
        net.cli("show bgp summary").1,
        vtysh(&net, &h3, &c2, "show bgp summary"),
        net.log()
    );
    // Each client has the other's route, reflected: its next hop untouched, the originator
    // and the cluster recorded.
    let reflected = |net: &Net, ns: &Ns, dir: &Path, prefix: &str| -> serde_json::Value {
        let out = vtysh(
            net,
            ns,
            dir,
            &format!("show bgp ipv4 unicast {prefix} json"),
        );
        serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
    };
    assert!(
        wait_until(Duration::from_secs(15), || reflected(
            &net,
            &h3,
            &c2,
            "198.51.101.0/24"
        )["paths"][0]["originatorId"]
            == "10.0.1.2"),
        "{}",
        vtysh(&net, &h3, &c2, "show bgp ipv4 unicast 198.51.101.0/24")
    );
    let v = reflected(&net, &h3, &c2, "198.51.101.0/24");
    let path = &v["paths"][0];
    assert_eq!(path["clusterList"]["list"][0], "10.0.2.1", "{v}");
    assert_eq!(path["nexthops"][0]["ip"], "10.0.1.2", "{v}");
    assert!(
        wait_until(Duration::from_secs(15), || reflected(
            &net,
            &h1,
            &c1,
            "198.51.103.0/24"
        )["paths"][0]["originatorId"]
            == "10.0.3.2"),
        "{}",
        vtysh(&net, &h1, &c1, "show bgp ipv4 unicast 198.51.103.0/24")
    );

    // MD5 is in force: with a wrong key the session to c2 stays down; the right one brings
    // it back.
    let (ok, out) = net.cli(
        "configure; set protocols bgp group rr neighbor 10.0.3.2 authentication-key wrong; commit",
    );
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_secs(8));
    let (_, out) = net.cli("show bgp neighbor 10.0.3.2");
    let state = out
        .lines()
        .find(|l| l.contains("Type:"))
        .unwrap_or_default();
    assert!(!state.contains("Established"), "{out}");
    assert!(
        established(&net, 1),
        "{}\n{}",
        net.cli("show bgp summary").1,
        net.log()
    );
    let (ok, out) = net.cli(
        "configure; set protocols bgp group rr neighbor 10.0.3.2 authentication-key s3cret-key; commit",
    );
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(45), || established(&net, 2)),
        "{}\n{}",
        net.cli("show bgp summary").1,
        vtysh(&net, &h3, &c2, "show bgp summary")
    );
}

/// A BIRD on `ns` (its own directory `name`) announcing 198.51.100.0/24 from AS `asn`,
/// `prepend` times more of its AS in the path, with the address 198.51.100.1 on its
/// loopback and no default route (the way back is what it learns from Savin).
fn announcing_bird(
    net: &mut Net,
    ns: &Ns,
    name: &str,
    me: &str,
    savin: &str,
    asn: u32,
    prepend: usize,
) -> std::path::PathBuf {
    announcing_bird_with(net, ns, name, me, savin, asn, prepend, "")
}

/// [`announcing_bird`] with more statements in its BGP protocol.
#[allow(clippy::too_many_arguments)]
fn announcing_bird_with(
    net: &mut Net,
    ns: &Ns,
    name: &str,
    me: &str,
    savin: &str,
    asn: u32,
    prepend: usize,
    extra: &str,
) -> std::path::PathBuf {
    let dir = net.state.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let prepends = format!("bgp_path.prepend({asn}); ").repeat(prepend);
    std::fs::write(
        dir.join("bird.conf"),
        format!(
            "router id {me};
log stderr all;
protocol device {{ }}
protocol kernel {{ persist; ipv4 {{ import none; export where source = RTS_BGP; }}; }}
protocol static {{ ipv4; route 198.51.100.0/24 unreachable; }}
protocol bgp savin {{
    {extra}
    local {me} as {asn};
    neighbor {savin} as 65001;
    hold time 6;
    connect retry time 2;
    ipv4 {{ import all; export filter {{ if source != RTS_STATIC then reject; {prepends}accept; }}; }};
}}
"
        ),
    )
    .unwrap();
    for cmd in [
        vec!["ip", "addr", "add", "198.51.100.1/32", "dev", "lo"],
        vec!["ip", "route", "del", "default"],
    ] {
        let (ok, out) = net.run(ns, &cmd, 5);
        assert!(ok, "{cmd:?}: {out}");
    }
    spawn_bird(net, ns, &dir);
    dir
}

#[test]
fn traffic_moves_to_the_backup_path_when_a_link_goes_down_and_back_when_it_returns() {
    const T: &str =
        "traffic_moves_to_the_backup_path_when_a_link_goes_down_and_back_when_it_returns";
    if !have(T, &["bird", "birdc", "ping"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2, h3) = (net.h1.clone(), net.h2.clone(), net.h3.clone());
    // The same network behind h2 (AS 65002, the shorter path) and h3 (AS 65003, prepended).
    announcing_bird(&mut net, &h2, "bird-h2", "10.0.2.2", "10.0.2.1", 65002, 0);
    announcing_bird(&mut net, &h3, "bird-h3", "10.0.3.2", "10.0.3.1", 65003, 2);
    let (ok, out) = net.cli(LAN_EXPORT);
    assert!(ok, "{out}");
    let (ok, out) = net.cli(
        "configure; \
         set protocols bgp group up type external; \
         set protocols bgp group up export lan; \
         set protocols bgp group up neighbor 10.0.2.2 peer-as 65002; \
         set protocols bgp group up neighbor 10.0.3.2 peer-as 65003; \
         commit",
    );
    assert!(ok, "{out}");
    let route = |net: &Net| net.cli("show route 198.51.100.1").1;
    // The active route is the first one after the `*` marker line.
    let active_via = |net: &Net, gw: &str| {
        let out = route(net);
        out.lines()
            .skip_while(|l| !l.contains("*[BGP"))
            .nth(1)
            .is_some_and(|l| l.contains(&format!("to {gw} ")))
    };
    assert!(
        wait_until(Duration::from_secs(30), || active_via(&net, "10.0.2.2")
            && route(&net).contains("to 10.0.3.2")),
        "{}\n{}",
        route(&net),
        net.cli("show bgp summary").1
    );
    assert!(
        wait_until(Duration::from_secs(10), || net
            .lab
            .ping(&h1, "198.51.100.1")),
        "ping through h2"
    );
    // h2's link goes down: the backup path through h3 carries the traffic at once (the RIB
    // holds it), long before the session to h2 times out.
    let (ok, out) = net.run(&h2, &["ip", "link", "set", "eth0", "down"], 5);
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(5), || active_via(&net, "10.0.3.2")),
        "{}",
        route(&net)
    );
    assert!(
        wait_until(Duration::from_secs(5), || net.lab.ping(&h1, "198.51.100.1")),
        "ping through h3: {}",
        route(&net)
    );
    // The session to h2 ends when its hold time runs out; the route through h3 stays.
    assert!(
        wait_until(Duration::from_secs(20), || net
            .cli("show bgp summary")
            .1
            .matches("Establ")
            .count()
            == 1),
        "{}",
        net.cli("show bgp summary").1
    );
    // (The RIB's choice follows BGP's withdrawal of the path by a moment.)
    assert!(
        wait_until(Duration::from_secs(5), || active_via(&net, "10.0.3.2")),
        "{}",
        route(&net)
    );
    // The link returns: the session comes back by itself, and the traffic with it.
    let (ok, out) = net.run(&h2, &["ip", "link", "set", "eth0", "up"], 5);
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(60), || active_via(&net, "10.0.2.2")),
        "{}\n{}",
        route(&net),
        net.cli("show bgp summary").1
    );
    assert!(
        wait_until(Duration::from_secs(10), || net
            .lab
            .ping(&h1, "198.51.100.1")),
        "ping through h2 again"
    );
}

/// Savin's AS, and an export policy for h1's network alone.
const LAN_EXPORT: &str = "configure; \
    set routing-options router-id 10.0.1.1; \
    set routing-options autonomous-system 65001; \
    set policy-options policy-statement lan term l from protocol direct; \
    set policy-options policy-statement lan term l from route-filter 10.0.1.0/24 exact; \
    set policy-options policy-statement lan term l then accept; \
    commit";

#[test]
fn graceful_restart_keeps_forwarding_while_bird_restarts() {
    const T: &str = "graceful_restart_keeps_forwarding_while_bird_restarts";
    if !have(T, &["bird", "birdc", "ping"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2) = (net.h1.clone(), net.h2.clone());
    let dir = announcing_bird_with(
        &mut net,
        &h2,
        "bird-gr",
        "10.0.2.2",
        "10.0.2.1",
        65002,
        0,
        "graceful restart on;",
    );
    let (ok, out) = net.cli(LAN_EXPORT);
    assert!(ok, "{out}");
    let (ok, out) = net.cli(
        "configure; \
         set protocols bgp group up type external; \
         set protocols bgp group up export lan; \
         set protocols bgp group up graceful-restart; \
         set protocols bgp group up neighbor 10.0.2.2 peer-as 65002; \
         commit",
    );
    assert!(ok, "{out}");
    let has_route = |net: &Net| net.cli("show route 198.51.100.1").1.contains("*[BGP");
    assert!(
        wait_until(Duration::from_secs(30), || has_route(&net)),
        "{}",
        net.cli("show bgp summary").1
    );
    assert!(wait_until(Duration::from_secs(10), || net
        .lab
        .ping(&h1, "198.51.100.1")));
    // BIRD restarts gracefully: it goes away without a NOTIFICATION, its kernel routes stay.
    let sock = dir.join("bird.ctl").to_string_lossy().to_string();
    let (_, out) = net.run(&h2, &["birdc", "-s", &sock, "graceful", "restart"], 10);
    assert!(out.contains("Graceful restart"), "{out}");
    assert!(
        wait_until(Duration::from_secs(10), || !net
            .cli("show bgp neighbor 10.0.2.2")
            .1
            .lines()
            .any(|l| l.contains("Type:") && l.contains("Established"))),
        "the session ended"
    );
    // Savin helps: the route stays and traffic flows while BIRD is away.
    assert!(has_route(&net), "{}", net.cli("show route 198.51.100.1").1);
    assert!(net.lab.ping(&h1, "198.51.100.1"), "forwarding goes on");
    // BIRD comes back, recovering (-R): the session returns and the route with it.
    spawn_bird_with(&mut net, &h2, &dir, &["-R"]);
    assert!(
        wait_until(Duration::from_secs(60), || net
            .cli("show bgp summary")
            .1
            .contains("Establ")),
        "{}\n{}",
        net.cli("show bgp summary").1,
        net.log()
    );
    assert!(
        wait_until(Duration::from_secs(10), || has_route(&net)),
        "{}",
        net.cli("show route 198.51.100.1").1
    );
    assert!(wait_until(Duration::from_secs(10), || net
        .lab
        .ping(&h1, "198.51.100.1")));
    assert!(
        net.log().contains("graceful restart"),
        "the helper said so in its log"
    );
}

/// An iBGP route's next hop is resolved through the RIB, and again whenever the routes it
/// resolves through change: BIRD on h2 (AS 65001, iBGP) announces 198.51.100.0/24 with the
/// third-party next hop 10.0.9.1, which only a static route makes reachable. The route is
/// hidden without it, forwards through h2 with it, moves to h3 when the static route does,
/// and is hidden again when the static route goes, each without the session noticing.
#[test]
fn an_ibgp_next_hop_follows_the_static_route_it_resolves_through() {
    const T: &str = "an_ibgp_next_hop_follows_the_static_route_it_resolves_through";
    if !have(T, &["bird", "birdc", "ping"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (h1, h2, h3) = (net.h1.clone(), net.h2.clone(), net.h3.clone());
    let dir = net.state.path().join("bird-ibgp");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bird.conf"),
        "router id 10.0.2.2;
log stderr all;
protocol device { }
protocol static { ipv4; route 198.51.100.0/24 unreachable; }
protocol bgp savin {
    local 10.0.2.2 as 65001;
    neighbor 10.0.2.1 as 65001;
    hold time 6;
    connect retry time 2;
    ipv4 { import none; export filter { if source != RTS_STATIC then reject; bgp_next_hop = 10.0.9.1; accept; }; };
}
",
    )
    .unwrap();
    let (ok, out) = net.run(
        &h2,
        &["ip", "addr", "add", "198.51.100.1/32", "dev", "lo"],
        5,
    );
    assert!(ok, "{out}");
    let bird = dir.join("bird.ctl");
    spawn_bird(&mut net, &h2, &dir);
    let (ok, out) = net.cli(
        "configure; \
         set routing-options router-id 10.0.1.1; \
         set routing-options autonomous-system 65001; \
         set protocols bgp group ibgp type internal; \
         set protocols bgp group ibgp neighbor 10.0.2.2; \
         commit",
    );
    assert!(ok, "{out}");
    let route = |net: &Net| net.cli("show route 198.51.100.0/24").1;
    let received = |net: &Net| {
        net.cli("show route receive-protocol bgp 10.0.2.2 hidden")
            .1
            .contains("198.51.100.0/24")
    };
    assert!(
        wait_until(Duration::from_secs(30), || received(&net)),
        "{}\n{}",
        net.cli("show bgp summary").1,
        birdc(&net, &h2, &bird, "show protocols all savin")
    );
    // Nothing reaches 10.0.9.1 yet: the route is hidden, and traffic has no way.
    assert!(!route(&net).contains("BGP"), "{}", route(&net));
    assert!(!net.lab.ping(&h1, "198.51.100.1"));

    // A static route to the next hop's network through h2: the BGP route follows it.
    let (ok, out) = net
        .cli("configure; set routing-options static route 10.0.9.0/24 next-hop 10.0.2.2; commit");
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(5), || route(&net)
            .contains("to 10.0.2.2 via eth2.0")
            && route(&net).contains("*[BGP/170]")),
        "{}",
        route(&net)
    );
    let out = net.cli("show route 198.51.100.0/24 detail").1;
    assert!(out.contains("Protocol next hop: 10.0.9.1"), "{out}");
    assert!(
        wait_until(Duration::from_secs(10), || net
            .lab
            .ping(&h1, "198.51.100.1")),
        "ping through h2: {}",
        route(&net)
    );

    // The network moves to h3, and the static route with it: the BGP route (still from h2,
    // the session untouched) now leaves through h3, and only h3 answers.
    let (ok, out) = net.run(
        &h2,
        &["ip", "addr", "del", "198.51.100.1/32", "dev", "lo"],
        5,
    );
    assert!(ok, "{out}");
    let (ok, out) = net.run(
        &h3,
        &["ip", "addr", "add", "198.51.100.1/32", "dev", "lo"],
        5,
    );
    assert!(ok, "{out}");
    let (ok, out) = net.cli(
        "configure; \
         delete routing-options static route 10.0.9.0/24; \
         set routing-options static route 10.0.9.0/24 next-hop 10.0.3.2; \
         commit",
    );
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(5), || route(&net)
            .contains("to 10.0.3.2 via eth3.0")),
        "{}",
        route(&net)
    );
    assert!(
        wait_until(Duration::from_secs(10), || net
            .lab
            .ping(&h1, "198.51.100.1")),
        "ping through h3: {}",
        route(&net)
    );

    // The static route goes: the BGP route is hidden again, and the traffic stops.
    let (ok, out) = net.cli("configure; delete routing-options static route 10.0.9.0/24; commit");
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(5), || !route(&net).contains("BGP")),
        "{}",
        route(&net)
    );
    assert!(!net.lab.ping(&h1, "198.51.100.1"));
    let (_, out) = net.cli("show bgp summary");
    assert!(out.contains("Establ"), "the session never noticed: {out}");
    let (_, out) = net.cli("show bgp neighbor 10.0.2.2");
    assert!(out.contains("Number of flaps: 0"), "{out}");
}
