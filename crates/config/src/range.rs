//! `interfaces interface-range NAME { member ...; member-range A to B; ... }`: statements
//! shared by many ports. Each member interface takes the range's statements that it does not
//! set itself (its own statements win, as on Junos); members need not be configured on their
//! own. Applied after groups, so a group may hold a range.

use crate::schema::Node;
use crate::tree::{Block, Entries, Item};
use crate::value::{is_junos_port, Value};

/// The most interfaces the ranges of one configuration may stand for (hostile text must not
/// make millions).
pub const MAX_MEMBERS: usize = 16_384;

/// Whether the configuration has an interface range.
pub fn present(root: &Block, root_node: &Node) -> bool {
    locate(root_node).is_some_and(|(ii, ri, _)| {
        matches!(root.items.get(&ii), Some(Item::Block(b)) if b.items.get(&ri).is_some())
    })
}

/// (index of `interfaces` in the root, of `interface-range` and of `interface` in it).
fn locate(root_node: &Node) -> Option<(usize, usize, usize)> {
    let ii = root_node
        .children()
        .iter()
        .position(|c| c.name == "interfaces")?;
    let ifs = &root_node.children()[ii];
    let ri = ifs
        .children()
        .iter()
        .position(|c| c.name == "interface-range")?;
    let li = ifs.children().iter().position(|c| c.name == "interface")?;
    Some((ii, ri, li))
}

/// Applies every interface range to its members and removes the ranges. Err: a member or
/// member-range that names no interface Savin can make out.
pub fn apply(root: &mut Block, root_node: &'static Node) -> Result<(), String> {
    let Some((ii, ri, li)) = locate(root_node) else {
        return Ok(());
    };
    let ifs_node = &root_node.children()[ii];
    let range_node = &ifs_node.children()[ri];
    let if_node = &ifs_node.children()[li];
    let Some(Item::Block(ifs)) = root.items.get_mut(&ii) else {
        return Ok(());
    };
    let Some(Item::List(ranges)) = ifs.items.remove(&ri) else {
        return Ok(());
    };
    let member_i = child(range_node, "member");
    let mrange_i = child(range_node, "member-range");
    let mut total = 0usize;
    for (name, range) in ranges.iter() {
        if range.meta.inactive {
            continue;
        }
        let configured: Vec<String> = match ifs.items.get(&li) {
            Some(Item::List(e)) => e.keys().iter().map(|k| k.to_plain()).collect(),
            _ => Vec::new(),
        };
        let mut members: Vec<String> = Vec::new();
        if let Some(Item::List(m)) = member_i.and_then(|i| range.items.get(&i)) {
            for (k, b) in m.iter() {
                if !b.meta.inactive {
                    members.extend(member_names(&k.to_plain(), &configured)?);
                    if members.len() > MAX_MEMBERS {
                        return Err(format!(
                            "interface-range {name}: more than {MAX_MEMBERS} member interfaces"
                        ));
                    }
                }
            }
        }
        if let Some(Item::List(m)) = mrange_i.and_then(|i| range.items.get(&i)) {
            for (k, b) in m.iter() {
                if b.meta.inactive {
                    continue;
                }
                let to = b
                    .items
                    .iter()
                    .find_map(|(_, it)| match it {
                        Item::Leaf(_, v) => Some(v.to_plain()),
                        _ => None,
                    })
                    .unwrap_or_else(|| k.to_plain());
                members.extend(port_span(&k.to_plain(), &to).map_err(|e| {
                    format!("interface-range {name}: member-range {k} to {to}: {e}")
                })?);
            }
        }
        if members.len() > MAX_MEMBERS {
            return Err(format!(
                "interface-range {name}: more than {MAX_MEMBERS} member interfaces"
            ));
        }
        total += members.len();
        if total > MAX_MEMBERS {
            return Err(format!(
                "interface ranges: more than {MAX_MEMBERS} member interfaces in all"
            ));
        }
        let stated = [member_i, mrange_i]
            .iter()
            .any(|i| i.is_some_and(|i| range.items.get(&i).is_some()));
        if !stated {
            return Err(format!(
                "interface-range {name}: at least one member or member-range is needed"
            ));
        }
        let list = match ifs
            .items
            .get_or_insert_with(li, || Item::List(Entries::new(if_node)))
        {
            Item::List(e) => e,
            _ => return Err("interfaces: interface is not a list".into()),
        };
        for m in members {
            let target = list.get_or_insert(Value::Text(m.as_str().into()));
            fill(target, range, range_node, if_node);
        }
    }
    Ok(())
}

fn child(node: &Node, name: &str) -> Option<usize> {
    node.children().iter().position(|c| c.name == name)
}

/// Copies into `target` (of schema `tnode`) the statements of `source` (of schema `snode`)
/// that it lacks, by name, descending into blocks and list entries both have.
fn fill(target: &mut Block, source: &Block, snode: &Node, tnode: &Node) {
    for (si, item) in &source.items {
        let sc = &snode.children()[*si];
        if item.meta().is_some_and(|m| m.inactive) {
            continue;
        }
        let Some(ti) = child(tnode, sc.name) else {
            continue; // member, member-range
        };
        let tc = &tnode.children()[ti];
        match (target.items.get_mut(&ti), item) {
            (None, _) => {
                target.items.insert(ti, item.clone());
            }
            (Some(Item::Block(t)), Item::Block(s)) => fill(t, s, sc, tc),
            (Some(Item::List(t)), Item::List(s)) => {
                for (k, b) in s.iter() {
                    if b.meta.inactive {
                        continue;
                    }
                    let e = t.get_or_insert(k.clone());
                    fill(e, b, sc, tc);
                }
            }
            _ => {}
        }
    }
}

/// The interfaces a `member` names: itself; `[A-B]` in the port field as every port from A
/// to B; `*` in a field as the configured interfaces that match.
fn member_names(member: &str, configured: &[String]) -> Result<Vec<String>, String> {
    if let Some((head, rest)) = member.split_once('[') {
        let (span, tail) = rest
            .split_once(']')
            .ok_or_else(|| format!("member {member}: missing ']'"))?;
        let (a, b) = span
            .split_once('-')
            .ok_or_else(|| format!("member {member}: expected [FIRST-LAST]"))?;
        let (a, b): (u32, u32) = match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) if a <= b && b - a < 4096 => (a, b),
            _ => return Err(format!("member {member}: invalid range [{span}]")),
        };
        return Ok((a..=b).map(|n| format!("{head}{n}{tail}")).collect());
    }
    if member.contains('*') {
        return Ok(configured
            .iter()
            .filter(|c| crate::groups::glob(member, c))
            .cloned()
            .collect());
    }
    Ok(vec![member.to_string()])
}

/// `ge-0/0/0 to ge-0/0/23`: the ports of one FPC and PIC from the first to the last.
fn port_span(from: &str, to: &str) -> Result<Vec<String>, String> {
    let split = |n: &str| -> Option<(String, u32)> {
        if !is_junos_port(n) || n.contains(':') {
            return None;
        }
        let (head, port) = n.rsplit_once('/')?;
        Some((head.to_string(), port.parse().ok()?))
    };
    let ((h1, a), (h2, b)) = split(from)
        .zip(split(to))
        .ok_or("both ends must be Junos ports such as ge-0/0/0")?;
    if h1 != h2 || a > b {
        return Err("the ends must be on one FPC and PIC, the first before the last".into());
    }
    Ok((a..=b).map(|p| format!("{h1}/{p}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_expand_as_junos_expands_them() {
        assert_eq!(
            member_names("ge-0/0/[2-4]", &[]).unwrap(),
            ["ge-0/0/2", "ge-0/0/3", "ge-0/0/4"]
        );
        let conf = ["ge-0/0/1".to_string(), "xe-0/0/1".into(), "ge-1/0/7".into()];
        assert_eq!(
            member_names("ge-*", &conf).unwrap(),
            ["ge-0/0/1", "ge-1/0/7"]
        );
        assert_eq!(port_span("ge-0/0/0", "ge-0/0/2").unwrap().len(), 3);
        assert!(port_span("ge-0/0/0", "ge-0/1/2").is_err());
        assert!(member_names("ge-0/0/[9-1]", &[]).is_err());
    }
}
