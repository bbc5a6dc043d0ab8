//! The configuration data tree, its paths, and the edit operations on it.
//!
//! A `Block` holds the statements of a container or of a list entry, keyed by their index in
//! the schema, so iteration is always in schema order and nothing is stored by name.
//! Operations take the schema node of the block they start from.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use crate::error::{ConfigError, Pos};
use crate::schema::{closest, Kind, Node};
use crate::value::Value;

/// What Junos keeps beside a statement: `inactive:`, `protect:`, an annotation, and (while
/// loading only) the `replace:` tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub inactive: bool,
    /// `protect:`: the statement and everything below it cannot be changed until
    /// `unprotect`ed (see [`protected_change`]).
    pub protect: bool,
    pub comment: Option<String>,
    pub replace: bool,
}

impl Meta {
    pub fn is_default(&self) -> bool {
        !self.inactive && !self.protect && self.comment.is_none() && !self.replace
    }
}

/// Whether any statement of `block` is protected.
pub fn has_protected(block: &Block) -> bool {
    block.meta.protect
        || block.items.iter().any(|(_, item)| match item {
            Item::Block(b) => has_protected(b),
            Item::List(e) => e.iter().any(|(_, b)| has_protected(b)),
            Item::Leaf(m, _) | Item::Flag(m) | Item::LeafList(m, _) => m.protect,
        })
}

/// The first protected statement of `old` that `new` does not hold unchanged, as the words of
/// its path (`system host-name`). Protection covers the statement and all below it: its
/// values, its children, their order, comments and `inactive:`.
pub fn protected_change(old: &Block, new: Option<&Block>, node: &Node) -> Option<Vec<String>> {
    protected_change_in(old, new, node, &mut Vec::new())
}

fn protected_change_in(
    old: &Block,
    new: Option<&Block>,
    node: &Node,
    path: &mut Vec<String>,
) -> Option<Vec<String>> {
    for (idx, item) in &old.items {
        let child = &node.children()[*idx];
        let other = new.and_then(|n| n.items.get(idx));
        path.push(child.name.to_string());
        let found = match item {
            Item::Block(b) => {
                let nb = match other {
                    Some(Item::Block(nb)) => Some(nb),
                    _ => None,
                };
                if b.meta.protect && nb != Some(b) {
                    Some(path.clone())
                } else {
                    protected_change_in(b, nb, child, path)
                }
            }
            Item::List(entries) => {
                let ne = match other {
                    Some(Item::List(ne)) => Some(ne),
                    _ => None,
                };
                entries.iter().find_map(|(k, b)| {
                    let nb = ne.and_then(|e| e.get(k));
                    path.push(k.to_string());
                    let r = if b.meta.protect && nb != Some(b) {
                        Some(path.clone())
                    } else {
                        protected_change_in(b, nb, child, path)
                    };
                    path.pop();
                    r
                })
            }
            Item::Leaf(m, _) | Item::Flag(m) | Item::LeafList(m, _) => {
                (m.protect && other != Some(item)).then(|| path.clone())
            }
        };
        path.pop();
        if found.is_some() {
            return found;
        }
    }
    None
}

/// Junos's refusal of a change inside a protected hierarchy.
pub fn protected_error(path: &[String]) -> String {
    format!(
        "warning: [{}] is protected, '{}' cannot be modified; 'unprotect {}' first",
        path.join(" "),
        path.join(" "),
        path.join(" ")
    )
}

/// The statements of a container or of one list entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Block {
    pub meta: Meta,
    pub items: ItemMap,
}

/// A block's statements keyed by schema index, in schema order. A sorted `Vec`, not a
/// `BTreeMap`: blocks hold a handful of statements, and a B-tree node per list entry made a
/// 100,000-route configuration cost five times the memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemMap(Vec<(usize, Item)>);

impl ItemMap {
    fn pos(&self, idx: usize) -> Result<usize, usize> {
        self.0.binary_search_by_key(&idx, |(k, _)| *k)
    }

    pub fn get(&self, idx: &usize) -> Option<&Item> {
        self.pos(*idx).ok().map(|p| &self.0[p].1)
    }

    pub fn get_mut(&mut self, idx: &usize) -> Option<&mut Item> {
        self.pos(*idx).ok().map(|p| &mut self.0[p].1)
    }

    pub fn insert(&mut self, idx: usize, item: Item) -> Option<Item> {
        match self.pos(idx) {
            Ok(p) => Some(std::mem::replace(&mut self.0[p].1, item)),
            Err(p) => {
                self.0.insert(p, (idx, item));
                None
            }
        }
    }

    pub fn get_or_insert_with(&mut self, idx: usize, f: impl FnOnce() -> Item) -> &mut Item {
        let p = match self.pos(idx) {
            Ok(p) => p,
            Err(p) => {
                self.0.insert(p, (idx, f()));
                p
            }
        };
        &mut self.0[p].1
    }

    pub fn remove(&mut self, idx: &usize) -> Option<Item> {
        self.pos(*idx).ok().map(|p| self.0.remove(p).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&usize, &Item)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &usize> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Item> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    pub fn retain(&mut self, mut f: impl FnMut(&usize, &mut Item) -> bool) {
        self.0.retain_mut(|(k, v)| f(k, v));
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ItemMap {
    type Item = (&'a usize, &'a Item);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (usize, Item)>,
        fn(&'a (usize, Item)) -> (&'a usize, &'a Item),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl IntoIterator for ItemMap {
    type Item = (usize, Item);
    type IntoIter = std::vec::IntoIter<(usize, Item)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// One statement in a block.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Block(Block),
    List(Entries),
    Leaf(Meta, Value),
    Flag(Meta),
    LeafList(Meta, Vec<Value>),
}

impl Item {
    pub fn meta(&self) -> Option<&Meta> {
        match self {
            Item::Block(b) => Some(&b.meta),
            Item::List(_) => None,
            Item::Leaf(m, _) | Item::Flag(m) | Item::LeafList(m, _) => Some(m),
        }
    }

    fn meta_mut(&mut self) -> Option<&mut Meta> {
        match self {
            Item::Block(b) => Some(&mut b.meta),
            Item::List(_) => None,
            Item::Leaf(m, _) | Item::Flag(m) | Item::LeafList(m, _) => Some(m),
        }
    }
}

/// The entries of a list: sorted by key, or in the order the operator gave them.
#[derive(Debug, Clone)]
pub enum Entries {
    Sorted(BTreeMap<Value, Block>),
    Ordered(IndexMap<Value, Block>),
}

impl PartialEq for Entries {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Entries::Sorted(a), Entries::Sorted(b)) => a == b,
            (Entries::Ordered(a), Entries::Ordered(b)) => {
                a.len() == b.len() && a.iter().eq(b.iter())
            }
            _ => false,
        }
    }
}

impl Entries {
    pub fn new(node: &Node) -> Entries {
        match node.kind {
            Kind::List {
                user_ordered: true, ..
            } => Entries::Ordered(IndexMap::new()),
            _ => Entries::Sorted(BTreeMap::new()),
        }
    }

    pub fn get(&self, k: &Value) -> Option<&Block> {
        match self {
            Entries::Sorted(m) => m.get(k),
            Entries::Ordered(m) => m.get(k),
        }
    }

    pub fn get_mut(&mut self, k: &Value) -> Option<&mut Block> {
        match self {
            Entries::Sorted(m) => m.get_mut(k),
            Entries::Ordered(m) => m.get_mut(k),
        }
    }

    pub fn get_or_insert(&mut self, k: Value) -> &mut Block {
        match self {
            Entries::Sorted(m) => m.entry(k).or_default(),
            Entries::Ordered(m) => m.entry(k).or_default(),
        }
    }

    pub fn insert(&mut self, k: Value, b: Block) {
        match self {
            Entries::Sorted(m) => {
                m.insert(k, b);
            }
            Entries::Ordered(m) => {
                m.insert(k, b);
            }
        }
    }

    pub fn remove(&mut self, k: &Value) -> Option<Block> {
        match self {
            Entries::Sorted(m) => m.remove(k),
            Entries::Ordered(m) => m.shift_remove(k),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Entries::Sorted(m) => m.len(),
            Entries::Ordered(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in display order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&Value, &Block)> + '_> {
        match self {
            Entries::Sorted(m) => Box::new(m.iter()),
            Entries::Ordered(m) => Box::new(m.iter()),
        }
    }

    pub fn keys(&self) -> Vec<&Value> {
        self.iter().map(|(k, _)| k).collect()
    }
}

/// A word of a statement or command, with where it stood in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub pos: Pos,
    /// Quoted words are never punctuation (`"["` is a value, `[` opens a list).
    pub quoted: bool,
}

impl Word {
    pub fn new(text: &str) -> Word {
        Word {
            text: text.to_string(),
            pos: Pos::default(),
            quoted: false,
        }
    }

    fn is(&self, punct: &str) -> bool {
        !self.quoted && self.text == punct
    }
}

/// One step down the tree: into a container, or into a list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Container(usize),
    Entry(usize, Value),
}

/// What a path ends on, after its steps.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// The block the steps reach (or the starting block when there are none).
    Here,
    /// A list named without a key (`delete interfaces eth1 unit`).
    List(usize),
    Leaf(usize, Option<Value>),
    Flag(usize),
    LeafList(usize, Vec<Value>),
}

/// A resolved path, relative to the block it was resolved from.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub steps: Vec<Step>,
    pub end: End,
}

/// The schema node reached by following `steps` from `node`.
pub fn node_at(mut node: &'static Node, steps: &[Step]) -> &'static Node {
    for s in steps {
        let (Step::Container(i) | Step::Entry(i, _)) = s;
        node = &node.children()[*i];
    }
    node
}

/// The words an operator would type for `steps` (`interfaces eth1 unit 0 family inet`).
pub fn path_words(mut node: &'static Node, steps: &[Step]) -> Vec<String> {
    let mut out = Vec::new();
    for s in steps {
        match s {
            Step::Container(i) => {
                node = &node.children()[*i];
                out.push(node.name.to_string());
            }
            Step::Entry(i, k) => {
                node = &node.children()[*i];
                if !node.is_bare_list() {
                    out.push(node.name.to_string());
                }
                out.push(k.to_string());
            }
        }
    }
    out
}

enum Match {
    Keyword(usize),
    Key(usize),
}

fn find_child(node: &Node, w: &Word, abbrev: bool) -> Result<Match, ConfigError> {
    let children = node.children();
    if !node.is_block() {
        return Err(ConfigError::at(
            w.pos,
            format!("syntax error: unexpected '{}'", w.text),
        ));
    }
    if !w.quoted {
        if let Some(i) = children
            .iter()
            .position(|c| !c.is_bare_list() && c.name == w.text)
        {
            return Ok(Match::Keyword(i));
        }
        if abbrev && !w.text.is_empty() {
            let hits: Vec<usize> = children
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_bare_list() && c.name.starts_with(&w.text))
                .map(|(i, _)| i)
                .collect();
            if hits.len() == 1 {
                return Ok(Match::Keyword(hits[0]));
            }
            if hits.len() > 1 && !children.iter().any(|c| c.is_bare_list()) {
                let names: Vec<&str> = hits.iter().map(|i| children[*i].name).collect();
                return Err(ConfigError::at(
                    w.pos,
                    format!(
                        "'{}' is ambiguous; possible completions: {}",
                        w.text,
                        names.join(" ")
                    ),
                ));
            }
        }
    }
    if let Some(i) = children.iter().position(|c| c.is_bare_list()) {
        return Ok(Match::Key(i));
    }
    let mut msg = format!("syntax error: unknown statement '{}'", w.text);
    if let Some(s) = closest(children, &w.text) {
        msg.push_str(&format!("; did you mean '{s}'?"));
    } else {
        // `apply-groups` is everywhere; listing it would hide what this level has.
        let names: Vec<&str> = children
            .iter()
            .map(|c| c.name)
            .filter(|n| !crate::schema::APPLY_GROUPS.contains(n))
            .collect();
        if !names.is_empty() {
            msg.push_str(&format!("; expected one of: {}", names.join(" ")));
        }
    }
    Err(ConfigError::at(w.pos, msg))
}

fn parse_word(node: &Node, ty: &crate::value::Type, w: &Word) -> Result<Value, ConfigError> {
    if w.is("[") || w.is("]") || w.is("{") || w.is("}") || w.is(";") {
        return Err(ConfigError::at(
            w.pos,
            format!(
                "syntax error: expected {} for '{}', found '{}'",
                ty.placeholder(),
                node.name,
                w.text
            ),
        ));
    }
    ty.parse(&w.text)
        .map_err(|e| ConfigError::at(w.pos, format!("'{} {}': {e}", node.name, w.text)))
}

/// Resolves `words` into a path below `node`. `abbrev` accepts unique keyword prefixes, as the
/// interactive CLI does; loaded files must spell keywords out.
pub fn resolve(node: &'static Node, words: &[Word], abbrev: bool) -> Result<Target, ConfigError> {
    let (t, used) = resolve_prefix(node, words, abbrev)?;
    trailing(words, used)?;
    Ok(t)
}

/// Resolves `words` into one or more sibling statements, as the Junos CLI and loader take
/// them: after a value or a flag, the next words are a sibling of that statement
/// (`set applications application a protocol icmp icmp-type 5`, `archive size 1m files 5;`).
pub fn resolve_all(
    node: &'static Node,
    words: &[Word],
    abbrev: bool,
) -> Result<Vec<Target>, ConfigError> {
    let mut out = Vec::new();
    let mut at = node;
    let mut prefix: Vec<Step> = Vec::new();
    let mut rest = words;
    loop {
        let (mut t, used) = resolve_prefix(at, rest, abbrev)?;
        let sibling =
            used > 0 && used < rest.len() && matches!(t.end, End::Leaf(_, Some(_)) | End::Flag(_));
        let rel = t.steps.clone();
        t.steps = prefix.iter().cloned().chain(t.steps).collect();
        out.push(t);
        if !sibling {
            trailing(rest, used)?;
            return Ok(out);
        }
        at = node_at(at, &rel);
        prefix.extend(rel);
        rest = &rest[used..];
    }
}

/// Resolves as many of `words` as name one statement; returns it and the words used.
fn resolve_prefix(
    mut node: &'static Node,
    words: &[Word],
    abbrev: bool,
) -> Result<(Target, usize), ConfigError> {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if w.is("[") || w.is("]") {
            return Err(ConfigError::at(
                w.pos,
                format!("syntax error: unexpected '{}'", w.text),
            ));
        }
        let m = find_child(node, w, abbrev)?;
        let (idx, keyed) = match m {
            Match::Keyword(idx) => {
                i += 1;
                (idx, false)
            }
            Match::Key(idx) => (idx, true),
        };
        let child = &node.children()[idx];
        match &child.kind {
            Kind::Container { .. } => {
                steps.push(Step::Container(idx));
                node = child;
            }
            Kind::List { key, wildcard, .. } => {
                if i == words.len() {
                    debug_assert!(!keyed);
                    return Ok((
                        Target {
                            steps,
                            end: End::List(idx),
                        },
                        i,
                    ));
                }
                let k = if *wildcard && crate::groups::is_pattern(&words[i].text) {
                    Value::Text(words[i].text.as_str().into())
                } else {
                    parse_word(child, key, &words[i])?
                };
                i += 1;
                steps.push(Step::Entry(idx, k));
                node = child;
            }
            Kind::Leaf(ty) => {
                let value = match words.get(i) {
                    None => None,
                    Some(w) => {
                        i += 1;
                        Some(parse_word(child, ty, w)?)
                    }
                };
                return Ok((
                    Target {
                        steps,
                        end: End::Leaf(idx, value),
                    },
                    i,
                ));
            }
            Kind::Flag => {
                return Ok((
                    Target {
                        steps,
                        end: End::Flag(idx),
                    },
                    i,
                ));
            }
            Kind::LeafList(ty) => {
                let mut values = Vec::new();
                if let Some(first) = words.get(i) {
                    if first.is("[") {
                        i += 1;
                        loop {
                            let Some(w) = words.get(i) else {
                                let pos = words.last().map(|w| w.pos).unwrap_or_default();
                                return Err(ConfigError::at(pos, "syntax error: missing ']'"));
                            };
                            i += 1;
                            if w.is("]") {
                                break;
                            }
                            let v = parse_word(child, ty, w)?;
                            if !values.contains(&v) {
                                values.push(v);
                            }
                        }
                    } else {
                        values.push(parse_word(child, ty, first)?);
                        i += 1;
                    }
                }
                return Ok((
                    Target {
                        steps,
                        end: End::LeafList(idx, values),
                    },
                    i,
                ));
            }
        }
    }
    Ok((
        Target {
            steps,
            end: End::Here,
        },
        words.len(),
    ))
}

fn trailing(words: &[Word], i: usize) -> Result<(), ConfigError> {
    match words.get(i) {
        None => Ok(()),
        Some(w) => Err(ConfigError::at(
            w.pos,
            format!("syntax error: unexpected '{}'", w.text),
        )),
    }
}

/// The block at `steps` below `block`, if it exists.
pub fn block_at<'a>(mut block: &'a Block, steps: &[Step]) -> Option<&'a Block> {
    for s in steps {
        block = match (
            s,
            block.items.get(match s {
                Step::Container(i) | Step::Entry(i, _) => i,
            })?,
        ) {
            (Step::Container(_), Item::Block(b)) => b,
            (Step::Entry(_, k), Item::List(e)) => e.get(k)?,
            _ => return None,
        };
    }
    Some(block)
}

fn block_at_mut<'a>(
    mut block: &'a mut Block,
    mut node: &'static Node,
    steps: &[Step],
    create: bool,
) -> Option<&'a mut Block> {
    for s in steps {
        let (Step::Container(i) | Step::Entry(i, _)) = s;
        let child = &node.children()[*i];
        let item = if create {
            block.items.get_or_insert_with(*i, || match s {
                Step::Container(_) => Item::Block(Block::default()),
                Step::Entry(..) => Item::List(Entries::new(child)),
            })
        } else {
            block.items.get_mut(i)?
        };
        block = match (s, item) {
            (Step::Container(_), Item::Block(b)) => b,
            (Step::Entry(_, k), Item::List(e)) => {
                if create {
                    if child.single && e.get(k).is_none() {
                        *e = Entries::new(child);
                    }
                    e.get_or_insert(k.clone())
                } else {
                    e.get_mut(k)?
                }
            }
            _ => return None,
        };
        node = child;
    }
    Some(block)
}

/// Creates the blocks along `steps` (containers and list entries) if they are missing.
pub fn ensure(root: &mut Block, node: &'static Node, steps: &[Step]) {
    block_at_mut(root, node, steps, true);
}

/// `set`: creates what the path names. `meta`, when given, is set on the final statement.
pub fn set(
    root: &mut Block,
    node: &'static Node,
    t: &Target,
    meta: Option<Meta>,
) -> Result<(), String> {
    let here = node_at(node, &t.steps);
    if let End::Here = t.end {
        if t.steps.is_empty() {
            if let Some(m) = meta {
                root.meta = m;
            }
            return Ok(());
        }
        // A container that is not kept when empty is created only with content or metadata.
        let is_plain_container =
            matches!(t.steps.last(), Some(Step::Container(_))) && !here.is_presence();
        if is_plain_container
            && meta.as_ref().is_none_or(|m| m.is_default())
            && block_at(root, &t.steps).is_none()
        {
            return Ok(());
        }
    }
    let block =
        block_at_mut(root, node, &t.steps, true).ok_or("path conflicts with the configuration")?;
    let remove_excluded = |block: &mut Block, idx: usize| {
        for name in here.children()[idx].excludes {
            if let Some(j) = here.children().iter().position(|c| c.name == *name) {
                block.items.remove(&j);
            }
        }
    };
    match &t.end {
        End::Here => {
            if let Some(m) = meta {
                block.meta = m;
            }
        }
        End::List(idx) => {
            return Err(format!("missing {} name", here.children()[*idx].name));
        }
        End::Leaf(idx, value) => {
            let child = &here.children()[*idx];
            let Some(v) = value else {
                let Kind::Leaf(ty) = &child.kind else {
                    unreachable!()
                };
                return Err(format!(
                    "missing argument: {} {}",
                    child.name,
                    ty.placeholder()
                ));
            };
            remove_excluded(block, *idx);
            block
                .items
                .insert(*idx, Item::Leaf(meta.unwrap_or_default(), v.clone()));
        }
        End::Flag(idx) => {
            remove_excluded(block, *idx);
            let keep = match block.items.get(idx) {
                Some(Item::Flag(m)) => m.clone(),
                _ => Meta::default(),
            };
            block.items.insert(*idx, Item::Flag(meta.unwrap_or(keep)));
        }
        End::LeafList(idx, values) => {
            if values.is_empty() {
                let child = &here.children()[*idx];
                let Kind::LeafList(ty) = &child.kind else {
                    unreachable!()
                };
                return Err(format!(
                    "missing argument: {} {}",
                    child.name,
                    ty.placeholder()
                ));
            }
            remove_excluded(block, *idx);
            let item = block
                .items
                .get_or_insert_with(*idx, || Item::LeafList(Meta::default(), Vec::new()));
            if let Item::LeafList(m, list) = item {
                for v in values {
                    if !list.contains(v) {
                        list.push(v.clone());
                    }
                }
                if let Some(meta) = meta {
                    *m = meta;
                }
            }
        }
    }
    Ok(())
}

/// `delete`: removes what the path names and any container left empty. Returns whether
/// anything was there.
pub fn delete(root: &mut Block, node: &'static Node, t: &Target) -> bool {
    let (parent, last): (&[Step], Option<&Step>) = match (&t.end, t.steps.split_last()) {
        (End::Here, Some((last, parent))) => (parent, Some(last)),
        _ => (&t.steps, None),
    };
    if last.is_none() && t.end == End::Here {
        let found = !root.items.is_empty();
        root.items.clear();
        return found;
    }
    delete_rec(root, node, parent, last, &t.end)
}

fn delete_rec(
    block: &mut Block,
    node: &'static Node,
    steps: &[Step],
    last: Option<&Step>,
    end: &End,
) -> bool {
    let Some((first, rest)) = steps.split_first() else {
        return remove_here(block, last, end);
    };
    let (Step::Container(i) | Step::Entry(i, _)) = first;
    let child = &node.children()[*i];
    let Some(item) = block.items.get_mut(i) else {
        return false;
    };
    let found = match (first, item) {
        (Step::Container(_), Item::Block(b)) => {
            let found = delete_rec(b, child, rest, last, end);
            if b.items.is_empty() && !child.is_presence() && b.meta.is_default() {
                block.items.remove(i);
            }
            found
        }
        (Step::Entry(_, k), Item::List(e)) => match e.get_mut(k) {
            Some(b) => delete_rec(b, child, rest, last, end),
            None => false,
        },
        _ => false,
    };
    found
}

fn remove_here(block: &mut Block, last: Option<&Step>, end: &End) -> bool {
    match (last, end) {
        (Some(Step::Container(i)), _) => block.items.remove(i).is_some(),
        (Some(Step::Entry(i, k)), _) => {
            let Some(Item::List(e)) = block.items.get_mut(i) else {
                return false;
            };
            let found = e.remove(k).is_some();
            if e.is_empty() {
                block.items.remove(i);
            }
            found
        }
        (None, End::List(i) | End::Leaf(i, _) | End::Flag(i)) => block.items.remove(i).is_some(),
        (None, End::LeafList(i, values)) => {
            if values.is_empty() {
                return block.items.remove(i).is_some();
            }
            let Some(Item::LeafList(_, list)) = block.items.get_mut(i) else {
                return false;
            };
            let before = list.len();
            list.retain(|v| !values.contains(v));
            let found = list.len() != before;
            if list.is_empty() {
                block.items.remove(i);
            }
            found
        }
        (None, End::Here) => false,
    }
}

/// Moves the list entry `t` names to just before (or after) the entry `other` of the same
/// list (`insert policy b before policy a`). Only lists kept in the operator's order can be
/// reordered; a sorted list is always printed by key.
pub fn insert_entry(
    root: &mut Block,
    node: &'static Node,
    t: &Target,
    after: bool,
    other: &Value,
) -> Result<(), String> {
    let Some((Step::Entry(idx, key), parent_steps)) = t.steps.split_last() else {
        return Err("insert: name a list entry to move".into());
    };
    if t.end != End::Here {
        return Err("insert: name a list entry to move".into());
    }
    let list_node = &node_at(node, parent_steps).children()[*idx];
    let parent = block_at_mut(root, node, parent_steps, false).ok_or("statement not found")?;
    let Some(Item::List(Entries::Ordered(m))) = parent.items.get_mut(idx) else {
        return match parent.items.get(idx) {
            Some(Item::List(_)) => Err(format!(
                "insert: '{}' entries are kept sorted, not in a chosen order",
                list_node.name
            )),
            _ => Err("statement not found".into()),
        };
    };
    if key == other {
        return Err("insert: an entry cannot move relative to itself".into());
    }
    let Some(from) = m.get_index_of(key) else {
        return Err(format!("insert: {} {key} not found", list_node.name));
    };
    let Some(to) = m.get_index_of(other) else {
        return Err(format!("insert: {} {other} not found", list_node.name));
    };
    // Where `other` will be once `key` is out of the way, then before or after it.
    let target = if from < to { to - 1 } else { to } + usize::from(after);
    m.move_index(from, target);
    Ok(())
}

/// The metadata of the statement a path names (`deactivate`, `activate`, `annotate`).
pub fn meta_mut<'a>(
    root: &'a mut Block,
    node: &'static Node,
    t: &Target,
) -> Result<&'a mut Meta, String> {
    if t.end == End::Here {
        if t.steps.is_empty() {
            return Err("a statement is required".into());
        }
        let here = node_at(node, &t.steps);
        if here.is_flatten() {
            return Err(format!("name the statement below '{}'", here.name));
        }
        return block_at_mut(root, node, &t.steps, false)
            .map(|b| &mut b.meta)
            .ok_or_else(|| "statement not found".into());
    }
    let block = block_at_mut(root, node, &t.steps, false).ok_or("statement not found")?;
    let idx = match &t.end {
        End::Leaf(i, _) | End::Flag(i) | End::LeafList(i, _) => *i,
        End::List(_) => return Err("a name is required".into()),
        End::Here => unreachable!(),
    };
    block
        .items
        .get_mut(&idx)
        .and_then(Item::meta_mut)
        .ok_or_else(|| "statement not found".into())
}

/// Merges `src` into `dst` as `load merge` does: new statements are added, leaves replaced,
/// lists joined. Statements tagged `replace:` replace what was there.
pub fn merge(dst: &mut Block, src: Block, node: &'static Node) {
    if !src.meta.is_default() {
        dst.meta = Meta {
            replace: false,
            ..src.meta
        };
    }
    for (idx, item) in src.items {
        let child = &node.children()[idx];
        let replace = item.meta().is_some_and(|m| m.replace);
        match (dst.items.get_mut(&idx), item) {
            (Some(Item::Block(d)), Item::Block(s)) if !replace => merge(d, s, child),
            (Some(Item::List(d)), Item::List(s)) => {
                let s = match s {
                    Entries::Sorted(m) => m.into_iter().collect::<Vec<_>>(),
                    Entries::Ordered(m) => m.into_iter().collect(),
                };
                for (k, mut sb) in s {
                    match d.get_mut(&k) {
                        Some(db) if !sb.meta.replace => merge(db, sb, child),
                        _ => {
                            strip_replace(&mut sb);
                            d.insert(k, sb);
                        }
                    }
                }
            }
            (Some(Item::LeafList(m, d)), Item::LeafList(sm, s)) if !replace => {
                for v in s {
                    if !d.contains(&v) {
                        d.push(v);
                    }
                }
                if !sm.is_default() {
                    *m = sm;
                }
            }
            (_, mut s) => {
                strip_item(&mut s);
                dst.items.insert(idx, s);
            }
        }
    }
}

/// Removes every annotation (what the `set` form cannot carry).
pub fn strip_comments(b: &mut Block) {
    b.meta.comment = None;
    for item in b.items.values_mut() {
        match item {
            Item::Block(x) => strip_comments(x),
            Item::List(Entries::Sorted(m)) => m.values_mut().for_each(strip_comments),
            Item::List(Entries::Ordered(m)) => m.values_mut().for_each(strip_comments),
            Item::Leaf(m, _) | Item::Flag(m) | Item::LeafList(m, _) => m.comment = None,
        }
    }
}

/// Clears `replace:` tags, which live only while a file is being loaded.
pub fn strip_replace(b: &mut Block) {
    b.meta.replace = false;
    for item in b.items.values_mut() {
        strip_item(item);
    }
}

fn strip_item(item: &mut Item) {
    match item {
        Item::Block(b) => strip_replace(b),
        Item::List(Entries::Sorted(m)) => m.values_mut().for_each(strip_replace),
        Item::List(Entries::Ordered(m)) => m.values_mut().for_each(strip_replace),
        Item::Leaf(m, _) | Item::Flag(m) | Item::LeafList(m, _) => m.replace = false,
    }
}

/// Removes containers left empty (`system { }`) that Junos would not keep.
pub fn prune(b: &mut Block, node: &'static Node) {
    let children = node.children();
    b.items.retain(|idx, item| {
        let child = &children[*idx];
        match item {
            Item::Block(inner) => {
                prune(inner, child);
                !inner.items.is_empty() || child.is_presence() || !inner.meta.is_default()
            }
            Item::List(Entries::Sorted(m)) => {
                m.values_mut().for_each(|e| prune(e, child));
                !m.is_empty()
            }
            Item::List(Entries::Ordered(m)) => {
                m.values_mut().for_each(|e| prune(e, child));
                !m.is_empty()
            }
            Item::LeafList(_, v) => !v.is_empty(),
            _ => true,
        }
    });
}
