//! The commit engine: the active configuration, its history, and commits as transactions.
//!
//! A commit runs: validate the whole candidate → prepare on every subsystem (nothing changes
//! yet) → persist durably → apply on every subsystem (cannot fail). Persisting before applying
//! (DESIGN.md lists it after) means a full disk aborts the commit while the running system is
//! still untouched, instead of leaving a running system that no file describes.
//!
//! Time comes in as an argument (`now_ms`), so `commit confirmed` runs under a virtual clock in
//! tests; the daemon's timer task only calls [`Engine::expire`] when the deadline passes.

use std::borrow::Cow;
use std::path::Path;

use savin_config::subsystem::{Changes, Staged, Subsystem};
use savin_config::{Config, Configuration, ValidationError};
use tracing::{debug, info, warn};

use crate::store::{CommitRecord, PendingConfirm, Store, StoreError, KEEP};

/// Junos's default for `commit confirmed` without a number.
pub const DEFAULT_CONFIRM_MINUTES: u32 = 10;

#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("{}\nerror: configuration check-out failed", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<ValidationError>),
    #[error("error: {subsystem}: {message}\nerror: configuration check-out failed")]
    Subsystem {
        subsystem: &'static str,
        message: String,
    },
    #[error("error: could not save the configuration: {0}\nerror: commit failed")]
    Store(#[from] StoreError),
    /// A subsystem did not take the change; the previous configuration was put back.
    #[error("error: {subsystem}: {message}\nerror: commit failed (the previous configuration remains in effect)")]
    Apply {
        subsystem: &'static str,
        message: String,
    },
}

/// Options of one `commit` command.
#[derive(Debug, Clone, Default)]
pub struct CommitRequest {
    pub user: String,
    /// How the commit came (`cli`, `api`, `netconf`); `cli` if not said.
    pub via: Option<String>,
    pub comment: Option<String>,
    /// `commit confirmed N`.
    pub confirm_minutes: Option<u32>,
    /// `commit check`.
    pub check_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    Checked,
    Committed {
        seq: u64,
        confirm_minutes: Option<u32>,
        /// The subsystems' warnings about a change that went ahead.
        warnings: Vec<String>,
    },
}

/// A staged change and the subsystem it belongs to.
type Named = (&'static str, Box<dyn Staged>);

/// Applies every staged change (all of them, even after a failure, so that the system is in
/// one state: the undo then moves every subsystem back); the first failure is returned.
fn apply_all(staged: Vec<Named>) -> Result<(), CommitError> {
    let mut first = None;
    for (subsystem, s) in staged {
        if let Err(message) = s.apply() {
            warn!(subsystem, %message, "apply failed");
            first.get_or_insert(CommitError::Apply { subsystem, message });
        }
    }
    first.map_or(Ok(()), Err)
}

pub struct Engine {
    store: Store,
    active: Configuration,
    active_typed: Config,
    /// Newest first, at most `KEEP`.
    history: Vec<CommitRecord>,
    pending: Option<PendingConfirm>,
    subsystems: Vec<Box<dyn Subsystem>>,
    /// How long a "minute" of `commit confirmed` lasts, in milliseconds (tests shorten it).
    minute_ms: i64,
    serial: String,
}

impl Engine {
    /// Opens the store and brings every subsystem to the last committed configuration.
    pub fn open(
        dir: &Path,
        subsystems: Vec<Box<dyn Subsystem>>,
        minute_ms: i64,
    ) -> Result<Engine, CommitError> {
        let store = Store::open(dir)?;
        let mut history = Vec::new();
        let mut active = Configuration::default();
        for seq in store.list()? {
            match store.record(seq) {
                Ok(r) => history.push(r),
                Err(e) => warn!(%e, "skipping unreadable commit file"),
            }
        }
        if let Some(newest) = history.first() {
            let (_, cfg) = store.load(newest.seq)?;
            active = cfg;
        }
        let serial = store.serial_number().unwrap_or_else(|e| {
            // Not worth keeping the box down for: the inventory shows it unknown.
            warn!(%e, "no serial number");
            "unknown".into()
        });
        let mut engine = Engine {
            serial,
            store,
            active: Configuration::default(),
            active_typed: Config::default(),
            history,
            pending: None,
            subsystems,
            minute_ms,
        };
        let typed = active.typed().map_err(|e| CommitError::Subsystem {
            subsystem: "config",
            message: e,
        })?;
        // The management plane must come up even if a subsystem refuses the stored
        // configuration (a netdev gone since the last boot), so the operator can fix it.
        match engine.prepare_all(&typed, &Changes::everything()) {
            Ok(staged) => {
                if let Err(e) = apply_all(staged) {
                    tracing::error!(%e, "the last committed configuration was not taken whole");
                }
            }
            Err(e) => tracing::error!(%e, "the last committed configuration could not be applied"),
        }
        engine.active = active;
        engine.active_typed = typed;
        // A pending confirmation whose commit never landed (crash in between) is void.
        engine.pending = engine
            .store
            .read_pending()
            .filter(|p| Some(p.seq) == engine.history.first().map(|r| r.seq));
        if engine.pending.is_none() {
            engine.store.write_pending(None)?;
        }
        info!(
            seq = engine.active_seq(),
            pending = engine.pending.is_some(),
            "configuration loaded"
        );
        Ok(engine)
    }

    pub fn active(&self) -> &Configuration {
        &self.active
    }

    pub fn active_typed(&self) -> &Config {
        &self.active_typed
    }

    /// The box's serial number (see [`Store::serial_number`]).
    pub fn serial_number(&self) -> &str {
        &self.serial
    }

    pub fn history(&self) -> &[CommitRecord] {
        &self.history
    }

    pub fn pending(&self) -> Option<&PendingConfirm> {
        self.pending.as_ref()
    }

    /// The sequence number of the active configuration (0 before the first commit).
    pub fn active_seq(&self) -> u64 {
        self.history.first().map_or(0, |r| r.seq)
    }

    /// `rollback N`: the configuration committed N commits ago (0 = active).
    pub fn rollback(&self, n: usize) -> Result<Cow<'_, Configuration>, String> {
        if n >= KEEP {
            return Err(format!(
                "rollback {n}: value is not within range (0..{})",
                KEEP - 1
            ));
        }
        if n == 0 {
            return Ok(Cow::Borrowed(&self.active));
        }
        let rec = self
            .history
            .get(n)
            .ok_or_else(|| format!("rollback {n}: configuration does not exist"))?;
        self.store
            .load(rec.seq)
            .map(|(_, c)| Cow::Owned(c))
            .map_err(|e| format!("rollback {n}: {e}"))
    }

    /// Prepares every subsystem whose hierarchies `changed` touches (all of them for
    /// [`Changes::everything`]).
    fn prepare_all(&mut self, new: &Config, changed: &Changes) -> Result<Vec<Named>, CommitError> {
        let mut staged = Vec::with_capacity(self.subsystems.len());
        for s in &mut self.subsystems {
            let owns = s.hierarchies();
            if !owns.is_empty() && !owns.iter().any(|h| changed.touches(h)) {
                continue;
            }
            match s.prepare(&self.active_typed, new, changed) {
                Ok(st) => staged.push((s.name(), st)),
                Err(e) => {
                    let message = e.to_string();
                    warn!(subsystem = s.name(), %message, "commit aborted in prepare");
                    // Dropping `staged` aborts what the others prepared.
                    return Err(CommitError::Subsystem {
                        subsystem: s.name(),
                        message,
                    });
                }
            }
        }
        Ok(staged)
    }

    /// `commit`, `commit check`, `commit confirmed`. On error nothing has changed.
    pub fn commit(
        &mut self,
        candidate: &Configuration,
        req: &CommitRequest,
        now_ms: i64,
    ) -> Result<CommitOutcome, CommitError> {
        let t0 = std::time::Instant::now();
        let typed = candidate.check().map_err(CommitError::Invalid)?;
        let t_check = t0.elapsed();
        if req.check_only {
            // As on Junos, `commit check` also confirms a pending `commit confirmed`.
            self.confirm()?;
            return Ok(CommitOutcome::Checked);
        }
        let changed = typed != self.active_typed;
        let staged = if changed {
            self.prepare_all(&typed, &Changes::between(&self.active, candidate))?
        } else {
            Vec::new()
        };
        let warnings: Vec<String> = staged.iter().flat_map(|(_, s)| s.warnings()).collect();
        let seq = self.active_seq() + 1;
        let rec = CommitRecord {
            seq,
            time: now_ms.div_euclid(1000),
            user: req.user.clone(),
            via: req.via.clone().unwrap_or_else(|| "cli".into()),
            comment: req.comment.clone(),
            confirm_minutes: req.confirm_minutes,
        };
        let pending = req.confirm_minutes.map(|m| PendingConfirm {
            seq,
            // A second `commit confirmed` keeps the last confirmed configuration as the target.
            rollback_to: self
                .pending
                .as_ref()
                .map_or(self.active_seq(), |p| p.rollback_to),
            deadline_ms: now_ms + i64::from(m) * self.minute_ms,
        });
        // The pending record goes first: if we crash before the commit file lands, the
        // record names a commit that does not exist and is ignored on restart.
        if let Some(p) = &pending {
            self.store.write_pending(Some(p))?;
        }
        let t_prepare = t0.elapsed();
        if let Err(e) = self.store.write(&rec, candidate) {
            if pending.is_some() {
                let _ = self.store.write_pending(self.pending.as_ref());
            }
            return Err(e.into());
        }
        if let Err(e) = apply_all(staged) {
            self.undo(seq);
            return Err(e);
        }
        self.active = candidate.clone();
        self.active_typed = typed;
        self.history.insert(0, rec);
        self.history.truncate(KEEP);
        if let Err(e) = self.store.prune() {
            warn!(%e, "could not remove old rollback files");
        }
        if pending.is_none() && self.pending.is_some() {
            self.pending = None;
            if let Err(e) = self.store.write_pending(None) {
                warn!(%e, "could not clear the commit-confirmed record");
            }
        } else if pending.is_some() {
            self.pending = pending;
        }
        info!(seq, user = %req.user, confirmed = ?req.confirm_minutes, "commit complete");
        debug!(?t_check, ?t_prepare, total = ?t0.elapsed(), "commit timings");
        Ok(CommitOutcome::Committed {
            seq,
            confirm_minutes: req.confirm_minutes,
            warnings,
        })
    }

    /// Takes back commit `seq`, whose apply failed: its file goes, the pending confirmation is
    /// as before, and the subsystems get the active configuration again (best effort: what
    /// failed to take the new one may fail this too, and says so in the log).
    fn undo(&mut self, seq: u64) {
        if let Err(e) = self.store.remove(seq) {
            warn!(%e, seq, "could not remove the failed commit");
        }
        if let Err(e) = self.store.write_pending(self.pending.as_ref()) {
            warn!(%e, "could not restore the commit-confirmed record");
        }
        let active = self.active_typed.clone();
        match self
            .prepare_all(&active, &Changes::everything())
            .map(apply_all)
        {
            Ok(Ok(())) => info!(
                seq,
                "failed commit undone: the previous configuration is back"
            ),
            Ok(Err(e)) | Err(e) => tracing::error!(%e, "undoing a failed commit"),
        }
    }

    fn confirm(&mut self) -> Result<(), CommitError> {
        if self.pending.take().is_some() {
            self.store.write_pending(None)?;
            info!("commit confirmed");
        }
        Ok(())
    }

    /// When the pending `commit confirmed` must be rolled back (Unix milliseconds).
    pub fn deadline_ms(&self) -> Option<i64> {
        self.pending.as_ref().map(|p| p.deadline_ms)
    }

    /// Rolls back an unconfirmed `commit confirmed` whose deadline has passed. Returns the
    /// new commit's sequence number when it did.
    pub fn expire(&mut self, now_ms: i64) -> Result<Option<u64>, CommitError> {
        let Some(p) = self.pending.clone() else {
            return Ok(None);
        };
        if now_ms < p.deadline_ms {
            return Ok(None);
        }
        // Rolling back the first commit ever restores the empty configuration.
        let previous = if p.rollback_to == 0 {
            Configuration::default()
        } else {
            self.store.load(p.rollback_to)?.1
        };
        let req = CommitRequest {
            user: "root".into(),
            comment: Some(format!(
                "automatic rollback: commit {} was not confirmed",
                p.seq
            )),
            confirm_minutes: None,
            check_only: false,
            via: None,
        };
        let typed = previous.typed().map_err(|e| CommitError::Subsystem {
            subsystem: "config",
            message: e,
        })?;
        let changed = Changes::between(&self.active, &previous);
        let staged = self.prepare_all(&typed, &changed)?;
        let seq = self.active_seq() + 1;
        let rec = CommitRecord {
            seq,
            time: now_ms.div_euclid(1000),
            user: req.user,
            via: "confirm-timeout".into(),
            comment: req.comment,
            confirm_minutes: None,
        };
        self.store.write(&rec, &previous)?;
        if let Err(e) = apply_all(staged) {
            self.undo(seq);
            return Err(e);
        }
        self.active = previous;
        self.active_typed = typed;
        self.history.insert(0, rec);
        self.history.truncate(KEEP);
        self.pending = None;
        self.store.write_pending(None)?;
        let _ = self.store.prune();
        warn!(
            seq,
            unconfirmed = p.seq,
            "commit confirmed was not confirmed: rolled back"
        );
        Ok(Some(seq))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use savin_config::subsystem::PrepareError;

    use super::*;

    /// A subsystem that records what it applied and can be told to refuse.
    struct Recorder {
        applied: Arc<Mutex<Vec<Option<String>>>>,
        refuse: Arc<Mutex<bool>>,
    }

    struct Apply(Arc<Mutex<Vec<Option<String>>>>, Option<String>);

    /// A host name that the recorder takes in prepare and then fails to apply (as a data
    /// plane that does not answer the hand-over).
    const STUCK: &str = "stuck";

    impl Staged for Apply {
        fn apply(self: Box<Self>) -> Result<(), String> {
            self.0.lock().unwrap().push(self.1.clone());
            if self.1.as_deref() == Some(STUCK) {
                return Err("did not take the change within 10 s".into());
            }
            Ok(())
        }
    }

    impl Subsystem for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        fn hierarchies(&self) -> &'static [&'static str] {
            &["system"]
        }
        fn prepare(
            &mut self,
            _old: &Config,
            new: &Config,
            changed: &Changes,
        ) -> Result<Box<dyn Staged>, PrepareError> {
            if *self.refuse.lock().unwrap() {
                return Err(PrepareError::at("system host-name", "refused"));
            }
            assert!(changed.touches("system"), "prepared for {changed:?}");
            Ok(Box::new(Apply(
                self.applied.clone(),
                new.system.host_name.clone(),
            )))
        }
    }

    fn cfg(host: &str) -> Configuration {
        Configuration::parse(&format!("system {{ host-name {host}; }}"), None).unwrap()
    }

    fn req() -> CommitRequest {
        CommitRequest {
            user: "alice".into(),
            ..Default::default()
        }
    }

    type Applied = Arc<Mutex<Vec<Option<String>>>>;

    fn engine(dir: &Path) -> (Engine, Applied, Arc<Mutex<bool>>) {
        let applied = Arc::new(Mutex::new(Vec::new()));
        let refuse = Arc::new(Mutex::new(false));
        let r = Recorder {
            applied: applied.clone(),
            refuse: refuse.clone(),
        };
        (
            Engine::open(dir, vec![Box::new(r)], 60_000).unwrap(),
            applied,
            refuse,
        )
    }

    #[test]
    fn a_refused_prepare_leaves_everything_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let (mut e, applied, refuse) = engine(dir.path());
        e.commit(&cfg("r1"), &req(), 0).unwrap();
        *refuse.lock().unwrap() = true;
        let err = e.commit(&cfg("r2"), &req(), 1000).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(e.active(), &cfg("r1"));
        assert_eq!(e.history().len(), 1);
        assert_eq!(Store::open(dir.path()).unwrap().list().unwrap(), vec![1]);
        // Startup applied the empty config, then r1; nothing of r2.
        assert_eq!(*applied.lock().unwrap(), vec![None, Some("r1".into())]);
    }

    #[test]
    fn a_subsystem_is_prepared_only_when_its_hierarchies_change_and_errors_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let (mut e, applied, refuse) = engine(dir.path());
        e.commit(&cfg("r1"), &req(), 0).unwrap();
        let n = applied.lock().unwrap().len();
        // Only routing-options changes: the recorder (system) is not asked.
        let other = Configuration::parse(
            "system { host-name r1; } routing-options { router-id 10.0.0.1; }",
            None,
        )
        .unwrap();
        e.commit(&other, &req(), 1000).unwrap();
        assert_eq!(applied.lock().unwrap().len(), n, "not woken");
        assert_eq!(e.active(), &other);
        *refuse.lock().unwrap() = true;
        let err = e.commit(&cfg("r2"), &req(), 2000).unwrap_err().to_string();
        assert!(
            err.contains("recorder: [edit system host-name]") && err.contains("refused"),
            "{err}"
        );
        let c = Changes::between(&other, &cfg("r2"));
        assert!(c.touches("system") && c.touches("routing-options") && !c.touches("interfaces"));
        assert!(c.paths.contains("system host-name"), "{c:?}");
    }

    #[test]
    fn a_failed_apply_fails_the_commit_and_puts_the_previous_configuration_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut e, applied, _) = engine(dir.path());
        e.commit(&cfg("r1"), &req(), 0).unwrap();
        let err = e.commit(&cfg(STUCK), &req(), 1000).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("recorder: did not take the change") && text.contains("commit failed"),
            "{text}"
        );
        assert_eq!(e.active(), &cfg("r1"));
        assert_eq!(e.history().len(), 1, "no record of the failed commit");
        assert_eq!(Store::open(dir.path()).unwrap().list().unwrap(), vec![1]);
        // Startup's empty config, r1, the failed attempt, then r1 again.
        assert_eq!(
            *applied.lock().unwrap(),
            vec![
                None,
                Some("r1".into()),
                Some(STUCK.into()),
                Some("r1".into())
            ]
        );
        // The next commit goes on from there, and a restart comes back with r1's successor.
        e.commit(&cfg("r2"), &req(), 2000).unwrap();
        assert_eq!(e.history()[0].seq, 2);
        drop(e);
        let (e, _, _) = engine(dir.path());
        assert_eq!(e.active(), &cfg("r2"));
    }

    #[test]
    fn commit_confirmed_rolls_back_at_the_deadline_under_a_virtual_clock() {
        let dir = tempfile::tempdir().unwrap();
        let (mut e, applied, _) = engine(dir.path());
        e.commit(&cfg("good"), &req(), 0).unwrap();
        let r = CommitRequest {
            confirm_minutes: Some(2),
            ..req()
        };
        e.commit(&cfg("risky"), &r, 1_000).unwrap();
        assert_eq!(e.deadline_ms(), Some(1_000 + 2 * 60_000));
        assert_eq!(e.expire(60_000).unwrap(), None, "not yet");
        assert_eq!(e.expire(121_000).unwrap(), Some(3));
        assert_eq!(e.active(), &cfg("good"));
        assert_eq!(e.pending(), None);
        assert_eq!(
            applied.lock().unwrap().last().unwrap().as_deref(),
            Some("good")
        );
        assert_eq!(e.history()[0].via, "confirm-timeout");
    }

    #[test]
    fn a_later_commit_confirms_and_the_pending_state_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut e, _, _) = engine(dir.path());
            e.commit(&cfg("good"), &req(), 0).unwrap();
            let r = CommitRequest {
                confirm_minutes: Some(1),
                ..req()
            };
            e.commit(&cfg("risky"), &r, 0).unwrap();
        }
        let (mut e, _, _) = engine(dir.path());
        assert_eq!(e.active(), &cfg("risky"), "restart applies the last commit");
        assert_eq!(e.deadline_ms(), Some(60_000), "and still owes the rollback");
        e.commit(&cfg("risky"), &req(), 10).unwrap();
        assert_eq!(e.deadline_ms(), None);
        assert_eq!(e.expire(i64::MAX).unwrap(), None);
        assert_eq!(e.active(), &cfg("risky"));
    }
}
