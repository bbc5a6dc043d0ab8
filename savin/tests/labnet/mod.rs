//! The lab network of the routing tests: three hosts around Savin, and helpers to drive
//! it (the CLI, tools on the hosts, tshark captures).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use savin_lab::{wait_until, Lab, Ns};

pub const SAVIN: &str = env!("CARGO_BIN_EXE_savin");

/// Zones trust (eth1) and untrust (eth2) and one policy permitting everything from trust to
/// untrust: `set` commands to put in a commit.
pub const PERMIT_TRUST_TO_UNTRUST: &str = "\
    set security zones security-zone trust interfaces eth1.0; \
    set security zones security-zone untrust interfaces eth2.0; \
    set security policies from-zone trust to-zone untrust policy all match source-address any; \
    set security policies from-zone trust to-zone untrust policy all match destination-address any; \
    set security policies from-zone trust to-zone untrust policy all match application any; \
    set security policies from-zone trust to-zone untrust policy all then permit";

pub fn cli(sock: &Path, cmds: &str) -> (bool, String) {
    let out = std::process::Command::new(SAVIN)
        .args(["cli", "--socket"])
        .arg(sock)
        .args(["-c", cmds])
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Starts `savin daemon` in `ns` with a fresh state directory (its log in `daemon.log`
/// there); returns the directory and the socket, once the socket exists.
pub fn start_daemon(lab: &mut Lab, ns: &Ns) -> (tempfile::TempDir, PathBuf) {
    let state = tempfile::tempdir().unwrap();
    let sock = state.path().join("savin.sock");
    run_daemon(lab, ns, state.path());
    (state, sock)
}

/// Starts `savin daemon` in `ns` on the state directory `dir` (its log appended to
/// `daemon.log` there), once its socket answers; returns its PID.
pub fn run_daemon(lab: &mut Lab, ns: &Ns, dir: &Path) -> u32 {
    let sock = dir.join("savin.sock");
    let _ = std::fs::remove_file(&sock);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("daemon.log"))
        .unwrap();
    let d = dir.to_string_lossy().to_string();
    let pid = lab
        .spawn(ns, &[SAVIN, "daemon", "--state-dir", &d], None, Some(log))
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || sock.exists()),
        "the daemon did not start"
    );
    pid
}

/// Whether the tools a test needs are installed; without them it skips, unless CI=true.
pub fn have(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            !std::process::Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("{test}: missing tools {missing:?} (scripts/deps.sh installs them)");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{why}");
    }
    eprintln!("SKIP {why}");
    false
}

/// h1 (10.0.1.2) - eth1 [Savin] eth2 (MTU 1280) - h2 (10.0.2.2), and eth3 - h3 (10.0.3.2),
/// with the daemon running in the router namespace.
pub struct Net {
    pub lab: Lab,
    pub r: Ns,
    pub h1: Ns,
    pub h2: Ns,
    pub h3: Ns,
    pub state: tempfile::TempDir,
    pub sock: PathBuf,
    /// The daemon's PID (for restarts).
    pub daemon: u32,
}

impl Net {
    pub fn new(test: &str) -> Option<Net> {
        let mut lab = Lab::require(test)?;
        let r = lab.netns("router").unwrap();
        let h1 = lab.netns("h1").unwrap();
        let h2 = lab.netns("h2").unwrap();
        let h3 = lab.netns("h3").unwrap();
        lab.veth(&r, "eth1", &h1, "eth0").unwrap();
        lab.veth(&r, "eth2", &h2, "eth0").unwrap();
        lab.veth(&r, "eth3", &h3, "eth0").unwrap();
        for (h, net) in [(&h1, 1), (&h2, 2), (&h3, 3)] {
            // The hosts keep their offloads on (TSO, GSO, as Linux sets up a veth): TCP
            // crosses Savin as 64 KB super-frames with virtio headers.
            lab.addr(h, "eth0", &format!("10.0.{net}.2/24")).unwrap();
            lab.route(h, &["default", "via", &format!("10.0.{net}.1")])
                .unwrap();
            let v6 = format!("2001:db8:{net}::2/64");
            let gw6 = format!("2001:db8:{net}::1");
            for cmd in [
                vec!["ip", "-6", "addr", "add", &v6, "dev", "eth0", "nodad"],
                vec!["ip", "-6", "route", "add", "default", "via", &gw6],
            ] {
                let o = lab.exec(h, &cmd, Duration::from_secs(5)).unwrap();
                assert!(o.status.success(), "{cmd:?}: {o:?}");
            }
        }
        // eth3 down: Savin brings up the interfaces it is given.
        let o = lab
            .exec(
                &r,
                &["ip", "link", "set", "eth3", "down"],
                Duration::from_secs(5),
            )
            .unwrap();
        assert!(o.status.success());
        // GRO on, as a NIC has it by default: Savin must turn it off on the ports it owns.
        let o = lab
            .exec(
                &r,
                &["ethtool", "-K", "eth1", "gro", "on"],
                Duration::from_secs(5),
            )
            .unwrap();
        assert!(o.status.success(), "ethtool: {o:?}");
        let state = tempfile::tempdir().unwrap();
        let sock = state.path().join("savin.sock");
        let daemon = run_daemon(&mut lab, &r, state.path());
        let net = Net {
            daemon,
            lab,
            r,
            h1,
            h2,
            h3,
            state,
            sock,
        };
        let (ok, out) = net.cli(
            "configure; \
             set interfaces eth1 unit 0 family inet address 10.0.1.1/24; \
             set interfaces eth2 unit 0 family inet address 10.0.2.1/24; \
             set interfaces eth2 unit 0 family inet mtu 1280; \
             set interfaces eth3 unit 0 family inet address 10.0.3.1/24; \
             set interfaces eth1 unit 0 family inet6 address 2001:db8:1::1/64; \
             set interfaces eth2 unit 0 family inet6 address 2001:db8:2::1/64; \
             set interfaces eth2 unit 0 family inet6 mtu 1280; \
             set interfaces eth3 unit 0 family inet6 address 2001:db8:3::1/64; \
             set routing-options rib inet6.0 static route 2001:db8:99::/48 reject; \
             set routing-options static route 203.0.113.0/24 reject; commit",
        );
        assert!(ok, "{out}\n{}", net.log());
        Some(net)
    }

    pub fn cli(&self, cmds: &str) -> (bool, String) {
        cli(&self.sock, cmds)
    }

    /// Stops the daemon (SIGTERM) and starts it again on the same state directory.
    pub fn restart(&mut self) {
        self.lab
            .signal(self.daemon, nix::sys::signal::Signal::SIGTERM);
        assert!(
            self.lab
                .wait(self.daemon, Duration::from_secs(10))
                .is_some(),
            "the daemon stops on SIGTERM"
        );
        self.daemon = run_daemon(&mut self.lab, &self.r, self.state.path());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("daemon.log")).unwrap_or_default()
    }

    pub fn run(&self, ns: &Ns, args: &[&str], secs: u64) -> (bool, String) {
        let o = self
            .lab
            .exec(ns, args, Duration::from_secs(secs))
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
        )
    }

    /// Starts tshark on `ns`'s eth0, printing `fields` of the packets that match `filter`
    /// line by line (`-l`, so nothing is lost when it is stopped); returns once it captures.
    pub fn capture(&mut self, ns: &Ns, filter: &str, fields: &[&str]) -> (u32, PathBuf) {
        let out = self.state.path().join(format!("{}.tshark.out", ns.name));
        let err = self.state.path().join(format!("{}.tshark.err", ns.name));
        let mut args = vec![
            "tshark",
            "-l",
            "-n",
            "-i",
            "eth0",
            "-Y",
            filter,
            "-T",
            "fields",
            "-E",
            "occurrence=f",
        ];
        for f in fields {
            args.extend(["-e", f]);
        }
        let pid = self
            .lab
            .spawn(
                ns,
                &args,
                Some(std::fs::File::create(&out).unwrap()),
                Some(std::fs::File::create(&err).unwrap()),
            )
            .unwrap();
        // tshark says "Capturing on" before its capture child has the socket open; "Capture
        // started" comes when it has.
        assert!(
            wait_until(Duration::from_secs(20), || {
                let e = std::fs::read_to_string(&err).unwrap_or_default();
                e.contains("Capture started")
            }),
            "tshark did not start: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        (pid, out)
    }

    /// `traceroute -n -q 1` from `ns` to `dst` (with `-6` for IPv6): the address of each hop.
    pub fn traceroute(&self, ns: &Ns, dst: &str) -> Vec<String> {
        let mut args = vec!["traceroute", "-n", "-q", "1", "-w", "2", "-m", "4"];
        if dst.contains(':') {
            args.push("-6");
        }
        args.push(dst);
        let (ok, out) = self.run(ns, &args, 30);
        assert!(ok, "{out}");
        out.lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1))
            .map(str::to_string)
            .collect()
    }

    /// Stops a capture and returns its lines.
    pub fn captured(&mut self, pid: u32, out: &Path) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(300));
        self.lab.signal(pid, nix::sys::signal::Signal::SIGINT);
        self.lab.wait(pid, Duration::from_secs(10));
        std::fs::read_to_string(out)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// A firewall counter's packets in `show firewall`.
pub fn firewall_counter(sock: &Path, name: &str) -> u64 {
    let (_, out) = cli(sock, "show firewall");
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or_else(|| panic!("no counter {name} in {out}"))
}

/// Waits (3 s at most: the worker publishes its counters about every 100 ms) until firewall
/// counter `name` satisfies `ok`; returns its last value.
pub fn wait_counter(sock: &Path, name: &str, ok: impl Fn(u64) -> bool) -> u64 {
    let mut seen = 0;
    wait_until(Duration::from_secs(3), || {
        seen = firewall_counter(sock, name);
        ok(seen)
    });
    seen
}
