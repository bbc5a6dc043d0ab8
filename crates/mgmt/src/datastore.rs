//! The candidate datastore, apart from the CLI: the shared candidate, private copies and the
//! merge of a private copy onto a newer commit, who is editing, and the commit engine behind
//! them. The CLI sessions and the typed requests of the management socket (and, next, NETCONF)
//! work on it alike.

use std::collections::BTreeMap;
use std::sync::Arc;

use savin_config::subsystem::{OpCommand, Operational};
use savin_config::Configuration;

use crate::engine::{CommitError, CommitOutcome, CommitRequest, Engine};
use crate::proto::{ConfigFormat, LoadMode};
use savin_config::parse::{apply_set_text, command_words, parse_curly};
use savin_config::{schema, tree};

use crate::session::OP_COMMANDS;

/// What every session sees: the commit engine, the shared candidate, who is editing.
pub struct Shared {
    pub engine: Engine,
    pub candidate: Configuration,
    /// The session that holds the candidate exclusively (`configure exclusive`, a typed
    /// `lock`): others may look, not change it or commit.
    pub lock: Option<LockInfo>,
    pub editors: BTreeMap<u64, EditorInfo>,
    pub started_ms: i64,
    /// Operational commands answered by subsystems (`show route`, `show arp`, ...).
    pub(crate) operational: Vec<Arc<dyn Operational>>,
    /// The built-in operational commands and the subsystems', for matching and `?`.
    pub(crate) op_table: Vec<OpCommand>,
}

/// An operational command ready to run away from the management lock.
pub struct OpQuery {
    ops: Arc<dyn Operational>,
    cmd: &'static [&'static str],
    args: Vec<String>,
}

impl OpQuery {
    /// The command's state as `| display json` shows it (None if it failed).
    pub fn json(&self) -> Option<serde_json::Value> {
        self.ops.run(self.cmd, &self.args).ok().map(|s| s.json())
    }
}

/// Who holds the candidate lock, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    pub session: u64,
    pub user: String,
    pub since_ms: i64,
}

#[derive(Debug, Clone)]
pub struct EditorInfo {
    pub user: String,
    pub since_ms: i64,
    pub private: bool,
}

impl Shared {
    pub fn new(engine: Engine, started_ms: i64) -> Shared {
        let candidate = engine.active().clone();
        Shared {
            engine,
            candidate,
            lock: None,
            editors: BTreeMap::new(),
            started_ms,
            operational: Vec::new(),
            op_table: OP_COMMANDS.to_vec(),
        }
    }

    /// Who answers the operational command `line` (canonical words): the subsystem with
    /// the longest command that starts it (the first registered on a tie, as the CLI
    /// picks), that command, and the words after it. Taken under the management lock and
    /// run outside it ([`OpQuery::json`]): the metrics endpoint must not hold up the CLI.
    pub fn op_query(&self, line: &[&str]) -> Option<OpQuery> {
        let mut best: Option<(&Arc<dyn Operational>, &'static [&'static str])> = None;
        for o in &self.operational {
            for (w, _) in o.commands() {
                if line.starts_with(w) && best.is_none_or(|(_, b)| w.len() > b.len()) {
                    best = Some((o, *w));
                }
            }
        }
        let (ops, cmd) = best?;
        Some(OpQuery {
            ops: ops.clone(),
            cmd,
            args: line[cmd.len()..].iter().map(|a| a.to_string()).collect(),
        })
    }

    /// Adds a subsystem's operational commands.
    pub fn with_operational(mut self, ops: Arc<dyn Operational>) -> Shared {
        for c in ops.commands() {
            if !self.op_table.iter().any(|(w, _)| w == &c.0) {
                self.op_table.push(*c);
            }
        }
        self.op_table.sort_by(|a, b| a.0.cmp(b.0));
        self.operational.push(ops);
        self
    }

    pub fn host_name(&self) -> Option<String> {
        self.engine.active_typed().system.host_name.clone()
    }

    /// Takes the candidate for `session` alone. Refused while another session holds it, or
    /// while the candidate has changes nobody committed (as Junos and NETCONF refuse).
    pub fn lock(&mut self, session: u64, user: &str, now_ms: i64) -> Result<(), String> {
        match &self.lock {
            Some(l) if l.session == session => return Ok(()),
            Some(_) => return self.check_lock(session),
            None => {}
        }
        if &self.candidate != self.engine.active() {
            return Err("error: configuration database modified".into());
        }
        self.lock = Some(LockInfo {
            session,
            user: user.to_string(),
            since_ms: now_ms,
        });
        Ok(())
    }

    /// Gives the lock back; uncommitted changes made under it are discarded (Junos's
    /// `configure exclusive`, NETCONF's unlock of the candidate).
    pub fn unlock(&mut self, session: u64) -> Result<(), String> {
        match &self.lock {
            Some(l) if l.session == session => {
                self.lock = None;
                self.candidate = self.engine.active().clone();
                Ok(())
            }
            Some(_) => self.check_lock(session),
            None => Err("error: configuration database is not locked".into()),
        }
    }

    /// Whether `session` may change the candidate or commit: not while another holds it.
    pub fn check_lock(&self, session: u64) -> Result<(), String> {
        match &self.lock {
            Some(l) if l.session != session => {
                let since = chrono::DateTime::from_timestamp_millis(l.since_ms)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                Err(format!(
                    "error: configuration database locked by: {} (session {}) on since {since}",
                    l.user, l.session
                ))
            }
            _ => Ok(()),
        }
    }

    /// The active configuration (or commit `rollback` N) as text, `set` commands or JSON.
    pub fn configuration(
        &self,
        format: ConfigFormat,
        rollback: Option<usize>,
    ) -> Result<String, String> {
        let cfg = match rollback {
            Some(n) => self.engine.rollback(n)?,
            None => std::borrow::Cow::Borrowed(self.engine.active()),
        };
        Ok(match format {
            ConfigFormat::Text => cfg.to_curly(),
            ConfigFormat::Set => cfg.to_set(),
            ConfigFormat::Json => crate::ops::pretty(serde_json::json!({
                "configuration": savin_config::print::json(&cfg.root, schema::root(), true)
            })),
        })
    }

    /// Loads text into the shared candidate: all of it, or nothing and an error that names
    /// `name:line:col`.
    pub fn load(&mut self, mode: LoadMode, name: &str, text: &str) -> Result<(), String> {
        load(&mut self.candidate, mode.word(), name, text)
    }

    /// Commits (or checks) the shared candidate.
    pub fn commit(
        &mut self,
        req: &CommitRequest,
        now_ms: i64,
    ) -> Result<CommitOutcome, CommitError> {
        let candidate = self.candidate.clone();
        self.engine.commit(&candidate, req, now_ms)
    }

    /// After an automatic rollback, a shared candidate without uncommitted edits follows it.
    pub fn after_rollback(&mut self, unconfirmed: &Configuration) {
        if &self.candidate == unconfirmed {
            self.candidate = self.engine.active().clone();
        }
    }
}

pub(crate) struct Private {
    pub(crate) candidate: Configuration,
    /// The active configuration when the private copy was taken.
    pub(crate) base: Configuration,
    pub(crate) base_seq: u64,
}

impl Private {
    /// Replays this session's changes onto a newer active configuration, as Junos merges a
    /// private candidate at commit: statements removed since `base` are deleted, statements
    /// added are set. (Annotations are not carried across such a merge.)
    pub(crate) fn rebase(&mut self, active: &Configuration, active_seq: u64) -> Result<(), String> {
        use std::collections::HashSet;
        let base_text = self.base.to_set();
        let mine_text = self.candidate.to_set();
        let active_text = active.to_set();
        let base_lines: HashSet<&str> = base_text.lines().collect();
        let mine_lines: HashSet<&str> = mine_text.lines().collect();
        let active_lines: HashSet<&str> = active_text.lines().collect();
        // Every statement path that still has something under it in this session's copy, and
        // every path under which someone else changed something since the copy was taken.
        let mine_prefixes: HashSet<String> = mine_text.lines().flat_map(set_prefixes).collect();
        let others_prefixes: HashSet<String> = active_text
            .lines()
            .filter(|l| !base_lines.contains(l))
            .chain(base_text.lines().filter(|l| !active_lines.contains(l)))
            .flat_map(set_prefixes)
            .collect();
        let mut script = String::new();
        let mut deleted: HashSet<String> = HashSet::new();
        for l in base_text.lines().filter(|l| !mine_lines.contains(l)) {
            if let Some(rest) = l.strip_prefix("deactivate ") {
                script.push_str(&format!("activate {rest}\n"));
                continue;
            }
            // Delete the largest statement this session removed that nobody else touched,
            // so a removed route goes as a whole and a route added by someone else stays.
            let prefixes = set_prefixes(l);
            let target = prefixes
                .iter()
                .find(|p| !mine_prefixes.contains(*p) && !others_prefixes.contains(*p))
                .or(prefixes.last());
            if let Some(t) = target {
                if deleted.insert(t.clone()) {
                    script.push_str(&format!("delete {t}\n"));
                }
            }
        }
        for l in mine_text.lines().filter(|l| !base_lines.contains(l)) {
            script.push_str(l);
            script.push('\n');
        }
        let mut merged = active.clone();
        apply_set_text(&mut merged.root, &script, Some("private changes")).map_err(|e| {
            format!("error: private changes conflict with the committed configuration: {e}")
        })?;
        self.candidate = merged;
        self.base = active.clone();
        self.base_seq = active_seq;
        Ok(())
    }
}

/// The statement paths of one `set` line, shortest first: `set a b c` gives `a`, `a b`, `a b c`.
fn set_prefixes(line: &str) -> Vec<String> {
    let Some(rest) = line.strip_prefix("set ") else {
        return Vec::new();
    };
    let Ok(words) = command_words(rest) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(words.len());
    let mut cur = String::new();
    for w in words {
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&savin_config::value::quote(&w.text));
        out.push(cur.clone());
    }
    out
}

/// Loads `text` into `candidate` as `load MODE`: on a copy, so that an error (named
/// `name:line:col`) leaves the candidate as it was.
pub(crate) fn load(
    candidate: &mut Configuration,
    mode: &str,
    name: &str,
    text: &str,
) -> Result<(), String> {
    let mut copy = candidate.clone();
    load_into(&mut copy, mode, Some(name), text)?;
    if let Some(path) = tree::protected_change(&candidate.root, Some(&copy.root), schema::root()) {
        return Err(tree::protected_error(&path));
    }
    *candidate = copy;
    Ok(())
}

fn load_into(
    candidate: &mut Configuration,
    mode: &str,
    name: Option<&str>,
    text: &str,
) -> Result<(), String> {
    match mode {
        "set" => apply_set_text(&mut candidate.root, text, name).map_err(|e| e.to_string()),
        "merge" | "replace" | "override" => {
            let mut parsed = parse_curly(text, name).map_err(|e| e.to_string())?;
            match mode {
                "override" => {
                    tree::strip_replace(&mut parsed);
                    candidate.root = parsed;
                }
                "merge" => {
                    tree::strip_replace(&mut parsed);
                    tree::merge(&mut candidate.root, parsed, schema::root());
                }
                _ => tree::merge(&mut candidate.root, parsed, schema::root()),
            }
            Ok(())
        }
        other => Err(format!("load: unknown mode '{other}'")),
    }
}
