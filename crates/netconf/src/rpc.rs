//! The operations clients send, read from the element tree. Operation names are matched
//! without their prefix, as Junos matches them (PyEZ sends `<get-configuration>`, ncclient
//! `<nc:get-configuration>`, Ansible `<nc:commit-configuration>`). What is not a standard or
//! a configuration operation is an operational RPC (`get-route-information`), answered by
//! name by the caller.

use crate::xml::{self, Element, XmlError};

/// The most elements a request may hold: a 100k-line configuration in XML is about 400k.
pub const MAX_ELEMENTS: usize = 4_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello { capabilities: Vec<String> },
    Rpc(Rpc),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpc {
    /// The attributes of `<rpc>` (message-id among them), echoed on the reply as Junos does.
    pub attrs: Vec<(String, String)>,
    pub op: Op,
}

impl Rpc {
    pub fn message_id(&self) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == "message-id")
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("expected <hello> or <rpc>, not <{0}>")]
    Unexpected(String),
}

/// Which configuration an operation reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datastore {
    Candidate,
    /// `running` (RFC 6241) or `committed` (Junos).
    Running,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Xml,
    Text,
    Set,
    Json,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "xml" => Format::Xml,
            "text" | "ascii" => Format::Text,
            "set" => Format::Set,
            "json" => Format::Json,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadAction {
    Merge,
    Replace,
    Override,
    Update,
    Set,
}

/// A configuration carried by a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigBody {
    /// Curly-brace text (`<configuration-text>`).
    Text(String),
    /// `set`/`delete` lines (`<configuration-set>`).
    Set(String),
    /// `<configuration-json>`.
    Json(String),
    /// `<configuration>` in XML.
    Xml(Element),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    // RFC 6241.
    GetConfig {
        source: Datastore,
        filter: Option<Element>,
    },
    Get {
        filter: Option<Element>,
    },
    EditConfig {
        target: Datastore,
        config: ConfigBody,
    },
    Lock(Datastore),
    Unlock(Datastore),
    Validate,
    DiscardChanges,
    /// RFC 6241 `<commit>`: its timeout is in seconds.
    Commit {
        confirmed: bool,
        timeout_s: Option<u32>,
    },
    CloseSession,
    KillSession(String),
    // Junos.
    GetConfiguration {
        database: Datastore,
        format: Format,
        /// `rollback="N"`: that rollback instead of the database.
        rollback: Option<u32>,
        /// `compare="rollback"`: the difference from rollback N (default 0).
        compare: Option<u32>,
        /// A subtree of `<configuration>`: only that part.
        filter: Option<Element>,
    },
    LoadConfiguration {
        action: LoadAction,
        body: Option<ConfigBody>,
        /// `rollback="N"`: load that rollback (the body is ignored).
        rollback: Option<u32>,
    },
    CommitConfiguration {
        check: bool,
        confirmed: bool,
        /// Minutes.
        confirm_timeout: Option<u32>,
        log: Option<String>,
        synchronize: bool,
    },
    LockConfiguration,
    UnlockConfiguration,
    OpenConfiguration {
        private: bool,
    },
    CloseConfiguration,
    /// A CLI command (`show route`), answered as text or XML.
    Command {
        text: String,
        format: Format,
    },
    /// Any other operation, by name: an operational RPC or one we do not know.
    Operational {
        name: String,
        element: Element,
    },
    /// A known operation with arguments it cannot take.
    Invalid {
        name: String,
        message: String,
    },
}

/// Reads one framed message.
pub fn read(text: &str) -> Result<Message, MessageError> {
    let root = xml::parse(text, MAX_ELEMENTS)?;
    match root.name.as_str() {
        "hello" => Ok(Message::Hello {
            capabilities: root
                .child("capabilities")
                .map(|c| {
                    c.children
                        .iter()
                        .filter(|e| e.name == "capability")
                        .map(|e| e.text.trim().to_string())
                        .collect()
                })
                .unwrap_or_default(),
        }),
        "rpc" => {
            let attrs = root
                .attrs
                .iter()
                .filter(|(k, _)| k != "xmlns" && !k.starts_with("xmlns:"))
                .cloned()
                .collect();
            let op = match root.children.into_iter().next() {
                Some(e) => op(e),
                None => Op::Invalid {
                    name: "rpc".into(),
                    message: "syntax error, expecting <operation>".into(),
                },
            };
            Ok(Message::Rpc(Rpc { attrs, op }))
        }
        other => Err(MessageError::Unexpected(other.to_string())),
    }
}

fn datastore(e: &Element, within: &str) -> Option<Datastore> {
    let c = e.child(within)?;
    if c.has("candidate") {
        Some(Datastore::Candidate)
    } else if c.has("running") || c.has("committed") {
        Some(Datastore::Running)
    } else {
        None
    }
}

fn number(e: &Element, attr: &str) -> Result<Option<u32>, String> {
    match e.attr(attr) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("invalid value for {attr}: '{v}'")),
    }
}

fn body(e: &Element, format: Format, action: Option<LoadAction>) -> Option<ConfigBody> {
    if let Some(t) = e.child("configuration-text") {
        return Some(ConfigBody::Text(t.text.clone()));
    }
    if let Some(t) = e.child("configuration-set") {
        return Some(ConfigBody::Set(t.text.clone()));
    }
    if let Some(t) = e.child("configuration-json") {
        return Some(ConfigBody::Json(t.text.clone()));
    }
    if let Some(c) = e.child("configuration") {
        // ncclient wraps a caller's <configuration> in another one: unwrap it.
        let c = match c.children.as_slice() {
            [inner] if inner.name == "configuration" => inner,
            _ => c,
        };
        return Some(match (format, action) {
            (_, Some(LoadAction::Set)) | (Format::Set, _) => ConfigBody::Set(c.text.clone()),
            (Format::Text, _) => ConfigBody::Text(c.text.clone()),
            (Format::Json, _) => ConfigBody::Json(c.text.clone()),
            (Format::Xml, _) => ConfigBody::Xml(c.clone()),
        });
    }
    None
}

fn op(e: Element) -> Op {
    let invalid = |message: String| Op::Invalid {
        name: e.name.clone(),
        message,
    };
    let format = match e.attr("format").map(|f| (f, Format::parse(f))) {
        None => Format::Xml,
        Some((_, Some(f))) => f,
        Some((f, None)) => return invalid(format!("invalid value for format: '{f}'")),
    };
    match e.name.as_str() {
        "get-config" => match datastore(&e, "source") {
            Some(source) => Op::GetConfig {
                source,
                filter: e.child("filter").cloned(),
            },
            None => invalid("missing or unknown <source>".into()),
        },
        "get" => Op::Get {
            filter: e.child("filter").cloned(),
        },
        "edit-config" => {
            let Some(target) = datastore(&e, "target") else {
                return invalid("missing or unknown <target>".into());
            };
            let config = match (e.child("config"), e.child("config-text")) {
                (Some(c), _) => match c.child("configuration") {
                    Some(conf) => ConfigBody::Xml(conf.clone()),
                    None => return invalid("<config> holds no <configuration>".into()),
                },
                (None, Some(t)) => match t.child("configuration-text") {
                    Some(text) => ConfigBody::Text(text.text.clone()),
                    None => ConfigBody::Text(t.text.clone()),
                },
                (None, None) => return invalid("missing <config>".into()),
            };
            Op::EditConfig { target, config }
        }
        "lock" | "unlock" => match datastore(&e, "target") {
            Some(d) if e.name == "lock" => Op::Lock(d),
            Some(d) => Op::Unlock(d),
            None => invalid("missing or unknown <target>".into()),
        },
        "validate" => Op::Validate,
        "discard-changes" => Op::DiscardChanges,
        "commit" => {
            let timeout_s = match e.child_text("confirm-timeout").map(str::parse) {
                None => None,
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => return invalid("invalid <confirm-timeout>".into()),
            };
            Op::Commit {
                confirmed: e.has("confirmed"),
                timeout_s,
            }
        }
        "close-session" => Op::CloseSession,
        "kill-session" => match e.child_text("session-id") {
            Some(id) if !id.is_empty() => Op::KillSession(id.to_string()),
            _ => invalid("missing <session-id>".into()),
        },
        "get-configuration" => {
            let database = match e.attr("database") {
                None | Some("candidate") => Datastore::Candidate,
                Some("committed") => Datastore::Running,
                Some(d) => return invalid(format!("invalid value for database: '{d}'")),
            };
            let rollback = match number(&e, "rollback") {
                Ok(r) => r,
                Err(m) => return invalid(m),
            };
            let compare = match e.attr("compare") {
                None => None,
                Some("rollback") => Some(rollback.unwrap_or(0)),
                Some(c) => return invalid(format!("invalid value for compare: '{c}'")),
            };
            Op::GetConfiguration {
                database,
                format,
                rollback: if compare.is_some() { None } else { rollback },
                compare,
                filter: e.child("configuration").cloned(),
            }
        }
        "load-configuration" => {
            let action = match e.attr("action") {
                None | Some("merge") => LoadAction::Merge,
                Some("replace") => LoadAction::Replace,
                Some("override") => LoadAction::Override,
                Some("update") => LoadAction::Update,
                Some("set") => LoadAction::Set,
                Some(a) => return invalid(format!("invalid value for action: '{a}'")),
            };
            let rollback = match number(&e, "rollback") {
                Ok(r) => r,
                Err(m) => return invalid(m),
            };
            let body = body(&e, format, Some(action));
            if body.is_none() && rollback.is_none() {
                return invalid("syntax error, expecting <configuration>".into());
            }
            Op::LoadConfiguration {
                action,
                body,
                rollback,
            }
        }
        "commit-configuration" => {
            let confirm_timeout = match e.child_text("confirm-timeout").map(str::parse) {
                None => None,
                Some(Ok(n)) => Some(n),
                Some(Err(_)) => return invalid("invalid <confirm-timeout>".into()),
            };
            Op::CommitConfiguration {
                check: e.has("check"),
                confirmed: e.has("confirmed"),
                confirm_timeout,
                log: e.child_text("log").map(str::to_string),
                synchronize: e.has("synchronize"),
            }
        }
        "lock-configuration" => Op::LockConfiguration,
        "unlock-configuration" => Op::UnlockConfiguration,
        "open-configuration" => Op::OpenConfiguration {
            private: e.has("private"),
        },
        "close-configuration" => Op::CloseConfiguration,
        "command" => Op::Command {
            text: e.text.trim().to_string(),
            format,
        },
        _ => Op::Operational {
            name: e.name.clone(),
            element: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rpc(body: &str) -> Rpc {
        let text = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="urn:uuid:7">{body}</nc:rpc>"#
        );
        match read(&text).unwrap() {
            Message::Rpc(r) => r,
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn the_operations_clients_send_are_read_whatever_their_prefix() {
        let r = rpc("<get-software-information/>");
        assert_eq!(r.message_id(), Some("urn:uuid:7"));
        assert!(
            matches!(r.op, Op::Operational { ref name, .. } if name == "get-software-information")
        );
        assert_eq!(
            rpc(r#"<nc:get-configuration compare="rollback" rollback="3" format="text"/>"#).op,
            Op::GetConfiguration {
                database: Datastore::Candidate,
                format: Format::Text,
                rollback: None,
                compare: Some(3),
                filter: None
            }
        );
        assert_eq!(
            rpc(r#"<nc:load-configuration action="set" format="text"><nc:configuration-set>set system host-name r1</nc:configuration-set></nc:load-configuration>"#).op,
            Op::LoadConfiguration {
                action: LoadAction::Set,
                body: Some(ConfigBody::Set("set system host-name r1".into())),
                rollback: None
            }
        );
        assert_eq!(
            rpc("<commit-configuration><confirmed/><confirm-timeout>2</confirm-timeout><log>hi</log></commit-configuration>").op,
            Op::CommitConfiguration {
                check: false,
                confirmed: true,
                confirm_timeout: Some(2),
                log: Some("hi".into()),
                synchronize: false
            }
        );
        assert_eq!(
            rpc("<nc:lock><nc:target><nc:candidate/></nc:target></nc:lock>").op,
            Op::Lock(Datastore::Candidate)
        );
        // ncclient wraps a caller's <configuration> in its own.
        match rpc(r#"<load-configuration action="merge" format="xml"><configuration><configuration><system><host-name>r2</host-name></system></configuration></configuration></load-configuration>"#).op {
            Op::LoadConfiguration { body: Some(ConfigBody::Xml(c)), .. } => {
                assert_eq!(c.children[0].name, "system");
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn bad_arguments_are_invalid_operations_that_keep_the_message_id() {
        for body in [
            r#"<get-configuration format="yaml"/>"#,
            r#"<load-configuration action="frobnicate"><configuration-text/></load-configuration>"#,
            "<load-configuration/>",
            r#"<get-configuration rollback="x"/>"#,
            "<lock><target/></lock>",
        ] {
            let r = rpc(body);
            assert_eq!(r.message_id(), Some("urn:uuid:7"), "{body}");
            assert!(matches!(r.op, Op::Invalid { .. }), "{body}: {:?}", r.op);
        }
        assert!(read("<foo/>").is_err());
    }
}
