//! Runs the real `savin` binary: a daemon in a temporary state directory and `savin cli -c`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use savin_mgmt::proto::Client;

pub const SAVIN: &str = env!("CARGO_BIN_EXE_savin");

pub struct Daemon {
    pub child: Option<Child>,
    pub dir: PathBuf,
    pub sock: PathBuf,
    minute_ms: u64,
}

impl Daemon {
    /// Starts a daemon on `dir` and waits until its socket answers.
    pub fn start(dir: &Path) -> Daemon {
        Daemon::start_with(dir, 60_000)
    }

    /// Same, with a `commit confirmed` minute of `minute_ms` milliseconds.
    pub fn start_with(dir: &Path, minute_ms: u64) -> Daemon {
        let mut d = Daemon {
            child: None,
            dir: dir.to_path_buf(),
            sock: dir.join("savin.sock"),
            minute_ms,
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(&self.sock);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.with_extension("log"))
            .unwrap();
        let child = Command::new(SAVIN)
            .args([
                "daemon",
                // These tests are about configuration; their interfaces are not real netdevs.
                "--dataplane",
                "none",
                "--minute-ms",
                &self.minute_ms.to_string(),
                "--state-dir",
            ])
            .arg(&self.dir)
            .env("SAVIN_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn savin daemon");
        self.child = Some(child);
        let start = Instant::now();
        while Client::connect(&self.sock).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "daemon did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.with_extension("log")).unwrap_or_default()
    }

    /// `savin cli -c CMDS`: (exit status success, stdout).
    pub fn cli(&self, cmds: &str) -> (bool, String) {
        let out = Command::new(SAVIN)
            .args(["cli", "--socket"])
            .arg(&self.sock)
            .args(["-c", cmds])
            .stdin(Stdio::null())
            .output()
            .expect("run savin cli");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    }

    /// `cli`, asserting success.
    pub fn ok(&self, cmds: &str) -> String {
        let (ok, out) = self.cli(cmds);
        assert!(ok, "`{cmds}` failed:\n{out}");
        out
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.sock).expect("connect")
    }

    /// SIGTERM and wait; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return true;
        };
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(c.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        c.wait().unwrap().success()
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn start_again(&mut self) {
        assert!(self.child.is_none());
        self.spawn();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Number of commit files in the store.
    pub fn commit_files(&self) -> usize {
        std::fs::read_dir(self.dir.join("commits"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".conf")
            })
            .count()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Polls until `f` holds, up to `secs` seconds.
pub fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
