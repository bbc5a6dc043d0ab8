//! Writing configuration: the curly-brace form, the `set` form and JSON.

use serde_json::{json, Map, Value as Json};

use crate::schema::Node;
use crate::tree::{Block, Item, Meta};

const INDENT: &str = "    ";

fn line(out: &mut String, indent: usize, text: &str) {
    for _ in 0..indent {
        out.push_str(INDENT);
    }
    out.push_str(text);
    out.push('\n');
}

fn meta_lines(out: &mut String, m: &Meta, indent: usize) {
    if let Some(c) = &m.comment {
        line(out, indent, &format!("/* {c} */"));
    }
}

/// The tags printed before a statement: `protect:` and `inactive:`.
fn inactive(m: &Meta) -> &'static str {
    match (m.protect, m.inactive) {
        (true, true) => "protect: inactive: ",
        (true, false) => "protect: ",
        (false, true) => "inactive: ",
        (false, false) => "",
    }
}

/// The statements of `block` in curly-brace form, starting at column 0.
pub fn curly(block: &Block, node: &Node) -> String {
    let mut out = String::new();
    curly_items(&mut out, block, node, 0);
    out
}

pub(crate) fn curly_items(out: &mut String, block: &Block, node: &Node, indent: usize) {
    for (idx, item) in &block.items {
        curly_stmt(out, &node.children()[*idx], item, indent, "");
    }
}

/// One statement (for a list: all its entries), `prefix` being the words of flattened parents.
pub fn curly_stmt(out: &mut String, node: &Node, item: &Item, indent: usize, prefix: &str) {
    match item {
        Item::Block(b) if node.is_flatten() => {
            let p = format!("{prefix}{} ", node.name);
            for (ci, citem) in &b.items {
                curly_stmt(out, &node.children()[*ci], citem, indent, &p);
            }
        }
        Item::Block(b) => curly_block(out, &format!("{prefix}{}", node.name), b, node, indent),
        Item::List(entries) => {
            for (k, b) in entries.iter() {
                let head = entry_head(node, prefix, &k.to_string());
                match b.items.iter().next() {
                    // Only plain entries merge: a comment or `inactive:` in front of the merged
                    // line would read back as the outer entry's.
                    Some((ci, inner @ Item::List(es)))
                        if node.merged
                            && b.items.len() == 1
                            && b.meta.is_default()
                            && es.iter().all(|(_, e)| e.meta.is_default()) =>
                    {
                        curly_stmt(
                            out,
                            &node.children()[*ci],
                            inner,
                            indent,
                            &format!("{head} "),
                        );
                    }
                    _ => curly_block(out, &head, b, node, indent),
                }
            }
        }
        Item::Leaf(m, v) => {
            meta_lines(out, m, indent);
            line(
                out,
                indent,
                &format!("{}{prefix}{} {v};", inactive(m), node.name),
            );
        }
        Item::Flag(m) => {
            meta_lines(out, m, indent);
            line(
                out,
                indent,
                &format!("{}{prefix}{};", inactive(m), node.name),
            );
        }
        Item::LeafList(m, vs) => {
            meta_lines(out, m, indent);
            let vals = if vs.len() == 1 {
                vs[0].to_string()
            } else {
                let inner: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
                format!("[ {} ]", inner.join(" "))
            };
            line(
                out,
                indent,
                &format!("{}{prefix}{} {vals};", inactive(m), node.name),
            );
        }
    }
}

/// The head of a list entry: `unit 0`, or just `eth1` for lists printed without keyword.
pub(crate) fn entry_head(node: &Node, prefix: &str, key: &str) -> String {
    if node.is_bare_list() {
        // Quoted, a name that is also a keyword here reads back as the name.
        if node.reserved.contains(&key) {
            return format!("{prefix}\"{key}\"");
        }
        format!("{prefix}{key}")
    } else {
        format!("{prefix}{} {key}", node.name)
    }
}

pub(crate) fn curly_block(out: &mut String, head: &str, b: &Block, node: &Node, indent: usize) {
    meta_lines(out, &b.meta, indent);
    if let Some(one) = oneline(b, node) {
        line(out, indent, &format!("{}{head} {one}", inactive(&b.meta)));
    } else if b.items.is_empty() {
        line(out, indent, &format!("{}{head};", inactive(&b.meta)));
    } else {
        line(out, indent, &format!("{}{head} {{", inactive(&b.meta)));
        curly_items(out, b, node, indent + 1);
        line(out, indent, "}");
    }
}

/// The single statement of an entry of a one-line list, when it has exactly one plain one.
fn oneline(b: &Block, node: &Node) -> Option<String> {
    if !node.oneline || b.items.len() != 1 {
        return None;
    }
    let (idx, item) = b.items.iter().next()?;
    // A value-like bare entry counts as simple too: `address web 10.0.2.2/32;`.
    let bare_value = |item: &Item| match item {
        Item::List(entries) if node.children()[*idx].is_bare_list() && entries.len() == 1 => {
            entries
                .iter()
                .all(|(_, e)| e.items.is_empty() && e.meta.is_default())
        }
        _ => false,
    };
    let simple =
        matches!(item, Item::Leaf(..) | Item::Flag(_) | Item::LeafList(..)) || bare_value(item);
    if !simple || !(bare_value(item) || item.meta().is_some_and(Meta::is_default)) {
        return None;
    }
    let mut s = String::new();
    curly_stmt(&mut s, &node.children()[*idx], item, 0, "");
    Some(s.trim_end().to_string())
}

/// The statements of `block` as `set` commands; `base` is the path of `block` itself
/// (`interfaces eth1 `, with a trailing space, or empty at the top).
pub fn set_form(block: &Block, node: &Node, base: &str) -> String {
    let mut out = String::new();
    set_items(&mut out, block, node, base);
    out
}

fn set_items(out: &mut String, block: &Block, node: &Node, path: &str) {
    for (idx, item) in &block.items {
        set_stmt(out, &node.children()[*idx], item, path);
    }
}

fn set_stmt(out: &mut String, node: &Node, item: &Item, path: &str) {
    let deactivate = |out: &mut String, m: &Meta, p: &str| {
        if m.inactive {
            out.push_str(&format!("deactivate {}\n", p.trim_end()));
        }
        if m.protect {
            out.push_str(&format!("protect {}\n", p.trim_end()));
        }
    };
    match item {
        Item::Block(b) if node.is_flatten() => {
            set_items(out, b, node, &format!("{path}{} ", node.name))
        }
        Item::Block(b) => {
            let p = format!("{path}{} ", node.name);
            set_block(out, b, node, &p);
            deactivate(out, &b.meta, &p);
        }
        Item::List(entries) => {
            for (k, b) in entries.iter() {
                let p = format!("{} ", entry_head(node, path, &k.to_string()));
                set_block(out, b, node, &p);
                deactivate(out, &b.meta, &p);
            }
        }
        Item::Leaf(m, v) => {
            out.push_str(&format!("set {path}{} {v}\n", node.name));
            deactivate(out, m, &format!("{path}{}", node.name));
        }
        Item::Flag(m) => {
            out.push_str(&format!("set {path}{}\n", node.name));
            deactivate(out, m, &format!("{path}{}", node.name));
        }
        Item::LeafList(m, vs) => {
            for v in vs {
                out.push_str(&format!("set {path}{} {v}\n", node.name));
            }
            deactivate(out, m, &format!("{path}{}", node.name));
        }
    }
}

fn set_block(out: &mut String, b: &Block, node: &Node, p: &str) {
    if b.items.is_empty() {
        out.push_str(&format!("set {}\n", p.trim_end()));
    } else {
        set_items(out, b, node, p);
    }
}

/// JSON in the Junos layout: lists are arrays of objects whose key is `name`, flags are
/// `[null]`, and (when `meta`) inactive statements and annotations appear as `@` attributes.
pub fn json(block: &Block, node: &Node, meta: bool) -> Json {
    json_inner(block, node, meta, false)
}

/// JSON of the active statements only, without metadata: the input of the typed view.
pub fn json_active(block: &Block, node: &Node) -> Json {
    json_inner(block, node, false, true)
}

fn json_inner(block: &Block, node: &Node, meta: bool, skip_inactive: bool) -> Json {
    let mut obj = Map::new();
    if meta {
        if let Some(a) = meta_json(&block.meta) {
            obj.insert("@".into(), a);
        }
    }
    for (idx, item) in &block.items {
        let child = &node.children()[*idx];
        // Junos's JSON names are its XML names.
        let name = xml_name(child.name).into_owned();
        if skip_inactive && item.meta().is_some_and(|m| m.inactive) {
            continue;
        }
        // The typed view has no place for what Savin keeps without effect (or cannot do).
        if skip_inactive && child.untyped() {
            continue;
        }
        match item {
            Item::Block(b) => {
                obj.insert(name, json_inner(b, child, meta, skip_inactive));
            }
            Item::List(entries) => {
                let arr: Vec<Json> = entries
                    .iter()
                    .filter(|(_, b)| !(skip_inactive && b.meta.inactive))
                    .map(|(k, b)| {
                        let mut o = Map::new();
                        o.insert("name".into(), k.to_json());
                        if let Json::Object(rest) = json_inner(b, child, meta, skip_inactive) {
                            o.extend(rest);
                        }
                        Json::Object(o)
                    })
                    .collect();
                obj.insert(name, Json::Array(arr));
            }
            Item::Leaf(m, v) => {
                attr(&mut obj, meta, &name, m);
                obj.insert(name, v.to_json());
            }
            Item::Flag(m) => {
                attr(&mut obj, meta, &name, m);
                obj.insert(name, json!([null]));
            }
            Item::LeafList(m, vs) => {
                attr(&mut obj, meta, &name, m);
                obj.insert(name, Json::Array(vs.iter().map(|v| v.to_json()).collect()));
            }
        }
    }
    Json::Object(obj)
}

fn attr(obj: &mut Map<String, Json>, meta: bool, name: &str, m: &Meta) {
    if meta {
        if let Some(a) = meta_json(m) {
            obj.insert(format!("@{name}"), a);
        }
    }
}

fn meta_json(m: &Meta) -> Option<Json> {
    let mut a = Map::new();
    if m.inactive {
        a.insert("inactive".into(), Json::Bool(true));
    }
    if m.protect {
        a.insert("protect".into(), Json::Bool(true));
    }
    if let Some(c) = &m.comment {
        a.insert("comment".into(), Json::String(format!("/* {c} */")));
    }
    (!a.is_empty()).then_some(Json::Object(a))
}

/// The XML form, as Junos prints `<configuration>` for NETCONF and `| display xml`: each
/// statement an element named by its keyword (the schema's nesting, flattened containers
/// included), a list entry's key in `<name>`, a flag an empty element, a leaf-list repeated;
/// `inactive="inactive"` and `protect="protect"` as attributes, an annotation as a
/// `<junos:comment>` before its statement. The statements inside `block`, indented by `depth`.
/// A statement's element name in the XML form: its name, but for names XML does not allow
/// (a leading digit), which Junos spells its own way (`802.3ad` is `<ieee-802.3ad>`).
pub fn xml_name(statement: &str) -> std::borrow::Cow<'_, str> {
    if statement.starts_with(|c: char| c.is_ascii_digit()) {
        format!("ieee-{statement}").into()
    } else {
        statement.into()
    }
}

pub fn xml(block: &Block, node: &Node, depth: usize, out: &mut String) {
    for (idx, item) in &block.items {
        let child = &node.children()[*idx];
        let name = xml_name(child.name);
        let name = name.as_ref();
        match item {
            Item::Block(b) => xml_element(out, depth, name, &b.meta, None, |out| {
                xml(b, child, depth + 1, out)
            }),
            Item::List(entries) => {
                for (k, b) in entries.iter() {
                    xml_element(out, depth, name, &b.meta, Some(k), |out| {
                        xml(b, child, depth + 1, out)
                    });
                }
            }
            Item::Leaf(m, v) => {
                xml_comment(out, depth, m);
                out.push_str(&format!(
                    "{}<{name}{}>{}</{name}>\n",
                    "    ".repeat(depth),
                    xml_attrs(m),
                    xml_escape(&v.to_plain())
                ));
            }
            Item::Flag(m) => {
                xml_comment(out, depth, m);
                out.push_str(&format!(
                    "{}<{name}{}/>\n",
                    "    ".repeat(depth),
                    xml_attrs(m)
                ));
            }
            Item::LeafList(m, vs) => {
                xml_comment(out, depth, m);
                for v in vs {
                    out.push_str(&format!(
                        "{}<{name}{}>{}</{name}>\n",
                        "    ".repeat(depth),
                        xml_attrs(m),
                        xml_escape(&v.to_plain())
                    ));
                }
            }
        }
    }
}

fn xml_element(
    out: &mut String,
    depth: usize,
    name: &str,
    m: &Meta,
    key: Option<&crate::value::Value>,
    body: impl FnOnce(&mut String),
) {
    xml_comment(out, depth, m);
    let pad = "    ".repeat(depth);
    let mut inner = String::new();
    if let Some(k) = key {
        inner.push_str(&format!(
            "{}    <name>{}</name>\n",
            pad,
            xml_escape(&k.to_plain())
        ));
    }
    body(&mut inner);
    if inner.is_empty() {
        out.push_str(&format!("{pad}<{name}{}/>\n", xml_attrs(m)));
    } else {
        out.push_str(&format!(
            "{pad}<{name}{}>\n{inner}{pad}</{name}>\n",
            xml_attrs(m)
        ));
    }
}

fn xml_attrs(m: &Meta) -> String {
    let mut a = String::new();
    if m.inactive {
        a.push_str(" inactive=\"inactive\"");
    }
    if m.protect {
        a.push_str(" protect=\"protect\"");
    }
    a
}

fn xml_comment(out: &mut String, depth: usize, m: &Meta) {
    if let Some(c) = &m.comment {
        out.push_str(&format!(
            "{}<junos:comment>/* {} */</junos:comment>\n",
            "    ".repeat(depth),
            xml_escape(c)
        ));
    }
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}
