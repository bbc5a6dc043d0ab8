//! One CLI session: operational mode (`>`), configuration mode (`#`), and the command set.
//!
//! Sessions share one [`Shared`] state behind the daemon's lock, so commits are serialised.
//! In configuration mode a session edits the shared candidate (as plain `configure` on Junos)
//! or a private copy (`configure private`).

use std::sync::Arc;

use regex::Regex;
use savin_config::complete::{complete, Candidate};
use savin_config::parse::{command_words, is_edit_command, split_unquoted, Editor};
use savin_config::print::{curly, curly_stmt, json, set_form};
use savin_config::schema::{self};
use savin_config::subsystem::Operational;
use savin_config::tree::{
    block_at, node_at, path_words, resolve, Block, End, Entries, Item, Step, Word,
};
use savin_config::{diff, Configuration};

pub use crate::datastore::Shared;
use crate::datastore::{EditorInfo, Private};
use crate::engine::{CommitOutcome, CommitRequest, DEFAULT_CONFIRM_MINUTES};
use crate::ops;
use crate::proto::{Attachment, Reply};

enum Mode {
    Operational,
    Configure {
        editor: Editor,
        private: Option<Private>,
    },
}

pub struct Session {
    pub id: u64,
    pub user: String,
    mode: Mode,
}

/// Operational-mode commands with their `?` help.
pub(crate) const OP_COMMANDS: &CommandTable = &[
    (
        &["configure"],
        "Manipulate software configuration information",
    ),
    (
        &["configure", "private"],
        "Edit a private copy of the configuration",
    ),
    (
        &["configure", "exclusive"],
        "Edit the configuration with others locked out",
    ),
    (&["show"], "Show system information"),
    (&["show", "chassis"], "Show chassis information"),
    (
        &["show", "chassis", "hardware"],
        "Show installed hardware components",
    ),
    (
        &["show", "chassis", "routing-engine"],
        "Show Routing Engine status",
    ),
    (&["show", "configuration"], "Show current configuration"),
    (&["show", "system"], "Show system information"),
    (
        &["show", "system", "commit"],
        "Show pending commits and commit history",
    ),
    (
        &["show", "system", "uptime"],
        "Show time since system and processes started",
    ),
    (
        &["show", "version"],
        "Show software process revision levels",
    ),
    (&["exit"], "Exit the management session"),
    (&["quit"], "Exit the management session"),
    (&["set"], "Set CLI properties"),
    (&["set", "cli"], "Set CLI properties"),
    (
        &["set", "cli", "screen-length"],
        "Set number of lines on screen",
    ),
    (
        &["set", "cli", "screen-width"],
        "Set number of characters on a line",
    ),
    (&["set", "cli", "timestamp"], "Timestamp CLI output"),
];

/// Configuration-mode commands with their `?` help.
const CONFIG_COMMANDS: &CommandTable = &[
    (&["activate"], "Remove the inactive tag from a statement"),
    (&["annotate"], "Annotate the statement with a comment"),
    (&["commit"], "Commit current set of changes"),
    (
        &["commit", "and-quit"],
        "Quit configuration mode if commit succeeds",
    ),
    (
        &["commit", "check"],
        "Check correctness of syntax; do not apply changes",
    ),
    (
        &["commit", "comment"],
        "Message to accompany configuration commit",
    ),
    (
        &["commit", "confirmed"],
        "Automatically rollback if not confirmed",
    ),
    (&["deactivate"], "Add the inactive tag to a statement"),
    (&["delete"], "Delete a data element"),
    (&["edit"], "Edit a sub-element"),
    (&["exit"], "Exit from this level"),
    (
        &["insert"],
        "Insert an entry of an ordered list before or after another",
    ),
    (&["load"], "Load configuration from ASCII file"),
    (&["protect"], "Protect the statement from changes"),
    (
        &["load", "merge"],
        "Merge contents with existing configuration",
    ),
    (&["load", "override"], "Override existing configuration"),
    (&["load", "replace"], "Replace configuration data"),
    (
        &["load", "set"],
        "Execute set of commands on existing configuration",
    ),
    (&["quit"], "Quit from this level"),
    (
        &["rollback"],
        "Roll back to previous committed configuration",
    ),
    (&["run"], "Run an operational-mode command"),
    (&["set"], "Set a parameter"),
    (&["show"], "Show a parameter"),
    (&["top"], "Exit to top level of configuration"),
    (&["unprotect"], "Remove the protection from a statement"),
    (&["up"], "Exit one level of configuration"),
];

/// Expands unique prefixes of command words (`sh conf` → `show configuration`). Returns the
/// canonical words matched and how many input words they consumed.
type CommandTable = [(&'static [&'static str], &'static str)];

fn match_command(table: &CommandTable, words: &[Word]) -> Result<Vec<&'static str>, String> {
    let mut matched: Vec<&'static str> = Vec::new();
    for w in words {
        let depth = matched.len();
        let mut next: Vec<&'static str> = table
            .iter()
            .filter(|(p, _)| p.len() > depth && p[..depth] == matched[..])
            .map(|(p, _)| p[depth])
            .collect();
        next.sort_unstable();
        next.dedup();
        if next.is_empty() {
            break;
        }
        if let Some(exact) = next.iter().find(|n| **n == w.text) {
            matched.push(exact);
            continue;
        }
        let hits: Vec<&&str> = next.iter().filter(|n| n.starts_with(&w.text)).collect();
        match hits.len() {
            1 => matched.push(hits[0]),
            0 if depth == 0 => return Err(format!("syntax error: unknown command '{}'", w.text)),
            0 => break,
            _ => {
                return Err(format!(
                    "'{}' is ambiguous; possible completions: {}",
                    w.text,
                    hits.iter().map(|h| **h).collect::<Vec<_>>().join(" ")
                ))
            }
        }
    }
    Ok(matched)
}

/// The text after `|`: how a `show` renders and which lines it keeps.
#[derive(Default)]
struct Pipes {
    display_set: bool,
    display_json: bool,
    /// `| display inheritance [defaults]`: the configuration with its groups applied.
    inheritance: bool,
    /// `| compare` (None inside: against the active configuration) or `| compare rollback N`.
    compare: Option<Option<usize>>,
    /// `| display xml rpc`: the RPC the command is, instead of running it.
    display_rpc: bool,
    /// `| display xml`: a configuration prints in its schema's XML form.
    display_xml: bool,
    filters: Vec<Filter>,
}

enum Filter {
    Match(Regex),
    Except(Regex),
    Count,
    Last(usize),
    /// `| display xml`: the command's JSON (Junos element names) as Junos XML.
    Xml,
}

/// Splits `cmd | a | b` at bars outside quotes.
/// The operational command of `line` if a subsystem answers it (see [`Session::deferred_op`]);
/// `json` as if `| display json` were given.
pub(crate) fn deferred_op(
    sh: &Shared,
    line: &str,
    json: bool,
    prompt: String,
    banner: String,
) -> Option<DeferredOp> {
    let (cmd, pipe_parts) = split_pipes(line);
    let pipes = parse_pipes(&pipe_parts).ok()?;
    if pipes.compare.is_some() || pipes.display_set || pipes.display_rpc {
        return None;
    }
    let words = command_words(&cmd).ok()?;
    let m = match_command(&sh.op_table, &words).ok()?;
    if m.len() < 2 {
        return None;
    }
    let (provider, command) = sh.operational.iter().find_map(|o| {
        o.commands()
            .iter()
            .find(|(w, _)| *w == m.as_slice())
            .map(|(w, _)| (o.clone(), *w))
    })?;
    Some(DeferredOp {
        provider,
        command,
        args: words[m.len()..].iter().map(|w| w.text.clone()).collect(),
        json: json || pipes.display_json,
        filters: pipes.filters,
        prompt,
        banner,
    })
}

/// A command's outcome as the reply carries it: the status, and the text ending in a newline.
fn status_and_text(result: Result<String, String>) -> (bool, String) {
    match result {
        Ok(o) => (true, o),
        Err(e) if e.ends_with('\n') => (false, e),
        Err(e) => (false, format!("{e}\n")),
    }
}

/// An operational command of a subsystem, taken out from under the management lock.
pub struct DeferredOp {
    provider: Arc<dyn Operational>,
    command: &'static [&'static str],
    args: Vec<String>,
    json: bool,
    filters: Vec<Filter>,
    prompt: String,
    banner: String,
}

impl DeferredOp {
    /// Runs the command and makes the session's reply.
    pub fn run(self) -> Reply {
        let result = self
            .provider
            .run(self.command, &self.args)
            .map(|state| apply_filters(view(state.as_ref(), self.json), &self.filters))
            .or_else(err);
        let (ok, output) = status_and_text(result);
        Reply {
            ok,
            output,
            prompt: self.prompt,
            banner: self.banner,
            exit: false,
            completions: Vec::new(),
        }
    }
}

/// A subsystem's reply as the CLI shows it: its text, or with `| display json` (and for
/// `| display xml`, which is made from it) its JSON.
fn view(state: &dyn savin_config::subsystem::State, json: bool) -> String {
    if json {
        ops::pretty(state.json())
    } else {
        state.text()
    }
}

fn split_pipes(line: &str) -> (String, Vec<String>) {
    let mut parts = split_unquoted(line, '|');
    let cmd = parts.remove(0);
    (
        cmd,
        parts.into_iter().map(|p| p.trim().to_string()).collect(),
    )
}

fn parse_pipes(parts: &[String]) -> Result<Pipes, String> {
    let mut p = Pipes::default();
    for part in parts {
        let words: Vec<&str> = part.split_whitespace().collect();
        let regex = |i: usize| -> Result<Regex, String> {
            let pat = part
                .split_once(char::is_whitespace)
                .map(|x| x.1.trim())
                .unwrap_or("");
            let pat = pat.trim_matches('"');
            if pat.is_empty() || i == 0 {
                return Err(format!("'{}' needs a pattern", words[0]));
            }
            Regex::new(pat).map_err(|e| format!("invalid pattern: {e}"))
        };
        match words.as_slice() {
            ["display", "set"] => p.display_set = true,
            // `defaults` would add the factory-default groups; Savin's defaults are built in
            // and shown by the commands that use them, so both forms show the same.
            ["display", "inheritance"] | ["display", "inheritance", "defaults"] => {
                p.inheritance = true
            }
            ["display", "json"] => p.display_json = true,
            ["display", "xml"] => {
                p.display_json = true;
                p.display_xml = true;
                p.filters.push(Filter::Xml);
            }
            ["display", "xml", "rpc"] => p.display_rpc = true,
            ["compare"] => p.compare = Some(None),
            ["compare", "rollback", n] => {
                let n: usize = n.parse().map_err(|_| format!("invalid rollback number '{n}'"))?;
                p.compare = Some(Some(n));
            }
            ["count"] => p.filters.push(Filter::Count),
            ["last"] => p.filters.push(Filter::Last(20)),
            ["last", n] => p.filters.push(Filter::Last(n.parse().map_err(|_| format!("invalid count '{n}'"))?)),
            ["no-more"] => {}
            ["match", ..] => p.filters.push(Filter::Match(regex(1)?)),
            ["except", ..] => p.filters.push(Filter::Except(regex(1)?)),
            [] => return Err("missing command after '|'".into()),
            _ => {
                return Err(format!(
                    "syntax error: unknown pipe '| {part}'; expected compare, count, display inheritance, display json, display set, display xml, display xml rpc, except, last, match, no-more"
                ))
            }
        }
    }
    Ok(p)
}

fn apply_filters(mut text: String, filters: &[Filter]) -> String {
    for f in filters {
        text = match f {
            Filter::Match(r) => keep_lines(&text, |l| r.is_match(l)),
            Filter::Except(r) => keep_lines(&text, |l| !r.is_match(l)),
            Filter::Count => format!("Count: {} lines\n", text.lines().count()),
            Filter::Last(n) => {
                let lines: Vec<&str> = text.lines().collect();
                let from = lines.len().saturating_sub(*n);
                lines[from..].iter().map(|l| format!("{l}\n")).collect()
            }
            Filter::Xml => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => ops::json_to_xml(&v),
                Err(_) => text,
            },
        };
    }
    text
}

fn keep_lines(text: &str, keep: impl Fn(&str) -> bool) -> String {
    text.lines()
        .filter(|l| keep(l))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A copy of `root` holding only the branch down to `steps` and everything below it, so that
/// printers that start at the top (`display set`, JSON) show full paths.
fn branch(root: &Block, steps: &[Step], end: &End) -> Block {
    let node = schema::root();
    let mut out = Block::default();
    let Some(target) = block_at(root, steps) else {
        return out;
    };
    let mut leaf_only = target.clone();
    match end {
        End::Here => {}
        End::List(i) | End::Leaf(i, _) | End::Flag(i) | End::LeafList(i, _) => {
            leaf_only.items.retain(|k, _| k == i);
        }
    }
    // Rebuild from the bottom up.
    let mut inner = leaf_only;
    for depth in (0..steps.len()).rev() {
        let parent_steps = &steps[..depth];
        let parent_node = node_at(node, parent_steps);
        let mut parent = Block::default();
        if let Some(orig) = block_at(root, parent_steps) {
            parent.meta = if depth == 0 {
                Default::default()
            } else {
                orig.meta.clone()
            };
        }
        match &steps[depth] {
            Step::Container(i) => {
                parent.items.insert(*i, Item::Block(inner));
            }
            Step::Entry(i, k) => {
                let mut e = Entries::new(&parent_node.children()[*i]);
                e.insert(k.clone(), inner);
                parent.items.insert(*i, Item::List(e));
            }
        }
        inner = parent;
    }
    out.items = inner.items;
    out
}

/// Renders the part of `root` named by `t` in the form the pipes ask for.
fn render(root: &Block, t: &savin_config::tree::Target, pipes: &Pipes) -> String {
    let expanded;
    let root = if pipes.inheritance {
        match savin_config::groups::expand(root, schema::root()) {
            Ok(r) => {
                expanded = r;
                &*expanded
            }
            Err(e) => return format!("error: {e}\n"),
        }
    } else {
        root
    };
    if pipes.display_xml {
        // The XML form from the schema (inactive and protect as attributes, annotations as
        // junos:comment, a list's key first), as NETCONF's get-configuration gives it.
        let b = branch(root, &t.steps, &t.end);
        let mut out = String::from(
            "<rpc-reply xmlns:junos=\"http://xml.juniper.net/junos/*/junos\">\n    <configuration>\n",
        );
        savin_config::print::xml(&b, schema::root(), 2, &mut out);
        out.push_str("    </configuration>\n</rpc-reply>\n");
        return out;
    }
    if pipes.display_json {
        let b = branch(root, &t.steps, &t.end);
        return ops::pretty(serde_json::json!({"configuration": json(&b, schema::root(), true)}));
    }
    if pipes.display_set {
        let b = branch(root, &t.steps, &t.end);
        return set_form(&b, schema::root(), "");
    }
    let Some(block) = block_at(root, &t.steps) else {
        return String::new();
    };
    let node = node_at(schema::root(), &t.steps);
    match &t.end {
        End::Here => curly(block, node),
        End::List(i) | End::Leaf(i, _) | End::Flag(i) | End::LeafList(i, _) => {
            let mut out = String::new();
            if let Some(item) = block.items.get(i) {
                curly_stmt(&mut out, &node.children()[*i], item, 0, "");
            }
            out
        }
    }
}

fn err<T>(msg: impl std::fmt::Display) -> Result<T, String> {
    let m = msg.to_string();
    if m.starts_with("error:") || m.contains("\nerror:") || m.starts_with('[') {
        Err(m)
    } else {
        Err(format!("error: {m}"))
    }
}

impl Session {
    pub fn new(id: u64, user: String) -> Session {
        Session {
            id,
            user,
            mode: Mode::Operational,
        }
    }

    pub fn in_configuration_mode(&self) -> bool {
        matches!(self.mode, Mode::Configure { .. })
    }

    /// The prompt and `[edit]` banner for the next command.
    pub fn prompt(&self, sh: &Shared) -> (String, String) {
        let host = sh.host_name().map(|h| format!("@{h}")).unwrap_or_default();
        match &self.mode {
            Mode::Operational => (format!("{}{host}> ", self.user), String::new()),
            Mode::Configure { editor, .. } => (format!("{}{host}# ", self.user), editor.banner()),
        }
    }

    /// Leaves configuration mode when the client goes away.
    pub fn close(&mut self, sh: &mut Shared) {
        sh.editors.remove(&self.id);
        // A lock goes with its session, and so do the changes made under it.
        if sh.lock.as_ref().is_some_and(|l| l.session == self.id) {
            let _ = sh.unlock(self.id);
        }
        self.mode = Mode::Operational;
    }

    /// Runs one command line and answers it.
    pub fn exec(
        &mut self,
        sh: &mut Shared,
        line: &str,
        data: Option<Attachment>,
        now_ms: i64,
    ) -> Reply {
        let mut exit = false;
        let result = self.dispatch(sh, line, data, now_ms, &mut exit);
        let (prompt, banner) = self.prompt(sh);
        let (ok, output) = status_and_text(result);
        Reply {
            ok,
            output,
            prompt,
            banner,
            exit,
            completions: Vec::new(),
        }
    }

    /// The operational command of `line` if a subsystem answers it (`show route`, `show
    /// arp`, ...): the server runs it after releasing the management lock, so a long `show`
    /// never holds up a commit or another session. None for everything else (configuration
    /// mode, the commands answered here, `| compare`, a line that does not parse: `exec`
    /// reports those).
    pub fn deferred_op(&self, sh: &Shared, line: &str) -> Option<DeferredOp> {
        if !matches!(self.mode, Mode::Operational) {
            return None;
        }
        let (prompt, banner) = self.prompt(sh);
        deferred_op(sh, line, false, prompt, banner)
    }

    fn dispatch(
        &mut self,
        sh: &mut Shared,
        line: &str,
        data: Option<Attachment>,
        now_ms: i64,
        exit: &mut bool,
    ) -> Result<String, String> {
        let (cmd, pipe_parts) = split_pipes(line);
        let pipes = parse_pipes(&pipe_parts).or_else(err)?;
        let words = command_words(&cmd).or_else(err)?;
        if words.is_empty() {
            return Ok(String::new());
        }
        let out = match self.mode {
            Mode::Operational => self.operational(sh, &words, &pipes, now_ms, exit)?,
            Mode::Configure { .. } => self.configure_cmd(sh, &words, &pipes, data, now_ms)?,
        };
        Ok(apply_filters(out, &pipes.filters))
    }

    fn operational(
        &mut self,
        sh: &mut Shared,
        words: &[Word],
        pipes: &Pipes,
        now_ms: i64,
        exit: &mut bool,
    ) -> Result<String, String> {
        let m = match_command(&sh.op_table, words).or_else(err)?;
        let rest = &words[m.len()..];
        if pipes.display_rpc {
            let args: Vec<String> = rest.iter().map(|w| w.text.clone()).collect();
            return crate::rpcs::rpc_of(&m, &args)
                .ok_or_else(|| format!("error: no RPC for '{}'", m.join(" ")));
        }
        let host = sh.host_name().unwrap_or_default();
        let no_args = |out: String| {
            if let Some(w) = rest.first() {
                err(format!("syntax error: unexpected '{}'", w.text))
            } else {
                Ok(out)
            }
        };
        match m.as_slice() {
            ["configure"] => no_args(self.enter_configure(sh, false, now_ms)?),
            ["configure", "private"] => no_args(self.enter_configure(sh, true, now_ms)?),
            ["configure", "exclusive"] => {
                if let Some(w) = rest.first() {
                    return err(format!("syntax error: unexpected '{}'", w.text));
                }
                sh.lock(self.id, &self.user, now_ms).or_else(err)?;
                match self.enter_configure(sh, false, now_ms) {
                    Ok(out) => Ok(out + "warning: uncommitted changes will be discarded on exit\n"),
                    Err(e) => {
                        let _ = sh.unlock(self.id);
                        Err(e)
                    }
                }
            }
            ["show", "configuration"] => {
                let active = sh.engine.active();
                let t = resolve(schema::root(), rest, true).or_else(err)?;
                if let Some(n) = pipes.compare {
                    let base = sh.engine.rollback(n.unwrap_or(0)).or_else(err)?;
                    return Ok(compare_at(&base, active, &t.steps));
                }
                Ok(render(&active.root, &t, pipes))
            }
            ["show", "system", "commit"] => {
                no_args(view(&ops::commits(&sh.engine, now_ms), pipes.display_json))
            }
            ["show", "system", "uptime"] => no_args(view(
                &ops::uptime(&sh.engine, sh.started_ms, now_ms),
                pipes.display_json,
            )),
            ["show", "version"] => no_args(view(&ops::version(&host), pipes.display_json)),
            ["show", "chassis", "hardware"] => no_args(view(
                &ops::chassis_inventory(sh.engine.serial_number()),
                pipes.display_json,
            )),
            ["show", "chassis", "routing-engine"] => no_args(view(
                &ops::route_engine(sh.started_ms, now_ms),
                pipes.display_json,
            )),
            ["exit"] | ["quit"] => {
                *exit = true;
                no_args(String::new())
            }
            // The terminal settings automation sets first (Ansible's network_cli): Savin's
            // CLI neither pages nor wraps, so they are accepted and said, as Junos says them.
            ["set", "cli", what @ ("screen-length" | "screen-width")] => {
                let n = match rest {
                    [w] => w.text.parse::<u32>().ok().filter(|n| *n <= 100_000),
                    _ => None,
                };
                match n {
                    Some(n) if *what == "screen-length" => {
                        Ok(format!("Screen length set to {n}\n"))
                    }
                    Some(n) => Ok(format!("Screen width set to {n}\n")),
                    None => err(format!(
                        "syntax error: set cli {what} needs a number (0..100000)"
                    )),
                }
            }
            ["set", "cli", "timestamp"] => match rest {
                [w] if w.text == "disable" => Ok("Timestamp disabled\n".into()),
                [w] if w.text == "enable" => Ok("Timestamp enabled\n".into()),
                _ => err("syntax error: set cli timestamp disable|enable"),
            },
            m if m.len() > 1 => {
                let provider = sh
                    .operational
                    .iter()
                    .find(|o| o.commands().iter().any(|(w, _)| *w == m));
                match provider {
                    Some(o) => {
                        let args: Vec<String> = rest.iter().map(|w| w.text.clone()).collect();
                        o.run(m, &args)
                            .map(|state| view(state.as_ref(), pipes.display_json))
                            .or_else(err)
                    }
                    None => err(format!(
                        "syntax error: incomplete command '{}'; try '?'",
                        words
                            .iter()
                            .map(|w| w.text.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )),
                }
            }
            _ => err(format!(
                "syntax error: incomplete command '{}'; try '?'",
                words
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            )),
        }
    }

    fn enter_configure(
        &mut self,
        sh: &mut Shared,
        private: bool,
        now_ms: i64,
    ) -> Result<String, String> {
        let mut out = String::new();
        let others: Vec<String> = sh
            .editors
            .iter()
            .filter(|(id, _)| **id != self.id)
            .map(|(id, e)| {
                let since = chrono::DateTime::from_timestamp_millis(e.since_ms)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                let how = if e.private { ", private" } else { "" };
                format!("  {} (session {id}{how}) on since {since}\n", e.user)
            })
            .collect();
        let shared_modified = &sh.candidate != sh.engine.active();
        if private && shared_modified {
            let mut e = "error: shared configuration database modified\n".to_string();
            if !others.is_empty() {
                e.push_str("Users currently editing the configuration:\n");
                e.extend(others);
            }
            return Err(e);
        }
        if !others.is_empty() {
            out.push_str("Users currently editing the configuration:\n");
            out.extend(others);
        }
        if !private && shared_modified {
            out.push_str("The configuration has been changed but not committed\n");
        }
        let private = private.then(|| {
            out.push_str("warning: uncommitted changes will be discarded on exit\n");
            Private {
                candidate: sh.engine.active().clone(),
                base: sh.engine.active().clone(),
                base_seq: sh.engine.active_seq(),
            }
        });
        sh.editors.insert(
            self.id,
            EditorInfo {
                user: self.user.clone(),
                since_ms: now_ms,
                private: private.is_some(),
            },
        );
        self.mode = Mode::Configure {
            editor: Editor::new(true),
            private,
        };
        out.push_str("Entering configuration mode\n");
        Ok(out)
    }

    fn leave_configure(&mut self, sh: &mut Shared) -> String {
        let mut out = String::new();
        if let Mode::Configure { private, .. } = &self.mode {
            let changed = match private {
                Some(p) => &p.candidate != sh.engine.active(),
                None => &sh.candidate != sh.engine.active(),
            };
            if changed {
                out.push_str("The configuration has been changed but not committed\n");
            }
        }
        self.close(sh);
        out.push_str("Exiting configuration mode\n");
        out
    }

    fn configure_cmd(
        &mut self,
        sh: &mut Shared,
        words: &[Word],
        pipes: &Pipes,
        data: Option<Attachment>,
        now_ms: i64,
    ) -> Result<String, String> {
        let m = match_command(CONFIG_COMMANDS, &words[..1]).or_else(err)?;
        let cmd = m.first().copied().unwrap_or("");
        let args = &words[1..];
        let Mode::Configure { editor, private } = &mut self.mode else {
            unreachable!()
        };
        // Another session's exclusive lock: this one may look, not change or commit.
        let changes = is_edit_command(cmd) || matches!(cmd, "load" | "rollback");
        if (changes && private.is_none()) || cmd == "commit" {
            sh.check_lock(self.id).or_else(err)?;
        }
        let candidate = match private {
            Some(p) => &mut p.candidate,
            None => &mut sh.candidate,
        };
        match cmd {
            c if is_edit_command(c) => {
                let mut w = words.to_vec();
                w[0].text = c.to_string();
                let warn = editor.exec(&mut candidate.root, &w).or_else(err)?;
                Ok(warn.map(|w| format!("{w}\n")).unwrap_or_default())
            }
            "show" => {
                let ctx = node_at(schema::root(), &editor.level);
                let rel = resolve(ctx, args, true).or_else(err)?;
                let mut steps = editor.level.clone();
                steps.extend(rel.steps);
                let t = savin_config::tree::Target {
                    steps,
                    end: rel.end,
                };
                if let Some(n) = pipes.compare {
                    let base = sh.engine.rollback(n.unwrap_or(0)).or_else(err)?;
                    return Ok(compare_at(&base, candidate, &t.steps));
                }
                Ok(render(&candidate.root, &t, pipes))
            }
            "rollback" => {
                let n = match args {
                    [] => 0,
                    [w] => w.text.parse::<usize>().map_err(|_| {
                        format!("error: invalid rollback number '{}' (0..49)", w.text)
                    })?,
                    _ => return err("usage: rollback [0..49]"),
                };
                *candidate = sh.engine.rollback(n).or_else(err)?.into_owned();
                Ok("load complete\n".into())
            }
            "load" => {
                let lm =
                    match_command(CONFIG_COMMANDS, &words[..words.len().min(2)]).or_else(err)?;
                let mode = lm
                    .get(1)
                    .copied()
                    .ok_or("error: usage: load merge|override|replace|set FILE|terminal")?;
                if args.len() != 2 {
                    return err(format!("usage: load {mode} FILE|terminal"));
                }
                let Some(data) = data else {
                    return err(format!(
                        "load {mode} {}: the client sent no text (use 'savin cli', which reads the file)",
                        args[1].text
                    ));
                };
                crate::datastore::load(candidate, mode, &data.name, &data.text).or_else(err)?;
                Ok("load complete\n".into())
            }
            "commit" => {
                let req = parse_commit(args, &self.user).or_else(err)?;
                let and_quit = args.iter().any(|w| w.text == "and-quit");
                if let Some(p) = private.as_mut() {
                    if p.base_seq != sh.engine.active_seq() {
                        p.rebase(sh.engine.active(), sh.engine.active_seq())?;
                    }
                }
                let shared_clean = &sh.candidate == sh.engine.active();
                let outcome = match private.as_ref() {
                    Some(p) => sh.engine.commit(&p.candidate, &req, now_ms),
                    None => sh.engine.commit(&sh.candidate, &req, now_ms),
                }
                .or_else(err)?;
                if let Some(p) = private.as_mut() {
                    if matches!(outcome, CommitOutcome::Committed { .. }) {
                        p.base = sh.engine.active().clone();
                        p.base_seq = sh.engine.active_seq();
                        // A shared candidate nobody had changed follows the commit.
                        if shared_clean {
                            sh.candidate = sh.engine.active().clone();
                        }
                    }
                }
                let mut out = String::new();
                match outcome {
                    CommitOutcome::Checked => out.push_str("configuration check succeeds\n"),
                    CommitOutcome::Committed {
                        confirm_minutes,
                        warnings,
                        ..
                    } => {
                        for w in warnings {
                            out.push_str(&format!("warning: {w}\n"));
                        }
                        if let Some(m) = confirm_minutes {
                            out.push_str(&format!(
                                "commit confirmed will be automatically rolled back in {m} minutes unless confirmed\n"
                            ));
                        }
                        out.push_str("commit complete\n");
                        if and_quit {
                            out.push_str(&self.leave_configure(sh));
                        }
                    }
                }
                Ok(out)
            }
            "exit" | "quit" => {
                let to_top = args
                    .first()
                    .is_some_and(|w| "configuration-mode".starts_with(w.text.as_str()));
                if !to_top && !editor.level.is_empty() {
                    editor
                        .exec(&mut Block::default(), &[Word::new("up")])
                        .or_else(err)?;
                    return Ok(String::new());
                }
                Ok(self.leave_configure(sh))
            }
            "run" => {
                let mut op = Session {
                    id: self.id,
                    user: self.user.clone(),
                    mode: Mode::Operational,
                };
                let mut exit = false;
                if args
                    .first()
                    .is_some_and(|w| "configure".starts_with(w.text.as_str()) && w.text.len() >= 4)
                {
                    return err("'run configure' is not allowed in configuration mode");
                }
                op.operational(sh, args, pipes, now_ms, &mut exit)
            }
            _ => err(format!("syntax error: unknown command '{}'", words[0].text)),
        }
    }

    /// Completions for the last word of `line`.
    pub fn complete(&self, sh: &Shared, line: &str) -> Vec<Candidate> {
        let (cmd, pipes) = split_pipes(line);
        if !pipes.is_empty() {
            let last = pipes.last().map(String::as_str).unwrap_or("");
            let opts = [
                (
                    "compare",
                    "Compare configuration changes with a prior version",
                ),
                ("count", "Count occurrences"),
                ("display", "Show additional kinds of information"),
                ("except", "Show only text that does not match a pattern"),
                ("last", "Display end of output only"),
                ("match", "Show only text that matches a pattern"),
                ("no-more", "Don't paginate output"),
            ];
            return opts
                .iter()
                .filter(|(w, _)| w.starts_with(last))
                .map(|(w, h)| Candidate {
                    word: w.to_string(),
                    help: h.to_string(),
                    placeholder: false,
                })
                .collect();
        }
        let partial_start = cmd.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let (done, partial) = cmd.split_at(partial_start);
        let Ok(words) = command_words(done) else {
            return Vec::new();
        };
        let (table, level, root): (&CommandTable, Vec<Step>, &Block) = match &self.mode {
            Mode::Operational => (&sh.op_table[..], Vec::new(), &sh.engine.active().root),
            Mode::Configure { editor, private } => (
                CONFIG_COMMANDS,
                editor.level.clone(),
                match private {
                    Some(p) => &p.candidate.root,
                    None => &sh.candidate.root,
                },
            ),
        };
        let matched = match_command(table, &words).unwrap_or_default();
        let path_cmd = matches!(
            matched.as_slice(),
            ["set"]
                | ["delete"]
                | ["edit"]
                | ["activate"]
                | ["deactivate"]
                | ["annotate"]
                | ["insert"]
                | ["protect"]
                | ["unprotect"]
                | ["show"]
                | ["show", "configuration"]
        );
        let operational = matches!(self.mode, Mode::Operational);
        if path_cmd && !(matched == ["show"] && operational) {
            let level = if matched.len() == 2 {
                Vec::new()
            } else {
                level
            };
            return complete(root, &level, &words[matched.len()..], partial);
        }
        if matched.len() < words.len() {
            return Vec::new();
        }
        let depth = matched.len();
        let mut out: Vec<Candidate> = table
            .iter()
            .filter(|(p, _)| {
                p.len() == depth + 1 && p[..depth] == matched[..] && p[depth].starts_with(partial)
            })
            .map(|(p, h)| Candidate {
                word: p[depth].to_string(),
                help: h.to_string(),
                placeholder: false,
            })
            .collect();
        out.dedup_by(|a, b| a.word == b.word);
        out
    }
}

/// `show | compare` limited to the block at `steps`, with banners naming the full path.
fn compare_at(old: &Configuration, new: &Configuration, steps: &[Step]) -> String {
    let empty = Block::default();
    let a = block_at(&old.root, steps).unwrap_or(&empty);
    let b = block_at(&new.root, steps).unwrap_or(&empty);
    let node = node_at(schema::root(), steps);
    diff::diff(a, b, node, &path_words(schema::root(), steps))
}

fn parse_commit(args: &[Word], user: &str) -> Result<CommitRequest, String> {
    let mut req = CommitRequest {
        user: user.to_string(),
        ..Default::default()
    };
    let mut i = 0;
    while i < args.len() {
        let w = args[i].text.as_str();
        i += 1;
        let kw = ["and-quit", "check", "comment", "confirmed", "synchronize"]
            .into_iter()
            .filter(|k| k.starts_with(w) && !w.is_empty())
            .collect::<Vec<_>>();
        match kw.as_slice() {
            ["check"] => req.check_only = true,
            ["and-quit"] | ["synchronize"] => {}
            ["comment"] => {
                let c = args.get(i).ok_or("commit comment: missing text")?;
                req.comment = Some(c.text.clone());
                i += 1;
            }
            ["confirmed"] => {
                let mut minutes = DEFAULT_CONFIRM_MINUTES;
                if let Some(n) = args.get(i).and_then(|w| w.text.parse::<u32>().ok()) {
                    if !(1..=65535).contains(&n) {
                        return Err(format!(
                            "commit confirmed {n}: value is not within range (1..65535)"
                        ));
                    }
                    minutes = n;
                    i += 1;
                }
                req.confirm_minutes = Some(minutes);
            }
            _ => return Err(format!("syntax error: commit: unexpected '{w}'")),
        }
    }
    if req.check_only && (req.confirm_minutes.is_some() || req.comment.is_some()) {
        return Err("commit check takes no other options".into());
    }
    Ok(req)
}
