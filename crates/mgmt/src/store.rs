//! The durable commit store: one file per commit, written atomically.
//!
//! Each commit is written to `commits/NNNNNNNNNN.conf` through a temporary file, `fsync`, and a
//! `rename`, then the directory is synced. A crash at any moment therefore leaves either the
//! previous set of files or the previous set plus the complete new one, never a torn file; the
//! highest-numbered file is the active configuration and `rollback N` is the N-th below it.
//! Numbering files by commit sequence (instead of Junos's renamed `juniper.conf.N.gz` chain)
//! makes a commit one rename, not fifty.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use savin_config::Configuration;
use serde::{Deserialize, Serialize};

/// How many configurations are kept: the active one and rollbacks 1..49.
pub const KEEP: usize = 50;

const HEADER: &str = "## savin-commit ";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a Savin commit file (missing header)")]
    NoHeader { path: PathBuf },
    #[error("{0}")]
    Parse(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What `show system commit` shows about a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub seq: u64,
    /// Unix time in seconds.
    pub time: i64,
    pub user: String,
    /// How the commit was made (`cli`, or `confirm-timeout` for an automatic rollback).
    pub via: String,
    pub comment: Option<String>,
    /// `commit confirmed N`: minutes until the automatic rollback.
    pub confirm_minutes: Option<u32>,
}

/// A `commit confirmed` waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingConfirm {
    /// The commit that must be confirmed.
    pub seq: u64,
    /// The commit restored if it is not.
    pub rollback_to: u64,
    /// Unix time in milliseconds.
    pub deadline_ms: i64,
}

pub struct Store {
    dir: PathBuf,
    commits: PathBuf,
}

impl Store {
    /// Opens (creating) the store under `dir`, discarding temporary files left by a crash.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let commits = dir.join("commits");
        fs::create_dir_all(&commits).map_err(io(&commits))?;
        for e in fs::read_dir(&commits).map_err(io(&commits))? {
            let e = e.map_err(io(&commits))?;
            if e.file_name().to_string_lossy().starts_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(Store {
            dir: dir.to_path_buf(),
            commits,
        })
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.commits.join(format!("{seq:010}.conf"))
    }

    /// Commit sequence numbers on disk, newest first.
    pub fn list(&self) -> Result<Vec<u64>, StoreError> {
        let mut seqs = Vec::new();
        for e in fs::read_dir(&self.commits).map_err(io(&self.commits))? {
            let e = e.map_err(io(&self.commits))?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_suffix(".conf")
                .and_then(|n| n.parse::<u64>().ok())
            {
                seqs.push(n);
            }
        }
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        Ok(seqs)
    }

    /// The record of a commit (reads only the header line).
    pub fn record(&self, seq: u64) -> Result<CommitRecord, StoreError> {
        let path = self.path(seq);
        let f = File::open(&path).map_err(io(&path))?;
        let mut first = String::new();
        BufReader::new(f).read_line(&mut first).map_err(io(&path))?;
        parse_header(&first).ok_or(StoreError::NoHeader { path })
    }

    pub fn load(&self, seq: u64) -> Result<(CommitRecord, Configuration), StoreError> {
        let path = self.path(seq);
        let text = fs::read_to_string(&path).map_err(io(&path))?;
        let first = text.lines().next().unwrap_or("");
        let rec = parse_header(first).ok_or_else(|| StoreError::NoHeader { path: path.clone() })?;
        let name = path.display().to_string();
        let cfg = Configuration::parse(&text, Some(&name))
            .map_err(|e| StoreError::Parse(e.to_string()))?;
        Ok((rec, cfg))
    }

    /// Writes a commit durably. When this returns Ok the commit survives a crash.
    pub fn write(&self, rec: &CommitRecord, cfg: &Configuration) -> Result<(), StoreError> {
        let header = serde_json::to_string(rec).expect("record serialises");
        let when = chrono::DateTime::from_timestamp(rec.time, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default();
        let mut text = format!(
            "{HEADER}{header}\n## Last commit: {when} by {} via {}\n",
            rec.user, rec.via
        );
        text.push_str(&cfg.to_curly());
        atomic_write(&self.path(rec.seq), text.as_bytes())
    }

    /// Deletes commit `seq` (a commit whose apply failed is undone).
    pub fn remove(&self, seq: u64) -> Result<(), StoreError> {
        let p = self.path(seq);
        fs::remove_file(&p).map_err(io(&p))
    }

    /// Deletes all but the newest `KEEP` commits.
    pub fn prune(&self) -> Result<(), StoreError> {
        for seq in self.list()?.into_iter().skip(KEEP) {
            let p = self.path(seq);
            fs::remove_file(&p).map_err(io(&p))?;
        }
        Ok(())
    }

    fn pending_path(&self) -> PathBuf {
        self.dir.join("commit-confirmed.json")
    }

    /// Records (or, with `None`, clears) the pending `commit confirmed`.
    pub fn write_pending(&self, p: Option<&PendingConfirm>) -> Result<(), StoreError> {
        let path = self.pending_path();
        match p {
            Some(p) => atomic_write(
                &path,
                serde_json::to_string(p).expect("serialises").as_bytes(),
            ),
            None => match fs::remove_file(&path) {
                Ok(()) => sync_dir(&self.dir),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(&path)(e)),
            },
        }
    }

    pub fn read_pending(&self) -> Option<PendingConfirm> {
        let text = fs::read_to_string(self.pending_path()).ok()?;
        serde_json::from_str(&text).ok()
    }
}

fn parse_header(line: &str) -> Option<CommitRecord> {
    serde_json::from_str(line.strip_prefix(HEADER)?.trim_end()).ok()
}

impl Store {
    /// The box's serial number (`serial-number` in the store, made at first start and kept):
    /// inventories (PyEZ facts, NAPALM `get_facts`) key boxes by it, so each has its own.
    pub fn serial_number(&self) -> Result<String, StoreError> {
        let path = self.dir.join("serial-number");
        if let Ok(s) = fs::read_to_string(&path) {
            let s = s.trim();
            if !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Ok(s.to_string());
            }
        }
        let mut seed = [0u8; 5];
        File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
            .map_err(io(Path::new("/dev/urandom")))?;
        let serial: String = std::iter::once("SV".to_string())
            .chain(seed.iter().map(|b| format!("{b:02X}")))
            .collect();
        atomic_write(&path, format!("{serial}\n").as_bytes())?;
        Ok(serial)
    }
}

/// Temp file, write, fsync, rename, fsync the directory.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".tmp.{name}.{}", std::process::id()));
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64) -> CommitRecord {
        CommitRecord {
            seq,
            time: 1_700_000_000,
            user: "root".into(),
            via: "cli".into(),
            comment: Some("a \"quoted\" comment".into()),
            confirm_minutes: None,
        }
    }

    #[test]
    fn writes_read_back_and_prune_keeps_fifty() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let cfg = Configuration::parse("system { host-name r1; }", None).unwrap();
        for seq in 1..=55 {
            store.write(&rec(seq), &cfg).unwrap();
        }
        store.prune().unwrap();
        let seqs = store.list().unwrap();
        assert_eq!(seqs.len(), KEEP);
        assert_eq!(seqs[0], 55);
        assert_eq!(*seqs.last().unwrap(), 6);
        let (r, c) = store.load(55).unwrap();
        assert_eq!(r, rec(55));
        assert_eq!(c, cfg);
        assert_eq!(store.record(30).unwrap().seq, 30);
    }

    #[test]
    fn leftover_temporary_files_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fs::write(dir.path().join("commits/.tmp.0000000009.conf.1"), "torn").unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert!(store.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(dir.path().join("commits")).unwrap().count(), 0);
    }

    #[test]
    fn the_serial_number_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(dir.path()).unwrap().serial_number().unwrap();
        let b = Store::open(dir.path()).unwrap().serial_number().unwrap();
        assert_eq!(a, b);
        assert!(a.len() == 12 && a.starts_with("SV"), "{a}");
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            Store::open(other.path()).unwrap().serial_number().unwrap(),
            a
        );
        // A damaged file is replaced, not shown.
        fs::write(dir.path().join("serial-number"), "<bad>\n").unwrap();
        let c = Store::open(dir.path()).unwrap().serial_number().unwrap();
        assert!(c.starts_with("SV") && c != "<bad>");
    }
}
