//! The forwarding plane's operational commands, described once: words, help and handler.

use savin_config::subsystem::{Message, State};

/// A typed reply, or the error to show.
pub(crate) type Answered = Result<Box<dyn State>, String>;

/// How an operational command is answered.
pub(crate) enum Answer {
    /// Words only, for `?` and completion (`show security`).
    Prefix,
    /// From the RIB, on the asking thread.
    Rib(fn(&crate::route_show::RibShared, &[String]) -> Answered),
    /// On the control thread.
    Control(fn(&mut crate::control::Control, &[String]) -> Answered),
}

/// A message reply (what a `clear` command did; empty when there is nothing to say).
fn message(text: impl Into<String>) -> Answered {
    Ok(Box::new(Message(text.into())))
}

/// One operational command, described once: its words and `?` help for dispatch and
/// completion, and how it is answered.
pub(crate) struct OpDef {
    pub words: &'static [&'static str],
    pub help: &'static str,
    pub answer: Answer,
}

fn no_args(args: &[String]) -> Result<(), String> {
    match args.first() {
        Some(a) => Err(format!("syntax error: unexpected '{a}'")),
        None => Ok(()),
    }
}

/// The service monitor's commands, answered alike under both their names: `show services
/// monitor rtp ...` and `show services rtp-monitoring ...` (the configuration's).
const RTP_MONITOR_HELP: &str = "Show the voice and video streams measured";
const RTP_STREAMS: (&str, Answer) = (
    "Show RTP streams: loss, jitter, MOS (detail, history)",
    Answer::Control(|c, a| Ok(Box::new(c.show_rtp_monitoring("streams", a)?))),
);
const RTP_STATISTICS: (&str, Answer) = (
    "Show the monitor's counters (SIP, RTP, streams)",
    Answer::Control(|c, a| Ok(Box::new(c.show_rtp_monitoring("statistics", a)?))),
);

/// The operational commands this crate answers.
pub(crate) const OPS: &[OpDef] = &[
    OpDef {
        words: &["test"],
        help: "Diagnostic debugging commands",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["test", "policy"],
        help: "Test a policy against the routes in a prefix (NAME PREFIX)",
        answer: Answer::Rib(crate::route_show::test_policy),
    },
    OpDef {
        words: &["clear"],
        help: "Clear information in the system",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "firewall"],
        help: "Clear firewall counters (all)",
        answer: Answer::Control(|c, a| c.clear_firewall(a).and_then(message)),
    },
    OpDef {
        words: &["show", "firewall"],
        help: "Show firewall filter counters and policers (filter NAME)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_firewall(a)?))),
    },
    OpDef {
        words: &["show", "firewall", "log"],
        help: "Show the packets that filter terms with log or syslog matched",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_firewall_log(a)?))),
    },
    OpDef {
        words: &["clear", "security"],
        help: "Clear security information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "security", "flow"],
        help: "Clear flow information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "security", "flow", "session"],
        help: "Clear sessions (all, or by source-prefix, destination-prefix, destination-port, protocol)",
        answer: Answer::Control(|c, a| c.clear_sessions(a).and_then(message)),
    },
    OpDef {
        words: &["show", "security"],
        help: "Show security information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "security", "flow"],
        help: "Show flow information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "services"],
        help: "Show services information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "services", "rtp-monitoring"],
        help: RTP_MONITOR_HELP,
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "services", "rtp-monitoring", "streams"],
        help: RTP_STREAMS.0,
        answer: RTP_STREAMS.1,
    },
    OpDef {
        words: &["show", "services", "monitor"],
        help: "Show the service monitor (rtp)",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "services", "monitor", "rtp"],
        help: RTP_MONITOR_HELP,
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "services", "monitor", "rtp", "streams"],
        help: RTP_STREAMS.0,
        answer: RTP_STREAMS.1,
    },
    OpDef {
        words: &["show", "services", "monitor", "rtp", "statistics"],
        help: RTP_STATISTICS.0,
        answer: RTP_STATISTICS.1,
    },
    OpDef {
        words: &["show", "services", "rtp-monitoring", "statistics"],
        help: RTP_STATISTICS.0,
        answer: RTP_STATISTICS.1,
    },
    OpDef {
        words: &["show", "security", "flow", "session"],
        help:
            "Show sessions (source-prefix, destination-prefix, destination-port, protocol, summary)",
        answer: Answer::Control(|c, a| c.show_sessions(a)),
    },
    OpDef {
        words: &["show", "security", "policies"],
        help: "Show security policies (hit-count: matches per policy)",
        answer: Answer::Control(|c, a| match a.first().map(String::as_str) {
            None => Ok(Box::new(c.show_policies())),
            Some("hit-count") if a.len() == 1 => Ok(Box::new(c.show_policy_hits())),
            Some(w) => Err(format!("syntax error: unexpected '{w}'")),
        }),
    },
    OpDef {
        words: &["clear", "security", "policies"],
        help: "Clear security policy information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "security", "policies", "hit-count"],
        help: "Clear the policy hit counts",
        answer: Answer::Control(|c, _| {
            c.clear_hits(crate::hits::POLICY);
            message("")
        }),
    },
    OpDef {
        words: &["show", "security", "screen"],
        help: "Show screen information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "security", "screen", "statistics"],
        help: "Show screen statistics (zone NAME)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_screen_statistics(a)?))),
    },
    OpDef {
        words: &["clear", "security", "screen"],
        help: "Clear screen information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "security", "screen", "statistics"],
        help: "Clear screen statistics",
        answer: Answer::Control(|c, _| {
            c.clear_hits(crate::hits::SCREEN);
            message("")
        }),
    },
    OpDef {
        words: &["show", "security", "nat"],
        help: "Show Network Address Translation information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "security", "nat", "source"],
        help: "Show source NAT information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "security", "nat", "source", "rule"],
        help: "Show source NAT rules (all or NAME)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_nat_rules("source", a)?))),
    },
    OpDef {
        words: &["show", "security", "nat", "source", "pool"],
        help: "Show source NAT pools (all or NAME)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_nat_pools("source", a)?))),
    },
    OpDef {
        words: &["show", "security", "nat", "destination"],
        help: "Show destination NAT information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "security", "nat", "destination", "rule"],
        help: "Show destination NAT rules (all or NAME)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_nat_rules("destination", a)?))),
    },
    OpDef {
        words: &["show", "security", "nat", "destination", "pool"],
        help: "Show destination NAT pools (all or NAME)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_nat_pools("destination", a)?))),
    },
    OpDef {
        words: &["show", "security", "nat", "static"],
        help: "Show static NAT information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "security", "nat", "static", "rule"],
        help: "Show static NAT rules (all or NAME)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_nat_rules("static", a)?))),
    },
    OpDef {
        words: &["show", "security", "zones"],
        help: "Show security zones",
        answer: Answer::Control(|c, _| Ok(Box::new(c.show_zones()))),
    },
    OpDef {
        words: &["clear", "arp"],
        help: "Clear address resolution information",
        answer: Answer::Control(|c, a| {
            no_args(a)?;
            c.clear_arp();
            message("")
        }),
    },
    OpDef {
        words: &["clear", "interfaces"],
        help: "Clear interface information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "interfaces", "statistics"],
        help: "Clear statistics on interfaces",
        answer: Answer::Control(|c, a| {
            let name = a.first().map(String::as_str).filter(|n| *n != "all");
            c.clear_statistics(name).and_then(|_| message(""))
        }),
    },
    OpDef {
        words: &["clear", "ipv6"],
        help: "Clear IP version 6 information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "ipv6", "neighbors"],
        help: "Clear IPv6 neighbor cache information",
        answer: Answer::Control(|c, _| {
            c.clear_nd();
            message("")
        }),
    },
    OpDef {
        words: &["show", "arp"],
        help: "Show system Address Resolution Protocol table entries",
        answer: Answer::Control(|c, a| {
            // Savin never looks names up: `no-resolve` is how it always shows them.
            let rest: Vec<String> = a
                .iter()
                .filter(|w| *w != "no-resolve" && *w != "expiration-time")
                .cloned()
                .collect();
            no_args(&rest)?;
            Ok(Box::new(
                c.show_arp(a.iter().any(|w| w == "expiration-time")),
            ))
        }),
    },
    OpDef {
        words: &["show", "ipv6"],
        help: "Show IP version 6 information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "ipv6", "neighbors"],
        help: "Show IPv6 neighbor cache information",
        answer: Answer::Control(|c, _| Ok(Box::new(c.show_nd()))),
    },
    OpDef {
        words: &["clear", "ethernet-switching"],
        help: "Clear Ethernet switching information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["clear", "ethernet-switching", "table"],
        help: "Clear learned MAC addresses",
        answer: Answer::Control(|c, _| {
            c.clear_fdb();
            message("")
        }),
    },
    OpDef {
        words: &["show", "ethernet-switching"],
        help: "Show Ethernet switching information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["show", "ethernet-switching", "table"],
        help: "Show the MAC address table",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_fdb(a)?))),
    },
    OpDef {
        words: &["monitor"],
        help: "Show real-time debugging information",
        answer: Answer::Prefix,
    },
    OpDef {
        words: &["monitor", "interface"],
        help: "Show interface traffic and rates (NAME, or traffic for all)",
        answer: Answer::Control(|c, a| Ok(Box::new(c.monitor_interface(a)?))),
    },
    OpDef {
        words: &["show", "interfaces"],
        help: "Show interface information",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_interfaces(a)?))),
    },
    OpDef {
        words: &["show", "vlans"],
        help: "Show VLAN information",
        answer: Answer::Control(|c, a| Ok(Box::new(c.show_vlans(a)?))),
    },
    OpDef {
        words: &["show", "route"],
        help: "Show routing table information",
        answer: Answer::Rib(crate::route_show::show_route),
    },
    OpDef {
        words: &["show", "route", "forwarding-table"],
        help: "Show forwarding table information",
        answer: Answer::Control(|c, a| {
            no_args(a)?;
            Ok(Box::new(c.show_forwarding_table()))
        }),
    },
    OpDef {
        words: &["show", "system", "statistics"],
        help: "Show statistics for protocol",
        answer: Answer::Control(|c, a| {
            no_args(a)?;
            Ok(Box::new(c.show_statistics()))
        }),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command is listed once; every word sequence that only helps `?` leads to a
    /// command; every command's shorter word sequences are listed for `?` (or are the CLI's
    /// own: `show`, `show system`).
    #[test]
    fn the_table_lists_each_command_once_and_its_prefixes() {
        for (i, d) in OPS.iter().enumerate() {
            assert!(
                OPS[..i].iter().all(|e| e.words != d.words),
                "{:?} twice",
                d.words
            );
            if matches!(d.answer, Answer::Prefix) {
                assert!(
                    OPS.iter().any(|e| e.words.len() > d.words.len()
                        && e.words.starts_with(d.words)
                        && !matches!(e.answer, Answer::Prefix)),
                    "{:?} leads nowhere",
                    d.words
                );
            } else {
                // `show system` is the CLI's own (`show system commit`, `uptime`).
                let cli_own: &[&[&str]] = &[&["show", "system"]];
                for n in 2..d.words.len() {
                    assert!(
                        OPS.iter().any(|e| e.words == &d.words[..n])
                            || cli_own.contains(&&d.words[..n]),
                        "{:?} misses its prefix {:?}",
                        d.words,
                        &d.words[..n]
                    );
                }
            }
        }
    }
}
