//! SSH and NETCONF with real clients: ncclient (over paramiko) runs the checks a Junos
//! automation script relies on (`netconf/ncclient_checks.py`), and OpenSSH's `ssh` logs in
//! with a key, runs a command, and speaks NETCONF on the subsystem; a wrong key is refused.
//! An Ansible playbook rolls five routers out with commit confirmed; one broken part stops it
//! and the others roll back by themselves; the good rollout carries traffic h1 -> h2.
//! Ansible (junipernetworks.junos) configures over NETCONF (lines and src, twice: the second
//! run changes nothing) and runs commands over the CLI (network_cli).
//! With the data plane: NAPALM's getters and PyEZ's op tables (EthPortTable too) read
//! interfaces, routes, ARP.
//! NAPALM's junos driver runs its configuration workflow (`netconf/napalm_checks.py`).
//! The CLI over SSH through a terminal (`netconf/cli_checks.py`, paramiko): prompt, TAB, `?`,
//! configuration mode and commit, a read-only user kept out.
//! Hostile and careless clients (`netconf/hostile_checks.py`, paramiko by hand): malformed XML,
//! a DOCTYPE, a 50 MB request, kill-session, a client gone mid-commit.
//! The daemon runs in its own network namespace, so its ports 22 and 830 are its own.

mod labnet;

use std::path::Path;
use std::time::Duration;

use labnet::{cli, have, SAVIN};
use savin_lab::{wait_until, Lab, Ns};

const PASSWORD: &str = "s3cret pass";

fn python_module(test: &str, module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why =
            format!("{test}: python3 module {module} is missing (scripts/deps.sh installs it)");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("SKIP {why}");
    }
    ok
}

fn crypt(password: &str) -> String {
    let out = std::process::Command::new("openssl")
        .args(["passwd", "-6", password])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn keygen(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::read_to_string(path.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

/// The daemon in `ns` with a two-second `commit confirmed` minute: the management plane
/// alone, or with the data plane on `eth1` as ge-0/0/0.
fn daemon(lab: &mut Lab, ns: &Ns, dir: &Path, dataplane: bool) -> std::path::PathBuf {
    let sock = dir.join("savin.sock");
    let log = std::fs::File::create(dir.join("daemon.log")).unwrap();
    let d = dir.to_string_lossy().to_string();
    let plane: &[&str] = if dataplane {
        &["--interface-map", "ge-0/0/0=eth1"]
    } else {
        &["--dataplane", "none"]
    };
    let mut args = vec![SAVIN, "daemon", "--minute-ms", "2000", "--state-dir", &d];
    args.extend_from_slice(plane);
    lab.spawn(ns, &args, None, Some(log)).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || sock.exists()),
        "the daemon did not start"
    );
    sock
}

fn ssh_args(key: &Path, port: &str) -> Vec<String> {
    [
        "-i",
        &key.to_string_lossy(),
        "-p",
        port,
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "LogLevel=ERROR",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A box in its own namespace: the daemon, SSH and NETCONF on, host-name r1, users alice
/// (super-user) and bob (read-only) with [`PASSWORD`], carol (super-user) with a key.
struct Box_ {
    lab: Lab,
    ns: Ns,
    state: tempfile::TempDir,
    sock: std::path::PathBuf,
    keys: tempfile::TempDir,
}

impl Box_ {
    fn new(test: &str, module: &str) -> Option<Box_> {
        Box_::build(test, module, None)
    }

    /// With the data plane: `peer` on ge-0/0/0 (eth1, 192.0.2.0/24), a static route through
    /// it, and pings allowed in, so interfaces, routes and ARP have something to show.
    fn with_dataplane(test: &str, module: &str) -> Option<(Box_, Ns)> {
        let mut peer = None;
        let b = Box_::build(test, module, Some(&mut peer))?;
        Some((b, peer.expect("peer namespace")))
    }

    fn build(test: &str, module: &str, peer: Option<&mut Option<Ns>>) -> Option<Box_> {
        if !have(test, &["python3", "openssl", "ssh", "ssh-keygen"]) || !python_module(test, module)
        {
            return None;
        }
        let mut lab = Lab::require(test)?;
        let ns = lab.netns("r").unwrap();
        let dataplane = peer.is_some();
        if let Some(peer) = peer {
            let p = lab.netns("peer").unwrap();
            lab.veth(&ns, "eth1", &p, "eth1").unwrap();
            lab.addr(&p, "eth1", "192.0.2.2/24").unwrap();
            *peer = Some(p);
        }
        let state = tempfile::tempdir().unwrap();
        let sock = daemon(&mut lab, &ns, state.path(), dataplane);
        let keys = tempfile::tempdir().unwrap();
        let carol = keygen(keys.path(), "carol");
        let _ = keygen(keys.path(), "stranger");
        let hash = crypt(PASSWORD);
        let (ok, out) = cli(
            &sock,
            &format!(
                "configure; set system host-name r1; set system services ssh; \
                 set system services netconf ssh; \
                 set system login user alice class super-user authentication encrypted-password \"{hash}\"; \
                 set system login user bob class read-only authentication encrypted-password \"{hash}\"; \
                 set system login user carol class super-user authentication ssh-ed25519 \"{carol}\"; \
                 commit"
            ),
        );
        assert!(ok, "{out}");
        if dataplane {
            let (ok, out) = cli(
                &sock,
                "configure; set interfaces ge-0/0/0 unit 0 family inet address 192.0.2.1/24; \
                 set interfaces ge-0/0/0 description \"to the peer\"; \
                 set interfaces ge-0/0/0 unit 0 description \"peer LAN\"; \
                 set routing-options static route 198.51.100.0/24 next-hop 192.0.2.2; \
                 set security zones security-zone trust interfaces ge-0/0/0.0 \
                 host-inbound-traffic system-services ping; commit",
            );
            assert!(ok, "{out}");
        }
        Some(Box_ {
            lab,
            ns,
            state,
            sock,
            keys,
        })
    }

    /// Runs a client script in the namespace; its checks must all pass.
    fn script(&self, name: &str, done: &str) {
        self.script_on(name, "830", done)
    }

    fn script_on(&self, name: &str, port: &str, done: &str) {
        self.script_with(name, port, &[], done)
    }

    fn script_with(&self, name: &str, port: &str, extra: &[&str], done: &str) {
        let script = format!("{}/tests/netconf/{name}", env!("CARGO_MANIFEST_DIR"));
        let out = self
            .lab
            .exec(
                &self.ns,
                &[&["python3", &script, "127.0.0.1", port, PASSWORD], extra].concat(),
                Duration::from_secs(180),
            )
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && text.contains(done),
            "{text}\n--- daemon log ---\n{}",
            std::fs::read_to_string(self.state.path().join("daemon.log")).unwrap_or_default()
        );
    }
}

#[test]
fn pyez_manages_savin_as_it_manages_junos() {
    let Some(b) = Box_::new("pyez_manages_savin_as_it_manages_junos", "jnpr.junos") else {
        return;
    };
    // The serial number the box made at its first start, which its facts must carry.
    let serial = std::fs::read_to_string(b.state.path().join("serial-number")).unwrap();
    b.script_with(
        "pyez_checks.py",
        "830",
        &[serial.trim()],
        "all PyEZ checks passed",
    );
}

#[test]
fn ssh_lands_in_the_cli_with_its_prompt_completion_and_classes() {
    let test = "ssh_lands_in_the_cli_with_its_prompt_completion_and_classes";
    let Some(b) = Box_::new(test, "paramiko") else {
        return;
    };
    b.script_on("cli_checks.py", "22", "all CLI checks passed");
}

#[test]
fn napalm_getters_and_pyez_tables_read_interfaces_routes_and_arp() {
    let test = "napalm_getters_and_pyez_tables_read_interfaces_routes_and_arp";
    let Some((b, peer)) = Box_::with_dataplane(test, "napalm") else {
        return;
    };
    // The peer's address in Savin's ARP table: it pings the box.
    assert!(
        wait_until(Duration::from_secs(20), || b.lab.ping(&peer, "192.0.2.1")),
        "the box answers ping on ge-0/0/0"
    );
    let out = b
        .lab
        .exec(
            &peer,
            &["cat", "/sys/class/net/eth1/address"],
            Duration::from_secs(5),
        )
        .unwrap();
    let mac = String::from_utf8_lossy(&out.stdout).trim().to_string();
    b.script_with(
        "getters_checks.py",
        "830",
        &["192.0.2.2", &mac],
        "all getter checks passed",
    );
    // The CLI shows the descriptions NAPALM read, and takes patterns as EthPortTable does.
    let (ok, out) = cli(&b.sock, "show interfaces descriptions");
    assert!(
        ok && out
            .lines()
            .any(|l| l.starts_with("ge-0/0/0 ") && l.ends_with("up   to the peer"))
            && out
                .lines()
                .any(|l| l.starts_with("ge-0/0/0.0 ") && l.ends_with("peer LAN")),
        "{out}"
    );
    let (ok, out) = cli(&b.sock, "show interfaces ge-* terse");
    assert!(ok && out.contains("ge-0/0/0.0"), "{out}");
    let (ok, out) = cli(&b.sock, "show interfaces xe-* terse");
    assert!(
        ok && !out.contains("ge-0/0/0"),
        "a pattern that matches nothing: {out}"
    );
    let (ok, out) = cli(&b.sock, "show interfaces xe-0/0/0");
    assert!(!ok && out.contains("device xe-0/0/0 not found"), "{out}");
    // The CLI shows the same lifetimes NAPALM read, in Junos's TTE column.
    let (ok, out) = cli(&b.sock, "show arp expiration-time");
    let row = out.lines().find(|l| l.contains("192.0.2.2")).unwrap_or("");
    let tte: Option<u64> = row.split_whitespace().last().and_then(|t| t.parse().ok());
    assert!(
        ok && out.lines().next().is_some_and(|h| h.ends_with("TTE"))
            && tte.is_some_and(|t| t > 0 && t <= 1200),
        "{out}"
    );
    let (_, plain) = cli(&b.sock, "show arp");
    assert!(
        !plain.contains("TTE") && !plain.lines().any(|l| l.ends_with(' ')),
        "{plain}"
    );

    // From the network, through the data plane: host-inbound-traffic decides. The zone
    // allows ping only, so NETCONF from the peer does not reach the box ...
    let key = b.keys.path().join("carol");
    let netconf_from_peer = |port: &str| {
        let mut args = ssh_args(&key, port);
        args.extend(
            ["-o", "ConnectTimeout=3", "-s", "carol@192.0.2.1", "netconf"].map(String::from),
        );
        let hello = r#"<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]><rpc message-id="p1"><get-software-information/></rpc>]]>]]><rpc message-id="p2"><close-session/></rpc>]]>]]>"#;
        let mut sh = format!("printf '%s' '{hello}' | timeout 20 ssh");
        for a in &args {
            sh.push_str(&format!(" '{a}'"));
        }
        let out = b
            .lab
            .exec(&peer, &["sh", "-c", &sh], Duration::from_secs(30))
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("<host-name>r1</host-name>")
    };
    assert!(
        !netconf_from_peer("830"),
        "NETCONF is not in the zone's host-inbound services"
    );
    // ... until it is.
    let (ok, out) = cli(
        &b.sock,
        "configure; set security zones security-zone trust interfaces ge-0/0/0.0 \
         host-inbound-traffic system-services netconf; commit",
    );
    assert!(ok, "{out}");
    assert!(
        netconf_from_peer("830"),
        "NETCONF from the network once host-inbound allows it"
    );
    // The service moves to another port: host-inbound `netconf` follows it.
    let (ok, out) = cli(
        &b.sock,
        "configure; set system services netconf ssh port 8300; commit",
    );
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(20), || netconf_from_peer("8300")),
        "NETCONF on its configured port through host-inbound netconf"
    );
}

#[test]
fn napalm_runs_its_configuration_workflow_on_savin() {
    let Some(b) = Box_::new("napalm_runs_its_configuration_workflow_on_savin", "napalm") else {
        return;
    };
    b.script("napalm_checks.py", "all NAPALM checks passed");
}

/// Runs a playbook of `tests/netconf/ansible` against the box with Ansible's JSON output;
/// returns it parsed.
fn playbook(b: &Box_, play: &str, connection: &str, port: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inventory.ini");
    std::fs::write(
        &inv,
        format!(
            "[savin]\nr1 ansible_host=127.0.0.1\n\n[savin:vars]\nansible_user=alice\n\
             ansible_password=\"{PASSWORD}\"\nansible_network_os=junipernetworks.junos.junos\n\
             ansible_connection={connection}\nansible_port={port}\n"
        ),
    )
    .unwrap();
    let home = dir.path().to_string_lossy().to_string();
    let book = format!(
        "{}/tests/netconf/ansible/{play}",
        env!("CARGO_MANIFEST_DIR")
    );
    let cmd = format!(
        "ANSIBLE_STDOUT_CALLBACK=json ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_HOME={home} \
         ANSIBLE_LOCAL_TEMP={home}/tmp ANSIBLE_PERSISTENT_CONTROL_PATH_DIR={home}/pc \
         ansible-playbook -i {} {book}",
        inv.display()
    );
    let out = b
        .lab
        .exec(&b.ns, &["sh", "-c", &cmd], Duration::from_secs(300))
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{play}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{play}: {e}: {text}"))
}

/// Whether each task of the play changed something on r1, by task name.
fn changed(run: &serde_json::Value) -> Vec<(String, bool)> {
    run["plays"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["task"]["name"].as_str().unwrap_or("").to_string(),
                t["hosts"]["r1"]["changed"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[test]
fn ansible_configures_savin_over_netconf_and_runs_commands_over_the_cli() {
    let test = "ansible_configures_savin_over_netconf_and_runs_commands_over_the_cli";
    if !have(test, &["ansible-playbook"]) {
        return;
    }
    let Some(b) = Box_::new(test, "jxmlease") else {
        return;
    };
    let first = playbook(&b, "netconf.yml", "ansible.netcommon.netconf", "830");
    let tasks = &first["plays"][0]["tasks"];
    assert_eq!(
        tasks[0]["hosts"]["r1"]["ansible_facts"]["ansible_net_hostname"], "r1",
        "{first}"
    );
    assert!(
        tasks[1]["hosts"]["r1"]["stdout"][0]
            .as_str()
            .is_some_and(|s| s.contains("Hostname: r1")),
        "{first}"
    );
    assert_eq!(
        changed(&first),
        [
            ("facts".to_string(), false),
            ("command".to_string(), false),
            ("config lines".to_string(), true),
            ("config src".to_string(), true),
        ],
        "{first}"
    );
    let (_, conf) = cli(&b.sock, "show configuration");
    for want in [
        "domain-name ansible.example;",
        "time-zone Europe/Paris;",
        "route 198.51.100.0/24 discard;",
        "route 203.0.113.0/24 discard;",
    ] {
        assert!(conf.contains(want), "{want} in\n{conf}");
    }
    let (_, history) = cli(&b.sock, "show system commit");
    assert!(
        history.contains("by alice via netconf") && history.contains("from ansible (src)"),
        "{history}"
    );
    // Run again: nothing left to change.
    let second = playbook(&b, "netconf.yml", "ansible.netcommon.netconf", "830");
    assert!(
        changed(&second).iter().all(|(_, c)| !c),
        "the second run changes nothing: {second}"
    );
    // network_cli: the same user in the CLI over SSH.
    let run = playbook(&b, "cli.yml", "ansible.netcommon.network_cli", "22");
    let out = &run["plays"][0]["tasks"][0]["hosts"]["r1"]["stdout"];
    assert!(
        out[0].as_str().is_some_and(|s| s.contains("Hostname: r1"))
            && out[1].as_str().is_some_and(|s| s.contains("via netconf")),
        "{run}"
    );
}

#[test]
fn hostile_and_careless_netconf_clients_get_clear_errors_and_break_nothing() {
    let test = "hostile_and_careless_netconf_clients_get_clear_errors_and_break_nothing";
    let Some(b) = Box_::new(test, "ncclient") else {
        return;
    };
    b.script("hostile_checks.py", "all hostile-client checks passed");
    // The daemon served on: the CLI still answers.
    let (ok, out) = cli(&b.sock, "show system commit");
    assert!(ok, "{out}");
    // A flood of connections meets the listener's limits (a new port: a new listener, whose
    // minute has not seen the connections above).
    let (ok, out) = cli(
        &b.sock,
        "configure; set system services netconf ssh port 8300 connection-limit 2 rate-limit 4; \
         commit",
    );
    assert!(ok, "{out}");
    b.script_with(
        "limits_checks.py",
        "8300",
        &["limited"],
        "all limit checks passed",
    );
    let (ok, out) = cli(
        &b.sock,
        "configure; set system services netconf ssh rate-limit 250; commit",
    );
    assert!(ok, "{out}");
    b.script_with(
        "limits_checks.py",
        "8300",
        &["raised"],
        "all limit checks passed",
    );
}

#[test]
fn ncclient_and_openssh_manage_savin_as_they_manage_junos() {
    let Some(mut b) = Box_::new(
        "ncclient_and_openssh_manage_savin_as_they_manage_junos",
        "ncclient",
    ) else {
        return;
    };
    b.script("ncclient_checks.py", "all ncclient checks passed");
    let Box_ {
        ref mut lab,
        ref ns,
        ref state,
        ref sock,
        ref keys,
    } = b;
    // OpenSSH with a key: a command runs as the CLI runs it, on port 22.
    let key = keys.path().join("carol");
    let mut args = ssh_args(&key, "22");
    args.extend([
        "carol@127.0.0.1".to_string(),
        "show system commit".to_string(),
    ]);
    let mut cmd = vec!["ssh"];
    cmd.extend(args.iter().map(String::as_str));
    let out = lab.exec(ns, &cmd, Duration::from_secs(30)).unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && text.contains("by alice via netconf"),
        "{out:?}"
    );

    // ... and NETCONF on the subsystem of port 830, the hello and an RPC on its stdin.
    let mut args = ssh_args(&key, "830");
    args.extend(["-s".into(), "carol@127.0.0.1".into(), "netconf".into()]);
    let input = r#"<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>]]>]]><rpc message-id="m1"><get-software-information/></rpc>]]>]]><rpc message-id="m2"><close-session/></rpc>]]>]]>"#;
    let mut sh = format!("printf '%s' '{input}' | ssh");
    for a in &args {
        sh.push_str(&format!(" '{a}'"));
    }
    let out = lab
        .exec(ns, &["sh", "-c", &sh], Duration::from_secs(30))
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("<capability>http://xml.juniper.net/netconf/junos/1.0</capability>")
            && text.contains("message-id=\"m1\"")
            && text.contains("<host-name>r1</host-name>")
            && text.contains("message-id=\"m2\"")
            && text.contains("<ok/>"),
        "{out:?}"
    );

    // A key nobody configured is refused.
    let mut args = ssh_args(&keys.path().join("stranger"), "22");
    args.extend(["carol@127.0.0.1".to_string(), "show version".to_string()]);
    let mut cmd = vec!["ssh"];
    cmd.extend(args.iter().map(String::as_str));
    let out = lab.exec(ns, &cmd, Duration::from_secs(30)).unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{out:?}"
    );
    // A port someone else holds: the commit is refused, naming it, and nothing changes.
    lab.spawn(
        ns,
        &[
            "python3",
            "-c",
            "import socket,time; s=socket.socket(socket.AF_INET6); s.bind(('::',2022)); s.listen(); time.sleep(120)",
        ],
        None,
        None,
    )
    .unwrap();
    let taken = || {
        lab.exec(
            ns,
            &["ss", "-Htln", "sport = :2022"],
            Duration::from_secs(5),
        )
        .is_ok_and(|o| !o.stdout.is_empty())
    };
    assert!(wait_until(Duration::from_secs(10), taken));
    let commits = || {
        let (_, out) = cli(sock, "show system commit");
        out.lines().filter(|l| l.contains(" by ")).count()
    };
    let before = commits();
    let (ok, out) = cli(sock, "configure; set system services ssh port 2022; commit");
    assert!(
        !ok && out.contains("system services ssh") && out.contains("port 2022"),
        "{out}"
    );
    assert_eq!(
        commits(),
        before,
        "the refused commit is not in the history"
    );
    let mut args = ssh_args(&key, "22");
    args.extend(["carol@127.0.0.1".to_string(), "show version".to_string()]);
    let mut cmd = vec!["ssh"];
    cmd.extend(args.iter().map(String::as_str));
    let out = lab.exec(ns, &cmd, Duration::from_secs(30)).unwrap();
    assert!(out.status.success(), "port 22 still serves: {out:?}");

    let log = std::fs::read_to_string(state.path().join("daemon.log")).unwrap_or_default();
    assert!(
        log.contains("SSH login refused") && log.contains("user=carol"),
        "refusals are logged: {log}"
    );
}

/// The lines router `k` (1..=5) of the fleet gets: its two links and a route each way; a
/// broken address on router 5 when `break_last`.
fn fleet_lines(k: u32, break_last: bool) -> Vec<String> {
    let mut v = vec![
        format!("set interfaces eth1 unit 0 family inet address 10.0.{k}.2/24"),
        format!(
            "set interfaces eth2 unit 0 family inet address 10.0.{}.1/24",
            k + 1
        ),
        format!(
            "set routing-options static route 10.0.6.0/24 next-hop 10.0.{}.2",
            k + 1
        ),
        format!("set routing-options static route 10.0.1.0/24 next-hop 10.0.{k}.1"),
        "set security policies default-policy permit-all".to_string(),
        "set security zones security-zone trust interfaces eth1.0".to_string(),
        "set security zones security-zone trust interfaces eth2.0".to_string(),
    ];
    if k == 5 {
        // The last hop's routes point at hosts, not routers.
        v.retain(|l| !l.contains("10.0.6.0/24"));
        if break_last {
            v.push("set interfaces eth2 unit 0 family inet address 10.0.6.1/33".into());
        }
    }
    if k == 1 {
        v.retain(|l| !l.contains("10.0.1.0/24 next-hop"));
    }
    v
}

#[test]
fn an_ansible_playbook_rolls_out_five_routers_with_commit_confirmed() {
    let test = "an_ansible_playbook_rolls_out_five_routers_with_commit_confirmed";
    if !have(test, &["ansible-playbook", "python3", "openssl"]) || !python_module(test, "jxmlease")
    {
        return;
    }
    let Some(mut lab) = Lab::require(test) else {
        return;
    };
    // h1 - r1 - r2 - r3 - r4 - r5 - h2 on 10.0.1.0/24 .. 10.0.6.0/24; each router's
    // management link to `ctl` (where Ansible runs) on 172.31.K.0/30.
    let h1 = lab.netns("h1").unwrap();
    let h2 = lab.netns("h2").unwrap();
    let ctl = lab.netns("ctl").unwrap();
    let routers: Vec<Ns> = (1..=5)
        .map(|k| lab.netns(&format!("r{k}")).unwrap())
        .collect();
    lab.veth(&h1, "eth0", &routers[0], "eth1").unwrap();
    for k in 0..4 {
        lab.veth(&routers[k], "eth2", &routers[k + 1], "eth1")
            .unwrap();
    }
    lab.veth(&routers[4], "eth2", &h2, "eth0").unwrap();
    lab.addr(&h1, "eth0", "10.0.1.1/24").unwrap();
    lab.route(&h1, &["default", "via", "10.0.1.2"]).unwrap();
    lab.addr(&h2, "eth0", "10.0.6.2/24").unwrap();
    lab.route(&h2, &["default", "via", "10.0.6.1"]).unwrap();
    let hash = crypt(PASSWORD);
    let mut states = Vec::new();
    let mut inventory = String::from("[fleet]\n");
    for (i, r) in routers.iter().enumerate() {
        let k = i + 1;
        lab.veth(&ctl, &format!("m{k}"), r, "mgmt0").unwrap();
        lab.addr(&ctl, &format!("m{k}"), &format!("172.31.{k}.1/30"))
            .unwrap();
        lab.addr(r, "mgmt0", &format!("172.31.{k}.2/30")).unwrap();
        let state = tempfile::tempdir().unwrap();
        let sock = state.path().join("savin.sock");
        let log = std::fs::File::create(state.path().join("daemon.log")).unwrap();
        let d = state.path().to_string_lossy().to_string();
        // A 15-second `commit confirmed` minute: long enough for the play to confirm.
        lab.spawn(
            r,
            &[SAVIN, "daemon", "--minute-ms", "15000", "--state-dir", &d],
            None,
            Some(log),
        )
        .unwrap();
        assert!(wait_until(Duration::from_secs(10), || sock.exists()));
        let (ok, out) = cli(
            &sock,
            &format!(
                "configure; set system host-name r{k}; set system services netconf ssh; \
                 set system login user alice class super-user authentication encrypted-password \"{hash}\"; \
                 commit"
            ),
        );
        assert!(ok, "r{k}: {out}");
        inventory.push_str(&format!("r{k} ansible_host=172.31.{k}.2\n"));
        states.push((state, sock));
    }
    inventory.push_str(&format!(
        "\n[fleet:vars]\nansible_user=alice\nansible_password=\"{PASSWORD}\"\n\
         ansible_network_os=junipernetworks.junos.junos\nansible_connection=ansible.netcommon.netconf\n\
         ansible_port=830\n"
    ));
    let dir = tempfile::tempdir().unwrap();
    let run = |break_last: bool| {
        let vars = dir.path().join("host_vars");
        std::fs::create_dir_all(&vars).unwrap();
        for k in 1..=5u32 {
            let lines: Vec<String> = fleet_lines(k, break_last)
                .iter()
                .map(|l| format!("  - \"{l}\"\n"))
                .collect();
            std::fs::write(
                vars.join(format!("r{k}.yml")),
                format!("lines:\n{}", lines.concat()),
            )
            .unwrap();
        }
        let inv = dir.path().join("inventory.ini");
        std::fs::write(&inv, &inventory).unwrap();
        let home = dir.path().to_string_lossy().to_string();
        let book = format!(
            "{}/tests/netconf/ansible/fleet.yml",
            env!("CARGO_MANIFEST_DIR")
        );
        let cmd = format!(
            "ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_HOME={home} ANSIBLE_LOCAL_TEMP={home}/tmp \
             ANSIBLE_PERSISTENT_CONTROL_PATH_DIR={home}/pc ANSIBLE_FORKS=5 \
             ansible-playbook -i {} {book}",
            inv.display()
        );
        lab.exec(&ctl, &["sh", "-c", &cmd], Duration::from_secs(300))
            .unwrap()
    };
    let committed = |k: usize| cli(&states[k].1, "show configuration").1;

    // A broken part on r5: the play stops before confirming, and the four commits that went
    // in roll back by themselves.
    let out = run(true);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        !committed(4).contains("10.0.6.1"),
        "r5 took nothing: {}",
        committed(4)
    );
    assert!(
        wait_until(Duration::from_secs(60), || (0..4).all(|k| !committed(k)
            .contains("10.0.1")
            && !committed(k).contains("10.0.2."))),
        "the unconfirmed routers rolled back: {}",
        committed(0)
    );
    assert!(!lab.ping(&h1, "10.0.6.2"));
    for (k, (_, sock)) in states.iter().enumerate().take(4) {
        let (_, hist) = cli(sock, "show system commit");
        assert!(
            hist.contains("fleet rollout") && hist.contains("via confirm-timeout"),
            "r{}: committed, then rolled back: {hist}",
            k + 1
        );
    }

    // The good rollout: all five commit confirmed, then confirmed; traffic crosses them.
    let out = run(false);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_until(Duration::from_secs(20), || lab.ping(&h1, "10.0.6.2")),
        "h1 reaches h2 across five routers"
    );
    // Past the confirm timeout: still there (confirmed).
    std::thread::sleep(Duration::from_secs(20));
    assert!(lab.ping(&h1, "10.0.6.2"), "the rollout was confirmed");
    let (_, hist) = cli(&states[2].1, "show system commit");
    assert!(
        hist.contains("fleet rollout") && hist.contains("via netconf"),
        "{hist}"
    );
}
