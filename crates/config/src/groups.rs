//! Configuration groups: `groups NAME { ... }` holds statements that blocks inherit with
//! `apply-groups [ NAME ... ]`, as on Junos.
//!
//! The configuration is kept and shown as written (groups and `apply-groups` included);
//! [`expand`] makes the configuration the box runs: every block takes, for each statement it
//! does not set itself, the value of the first group (in `apply-groups` order, the groups
//! applied at the block's own level before those applied above it) that sets it. A group's
//! list entries with a `<pattern>` key (`interfaces <ge-*>`) match the entries the
//! configuration already has; entries with a plain key are added. `apply-groups-except`
//! stops named groups at a block and below it. Inactive statements in a group are not
//! inherited. Interface ranges are applied next (see `crate::range`). The typed view, and so
//! every subsystem, sees the expanded configuration.

use std::borrow::Cow;

use crate::schema::{Kind, Node, APPLY_GROUPS};
use crate::tree::{Block, Entries, Item};
use crate::value::Value;

/// Whether a list key is a pattern (`<*>`, `<ge-*>`, `<[egx][te]-*>`).
pub fn is_pattern(text: &str) -> bool {
    text.len() >= 2 && text.starts_with('<') && text.ends_with('>')
}

/// Junos wildcard matching (the text between `<` and `>` of a pattern): `*` any run of
/// characters, `?` one character, `[abc]`, `[a-z]` and `[!abc]` one character of (or not of)
/// a set.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point for the last `*` (linear in practice,
    // and bounded by |p| * |t| on hostile patterns).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some('?') => Some(pi + 1),
            Some('[') => class(&p, pi, t[ti]),
            Some(c) if *c == t[ti] => Some(pi + 1),
            _ => None,
        };
        match step {
            Some(next) => {
                pi = next;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `p[at] == '['`: the index after the class if it
/// matches. An unclosed `[` is a literal.
fn class(p: &[char], at: usize, c: char) -> Option<usize> {
    let close = p[at + 1..]
        .iter()
        .position(|x| *x == ']')
        .map(|i| at + 1 + i);
    let Some(close) = close else {
        return (c == '[').then_some(at + 1);
    };
    let mut set = &p[at + 1..close];
    let negate = set.first() == Some(&'!');
    if negate {
        set = &set[1..];
    }
    let mut hit = false;
    let mut i = 0;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == '-' {
            hit |= set[i] <= c && c <= set[i + 2];
            i += 3;
        } else {
            hit |= set[i] == c;
            i += 1;
        }
    }
    (hit != negate).then_some(close + 1)
}

/// A group's block at the path being expanded.
#[derive(Clone, Copy)]
struct Source<'a> {
    group: &'a str,
    block: &'a Block,
    node: &'static Node,
}

/// One step of the path from the root: a statement's name, and the entry's key in a list.
type PathStep = (&'static str, Option<Value>);

fn child_index(node: &Node, name: &str) -> Option<usize> {
    node.children().iter().position(|c| c.name == name)
}

/// The names listed by `apply-groups` or `apply-groups-except` in `block`, if active.
fn listed(block: &Block, node: &Node, which: &str) -> Vec<String> {
    let Some(i) = child_index(node, which) else {
        return Vec::new();
    };
    match block.items.get(&i) {
        Some(Item::LeafList(m, vs)) if !m.inactive => vs.iter().map(|v| v.to_plain()).collect(),
        _ => Vec::new(),
    }
}

/// The configuration the box runs: groups applied, `groups` and every `apply-groups` gone.
/// Borrowed when the configuration has no groups. Err: an `apply-groups` names a group that
/// is not defined.
pub fn expand<'a>(root: &'a Block, root_node: &'static Node) -> Result<Cow<'a, Block>, String> {
    let gi = child_index(root_node, "groups");
    let has_groups = gi.is_some_and(|i| root.items.get(&i).is_some());
    let groups_used = has_groups || mentions_apply_groups(root, root_node);
    if !groups_used && !crate::range::present(root, root_node) {
        return Ok(Cow::Borrowed(root));
    }
    if !groups_used {
        let mut out = root.clone();
        crate::range::apply(&mut out, root_node)?;
        return Ok(Cow::Owned(out));
    }
    let mut out = root.clone();
    // `groups { NAME { ... } }`: a container holding the bare list of groups.
    let gnode = gi.map_or(root_node, |i| &root_node.children()[i].children()[0]);
    let groups = match gi.and_then(|i| out.items.remove(&i)) {
        Some(Item::Block(mut b)) => match b.items.remove(&0) {
            Some(Item::List(e)) => Some(e),
            _ => None,
        },
        _ => None,
    };
    let ctx = Ctx {
        added: std::cell::Cell::new(0),
        groups: groups.as_ref(),
        gnode,
    };
    let mut path = Vec::new();
    ctx.inherit(&mut out, root_node, Vec::new(), &mut path, &[])?;
    crate::range::apply(&mut out, root_node)?;
    crate::tree::prune(&mut out, root_node);
    Ok(Cow::Owned(out))
}

fn mentions_apply_groups(block: &Block, node: &Node) -> bool {
    block.items.iter().any(|(i, item)| {
        let child = &node.children()[*i];
        if APPLY_GROUPS.contains(&child.name) {
            return true;
        }
        match item {
            Item::Block(b) => mentions_apply_groups(b, child),
            Item::List(e) => e.iter().any(|(_, b)| mentions_apply_groups(b, child)),
            _ => false,
        }
    })
}

/// The most statements groups may add to one configuration: hostile text (a large group
/// applied under every entry of a large list) must not grow without bound.
pub const MAX_INHERITED: usize = 2_000_000;

struct Ctx<'g> {
    /// Statements inherited so far (see [`MAX_INHERITED`]).
    added: std::cell::Cell<usize>,
    groups: Option<&'g Entries>,
    /// The list of groups (`groups NAME`): its children are the hierarchies.
    gnode: &'static Node,
}

impl<'g> Ctx<'g> {
    fn count(&self) -> Result<(), String> {
        let n = self.added.get() + 1;
        self.added.set(n);
        if n > MAX_INHERITED {
            return Err(format!(
                "apply-groups: the groups add more than {MAX_INHERITED} statements"
            ));
        }
        Ok(())
    }

    /// The blocks of group `name` at `path` (several when patterns match), most specific
    /// first: the entry with the key itself, then the patterns in the group's order.
    fn navigate(&self, name: &str, path: &[PathStep]) -> Result<Vec<Source<'g>>, String> {
        let (key, group) = self
            .groups
            .and_then(|g| g.iter().find(|(k, _)| k.to_plain() == name))
            .ok_or_else(|| format!("apply-groups: group '{name}' is not defined"))?;
        let name: &'g str = key.as_str().unwrap_or_default();
        if group.meta.inactive {
            return Ok(Vec::new());
        }
        let mut here = vec![Source {
            group: name,
            block: group,
            node: self.gnode,
        }];
        for (step, key) in path {
            let mut next = Vec::new();
            for s in &here {
                next.extend(descend(s, step, key.as_ref()));
            }
            here = next;
        }
        Ok(here)
    }

    /// Fills `target` (a block at `path`, of schema `node`) from `inherited` and the groups
    /// the block applies itself, then does the same for every block below it.
    fn inherit(
        &self,
        target: &mut Block,
        node: &'static Node,
        inherited: Vec<Source<'g>>,
        path: &mut Vec<PathStep>,
        excluded: &[String],
    ) -> Result<(), String> {
        let own = listed(target, node, "apply-groups");
        let mut excluded = excluded.to_vec();
        excluded.extend(listed(target, node, "apply-groups-except"));
        for name in APPLY_GROUPS {
            if let Some(i) = child_index(node, name) {
                target.items.remove(&i);
            }
        }
        let mut sources = Vec::new();
        for g in &own {
            sources.extend(self.navigate(g, path)?);
        }
        sources.extend(inherited);
        sources.retain(|s| !excluded.iter().any(|e| e == s.group));

        for (ci, child) in node.children().iter().enumerate() {
            if APPLY_GROUPS.contains(&child.name) {
                continue;
            }
            // The sources' statements of this name, active ones only.
            let here: Vec<(Source<'g>, &'g Item, &'static Node)> = sources
                .iter()
                .filter_map(|s| {
                    let si = child_index(s.node, child.name)?;
                    let item = s.block.items.get(&si)?;
                    let active = item.meta().is_none_or(|m| !m.inactive);
                    active.then_some((*s, item, &s.node.children()[si]))
                })
                .collect();
            match &child.kind {
                Kind::Leaf(_) | Kind::Flag | Kind::LeafList(_) => {
                    if target.items.get(&ci).is_none() {
                        if let Some((_, item, _)) = here.first() {
                            self.count()?;
                            target.items.insert(ci, (*item).clone());
                        }
                    }
                }
                Kind::Container { .. } => {
                    let subs: Vec<Source<'g>> = here
                        .iter()
                        .filter_map(|(s, item, n)| match item {
                            Item::Block(b) => Some(Source {
                                group: s.group,
                                block: b,
                                node: n,
                            }),
                            _ => None,
                        })
                        .collect();
                    if target.items.get(&ci).is_none() && !subs.is_empty() {
                        target.items.insert(ci, Item::Block(Block::default()));
                    }
                    if let Some(Item::Block(b)) = target.items.get_mut(&ci) {
                        path.push((child.name, None));
                        self.inherit(b, child, subs, path, &excluded)?;
                        path.pop();
                    }
                }
                Kind::List { .. } => {
                    let lists: Vec<(Source<'g>, &'g Entries, &'static Node)> = here
                        .iter()
                        .filter_map(|(s, item, n)| match item {
                            Item::List(e) => Some((*s, e, *n)),
                            _ => None,
                        })
                        .collect();
                    // Plain keys in a group add entries; patterns only match.
                    let added: Vec<Value> = lists
                        .iter()
                        .flat_map(|(_, e, _)| e.iter())
                        .filter(|(k, b)| !b.meta.inactive && !k.as_str().is_some_and(is_pattern))
                        .map(|(k, _)| k.clone())
                        .collect();
                    if target.items.get(&ci).is_none() && !added.is_empty() {
                        target.items.insert(ci, Item::List(Entries::new(child)));
                    }
                    let Some(Item::List(entries)) = target.items.get_mut(&ci) else {
                        continue;
                    };
                    for k in added {
                        if entries.get(&k).is_none() {
                            self.count()?;
                            entries.insert(k, Block::default());
                        }
                    }
                    let keys: Vec<Value> = entries.keys().into_iter().cloned().collect();
                    for k in keys {
                        let subs: Vec<Source<'g>> = lists
                            .iter()
                            .flat_map(|(s, e, n)| entry_sources(s, e, n, &k))
                            .collect();
                        let Some(b) = entries.get_mut(&k) else {
                            continue;
                        };
                        path.push((child.name, Some(k)));
                        self.inherit(b, child, subs, path, &excluded)?;
                        path.pop();
                    }
                }
            }
        }
        Ok(())
    }
}

/// The entries of a group's list that apply to key `k`: the entry itself, then each pattern
/// that matches it, in the group's order; inactive ones left out.
fn entry_sources<'g>(
    s: &Source<'g>,
    entries: &'g Entries,
    node: &'static Node,
    k: &Value,
) -> Vec<Source<'g>> {
    let text = k.to_plain();
    let exact = entries.get(k).into_iter();
    let patterns = entries.iter().filter_map(|(pk, b)| {
        let p = pk.as_str().filter(|p| is_pattern(p))?;
        glob(&p[1..p.len() - 1], &text).then_some(b)
    });
    exact
        .chain(patterns)
        .filter(|b| !b.meta.inactive)
        .map(|b| Source {
            group: s.group,
            block: b,
            node,
        })
        .collect()
}

/// A source's blocks one step further down `path`.
fn descend<'g>(s: &Source<'g>, step: &str, key: Option<&Value>) -> Vec<Source<'g>> {
    let Some(si) = child_index(s.node, step) else {
        return Vec::new();
    };
    let node = &s.node.children()[si];
    match (s.block.items.get(&si), key) {
        (Some(Item::Block(b)), None) if !b.meta.inactive => vec![Source {
            group: s.group,
            block: b,
            node,
        }],
        (Some(Item::List(e)), Some(k)) => entry_sources(s, e, node, k),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn wildcards_match_as_junos_matches_them() {
        assert!(glob("*", "ge-0/0/0"));
        assert!(glob("ge-*", "ge-0/0/0"));
        assert!(!glob("ge-*", "xe-0/0/0"));
        assert!(glob("[egx][te]-*", "xe-0/0/1"));
        assert!(glob("[egx][te]-*", "et-0/0/1"));
        assert!(!glob("[egx][te]-*", "ae0"));
        assert!(glob("ae*", "ae12"));
        assert!(!glob("*e*", "lo0") && glob("*e*", "ge-0/0/0"));
        assert!(glob("ge-0/0/?", "ge-0/0/7") && !glob("ge-0/0/?", "ge-0/0/17"));
        assert!(glob("[!x]e-*", "ge-1/0/0") && !glob("[!x]e-*", "xe-1/0/0"));
        assert!(glob("ge-[0-2]/*", "ge-1/0/0") && !glob("ge-[0-2]/*", "ge-3/0/0"));
        assert!(glob("a[", "a["));
    }
}
