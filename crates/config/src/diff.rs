//! `show | compare`: the Junos diff format.
//!
//! One `[edit ...]` banner per hierarchy level that changed, then the statements removed (`-`),
//! added (`+`) or changed only in activation or annotation (`!`), indented below the banner.

use std::collections::BTreeSet;

use crate::print::{curly_block, curly_stmt, entry_head};
use crate::schema::Node;
use crate::tree::{Block, Entries, Item, Meta};
use crate::value::Value;

/// The differences from `old` to `new`, both blocks at the level named by `path`.
pub fn diff(old: &Block, new: &Block, node: &Node, path: &[String]) -> String {
    let mut out = String::new();
    let mut path = path.to_vec();
    diff_block(&mut out, old, new, node, &mut path);
    out
}

fn diff_block(out: &mut String, old: &Block, new: &Block, node: &Node, path: &mut Vec<String>) {
    let mut lines = String::new();
    let mut nested = String::new();
    diff_items(&mut lines, &mut nested, old, new, node, path, "");
    if !lines.is_empty() {
        if path.is_empty() {
            out.push_str("[edit]\n");
        } else {
            out.push_str(&format!("[edit {}]\n", path.join(" ")));
        }
        out.push_str(&lines);
    }
    out.push_str(&nested);
}

fn signed(out: &mut String, sign: char, text: &str) {
    for l in text.lines() {
        out.push(sign);
        out.push_str("   ");
        out.push_str(l);
        out.push('\n');
    }
}

fn stmt_text(node: &Node, item: &Item, prefix: &str) -> String {
    let mut s = String::new();
    curly_stmt(&mut s, node, item, 0, prefix);
    s
}

fn entry_text(node: &Node, prefix: &str, key: &Value, b: &Block) -> String {
    let mut s = String::new();
    curly_block(
        &mut s,
        &entry_head(node, prefix, &key.to_string()),
        b,
        node,
        0,
    );
    s
}

/// The `!` line for a block whose activation or annotation changed.
fn meta_change(out: &mut String, head: &str, old: &Meta, new: &Meta) {
    if old.comment != new.comment {
        if let Some(c) = &old.comment {
            signed(out, '-', &format!("/* {c} */"));
        }
        if let Some(c) = &new.comment {
            signed(out, '+', &format!("/* {c} */"));
        }
    }
    if old.inactive != new.inactive {
        let tag = if new.inactive { "inactive" } else { "active" };
        signed(out, '!', &format!("{tag}: {head} {{ ... }}"));
    }
}

#[allow(clippy::too_many_arguments)]
fn diff_items(
    lines: &mut String,
    nested: &mut String,
    old: &Block,
    new: &Block,
    node: &Node,
    path: &mut Vec<String>,
    prefix: &str,
) {
    let keys: BTreeSet<usize> = old.items.keys().chain(new.items.keys()).copied().collect();
    for idx in keys {
        let child = &node.children()[idx];
        match (old.items.get(&idx), new.items.get(&idx)) {
            (Some(a), None) => signed(lines, '-', &stmt_text(child, a, prefix)),
            (None, Some(b)) => signed(lines, '+', &stmt_text(child, b, prefix)),
            (Some(a), Some(b)) if a == b => {}
            (Some(Item::Block(a)), Some(Item::Block(b))) if child.is_flatten() => {
                let p = format!("{prefix}{} ", child.name);
                // A flattened container's statements change at this level (`family inet6`),
                // but changes inside them get their own banner.
                diff_items(lines, nested, a, b, child, path, &p);
            }
            (Some(Item::Block(a)), Some(Item::Block(b))) => {
                let head = format!("{prefix}{}", child.name);
                meta_change(lines, &head, &a.meta, &b.meta);
                if a.items != b.items {
                    let depth = path.len();
                    path.extend(prefix.split_whitespace().map(str::to_string));
                    path.push(child.name.to_string());
                    diff_block(nested, a, b, child, path);
                    path.truncate(depth);
                }
            }
            (Some(Item::List(a)), Some(Item::List(b))) => {
                diff_entries(lines, nested, a, b, child, path, prefix);
            }
            (Some(a), Some(b)) => {
                signed(lines, '-', &stmt_text(child, a, prefix));
                signed(lines, '+', &stmt_text(child, b, prefix));
            }
            (None, None) => {}
        }
    }
}

fn diff_entries(
    lines: &mut String,
    nested: &mut String,
    a: &Entries,
    b: &Entries,
    node: &Node,
    path: &mut Vec<String>,
    prefix: &str,
) {
    if let (Entries::Sorted(x), Entries::Sorted(y)) = (a, b) {
        // Both sorted: walk them side by side, no lookups.
        let (mut xi, mut yi) = (x.iter().peekable(), y.iter().peekable());
        loop {
            let order = match (xi.peek(), yi.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((kx, _)), Some((ky, _))) => kx.cmp(ky),
            };
            match order {
                std::cmp::Ordering::Less => {
                    let (k, xb) = xi.next().expect("peeked");
                    signed(lines, '-', &entry_text(node, prefix, k, xb));
                }
                std::cmp::Ordering::Greater => {
                    let (k, yb) = yi.next().expect("peeked");
                    signed(lines, '+', &entry_text(node, prefix, k, yb));
                }
                std::cmp::Ordering::Equal => {
                    let (k, xb) = xi.next().expect("peeked");
                    let (_, yb) = yi.next().expect("peeked");
                    if xb != yb {
                        changed_entry(lines, nested, node, path, prefix, k, xb, yb);
                    }
                }
            }
        }
        return;
    }
    // Ordered lists: the new order, then entries that were removed.
    let mut keys = b.keys();
    keys.extend(a.keys().into_iter().filter(|k| b.get(k).is_none()));
    for k in keys {
        match (a.get(k), b.get(k)) {
            (Some(x), None) => signed(lines, '-', &entry_text(node, prefix, k, x)),
            (None, Some(y)) => signed(lines, '+', &entry_text(node, prefix, k, y)),
            (Some(x), Some(y)) if x != y => {
                changed_entry(lines, nested, node, path, prefix, k, x, y)
            }
            _ => {}
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn changed_entry(
    lines: &mut String,
    nested: &mut String,
    node: &Node,
    path: &mut Vec<String>,
    prefix: &str,
    k: &Value,
    x: &Block,
    y: &Block,
) {
    let head = entry_head(node, prefix, &k.to_string());
    meta_change(lines, &head, &x.meta, &y.meta);
    if x.items != y.items {
        let depth = path.len();
        path.extend(head.split_whitespace().map(str::to_string));
        diff_block(nested, x, y, node, path);
        path.truncate(depth);
    }
}
