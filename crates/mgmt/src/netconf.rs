//! A NETCONF session on the datastore: what the SSH server's `netconf` subsystem runs. Each
//! operation is answered from the same datastore and commit engine as the CLI (never by
//! typing CLI text into a session), in the XML Junos gives: PyEZ, NAPALM, Ansible and
//! ncclient parse these replies.

use std::sync::Arc;

use savin_netconf::framing::{frame, Deframer, Framing};
use savin_netconf::reply::{self, rpc_reply, RpcError, OK};
use savin_netconf::rpc::{self, ConfigBody, Datastore, Format, LoadAction, Message, Op};
use savin_netconf::xml::{escape, Element};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::{debug, info, warn};

use crate::datastore::{Private, Shared};
use crate::engine::{CommitOutcome, CommitRequest};
use crate::proto::LoadMode;
use crate::server::{now_ms, Server};
use crate::session::Session;

/// The largest request: a 100k-line configuration is a few MB; a client that sends more
/// gets an error and the session ends (the daemon keeps serving the others).
pub const MAX_MESSAGE: usize = 32 << 20;

/// What the user may do, from their login class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `super-user`: everything.
    Configure,
    /// `operator`, `read-only`: look, not change.
    View,
}

/// Whether a read-only or operator user may run `line`: looking, not changing. The first
/// word is matched as the CLI matches it (an unambiguous abbreviation).
pub fn allowed(perm: Permission, line: &str) -> bool {
    if perm == Permission::Configure {
        return true;
    }
    let mut words = line.split_whitespace();
    let Some(first) = words.next() else {
        return true;
    };
    // The terminal's own settings (`set cli screen-length 0`) are anyone's.
    if first == "set" && words.next() == Some("cli") {
        return true;
    }
    ["show", "ping", "traceroute", "exit", "quit", "help"]
        .iter()
        .any(|w| w.starts_with(first) && first.len() >= 2.min(w.len()))
}

/// Serves one NETCONF session over `rd`/`wr` (an SSH channel) until the client closes it.
pub async fn serve<R, W>(server: Arc<Server>, mut rd: R, mut wr: W, user: String, perm: Permission)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let id = server.next_session_id();
    let killed = server.register(id);
    info!(id, %user, "NETCONF session started");
    let mut session = Some(Session::new(id, user.clone()));
    // `<open-configuration><private/>`: this session's own candidate until it is closed.
    let mut private: Option<Private> = None;
    let mut d = Deframer::new(MAX_MESSAGE);
    // `netconf rfc-compliant`: offer base:1.1, and chunked framing if the client takes it.
    let rfc = server
        .with_shared(|sh| {
            sh.engine
                .active_typed()
                .system
                .services
                .netconf
                .as_ref()
                .is_some_and(|n| n.rfc_compliant.0)
        })
        .await
        .unwrap_or(false);
    let hello = reply::hello(id, rfc);
    if wr
        .write_all(&frame(Framing::EndOfMessage, hello.as_bytes()))
        .await
        .is_err()
    {
        return;
    }
    let _ = wr.flush().await;
    let mut buf = vec![0u8; 64 << 10];
    let mut helloed = false;
    'session: loop {
        let n = tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = killed.notified() => {
                info!(id, "NETCONF session killed");
                break;
            }
        };
        d.push(&buf[..n]);
        loop {
            let msg = match d.next_message() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    warn!(id, %e, "NETCONF framing error: closing the session");
                    let _ = write(&mut wr, d.framing(), &reply::malformed(&e.to_string())).await;
                    break 'session;
                }
            };
            let text = match std::str::from_utf8(&msg) {
                Ok(t) => t,
                Err(_) => {
                    let _ = write(&mut wr, d.framing(), &reply::malformed("not UTF-8")).await;
                    continue;
                }
            };
            let rpc = match rpc::read(text) {
                Ok(Message::Hello { capabilities }) => {
                    debug!(id, ?capabilities, "client hello");
                    helloed = true;
                    // RFC 6242 §4.1: both offered base:1.1, so chunked framing from here.
                    if rfc
                        && capabilities
                            .iter()
                            .any(|c| c == "urn:ietf:params:netconf:base:1.1")
                    {
                        d.set_framing(Framing::Chunked);
                    }
                    continue;
                }
                Ok(Message::Rpc(r)) => r,
                Err(e) => {
                    debug!(id, %e, "malformed request");
                    if write(&mut wr, d.framing(), &reply::malformed(&e.to_string()))
                        .await
                        .is_err()
                    {
                        break 'session;
                    }
                    continue;
                }
            };
            if !helloed {
                warn!(id, "rpc before hello: closing the session");
                break 'session;
            }
            let close = rpc.op == Op::CloseSession;
            if let Op::KillSession(target) = &rpc.op {
                let body = match target.parse::<u64>() {
                    Ok(t) if t == id => RpcError::new(
                        "invalid-value",
                        "a session cannot kill itself (use close-session)",
                    )
                    .xml(),
                    Ok(_) if perm != Permission::Configure => denied(),
                    Ok(t) if server.kill(t) => OK.into(),
                    _ => RpcError::new("invalid-value", format!("no session {target}")).xml(),
                };
                if write(&mut wr, d.framing(), &rpc_reply(&rpc.attrs, &body))
                    .await
                    .is_err()
                {
                    break 'session;
                }
                continue;
            }
            let s = session.take().expect("session present");
            let p = private.take();
            let Some((s, p, body)) = server
                .with_shared(move |sh| {
                    let (mut s, mut p) = (s, p);
                    let body = answer_in(sh, &mut s, &mut p, &rpc.op, perm);
                    (s, p, rpc_reply(&rpc.attrs, &body))
                })
                .await
            else {
                break 'session;
            };
            session = Some(s);
            private = p;
            if write(&mut wr, d.framing(), &body).await.is_err() || close {
                break 'session;
            }
        }
    }
    server.unregister(id);
    if let Some(mut s) = session {
        server.with_shared(move |sh| s.close(sh)).await;
    }
    info!(id, %user, "NETCONF session ended");
}

async fn write<W: AsyncWrite + Unpin>(wr: &mut W, f: Framing, msg: &str) -> std::io::Result<()> {
    wr.write_all(&frame(f, msg.as_bytes())).await?;
    wr.flush().await
}

/// Answers `op` on this session's candidate: the shared one, or its private copy, which is
/// put in the shared one's place while the operation runs (under the management lock, so no
/// one else sees it there) so every operation works on either the same way. A private
/// candidate is merged onto a newer commit before it is committed, as the CLI's is.
fn answer_in(
    sh: &mut Shared,
    s: &mut Session,
    private: &mut Option<Private>,
    op: &Op,
    perm: Permission,
) -> String {
    match (op, private.as_mut()) {
        (Op::OpenConfiguration { private: true }, _) if perm != Permission::Configure => denied(),
        (Op::OpenConfiguration { private: true }, Some(_)) => OK.into(),
        (Op::OpenConfiguration { private: true }, None) => {
            if &sh.candidate != sh.engine.active() {
                return RpcError::application("shared configuration database modified").xml();
            }
            if let Err(e) = sh.check_lock(s.id) {
                return lock_error(sh, &e);
            }
            *private = Some(Private {
                candidate: sh.engine.active().clone(),
                base: sh.engine.active().clone(),
                base_seq: sh.engine.active_seq(),
            });
            OK.into()
        }
        (Op::CloseConfiguration, _) => {
            *private = None;
            OK.into()
        }
        (op, Some(p)) => {
            let commits = matches!(
                op,
                Op::CommitConfiguration { .. } | Op::Commit { .. } | Op::Validate
            );
            if commits && p.base_seq != sh.engine.active_seq() {
                if let Err(e) = p.rebase(sh.engine.active(), sh.engine.active_seq()) {
                    return config_error(&e).xml();
                }
            }
            let seq = sh.engine.active_seq();
            let shared_clean = &sh.candidate == sh.engine.active();
            std::mem::swap(&mut sh.candidate, &mut p.candidate);
            let body = answer(sh, s, op, perm);
            std::mem::swap(&mut sh.candidate, &mut p.candidate);
            if sh.engine.active_seq() != seq {
                p.base = sh.engine.active().clone();
                p.base_seq = sh.engine.active_seq();
                // A shared candidate nobody had changed follows the commit.
                if shared_clean {
                    sh.candidate = sh.engine.active().clone();
                }
            }
            body
        }
        (op, None) => answer(sh, s, op, perm),
    }
}

fn denied() -> String {
    RpcError::application("permission denied").xml()
}

/// The body of the reply to one operation.
fn answer(sh: &mut Shared, s: &mut Session, op: &Op, perm: Permission) -> String {
    let changes = matches!(
        op,
        Op::EditConfig { .. }
            | Op::LoadConfiguration { .. }
            | Op::CommitConfiguration { .. }
            | Op::Commit { .. }
            | Op::Lock(_)
            | Op::LockConfiguration
            | Op::DiscardChanges
            | Op::OpenConfiguration { .. }
    );
    if changes && perm == Permission::View {
        return denied();
    }
    match op {
        Op::CloseSession => OK.into(),
        Op::Invalid { name, message } => RpcError {
            bad_element: Some(name.clone()),
            ..RpcError::new("invalid-value", message.clone())
        }
        .xml(),
        Op::Lock(Datastore::Candidate) | Op::LockConfiguration => {
            match sh.lock(s.id, &s.user, now_ms()) {
                Ok(()) => OK.into(),
                Err(e) => lock_error(sh, &e),
            }
        }
        Op::Unlock(Datastore::Candidate) | Op::UnlockConfiguration => match sh.unlock(s.id) {
            Ok(()) => OK.into(),
            Err(e) => RpcError::application(strip(&e)).xml(),
        },
        Op::Lock(Datastore::Running) | Op::Unlock(Datastore::Running) => RpcError::new(
            "operation-not-supported",
            "only the candidate can be locked",
        )
        .xml(),
        Op::DiscardChanges => match sh.check_lock(s.id) {
            Ok(()) => {
                sh.candidate = sh.engine.active().clone();
                OK.into()
            }
            Err(e) => lock_error(sh, &e),
        },
        // Private ones are opened and closed by `answer_in`.
        Op::OpenConfiguration { .. } | Op::CloseConfiguration => OK.into(),
        Op::GetConfiguration {
            database,
            format,
            rollback,
            compare,
            filter,
        } => match filter {
            Some(f) if compare.is_none() => {
                let xml = get_configuration(sh, *database, Format::Xml, *rollback, None);
                let part = filtered(&xml, f);
                match format {
                    Format::Xml => part,
                    _ => filtered_as(&part, *format),
                }
            }
            _ => get_configuration(sh, *database, *format, *rollback, *compare),
        },
        Op::GetConfig { source, filter } => match config_text(sh, *source, Format::Xml, None) {
            Ok(x) => {
                let x = match filter.as_ref().and_then(|f| f.child("configuration")) {
                    Some(f) => filtered(&x, f),
                    None => x,
                };
                format!("<data>\n{x}</data>")
            }
            Err(e) => RpcError::application(strip(&e)).xml(),
        },
        Op::LoadConfiguration {
            action,
            body,
            rollback,
        } => {
            let r = sh
                .check_lock(s.id)
                .and_then(|()| load(sh, *action, body.as_ref(), *rollback));
            match r {
                Ok(()) => "<load-configuration-results>\n<ok/>\n</load-configuration-results>"
                    .into(),
                Err(e) => format!(
                    "<load-configuration-results>\n{}<load-error-count>1</load-error-count>\n</load-configuration-results>",
                    config_error(&e).xml()
                ),
            }
        }
        Op::EditConfig { config, .. } => {
            let r = sh
                .check_lock(s.id)
                .and_then(|()| load(sh, LoadAction::Merge, Some(config), None));
            match r {
                Ok(()) => OK.into(),
                Err(e) => config_error(&e).xml(),
            }
        }
        Op::Validate => commit(sh, s, true, None, None).map_or_else(|e| e, |_| OK.into()),
        Op::Commit {
            confirmed,
            timeout_s,
        } => {
            // RFC 6241's timeout is in seconds (600 by default); ours are minutes.
            let minutes = confirmed.then(|| timeout_s.unwrap_or(600).div_ceil(60).max(1));
            commit(sh, s, false, minutes, None).map_or_else(|e| e, |_| OK.into())
        }
        Op::CommitConfiguration {
            check,
            confirmed,
            confirm_timeout,
            log,
            synchronize: _,
        } => {
            let minutes = confirmed.then(|| confirm_timeout.unwrap_or(10));
            match commit(sh, s, *check, minutes, log.clone()) {
                Ok(_) => {
                    let what = if *check {
                        "<commit-check-success/>"
                    } else {
                        "<commit-success/>"
                    };
                    format!("<commit-results>\n<routing-engine junos:style=\"normal\">\n<name>re0</name>\n{what}\n</routing-engine>\n</commit-results>")
                }
                Err(e) => format!("<commit-results>\n{e}</commit-results>"),
            }
        }
        Op::Command { text, format } => {
            // Operational commands only: `configure` (or `exit`) would change what this
            // session is; read-only users run what they may run on the CLI.
            let first = text.split_whitespace().next().unwrap_or("");
            let moves = ["configure", "edit", "exit", "quit"]
                .iter()
                .any(|w| first.len() >= 2 && w.starts_with(first));
            if moves {
                RpcError::application(format!(
                    "syntax error: '{first}' is not an operational command here"
                ))
                .xml()
            } else if !allowed(perm, text) {
                denied()
            } else {
                command(sh, s, text, *format)
            }
        }
        Op::Operational { element, .. } => operational(sh, s, element, perm),
        Op::Get { .. } => RpcError::new(
            "operation-not-supported",
            "use get-configuration or an operational RPC",
        )
        .xml(),
        // Answered by the session loop, which knows the other sessions.
        Op::KillSession(_) => RpcError::new("operation-failed", "kill-session").xml(),
    }
}

/// Our messages start with `error: `; NETCONF's error-message does not.
fn strip(e: &str) -> String {
    e.trim()
        .strip_prefix("error: ")
        .unwrap_or(e.trim())
        .to_string()
}

fn lock_error(sh: &Shared, e: &str) -> String {
    RpcError {
        session_id: sh.lock.as_ref().map(|l| l.session.to_string()),
        ..RpcError::new("lock-denied", strip(e))
    }
    .xml()
}

/// A configuration error, with its place when the message names one (`[edit ...]`).
fn config_error(e: &str) -> RpcError {
    let e = strip(e);
    let path = e
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .map(|(p, _)| format!("[{p}]"));
    RpcError {
        path,
        ..RpcError::application(e)
    }
}

fn load(
    sh: &mut Shared,
    action: LoadAction,
    body: Option<&ConfigBody>,
    rollback: Option<u32>,
) -> Result<(), String> {
    if let Some(n) = rollback {
        let cfg = sh.engine.rollback(n as usize)?.into_owned();
        sh.candidate = cfg;
        return Ok(());
    }
    let Some(body) = body else {
        return Err("error: nothing to load".into());
    };
    let mode = match action {
        LoadAction::Merge => LoadMode::Merge,
        LoadAction::Replace => LoadMode::Replace,
        // `update` leaves the candidate equal to what was loaded, as override does.
        LoadAction::Override | LoadAction::Update => LoadMode::Override,
        LoadAction::Set => LoadMode::Set,
    };
    match body {
        ConfigBody::Set(t) => sh.load(LoadMode::Set, "netconf", t),
        ConfigBody::Text(t) if mode == LoadMode::Set => sh.load(LoadMode::Set, "netconf", t),
        ConfigBody::Text(t) => sh.load(mode, "netconf", t),
        ConfigBody::Json(t) => {
            let v: serde_json::Value =
                serde_json::from_str(t).map_err(|e| format!("error: configuration-json: {e}"))?;
            let conf = v.get("configuration").unwrap_or(&v);
            load_tree(sh, mode, &element_of_json("configuration", conf))
        }
        ConfigBody::Xml(e) => load_tree(sh, mode, e),
    }
}

/// The `<configuration>` element of a configuration.
pub fn configuration_xml(cfg: &savin_config::Configuration) -> String {
    let mut out = String::from("<configuration>\n");
    savin_config::print::xml(&cfg.root, savin_config::schema::root(), 1, &mut out);
    out.push_str("</configuration>\n");
    out
}

/// A `<configuration>` element as curly-brace text, and the `delete` lines of its elements
/// marked for deletion (what [`load_tree`] loads).
pub fn configuration_text(conf: &Element) -> Result<(String, Vec<String>), String> {
    let mut out = Curly::default();
    curly_block(
        conf,
        savin_config::schema::root(),
        &mut Vec::new(),
        0,
        &mut out,
    )?;
    Ok((out.text, out.deletes))
}

/// JSON configuration read into the element shape of the XML form.
pub fn configuration_element_of_json(v: &serde_json::Value) -> Element {
    element_of_json("configuration", v.get("configuration").unwrap_or(v))
}

/// Loads a `<configuration>` (from XML, or JSON read into the same shape) as `load MODE`
/// would load its text: the elements become statements by the schema, `delete="delete"`
/// (or `operation="delete"`) removes one, `replace="replace"` replaces one, `inactive=
/// "inactive"` loads one deactivated. All of it, or nothing.
fn load_tree(sh: &mut Shared, mode: LoadMode, conf: &Element) -> Result<(), String> {
    let (text, deletes) = configuration_text(conf)?;
    let before = sh.candidate.clone();
    let mode = if mode == LoadMode::Set {
        LoadMode::Merge
    } else {
        mode
    };
    sh.load(mode, "netconf", &text)?;
    if !deletes.is_empty() {
        if let Err(e) = sh.load(LoadMode::Set, "netconf", &deletes.join("\n")) {
            sh.candidate = before;
            return Err(e);
        }
    }
    Ok(())
}

#[derive(Default)]
struct Curly {
    text: String,
    /// `delete ...` lines for the elements marked for deletion.
    deletes: Vec<String>,
}

fn words(path: &[String]) -> String {
    path.join(" ")
}

/// Writes the statements of `el` (whose schema node is `node`) as curly-brace text.
fn curly_block(
    el: &Element,
    node: &savin_config::schema::Node,
    path: &mut Vec<String>,
    depth: usize,
    out: &mut Curly,
) -> Result<(), String> {
    use savin_config::schema::Kind;
    use savin_config::value::quote;
    let pad = "    ".repeat(depth);
    let mut lists_done: Vec<&str> = Vec::new();
    for child in &el.children {
        // `<junos:comment>/* text */</junos:comment>`: the annotation of what follows.
        if child.name == "comment" && child.qname != child.name {
            out.text.push_str(&format!("{pad}{}\n", child.text.trim()));
            continue;
        }
        let Some(n) = node
            .children()
            .iter()
            .find(|c| savin_config::print::xml_name(c.name) == child.name)
        else {
            return Err(format!(
                "error: [edit {}]\n  syntax error: unknown element <{}>",
                words(path),
                child.name
            ));
        };
        let deleted = child.attr("delete") == Some("delete")
            || matches!(child.attr("operation"), Some("delete") | Some("remove"));
        let mut tags = String::new();
        if child.attr("protect") == Some("protect") {
            tags.push_str("protect: ");
        }
        if child.attr("inactive") == Some("inactive") {
            tags.push_str("inactive: ");
        }
        if child.attr("replace") == Some("replace") || child.attr("operation") == Some("replace") {
            tags.push_str("replace: ");
        }
        match &n.kind {
            Kind::Container { .. } => {
                path.push(n.name.to_string());
                if deleted {
                    out.deletes.push(format!("delete {}", words(path)));
                } else if child.children.is_empty() {
                    out.text.push_str(&format!("{pad}{tags}{};\n", n.name));
                } else {
                    out.text.push_str(&format!("{pad}{tags}{} {{\n", n.name));
                    curly_block(child, n, path, depth + 1, out)?;
                    out.text.push_str(&format!("{pad}}}\n"));
                }
                path.pop();
            }
            Kind::List { keyword, .. } => {
                let Some(key) = child.child_text("name") else {
                    return Err(format!(
                        "error: [edit {}]\n  syntax error: <{}> without <name>",
                        words(path),
                        n.name
                    ));
                };
                let head = if *keyword {
                    format!("{} {}", n.name, quote(key))
                } else {
                    quote(key)
                };
                path.push(if *keyword {
                    format!("{} {}", n.name, quote(key))
                } else {
                    quote(key)
                });
                if deleted {
                    out.deletes.push(format!("delete {}", words(path)));
                } else {
                    let mut body = child.clone();
                    body.children.retain(|c| c.name != "name");
                    if body.children.is_empty() {
                        out.text.push_str(&format!("{pad}{tags}{head};\n"));
                    } else {
                        out.text.push_str(&format!("{pad}{tags}{head} {{\n"));
                        curly_block(&body, n, path, depth + 1, out)?;
                        out.text.push_str(&format!("{pad}}}\n"));
                    }
                }
                path.pop();
            }
            Kind::Leaf(_) => {
                if deleted {
                    out.deletes
                        .push(format!("delete {} {}", words(path), n.name));
                } else {
                    out.text.push_str(&format!(
                        "{pad}{tags}{} {};\n",
                        n.name,
                        quote(child.text.trim())
                    ));
                }
            }
            Kind::Flag => {
                if deleted {
                    out.deletes
                        .push(format!("delete {} {}", words(path), n.name));
                } else {
                    out.text.push_str(&format!("{pad}{tags}{};\n", n.name));
                }
            }
            Kind::LeafList(_) => {
                if deleted {
                    out.deletes.push(format!(
                        "delete {} {} {}",
                        words(path),
                        n.name,
                        quote(child.text.trim())
                    ));
                    continue;
                }
                // All of a leaf-list's elements at once, in their order.
                if lists_done.contains(&n.name) {
                    continue;
                }
                lists_done.push(n.name);
                let values: Vec<String> = el
                    .children
                    .iter()
                    .filter(|c| c.name == n.name && c.attr("delete").is_none())
                    .map(|c| quote(c.text.trim()))
                    .collect();
                out.text.push_str(&format!(
                    "{pad}{tags}{} [ {} ];\n",
                    n.name,
                    values.join(" ")
                ));
            }
        }
    }
    Ok(())
}

/// JSON configuration (Junos's layout: lists as arrays of objects keyed by `name`, flags
/// as `[null]`) read into the element shape of the XML form.
fn element_of_json(name: &str, v: &serde_json::Value) -> Element {
    use serde_json::Value;
    let mut el = Element::new(name);
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k.starts_with('@') {
                    continue;
                }
                match v {
                    Value::Array(items) => {
                        for item in items {
                            if !item.is_null() {
                                el.children.push(element_of_json(k, item));
                            } else {
                                el.children.push(Element::new(k));
                            }
                        }
                    }
                    v => el.children.push(element_of_json(k, v)),
                }
            }
            // `@` (this statement's own) and `@NAME` (a member's) attributes: `inactive`
            // and `protect` (annotations are not loaded from JSON, as on Junos).
            for (k, v) in m {
                let Some(target) = k.strip_prefix('@') else {
                    continue;
                };
                for flag in ["inactive", "protect"] {
                    if v.get(flag).and_then(serde_json::Value::as_bool) != Some(true) {
                        continue;
                    }
                    let attr = (flag.to_string(), flag.to_string());
                    if target.is_empty() {
                        el.attrs.push(attr);
                    } else {
                        for c in el.children.iter_mut().filter(|c| c.name == target) {
                            c.attrs.push(attr.clone());
                        }
                    }
                }
            }
        }
        Value::String(s) => el.text = s.clone(),
        Value::Number(n) => el.text = n.to_string(),
        Value::Bool(true) | Value::Null => {}
        Value::Bool(false) => {}
        Value::Array(_) => {}
    }
    el
}

/// Commits (or checks) the shared candidate; Err: the reply's error elements.
fn commit(
    sh: &mut Shared,
    s: &Session,
    check: bool,
    confirm_minutes: Option<u32>,
    comment: Option<String>,
) -> Result<CommitOutcome, String> {
    if let Err(e) = sh.check_lock(s.id) {
        return Err(lock_error(sh, &e));
    }
    if let Some(m) = confirm_minutes {
        if !(1..=65535).contains(&m) {
            return Err(RpcError::new(
                "invalid-value",
                format!("confirm-timeout {m}: value is not within range (1..65535)"),
            )
            .xml());
        }
    }
    let req = CommitRequest {
        user: s.user.clone(),
        via: Some("netconf".into()),
        comment,
        confirm_minutes,
        check_only: check,
    };
    sh.commit(&req, now_ms())
        .map_err(|e| config_error(&e.to_string()).xml())
}

/// The configuration in `format` (None for XML: the caller wraps it).
fn config_text(
    sh: &Shared,
    db: Datastore,
    format: Format,
    rollback: Option<u32>,
) -> Result<String, String> {
    let cfg = match (rollback, db) {
        (Some(n), _) => sh.engine.rollback(n as usize)?.into_owned(),
        (None, Datastore::Candidate) => sh.candidate.clone(),
        (None, Datastore::Running) => sh.engine.active().clone(),
    };
    Ok(render(&cfg, format))
}

/// A configuration in one of the four forms.
fn render(cfg: &savin_config::Configuration, format: Format) -> String {
    match format {
        Format::Text => cfg.to_curly(),
        Format::Set => cfg.to_set(),
        Format::Json => crate::ops::pretty(serde_json::json!({
            "configuration": savin_config::print::json(&cfg.root, savin_config::schema::root(), false)
        })),
        Format::Xml => configuration_xml(cfg),
    }
}

/// The element a `get-configuration` reply carries a configuration in, by format.
fn wrapped(format: Format, text: &str, commit_attrs: impl Fn() -> String) -> String {
    match format {
        Format::Text => format!(
            "<configuration-text>\n{}</configuration-text>",
            escape(text)
        ),
        Format::Set => format!("<configuration-set>\n{}</configuration-set>", escape(text)),
        Format::Json => escape(text),
        Format::Xml => text.replacen(
            "<configuration>",
            &format!("<configuration{}>", commit_attrs()),
            1,
        ),
    }
}

fn get_configuration(
    sh: &Shared,
    db: Datastore,
    format: Format,
    rollback: Option<u32>,
    compare: Option<u32>,
) -> String {
    if let Some(n) = compare {
        let old = match sh.engine.rollback(n as usize) {
            Ok(c) => c.into_owned(),
            Err(e) => return RpcError::application(strip(&e)).xml(),
        };
        let new = match db {
            Datastore::Candidate => &sh.candidate,
            Datastore::Running => sh.engine.active(),
        };
        let diff = old.compare(new);
        // Exactly "\n" when nothing differs: Ansible reads an empty element as a change.
        let text = if diff.trim().is_empty() {
            "\n".to_string()
        } else {
            format!("\n{diff}")
        };
        return format!(
            "<configuration-information>\n<configuration-output>{}</configuration-output>\n</configuration-information>",
            escape(&text)
        );
    }
    let commit_attrs = || {
        sh.engine
            .history()
            .first()
            .map(|r| {
                let t = chrono::DateTime::from_timestamp(r.time, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                    .unwrap_or_default();
                format!(
                    " junos:commit-seconds=\"{}\" junos:commit-localtime=\"{t}\" junos:commit-user=\"{}\"",
                    r.time,
                    escape(&r.user)
                )
            })
            .unwrap_or_default()
    };
    match config_text(sh, db, format, rollback) {
        Err(e) => RpcError::application(strip(&e)).xml(),
        Ok(t) => wrapped(format, &t, commit_attrs),
    }
}

/// A filtered `<configuration>` in another format (`get-configuration format="text"` with a
/// subtree filter, as PyEZ's `get_config(filter_xml=..., options={'format': 'text'})` asks):
/// the XML part read back as a configuration and printed in that format.
fn filtered_as(part: &str, format: Format) -> String {
    let conf = match savin_netconf::xml::parse(part, usize::MAX) {
        Ok(c) if c.name == "configuration" => c,
        // An error already, or no configuration at all: as it is.
        _ => return part.to_string(),
    };
    let cfg = configuration_text(&conf).and_then(|(text, _)| {
        savin_config::Configuration::parse(&text, None).map_err(|e| e.to_string())
    });
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => return RpcError::application(strip(&e)).xml(),
    };
    wrapped(format, &render(&cfg, format), String::new)
}

/// The part of a `<configuration>` (as text) that a subtree filter selects (RFC 6241 6.2:
/// an empty filter element selects its whole subtree, one with text must match, one with
/// children narrows further; `<interface><name>ge-0/0/0</name></interface>` picks that entry).
fn filtered(configuration: &str, filter: &Element) -> String {
    let Ok(data) = savin_netconf::xml::parse(configuration, usize::MAX) else {
        return configuration.to_string();
    };
    let mut out = Element {
        children: Vec::new(),
        text: String::new(),
        ..data.clone()
    };
    out.children = select(&data, filter);
    let mut text = String::new();
    out.write(&mut text);
    text.push('\n');
    text
}

/// The children of `data` that `filter`'s children select, each narrowed by its filter.
fn select(data: &Element, filter: &Element) -> Vec<Element> {
    let mut kept = Vec::new();
    for d in &data.children {
        // Content-match nodes (a leaf with text) were the parent's test, not a selection.
        let selecting = |f: &&Element| !f.children.is_empty() || f.text.trim().is_empty();
        for f in filter
            .children
            .iter()
            .filter(|f| f.name == d.name)
            .filter(selecting)
        {
            let matches: Vec<&Element> = f
                .children
                .iter()
                .filter(|c| c.children.is_empty() && !c.text.trim().is_empty())
                .collect();
            // Content-match nodes: the entry's own values must equal them.
            let fits = matches
                .iter()
                .all(|m| d.child_text(&m.name) == Some(m.text.trim()));
            if !fits {
                continue;
            }
            if f.children.is_empty() && f.text.trim().is_empty() {
                kept.push(d.clone());
            } else if f.children.len() == matches.len() {
                // Only content matches: the whole matching entry.
                kept.push(d.clone());
            } else {
                let mut e = Element {
                    children: Vec::new(),
                    text: String::new(),
                    ..d.clone()
                };
                // The matched keys stay with what is selected under them.
                e.children = d
                    .children
                    .iter()
                    .filter(|c| matches.iter().any(|m| m.name == c.name))
                    .cloned()
                    .collect();
                e.children.extend(select(d, f));
                kept.push(e);
            }
            break;
        }
    }
    kept
}

/// `<command>`: a CLI command's text in `<output>`, or its XML.
fn command(sh: &mut Shared, s: &mut Session, line: &str, format: Format) -> String {
    if line.trim_end().ends_with("| display xml rpc") {
        let r = s.exec(sh, line, None, now_ms());
        return if r.ok {
            r.output
        } else {
            RpcError::application(strip(&r.output)).xml()
        };
    }
    run_line(sh, s, line, format)
}

/// An operational command line, its reply as text (`<output>`) or XML.
fn run_line(sh: &mut Shared, s: &mut Session, line: &str, format: Format) -> String {
    match format {
        Format::Text => {
            let r = s.exec(sh, line, None, now_ms());
            if r.ok {
                format!("<output>\n{}</output>", escape(&r.output))
            } else {
                RpcError::application(strip(&r.output)).xml()
            }
        }
        _ => {
            if line.split_whitespace().collect::<Vec<_>>() == ["show", "version"] {
                return software_information(sh);
            }
            let r = s.exec(sh, &format!("{line} | display json"), None, now_ms());
            if !r.ok {
                return RpcError::application(strip(&r.output)).xml();
            }
            match serde_json::from_str::<serde_json::Value>(&r.output) {
                Ok(v) => {
                    let mut out = String::new();
                    crate::ops::json_to_xml_body(&v, 0, &mut out);
                    out
                }
                Err(_) => format!("<output>\n{}</output>", escape(&r.output)),
            }
        }
    }
}

/// `show system commit revision detail`: the newest commit, its time (`junos:seconds`),
/// user, client and revision, and while it waits for its confirmation the note NAPALM's
/// `has_pending_commit` reads (`commit confirmed, rollback in Nmins`) in `<comment>`; the
/// user's own message is `<log>`.
fn commit_revision(sh: &Shared) -> String {
    let Some(r) = sh.engine.history().first() else {
        return RpcError::application("no commits").xml();
    };
    let when = chrono::DateTime::from_timestamp(r.time, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    let mut out = format!(
        "<commit-revision-information>\n<date-time junos:seconds=\"{}\">{when}</date-time>\n<user>{}</user>\n<client>{}</client>\n<revision>re0-{}-{}</revision>\n",
        r.time,
        escape(&r.user),
        escape(&r.via),
        r.time,
        r.seq
    );
    let pending = sh.engine.pending().is_some_and(|p| p.seq == r.seq);
    if let (true, Some(m)) = (pending, r.confirm_minutes) {
        out.push_str(&format!(
            "<comment>commit confirmed, rollback in {m}mins</comment>\n"
        ));
    }
    if let Some(c) = &r.comment {
        out.push_str(&format!("<log>{}</log>\n", escape(c)));
    }
    out.push_str("</commit-revision-information>");
    out
}

/// `get-software-information`: `show version`'s reply (a box without a host name calls itself
/// `savin` here: PyEZ's hostname fact must not be empty).
fn software_information(sh: &Shared) -> String {
    let host = sh.host_name().unwrap_or_else(|| "savin".into());
    let mut out = String::new();
    crate::ops::json_to_xml_body(
        &savin_config::subsystem::State::json(&crate::ops::version(&host)),
        0,
        &mut out,
    );
    out
}

fn operational(sh: &mut Shared, s: &mut Session, rpc: &Element, perm: Permission) -> String {
    match rpc.name.as_str() {
        "get-software-information" => software_information(sh),
        "get-system-uptime-information" => {
            crate::ops::uptime(&sh.engine, sh.started_ms, now_ms()).xml()
        }
        "get-commit-revision-information" => commit_revision(sh),
        "file-show" | "file-list" => {
            RpcError::application("file access is not available on this system").xml()
        }
        _ => match crate::rpcs::command_of(rpc) {
            Some((_, def)) if def.clears && perm != Permission::Configure => denied(),
            Some((line, _)) => run_line(sh, s, &line, Format::Xml),
            None => RpcError::unknown_rpc(&rpc.name).xml(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subtree_filter_selects_what_it_names() {
        let conf = "<configuration><system><host-name>r1</host-name><domain-name>x.example</domain-name></system><interfaces><interface><name>ge-0/0/0</name><mtu>9000</mtu></interface><interface><name>ge-0/0/1</name><mtu>1500</mtu></interface></interfaces></configuration>";
        let f = |x: &str| savin_netconf::xml::parse(x, 100).unwrap();
        let got = filtered(
            conf,
            &f("<configuration><system><domain-name/></system></configuration>"),
        );
        assert_eq!(
            got.trim(),
            "<configuration><system><domain-name>x.example</domain-name></system></configuration>"
        );
        let got = filtered(
            conf,
            &f("<configuration><interfaces><interface><name>ge-0/0/1</name></interface></interfaces></configuration>"),
        );
        assert_eq!(
            got.trim(),
            "<configuration><interfaces><interface><name>ge-0/0/1</name><mtu>1500</mtu></interface></interfaces></configuration>"
        );
        let got = filtered(
            conf,
            &f("<configuration><interfaces><interface><name>ge-0/0/0</name><mtu/></interface></interfaces></configuration>"),
        );
        assert_eq!(
            got.trim(),
            "<configuration><interfaces><interface><name>ge-0/0/0</name><mtu>9000</mtu></interface></interfaces></configuration>"
        );
        let got = filtered(conf, &f("<configuration><snmp/></configuration>"));
        assert_eq!(got.trim(), "<configuration/>");
    }

    #[test]
    fn config_errors_keep_their_place_for_error_path() {
        let e = config_error("error: [edit interfaces ge-0/0/0]\n  bad mtu");
        assert_eq!(e.path.as_deref(), Some("[edit interfaces ge-0/0/0]"));
        assert!(e.message.contains("bad mtu"));
        assert_eq!(config_error("error: syntax error").path, None);
    }
}
