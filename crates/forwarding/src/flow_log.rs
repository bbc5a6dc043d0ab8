//! Session logs in the SRX RT_FLOW shapes (`RT_FLOW_SESSION_CREATE`, `RT_FLOW_SESSION_CLOSE`),
//! written to the daemon's log for policies with `then log session-init|session-close`.
//!
//! The worker queues events; the control plane writes them with names from the tables in
//! force when it writes (a commit between the two can rename what a line shows).

use std::net::Ipv4Addr;

use savin_security::SecurityTables;
use savin_security::SessionEvent;
use savin_session::Info;

use crate::control::Control;

fn proto(p: u8) -> String {
    p.to_string()
}

impl Control {
    /// Writes the session log events the worker has published since the last call.
    pub(crate) fn log_sessions(&mut self) {
        let (events, lost) = match self.stats.try_lock() {
            Ok(mut s)
                if !s.feature.1 .1.events.is_empty()
                    || s.feature.1 .1.events_lost != self.events_lost_seen =>
            {
                (
                    std::mem::take(&mut s.feature.1 .1.events),
                    s.feature.1 .1.events_lost,
                )
            }
            _ => return,
        };
        if lost > self.events_lost_seen {
            tracing::warn!(
                lost = lost - self.events_lost_seen,
                "session log events lost (the worker queued more than it could hand over)"
            );
            self.events_lost_seen = lost;
        }
        let sec = self.security.load_full();
        for e in events {
            let line = match (&e, sec.as_deref()) {
                (_, None) => continue,
                (
                    SessionEvent::Create {
                        info,
                        source_rule,
                        destination_rule,
                    },
                    Some(t),
                ) => format!(
                    "RT_FLOW_SESSION_CREATE: session created {} {} {} {} {}",
                    self.flow_words(info, t),
                    rule_words(t, *source_rule),
                    rule_words(t, *destination_rule),
                    self.policy_words(info, t),
                    format_args!(
                        "N/A(N/A) {} UNKNOWN UNKNOWN UNKNOWN",
                        self.ifl(info.ports[0])
                    ),
                ),
                (SessionEvent::Close(g), Some(t)) => {
                    let i = &g.info;
                    format!(
                        "RT_FLOW_SESSION_CLOSE: session closed {}: {} N/A N/A N/A N/A {} {}({}) {}({}) {} UNKNOWN UNKNOWN N/A(N/A) {} UNKNOWN",
                        g.reason.text(),
                        self.flow_words(i, t),
                        self.policy_words(i, t),
                        i.packets[0],
                        i.bytes[0],
                        i.packets[1],
                        i.bytes[1],
                        i.duration,
                        self.ifl(i.ports[0]),
                    )
                }
            };
            tracing::info!(target: "RT_FLOW", "{line}");
        }
    }

    /// `SRC/SP->DST/DP 0x0 SERVICE NSRC/NSP->NDST/NDP 0x0`.
    fn flow_words(&self, i: &Info, t: &SecurityTables) -> String {
        let k = i.key;
        let r = i.reply;
        let service = t
            .policy
            .policies
            .get(i.policy as usize)
            .and_then(|p| match p.applications.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "None".into());
        format!(
            "{}/{}->{}/{} 0x0 {service} {}/{}->{}/{} 0x0",
            Ipv4Addr::from(k.src),
            k.sport,
            Ipv4Addr::from(k.dst),
            k.dport,
            Ipv4Addr::from(r.dst),
            r.dport,
            Ipv4Addr::from(r.src),
            r.sport,
        )
    }

    /// `PROTO POLICY FROM-ZONE TO-ZONE SESSION-ID`.
    fn policy_words(&self, i: &Info, t: &SecurityTables) -> String {
        let policy = t
            .policy
            .policies
            .get(i.policy as usize)
            .map_or_else(|| "default-policy".to_string(), |p| p.name.clone());
        let zone = |port: u16| {
            t.zone(port)
                .and_then(|z| t.policy.zones.get(usize::from(z)).cloned())
                .unwrap_or_else(|| "N/A".into())
        };
        format!(
            "{} {policy} {} {} {}",
            proto(i.key.proto),
            zone(i.ports[0]),
            zone(i.ports[1]),
            i.id
        )
    }
}

/// `source rule NAME`, `destination rule NAME`, `static rule NAME` or `N/A N/A`.
fn rule_words(t: &SecurityTables, r: Option<(usize, u32)>) -> String {
    let Some((kind, idx)) = r else {
        return "N/A N/A".into();
    };
    let (word, rules) = match kind {
        savin_security::NAT_SOURCE => ("source rule", &t.nat.source),
        savin_security::NAT_DESTINATION => ("destination rule", &t.nat.destination),
        _ => ("static rule", &t.nat.statics),
    };
    rules
        .get(idx as usize)
        .map_or("N/A N/A".into(), |r| format!("{word} {}", r.name))
}
