//! Network-namespace labs: hosts and routers joined by veth pairs, processes run inside them,
//! and everything removed again.
//!
//! Contract: every namespace, link and process a [`Lab`] creates is removed when it is dropped,
//! also when a test fails or panics (Drop runs during unwinding). Names carry the creating
//! process's PID and a counter, so tests run in parallel without colliding, and a later lab
//! removes namespaces left by a process that was killed. Links are created directly inside
//! their namespaces, so nothing appears in the root namespace and traffic stays inside the lab.
//!
//! Labs need root and `ip netns`. [`Lab::require`] skips with a message where they are missing,
//! and fails instead when `CI=true`.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("network namespaces need root (running as uid {0})")]
    NotRoot(u32),
    #[error("`{cmd}` failed: {stderr}")]
    Command { cmd: String, stderr: String },
    #[error("`{cmd}` did not finish within {secs} s")]
    Timeout { cmd: String, secs: u64 },
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
const PREFIX: &str = "svlab";

/// A namespace of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ns {
    /// The full `ip netns` name.
    pub name: String,
}

/// A process started inside a lab namespace, in its own process group.
pub struct Proc {
    child: Child,
    pub pid: u32,
}

pub struct Lab {
    id: String,
    namespaces: Vec<Ns>,
    procs: Vec<Proc>,
}

fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, LabError> {
    let desc = format!("{cmd:?}").replace('"', "");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| LabError::Io(desc.clone(), e))?;
    // Read the pipes on threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().expect("piped");
    let mut se = child.stderr.take().expect("piped");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child
            .try_wait()
            .map_err(|e| LabError::Io(desc.clone(), e))?
        {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
            return Err(LabError::Timeout {
                cmd: desc,
                secs: timeout.as_secs(),
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    })
}

fn ip(args: &[&str]) -> Result<Output, LabError> {
    let out = run(Command::new("ip").args(args), Duration::from_secs(10))?;
    if !out.status.success() {
        return Err(LabError::Command {
            cmd: format!("ip {}", args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out)
}

impl Lab {
    /// A new, empty lab. Fails when namespaces cannot be made here.
    pub fn new() -> Result<Lab, LabError> {
        let uid = nix::unistd::geteuid().as_raw();
        if uid != 0 {
            return Err(LabError::NotRoot(uid));
        }
        remove_stale();
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let lab = Lab {
            id: format!("{PREFIX}{pid}-{n}"),
            namespaces: Vec::new(),
            procs: Vec::new(),
        };
        // Probe: can we really create a namespace?
        ip(&["netns", "add", &format!("{}-probe", lab.id)])?;
        ip(&["netns", "del", &format!("{}-probe", lab.id)])?;
        Ok(lab)
    }

    /// A lab for test `name`, or `None` (after saying why) where labs cannot run. Under
    /// `CI=true` a missing capability is a failure, not a skip.
    pub fn require(name: &str) -> Option<Lab> {
        match Lab::new() {
            Ok(l) => Some(l),
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("{name}: lab unavailable under CI=true: {e}")
            }
            Err(e) => {
                eprintln!("SKIP {name}: lab unavailable: {e}");
                None
            }
        }
    }

    /// Adds a namespace with its loopback up.
    pub fn netns(&mut self, name: &str) -> Result<Ns, LabError> {
        let ns = Ns {
            name: format!("{}-{name}", self.id),
        };
        ip(&["netns", "add", &ns.name])?;
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns.name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Joins two namespaces with a veth pair (`a_if` in `a`, `b_if` in `b`), both up.
    pub fn veth(&mut self, a: &Ns, a_if: &str, b: &Ns, b_if: &str) -> Result<(), LabError> {
        ip(&[
            "link", "add", a_if, "netns", &a.name, "type", "veth", "peer", "name", b_if, "netns",
            &b.name,
        ])?;
        ip(&["-n", &a.name, "link", "set", a_if, "up"])?;
        ip(&["-n", &b.name, "link", "set", b_if, "up"])?;
        // The kernel turns a device's carrier on, and gives it a real queue in place of the
        // one that drops everything, from a deferred work item (linkwatch), under load only
        // after tens of milliseconds: a frame sent before that is lost. Wait for both ends.
        for (ns, ifname) in [(a, a_if), (b, b_if)] {
            let up = || {
                Command::new("ip")
                    .args(["-n", &ns.name, "-o", "link", "show", ifname])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(" state UP "))
            };
            if !wait_until(Duration::from_secs(5), up) {
                return Err(LabError::Io(
                    format!("{ifname} in {} did not come up", ns.name),
                    std::io::Error::from(std::io::ErrorKind::TimedOut),
                ));
            }
        }
        Ok(())
    }

    /// Adds an 802.1Q subinterface `name` of `parent` with VLAN `id`, up: a kernel VLAN device
    /// where the kernel has 802.1Q support, else a userspace shim (a TAP device `name` whose
    /// frames leave `parent` tagged), so lab hosts can sit on trunk ports either way.
    pub fn vlan(&mut self, ns: &Ns, parent: &str, id: u16, name: &str) -> Result<(), LabError> {
        let vid = id.to_string();
        let kernel = ip(&[
            "-n", &ns.name, "link", "add", "link", parent, "name", name, "type", "vlan", "id", &vid,
        ]);
        match kernel {
            Ok(_) => {}
            Err(LabError::Command { stderr, .. }) if stderr.contains("Unknown device type") => {
                self.vlan_shim(ns, parent, &vid, name)?;
            }
            Err(e) => return Err(e),
        }
        ip(&["-n", &ns.name, "link", "set", name, "up"])?;
        Ok(())
    }

    fn vlan_shim(&mut self, ns: &Ns, parent: &str, vid: &str, name: &str) -> Result<(), LabError> {
        const SHIM: &str = include_str!("vlan_shim.py");
        // The parent must accept frames addressed to the shim's MAC address.
        ip(&["-n", &ns.name, "link", "set", parent, "promisc", "on"])?;
        self.spawn(
            ns,
            &["python3", "-u", "-c", SHIM, parent, vid, name],
            None,
            None,
        )?;
        let ready = wait_until(Duration::from_secs(10), || {
            ip(&["-n", &ns.name, "link", "show", name]).is_ok()
        });
        if !ready {
            return Err(LabError::Command {
                cmd: format!("vlan shim {parent}.{vid} as {name}"),
                stderr: "the TAP device did not appear within 10 s (is python3 installed?)".into(),
            });
        }
        Ok(())
    }

    /// Adds an address (`10.0.0.1/24`) to an interface.
    pub fn addr(&self, ns: &Ns, ifname: &str, cidr: &str) -> Result<(), LabError> {
        ip(&["-n", &ns.name, "addr", "add", cidr, "dev", ifname]).map(|_| ())
    }

    /// Adds a route (`default via 10.0.0.1`).
    pub fn route(&self, ns: &Ns, spec: &[&str]) -> Result<(), LabError> {
        let mut args = vec!["-n", ns.name.as_str(), "route", "add"];
        args.extend_from_slice(spec);
        ip(&args).map(|_| ())
    }

    /// Runs a command inside `ns` to completion, killing it after `timeout`.
    pub fn exec(&self, ns: &Ns, args: &[&str], timeout: Duration) -> Result<Output, LabError> {
        run(
            Command::new("ip")
                .args(["netns", "exec", &ns.name])
                .args(args),
            timeout,
        )
    }

    /// `ping -c 3` from `ns` to `dst`: whether every echo was answered (within 15 s).
    pub fn ping(&self, ns: &Ns, dst: &str) -> bool {
        self.exec(
            ns,
            &["ping", "-c", "3", "-i", "0.2", "-W", "1", dst],
            Duration::from_secs(15),
        )
        .is_ok_and(|o| o.status.success())
    }

    /// Runs `f` on a thread that has entered `ns`, so sockets it opens (AF_PACKET ports, say)
    /// belong to that namespace. Returns what `f` returns.
    pub fn run_in<T: Send + 'static>(&self, ns: &Ns, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", ns.name);
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET)
                .unwrap_or_else(|e| panic!("setns {path}: {e}"));
            f()
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }

    /// Starts a long-running process inside `ns`; it is killed when the lab is dropped.
    /// Its output goes to the given files (or is discarded).
    pub fn spawn(
        &mut self,
        ns: &Ns,
        args: &[&str],
        stdout: Option<std::fs::File>,
        stderr: Option<std::fs::File>,
    ) -> Result<u32, LabError> {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name])
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout.map_or(Stdio::null(), Stdio::from))
            .stderr(stderr.map_or(Stdio::null(), Stdio::from))
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| LabError::Io(format!("spawn {}", args.join(" ")), e))?;
        let pid = child.id();
        self.procs.push(Proc { child, pid });
        Ok(pid)
    }

    /// Starts a one-off iperf3 server (`-s -1`) in `ns` bound to `bind`, and returns once it
    /// listens (a client started earlier would be refused), within 15 s.
    pub fn iperf3_server(&mut self, ns: &Ns, bind: &str) -> Result<u32, LabError> {
        let pid = self.spawn(ns, &["iperf3", "-s", "-1", "-B", bind], None, None)?;
        let listening = wait_until(Duration::from_secs(15), || {
            self.exec(
                ns,
                &["ss", "-Hltn", "sport = :5201"],
                Duration::from_secs(5),
            )
            .is_ok_and(|o| !o.stdout.is_empty())
        });
        if !listening {
            return Err(LabError::Command {
                cmd: format!("iperf3 -s -B {bind}"),
                stderr: "not listening within 15 s".into(),
            });
        }
        Ok(pid)
    }

    /// Sends `sig` to a process started with [`Lab::spawn`] (to its whole group).
    pub fn signal(&self, pid: u32, sig: Signal) {
        let _ = killpg(Pid::from_raw(pid as i32), sig);
    }

    /// Waits for a spawned process to exit, up to `timeout`; returns its status.
    pub fn wait(&mut self, pid: u32, timeout: Duration) -> Option<std::process::ExitStatus> {
        let i = self.procs.iter().position(|p| p.pid == pid)?;
        let start = Instant::now();
        loop {
            if let Ok(Some(st)) = self.procs[i].child.try_wait() {
                self.procs.remove(i);
                return Some(st);
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn namespaces(&self) -> &[Ns] {
        &self.namespaces
    }
}

/// Polls `cond` every 10 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn kill_netns_pids(ns: &str) {
    if let Ok(out) = ip(&["netns", "pids", ns]) {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(p) = pid.parse::<i32>() {
                let _ = nix::sys::signal::kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
    }
}

/// Removes namespaces whose creating process no longer exists (a test killed mid-way).
fn remove_stale() {
    let Ok(out) = ip(&["netns", "list"]) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let alive = nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok();
        if !alive {
            kill_netns_pids(name);
            let _ = ip(&["netns", "del", name]);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = killpg(Pid::from_raw(p.pid as i32), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for p in &mut self.procs {
            loop {
                if matches!(p.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = killpg(Pid::from_raw(p.pid as i32), Signal::SIGKILL);
                    let _ = p.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        for ns in self.namespaces.iter().rev() {
            kill_netns_pids(&ns.name);
            if let Err(e) = ip(&["netns", "del", &ns.name]) {
                tracing::warn!(ns = %ns.name, %e, "could not remove namespace");
            }
        }
    }
}
