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

/// An RT_FLOW event: its text, and the session's fields (with the event's own after them)
/// as SRX names them in structured logs.
macro_rules! rt_flow {
    ($id:literal, $f:expr, $line:expr $(, $k:ident = $v:expr)*) => {
        tracing::info!(
            target: "RT_FLOW",
            event_id = $id,
            source_address = %$f.src,
            source_port = $f.sport,
            destination_address = %$f.dst,
            destination_port = $f.dport,
            service_name = %$f.service,
            nat_source_address = %$f.nat_src,
            nat_source_port = $f.nat_sport,
            nat_destination_address = %$f.nat_dst,
            nat_destination_port = $f.nat_dport,
            protocol_id = $f.proto,
            policy_name = %$f.policy,
            source_zone_name = %$f.from_zone,
            destination_zone_name = %$f.to_zone,
            session_id_32 = $f.id,
            packet_incoming_interface = %$f.interface,
            $($k = $v,)*
            "{}",
            $line
        )
    };
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
        let Some(t) = sec.as_deref() else {
            return;
        };
        for e in events {
            // Each event is written once: its text in the SRX shape for files and RFC 3164,
            // its fields as RFC 5424 structured data (the names SRX's structured logs use).
            match &e {
                SessionEvent::Create {
                    info,
                    source_rule,
                    destination_rule,
                } => {
                    let f = self.flow(info, t);
                    let line = format!(
                        "RT_FLOW_SESSION_CREATE: session created {} {} {} {} N/A(N/A) {} UNKNOWN UNKNOWN UNKNOWN",
                        f.flow_words(),
                        rule_words(t, *source_rule),
                        rule_words(t, *destination_rule),
                        f.policy_words(),
                        f.interface,
                    );
                    rt_flow!("RT_FLOW_SESSION_CREATE", f, line);
                }
                SessionEvent::Close(g) => {
                    let i = &g.info;
                    let f = self.flow(i, t);
                    let line = format!(
                        "RT_FLOW_SESSION_CLOSE: session closed {}: {} N/A N/A N/A N/A {} {}({}) {}({}) {} UNKNOWN UNKNOWN N/A(N/A) {} UNKNOWN",
                        g.reason.text(),
                        f.flow_words(),
                        f.policy_words(),
                        i.packets[0],
                        i.bytes[0],
                        i.packets[1],
                        i.bytes[1],
                        i.duration,
                        f.interface,
                    );
                    rt_flow!(
                        "RT_FLOW_SESSION_CLOSE",
                        f,
                        line,
                        reason = g.reason.text(),
                        packets_from_client = i.packets[0],
                        bytes_from_client = i.bytes[0],
                        packets_from_server = i.packets[1],
                        bytes_from_server = i.bytes[1],
                        elapsed_time = i.duration
                    );
                }
            }
        }
    }

    /// A session's words, named with the tables in force.
    fn flow(&self, i: &Info, t: &SecurityTables) -> Flow {
        let (k, r) = (i.key, i.reply);
        let service = t
            .policy
            .policies
            .get(i.policy as usize)
            .and_then(|p| match p.applications.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "None".into());
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
        Flow {
            src: Ipv4Addr::from(k.src),
            sport: k.sport,
            dst: Ipv4Addr::from(k.dst),
            dport: k.dport,
            service,
            // The reply's key turned around: where the session goes after NAT.
            nat_src: Ipv4Addr::from(r.dst),
            nat_sport: r.dport,
            nat_dst: Ipv4Addr::from(r.src),
            nat_dport: r.sport,
            proto: k.proto,
            policy,
            from_zone: zone(i.ports[0]),
            to_zone: zone(i.ports[1]),
            id: i.id,
            interface: self.ifl(i.ports[0]),
        }
    }
}

/// What a session log says of its session.
struct Flow {
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    service: String,
    nat_src: Ipv4Addr,
    nat_sport: u16,
    nat_dst: Ipv4Addr,
    nat_dport: u16,
    proto: u8,
    policy: String,
    from_zone: String,
    to_zone: String,
    id: u32,
    interface: String,
}

impl Flow {
    /// `SRC/SP->DST/DP 0x0 SERVICE NSRC/NSP->NDST/NDP 0x0`.
    fn flow_words(&self) -> String {
        format!(
            "{}/{}->{}/{} 0x0 {} {}/{}->{}/{} 0x0",
            self.src,
            self.sport,
            self.dst,
            self.dport,
            self.service,
            self.nat_src,
            self.nat_sport,
            self.nat_dst,
            self.nat_dport
        )
    }

    /// `PROTO POLICY FROM-ZONE TO-ZONE SESSION-ID`.
    fn policy_words(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.proto, self.policy, self.from_zone, self.to_zone, self.id
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
