//! Replies in the shape Junos gives them and clients parse: `<rpc-reply>` in the NETCONF
//! namespace with the `junos:` prefix declared and the request's attributes echoed (ncclient
//! drops a session whose reply lacks the `message-id`); `<ok/>`; `<rpc-error>` with the
//! children ncclient and PyEZ read, nested where Junos nests them.

use crate::xml::escape;
use crate::NS_BASE;

/// The Junos release Savin answers as (PyEZ parses `NN.NRx.y`; the namespace carries it).
pub const JUNOS_RELEASE: &str = "24.1R1.1";
/// The `junos:` namespace, as Junos writes it (its release with R0).
pub const JUNOS_NS: &str = "http://xml.juniper.net/junos/24.1R0/junos";

/// The server's hello: base 1.0 only unless `chunked` (advertising base 1.1 makes ncclient
/// switch to chunked framing, which Junos does only when configured to).
pub fn hello(session_id: u64, chunked: bool) -> String {
    let mut caps = vec![
        "urn:ietf:params:netconf:base:1.0",
        "urn:ietf:params:netconf:capability:candidate:1.0",
        "urn:ietf:params:netconf:capability:confirmed-commit:1.0",
        "urn:ietf:params:netconf:capability:validate:1.0",
        "urn:ietf:params:xml:ns:netconf:base:1.0",
        "urn:ietf:params:xml:ns:netconf:capability:candidate:1.0",
        "urn:ietf:params:xml:ns:netconf:capability:confirmed-commit:1.0",
        "urn:ietf:params:xml:ns:netconf:capability:validate:1.0",
        "http://xml.juniper.net/netconf/junos/1.0",
        "http://xml.juniper.net/dmi/system/1.0",
    ];
    if chunked {
        caps.insert(1, "urn:ietf:params:netconf:base:1.1");
    }
    let mut out = format!("<hello xmlns=\"{NS_BASE}\">\n  <capabilities>\n");
    for c in caps {
        out.push_str(&format!("    <capability>{c}</capability>\n"));
    }
    out.push_str(&format!(
        "  </capabilities>\n  <session-id>{session_id}</session-id>\n</hello>"
    ));
    out
}

/// `<rpc-reply>` around `body`, echoing the request's attributes.
pub fn rpc_reply(attrs: &[(String, String)], body: &str) -> String {
    let mut out = format!("<rpc-reply xmlns=\"{NS_BASE}\" xmlns:junos=\"{JUNOS_NS}\"");
    for (k, v) in attrs {
        out.push_str(&format!(" {k}=\"{}\"", escape(v)));
    }
    out.push_str(">\n");
    out.push_str(body);
    if !body.is_empty() && !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("</rpc-reply>");
    out
}

pub const OK: &str = "<ok/>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One `<rpc-error>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub severity: Severity,
    /// RFC 6241 error-type: `protocol`, `rpc`, `application`.
    pub kind: &'static str,
    /// RFC 6241 error-tag: `operation-failed`, `lock-denied`, `unknown-element`, ...
    pub tag: &'static str,
    pub message: String,
    /// `error-path`: `[edit interfaces ge-0/0/0]`.
    pub path: Option<String>,
    /// `error-info/bad-element`: the element refused (an unknown RPC's name).
    pub bad_element: Option<String>,
    /// `error-info/session-id`: the lock holder, for `lock-denied`.
    pub session_id: Option<String>,
}

impl RpcError {
    pub fn new(tag: &'static str, message: impl Into<String>) -> RpcError {
        RpcError {
            severity: Severity::Error,
            kind: "protocol",
            tag,
            message: message.into(),
            path: None,
            bad_element: None,
            session_id: None,
        }
    }

    pub fn application(message: impl Into<String>) -> RpcError {
        RpcError {
            kind: "application",
            ..RpcError::new("operation-failed", message)
        }
    }

    pub fn warning(message: impl Into<String>) -> RpcError {
        RpcError {
            severity: Severity::Warning,
            ..RpcError::application(message)
        }
    }

    /// An operation we do not have, as Junos words it.
    pub fn unknown_rpc(name: &str) -> RpcError {
        RpcError {
            kind: "protocol",
            bad_element: Some(name.to_string()),
            ..RpcError::new("operation-failed", "syntax error")
        }
    }

    pub fn xml(&self) -> String {
        let mut out = String::from("<rpc-error>\n");
        out.push_str(&format!("<error-type>{}</error-type>\n", self.kind));
        out.push_str(&format!("<error-tag>{}</error-tag>\n", self.tag));
        out.push_str(&format!(
            "<error-severity>{}</error-severity>\n",
            match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            }
        ));
        if let Some(p) = &self.path {
            out.push_str(&format!("<error-path>{}</error-path>\n", escape(p)));
        }
        out.push_str(&format!(
            "<error-message>\n{}\n</error-message>\n",
            escape(&self.message)
        ));
        if self.bad_element.is_some() || self.session_id.is_some() {
            out.push_str("<error-info>\n");
            if let Some(b) = &self.bad_element {
                out.push_str(&format!("<bad-element>{}</bad-element>\n", escape(b)));
            }
            if let Some(s) = &self.session_id {
                out.push_str(&format!("<session-id>{}</session-id>\n", escape(s)));
            }
            out.push_str("</error-info>\n");
        }
        out.push_str("</rpc-error>\n");
        out
    }
}

pub fn errors(errs: &[RpcError]) -> String {
    errs.iter().map(RpcError::xml).collect()
}

/// A reply to a message that could not be read as a request (no message-id to echo).
pub fn malformed(message: &str) -> String {
    rpc_reply(&[], &RpcError::new("malformed-message", message).xml())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml;

    #[test]
    fn a_reply_echoes_the_request_and_its_errors_parse_where_clients_look() {
        let attrs = vec![("message-id".to_string(), "urn:uuid:<1>".to_string())];
        let e = RpcError {
            path: Some("[edit system]".into()),
            ..RpcError::unknown_rpc("get-frobs")
        };
        let r = xml::parse(&rpc_reply(&attrs, &e.xml()), 100).unwrap();
        assert_eq!(r.name, "rpc-reply");
        assert_eq!(r.attr("message-id"), Some("urn:uuid:<1>"));
        assert_eq!(r.attr("xmlns"), Some(NS_BASE));
        let err = r.child("rpc-error").unwrap();
        assert_eq!(err.child_text("error-severity"), Some("error"));
        assert_eq!(err.child_text("error-message"), Some("syntax error"));
        assert_eq!(err.child_text("error-path"), Some("[edit system]"));
        assert_eq!(
            err.child("error-info").unwrap().child_text("bad-element"),
            Some("get-frobs")
        );
    }

    #[test]
    fn the_hello_offers_base_1_1_only_when_chunked_framing_is_on() {
        let h = xml::parse(&hello(7, false), 100).unwrap();
        let caps: Vec<&str> = h
            .child("capabilities")
            .unwrap()
            .children
            .iter()
            .map(|c| c.text.as_str())
            .collect();
        assert!(caps.contains(&"urn:ietf:params:netconf:capability:candidate:1.0"));
        assert!(caps.iter().any(|c| c.contains("junos")));
        assert!(!caps.contains(&"urn:ietf:params:netconf:base:1.1"));
        assert!(hello(7, true).contains("urn:ietf:params:netconf:base:1.1"));
        assert_eq!(h.child_text("session-id"), Some("7"));
    }
}
