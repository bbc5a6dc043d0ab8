//! Operational commands and the Junos RPCs that are their XML names (`show route` is
//! `<get-route-information>`), both ways: NETCONF runs an RPC as its command, and the CLI's
//! `| display xml rpc` shows the RPC a command is.

use savin_netconf::xml::{escape, Element};

/// One command's RPC. `positional`: the elements that carry the command's bare arguments,
/// in order (`show route 10.0.0.0/8` is `<destination>10.0.0.0/8</destination>`); other
/// child elements are the command's keywords: an empty one a flag (`<detail/>`), one with
/// text a keyword and its value (`<table>inet.0</table>`). `requires`: the child element that
/// tells this command from another of the same RPC.
pub struct RpcDef {
    pub rpc: &'static str,
    pub command: &'static str,
    pub positional: &'static [&'static str],
    pub requires: Option<&'static str>,
    /// Changes state (`clear ...`): not for read-only users.
    pub clears: bool,
}

const fn def(
    rpc: &'static str,
    command: &'static str,
    positional: &'static [&'static str],
    clears: bool,
) -> RpcDef {
    RpcDef {
        rpc,
        command,
        positional,
        requires: None,
        clears,
    }
}

const fn show(
    rpc: &'static str,
    command: &'static str,
    positional: &'static [&'static str],
) -> RpcDef {
    def(rpc, command, positional, false)
}

const fn clear(
    rpc: &'static str,
    command: &'static str,
    positional: &'static [&'static str],
) -> RpcDef {
    def(rpc, command, positional, true)
}

/// Longer commands first where one command's words begin another's.
pub const RPCS: &[RpcDef] = &[
    RpcDef {
        requires: Some("receive-protocol-name"),
        ..show(
            "get-route-information",
            "show route receive-protocol",
            &["receive-protocol-name", "peer"],
        )
    },
    RpcDef {
        requires: Some("advertising-protocol-name"),
        ..show(
            "get-route-information",
            "show route advertising-protocol",
            &["advertising-protocol-name", "neighbor"],
        )
    },
    show(
        "get-forwarding-table-information",
        "show route forwarding-table",
        &["destination"],
    ),
    show("get-route-information", "show route", &["destination"]),
    show("get-arp-table-information", "show arp", &[]),
    show("get-ipv6-nd-information", "show ipv6 neighbors", &[]),
    show(
        "get-interface-information",
        "show interfaces",
        &["interface-name"],
    ),
    show("get-vlan-information", "show vlans", &["vlan-name"]),
    show(
        "get-ethernet-switching-table-information",
        "show ethernet-switching table",
        &[],
    ),
    show("get-bgp-summary-information", "show bgp summary", &[]),
    show(
        "get-bgp-neighbor-information",
        "show bgp neighbor",
        &["neighbor-address"],
    ),
    show(
        "get-flow-session-information",
        "show security flow session",
        &[],
    ),
    show("get-firewall-policies", "show security policies", &[]),
    show(
        "get-zones-information",
        "show security zones",
        &["zone-name"],
    ),
    show(
        "get-screen-statistics",
        "show security screen statistics",
        &[],
    ),
    show(
        "retrieve-source-nat-rule-information",
        "show security nat source rule",
        &["rule-name"],
    ),
    show(
        "retrieve-source-nat-pool-information",
        "show security nat source pool",
        &["pool-name"],
    ),
    show(
        "retrieve-destination-nat-rule-information",
        "show security nat destination rule",
        &["rule-name"],
    ),
    show(
        "retrieve-destination-nat-pool-information",
        "show security nat destination pool",
        &["pool-name"],
    ),
    show(
        "retrieve-static-nat-rule-information",
        "show security nat static rule",
        &["rule-name"],
    ),
    show("get-firewall-log-information", "show firewall log", &[]),
    show("get-firewall-information", "show firewall", &[]),
    show("get-statistics-information", "show system statistics", &[]),
    show("get-system-uptime-information", "show system uptime", &[]),
    show("get-commit-information", "show system commit", &[]),
    show("get-software-information", "show version", &[]),
    show(
        "get-rtp-monitoring-information",
        "show services rtp-monitoring streams",
        &[],
    ),
    show(
        "get-rtp-monitoring-statistics",
        "show services rtp-monitoring statistics",
        &[],
    ),
    show("get-chassis-inventory", "show chassis hardware", &[]),
    show(
        "get-route-engine-information",
        "show chassis routing-engine",
        &[],
    ),
    show("get-log", "show log", &["filename"]),
    show("test-policy", "test policy", &["policy-name", "prefix"]),
    clear("clear-arp-table", "clear arp", &[]),
    clear("clear-ipv6-nd-information", "clear ipv6 neighbors", &[]),
    clear(
        "clear-interfaces-statistics-all",
        "clear interfaces statistics",
        &["interface-name"],
    ),
    clear("clear-flow-session", "clear security flow session", &[]),
    clear(
        "clear-security-policies-statistics",
        "clear security policies hit-count",
        &[],
    ),
    clear(
        "clear-screen-statistics",
        "clear security screen statistics",
        &[],
    ),
    clear(
        "clear-ethernet-switching-table",
        "clear ethernet-switching table",
        &[],
    ),
    clear("clear-firewall-counters", "clear firewall", &[]),
    clear("clear-bgp-neighbor", "clear bgp neighbor", &["neighbor"]),
];

/// Words of `show route` that take no value (the rest of a command's keywords take one).
const FLAGS: &[&str] = &[
    "detail",
    "extensive",
    "terse",
    "brief",
    "summary",
    "exact",
    "longer",
    "orlonger",
    "active-path",
    "all",
    "no-resolve",
    "statistics",
    "soft",
    "soft-inbound",
    "hidden",
    "media",
    "descriptions",
];

/// The command an RPC element asks for, as a CLI line; None for an RPC we do not have.
pub fn command_of(rpc: &Element) -> Option<(String, &'static RpcDef)> {
    let def = RPCS
        .iter()
        .find(|d| d.rpc == rpc.name && d.requires.is_none_or(|r| rpc.has(r)))?;
    let mut line = def.command.to_string();
    let mut push = |w: &str| {
        line.push(' ');
        line.push_str(&savin_config::value::quote(w));
    };
    for p in def.positional {
        if let Some(t) = rpc.child_text(p) {
            push(t);
        }
    }
    for c in &rpc.children {
        if def.positional.contains(&c.name.as_str()) {
            continue;
        }
        push(&c.name);
        if !c.text.trim().is_empty() {
            push(c.text.trim());
        }
    }
    Some((line, def))
}

/// `| display xml rpc`: the RPC for a command given in canonical words and its arguments.
pub fn rpc_of(words: &[&str], args: &[String]) -> Option<String> {
    let line = words.join(" ");
    let def = RPCS.iter().find(|d| d.command == line)?;
    let mut out = format!("<rpc>\n    <{}>\n", def.rpc);
    let mut positional = def.positional.iter();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if FLAGS.contains(&a.as_str()) {
            out.push_str(&format!("        <{a}/>\n"));
        } else if let Some(p) = positional.next() {
            out.push_str(&format!("        <{p}>{}</{p}>\n", escape(a)));
        } else if let Some(v) = args.get(i + 1) {
            out.push_str(&format!("        <{a}>{}</{a}>\n", escape(v)));
            i += 1;
        } else {
            out.push_str(&format!("        <{a}/>\n"));
        }
        i += 1;
    }
    out.push_str(&format!("    </{}>\n</rpc>\n", def.rpc));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rpc_and_its_command_map_both_ways() {
        let e = savin_netconf::xml::parse(
            "<get-route-information><destination>10.0.0.0/8</destination><table>inet.0</table><detail/></get-route-information>",
            100,
        )
        .unwrap();
        assert_eq!(
            command_of(&e).unwrap().0,
            "show route 10.0.0.0/8 table inet.0 detail"
        );
        let rpc = rpc_of(
            &["show", "route"],
            &[
                "10.0.0.0/8".into(),
                "table".into(),
                "inet.0".into(),
                "detail".into(),
            ],
        )
        .unwrap();
        let back = savin_netconf::xml::parse(&rpc, 100).unwrap();
        assert_eq!(
            command_of(&back.children[0]).unwrap().0,
            "show route 10.0.0.0/8 table inet.0 detail"
        );
        let r = savin_netconf::xml::parse(
            "<get-route-information><receive-protocol-name>bgp</receive-protocol-name><peer>10.0.2.2</peer></get-route-information>",
            100,
        )
        .unwrap();
        assert_eq!(
            command_of(&r).unwrap().0,
            "show route receive-protocol bgp 10.0.2.2"
        );
        assert!(command_of(&Element::new("get-frobs")).is_none());
    }

    #[test]
    fn every_command_has_one_rpc_and_the_rpcs_reach_their_commands() {
        for (i, d) in RPCS.iter().enumerate() {
            assert!(
                RPCS[..i].iter().all(|e| e.command != d.command),
                "{} twice",
                d.command
            );
            let mut e = Element::new(d.rpc);
            if let Some(r) = d.requires {
                e.children.push(Element::new(r));
            }
            assert_eq!(command_of(&e).unwrap().1.command, d.command, "{}", d.rpc);
        }
    }
}
