//! The security operational commands: `show security flow session [filters] [summary]`,
//! `clear security flow session [filters]`, `show security policies`, `show security zones`.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use savin_config::subsystem::State;
use savin_dataplane::ToWorker;
use savin_security::Action;
use savin_security::DEFAULT_POLICY;
use savin_session::{Info, State as SessionState};
use serde_json::{json, Value};

use crate::control::Control;

fn proto_name(p: u8) -> String {
    match p {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        58 => "icmp6".into(),
        n => n.to_string(),
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Permit => "permit",
        Action::Deny => "deny",
        Action::Reject => "reject",
    }
}

/// The session filters Junos takes: `source-prefix P`, `destination-prefix P`,
/// `source-port N`, `destination-port N`, `protocol NAME|N`.
type Filter = Box<dyn Fn(&Info) -> bool + Send>;

fn parse_filter(args: &[String]) -> Result<(Filter, bool), String> {
    let mut summary = false;
    let mut tests: Vec<Filter> = Vec::new();
    let mut it = args.iter();
    while let Some(word) = it.next() {
        if word == "summary" {
            summary = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("syntax error: '{word}' needs a value"))?;
        let prefix = |v: &str| -> Result<(u32, u32), String> {
            let (a, l) = v.split_once('/').unwrap_or((v, "32"));
            let a: Ipv4Addr = a.parse().map_err(|_| format!("invalid prefix '{v}'"))?;
            let l: u32 = l
                .parse()
                .ok()
                .filter(|l| *l <= 32)
                .ok_or(format!("invalid prefix '{v}'"))?;
            let m = u32::MAX.checked_shl(32 - l).unwrap_or(0);
            Ok((u32::from(a) & m, m))
        };
        let port = |v: &str| v.parse::<u16>().map_err(|_| format!("invalid port '{v}'"));
        match word.as_str() {
            "source-prefix" => {
                let (a, m) = prefix(value)?;
                tests.push(Box::new(move |i| i.key.src & m == a));
            }
            "destination-prefix" => {
                let (a, m) = prefix(value)?;
                tests.push(Box::new(move |i| i.key.dst & m == a));
            }
            "source-port" => {
                let p = port(value)?;
                tests.push(Box::new(move |i| i.key.sport == p));
            }
            "destination-port" => {
                let p = port(value)?;
                tests.push(Box::new(move |i| i.key.dport == p));
            }
            "protocol" => {
                let p = match value.as_str() {
                    "tcp" => 6,
                    "udp" => 17,
                    "icmp" => 1,
                    n => n
                        .parse::<u8>()
                        .map_err(|_| format!("invalid protocol '{n}'"))?,
                };
                tests.push(Box::new(move |i| i.key.proto == p));
            }
            w => return Err(format!("syntax error: unexpected '{w}'")),
        }
    }
    Ok((Box::new(move |i| tests.iter().all(|t| t(i))), summary))
}

/// `show security policies`: the compiled policies in force (a snapshot of the tables) and
/// their zone contexts in the order written.
pub(crate) struct SecurityPolicies {
    sec: Option<std::sync::Arc<savin_security::SecurityTables>>,
    contexts: Vec<(String, String, bool)>,
}

impl SecurityPolicies {
    fn default_name(&self) -> &'static str {
        match self.sec.as_ref().map(|s| s.policy.default_action) {
            Some(Action::Permit) => "permit-all",
            _ => "deny-all",
        }
    }
}

impl State for SecurityPolicies {
    fn json(&self) -> Value {
        let default = self.default_name();
        let Some(sec) = &self.sec else {
            return json!({"security-policies": [], "default-policy": default});
        };
        let c = &sec.policy;
        let ctxs: Vec<Value> = self
                .contexts
                .iter()
                .map(|(f, t, g)| {
                    let pols: Vec<Value> = c
                        .policies
                        .iter()
                        .enumerate()
                        .filter(|(_, p)| (&p.from_zone, &p.to_zone, &p.global) == (f, t, g))
                        .map(|(i, p)| {
                            json!({"policy-name": p.name, "policy-index": i + 1,
                                "policy-sequence-number": p.sequence,
                                "policy-action": action_name(p.action),
                                "source-addresses": p.source, "destination-addresses": p.destination,
                                "applications": p.applications,
                                "log": {"session-init": p.log_init, "session-close": p.log_close},
                                "count": p.count})
                        })
                        .collect();
                    json!({"context-information": {"source-zone-name": f, "destination-zone-name": t,
                        "global": g}, "policies": pols})
                })
                .collect();
        json!({"security-policies": ctxs, "default-policy": default})
    }

    fn text(&self) -> String {
        let default = self.default_name();
        let Some(sec) = &self.sec else {
            return format!("Default policy: {default}\n");
        };
        let c = &sec.policy;
        let mut out = format!("Default policy: {default}\n");
        for (f, t, g) in &self.contexts {
            if *g {
                out.push_str("Global policies:\n");
            } else {
                let _ = writeln!(out, "From zone: {f}, To zone: {t}");
            }
            for (i, p) in c.policies.iter().enumerate() {
                if (&p.from_zone, &p.to_zone, &p.global) != (f, t, g) {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "  Policy: {}, State: enabled, Index: {}, Scope Policy: 0, Sequence number: {}",
                    p.name,
                    i + 1,
                    p.sequence
                );
                let _ = writeln!(out, "    Source addresses: {}", p.source.join(", "));
                let _ = writeln!(
                    out,
                    "    Destination addresses: {}",
                    p.destination.join(", ")
                );
                let _ = writeln!(out, "    Applications: {}", p.applications.join(", "));
                let mut action = action_name(p.action).to_string();
                if p.log_init || p.log_close {
                    action.push_str(", log");
                }
                if p.count {
                    action.push_str(", count");
                }
                let _ = writeln!(out, "    Action: {action}");
            }
        }
        out
    }
}

/// `show security zones`: `zones-information`, each zone with its interfaces.
pub(crate) struct ZonesInformation(Vec<(String, Vec<String>)>);

impl State for ZonesInformation {
    fn json(&self) -> Value {
        let z: Vec<Value> = self
            .0
            .iter()
            .map(|(n, ifls)| {
                json!({"zones-security-zonename": n,
                    "zones-security-interfaces-bound": ifls.len(),
                    "zones-security-interfaces": ifls})
            })
            .collect();
        json!({"zones-information": {"zones-security": z}})
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for (n, ifls) in &self.0 {
            let _ = writeln!(out, "Security zone: {n}");
            let _ = writeln!(out, "  Send reset for non-SYN session TCP packets: Off");
            let _ = writeln!(out, "  Policy configurable: Yes");
            let _ = writeln!(out, "  Interfaces bound: {}", ifls.len());
            let _ = writeln!(out, "  Interfaces:");
            for i in ifls {
                let _ = writeln!(out, "    {i}");
            }
            out.push('\n');
        }
        out
    }
}

/// One direction of a session as shown: in (as the first packet came) or out (the reply).
struct FlowRow {
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    proto: String,
    interface: String,
    packets: u64,
    bytes: u64,
}

struct SessionRow {
    id: u32,
    policy: String,
    state: &'static str,
    timeout: u32,
    remaining: u32,
    flows: [FlowRow; 2],
}

/// `show security flow session`: `flow-session-information`.
pub(crate) struct FlowSessionInformation(Vec<SessionRow>);

const DIRECTIONS: [&str; 2] = ["In", "Out"];

impl State for FlowSessionInformation {
    fn text(&self) -> String {
        let mut out = String::new();
        for i in &self.0 {
            let _ = writeln!(
                out,
                "Session ID: {}, Policy name: {}, State: {}, Timeout: {}, Valid",
                i.id, i.policy, i.state, i.remaining
            );
            for (f, dir) in i.flows.iter().zip(DIRECTIONS) {
                let _ = writeln!(
                    out,
                    "  {dir}: {}/{} --> {}/{};{}, If: {}, Pkts: {}, Bytes: {}",
                    f.src, f.sport, f.dst, f.dport, f.proto, f.interface, f.packets, f.bytes
                );
            }
        }
        let _ = writeln!(out, "Total sessions: {}", self.0.len());
        out
    }

    fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .0
            .iter()
            .map(|i| {
                let dirs: Vec<Value> = i
                    .flows
                    .iter()
                    .zip(DIRECTIONS)
                    .map(|(f, dir)| {
                        json!({"direction": dir,
                            "source-address": f.src.to_string(), "source-port": f.sport,
                            "destination-address": f.dst.to_string(), "destination-port": f.dport,
                            "protocol": f.proto, "interface-name": f.interface,
                            "pkt-cnt": f.packets, "byte-cnt": f.bytes})
                    })
                    .collect();
                json!({"session-identifier": i.id, "policy": i.policy,
                    "configured-timeout": i.timeout, "timeout": i.remaining,
                    "session-state": i.state, "flow-information": dirs})
            })
            .collect();
        json!({"flow-session-information": {
            "flow-session": rows, "displayed-session-count": self.0.len()}})
    }
}

/// `show security flow session summary`: `flow-session-summary-information`.
pub(crate) struct FlowSessionSummary {
    sessions: usize,
    capacity: usize,
}

impl State for FlowSessionSummary {
    fn text(&self) -> String {
        format!(
            "Unicast-sessions: {n}\nMulticast-sessions: 0\nSessions-in-use: {n}\n  Valid sessions: {n}\n  Pending sessions: 0\n  Invalidated sessions: 0\nMaximum-sessions: {c}\n",
            n = self.sessions,
            c = self.capacity
        )
    }

    fn json(&self) -> Value {
        json!({"flow-session-summary-information": {
            "active-unicast-sessions": self.sessions, "active-sessions": self.sessions,
            "max-sessions": self.capacity}})
    }
}

impl Control {
    fn sessions(&self, keep: Filter, clear: bool) -> Result<(Vec<Info>, usize), String> {
        let (tx, rx) = sync_channel(1);
        self.to_worker
            .send(ToWorker::Feature(Box::new(
                move |f: &mut crate::control::Features, now_ms| {
                    let _ = tx.try_send(f.b.b.sessions(now_ms, &*keep, clear));
                },
            )))
            .map_err(|_| "error: the forwarding worker is not running".to_string())?;
        rx.recv_timeout(Duration::from_secs(2))
            .map_err(|_| "error: the forwarding worker did not answer".to_string())
    }

    fn policy_name(&self, id: u32) -> String {
        let sec = self.security.load();
        match sec.as_ref() {
            Some(s) if id != DEFAULT_POLICY => s
                .policy
                .policies
                .get(id as usize)
                .map_or_else(|| format!("{id}"), |p| format!("{}/{}", p.name, id + 1)),
            _ => "default-policy/0".into(),
        }
    }

    pub(crate) fn show_sessions(&self, args: &[String]) -> Result<Box<dyn State>, String> {
        let (keep, summary) = parse_filter(args)?;
        let (list, capacity) = self.sessions(keep, false)?;
        if summary {
            return Ok(Box::new(FlowSessionSummary {
                sessions: list.len(),
                capacity,
            }));
        }
        let flow = |i: &Info, d: usize| {
            let k = if d == 0 { i.key } else { i.reply };
            FlowRow {
                src: Ipv4Addr::from(k.src),
                sport: k.sport,
                dst: Ipv4Addr::from(k.dst),
                dport: k.dport,
                proto: proto_name(k.proto),
                interface: self.ifl(i.ports[d]),
                packets: i.packets[d],
                bytes: i.bytes[d],
            }
        };
        let rows = list
            .iter()
            .map(|i| SessionRow {
                id: i.id,
                policy: self.policy_name(i.policy),
                state: state_name(i.state),
                timeout: i.timeout,
                remaining: i.remaining,
                flows: [flow(i, 0), flow(i, 1)],
            })
            .collect();
        Ok(Box::new(FlowSessionInformation(rows)))
    }

    pub(crate) fn clear_sessions(&self, args: &[String]) -> Result<String, String> {
        // `clear security flow session all`, as Junos says it: every session.
        let args = match args {
            [all] if all == "all" => &[],
            _ => args,
        };
        let (keep, summary) = parse_filter(args)?;
        if summary {
            return Err("syntax error: unexpected 'summary'".into());
        }
        let (list, _) = self.sessions(keep, true)?;
        Ok(format!("{} sessions cleared\n", list.len()))
    }

    pub(crate) fn show_policies(&self) -> SecurityPolicies {
        let sec = self.security.load_full();
        // Contexts in the order their first policy was written.
        let mut contexts: Vec<(String, String, bool)> = Vec::new();
        for p in sec.iter().flat_map(|s| s.policy.policies.iter()) {
            let k = (p.from_zone.clone(), p.to_zone.clone(), p.global);
            if !contexts.contains(&k) {
                contexts.push(k);
            }
        }
        SecurityPolicies { sec, contexts }
    }

    pub(crate) fn show_zones(&self) -> ZonesInformation {
        let sec = self.security.load();
        let Some(sec) = sec.as_ref() else {
            return ZonesInformation(Vec::new());
        };
        ZonesInformation(
            sec.policy
                .zones
                .iter()
                .enumerate()
                .map(|(id, name)| {
                    let ifls: Vec<String> = sec
                        .zone_of_port
                        .iter()
                        .enumerate()
                        .filter(|(_, z)| **z == Some(id as u16))
                        .map(|(slot, _)| self.ifl(slot as u16))
                        .collect();
                    (name.clone(), ifls)
                })
                .collect(),
        )
    }
}

fn state_name(s: SessionState) -> &'static str {
    match s {
        SessionState::Init => "Init",
        SessionState::Established => "Established",
        SessionState::Closing => "Closing",
        SessionState::Closed => "Closed",
        SessionState::Active => "Active",
    }
}
