//! The schema: every configuration statement described once, with its type, range and help.
//!
//! The parser (both syntaxes), both printers, the diff, JSON, completion and `?` help all walk
//! this tree; nothing about a statement is written down anywhere else. Typed views for the
//! subsystems are deserialised from the tree's JSON form (see `model`).

use crate::value::Type;

/// One statement of the schema.
#[derive(Debug)]
pub struct Node {
    /// The keyword (and the JSON member name).
    pub name: &'static str,
    /// One line of `?` help.
    pub help: &'static str,
    pub kind: Kind,
    /// Sibling statements that setting this one removes (a Junos choice: `discard` vs `next-hop`).
    pub excludes: &'static [&'static str],
    /// A list entry with a single simple statement is printed on one line, as Junos prints
    /// static routes: `route 0.0.0.0/0 next-hop 10.0.0.254;`.
    pub oneline: bool,
    /// A list whose entries hold one inner list are printed merged with it, as Junos prints
    /// policy contexts: `from-zone trust to-zone untrust {`.
    pub merged: bool,
    /// Accepted, kept and shown, but a commit that uses it fails with this reason: a
    /// statement of a supported hierarchy that Savin cannot carry out yet (a LAG, MPLS), so
    /// a saved configuration loads and says plainly what stops it.
    pub unsupported: Option<&'static str>,
    /// Accepted, kept and shown, with no effect in Savin (`speed`, `chassis fpc`): left out
    /// of the typed view, as unsupported statements are.
    pub no_effect: bool,
    /// A list that holds one entry at most: the value of a statement that also takes
    /// flags (`local-preference 200;`, `local-as 65001 private;`). Setting another key
    /// replaces the entry, as setting a leaf replaces its value.
    pub single: bool,
    /// For a list printed without its keyword: its siblings' keywords. An entry named like
    /// one (an interface called `apply-groups`) is printed quoted, which reads back as a
    /// name and not as the statement.
    pub reserved: Vec<&'static str>,
}

#[derive(Debug)]
pub enum Kind {
    /// A block of statements. `presence`: kept and printed (`family inet;`) even when empty.
    /// `flatten`: printed merged with its child (`family inet { ... }`, not `family { inet ... }`).
    Container {
        children: Vec<Node>,
        presence: bool,
        flatten: bool,
    },
    /// Named entries. `keyword: false` prints entries without the keyword (`interfaces { eth1 {`);
    /// `user_ordered` keeps insertion order (policies) instead of sorting by key.
    List {
        key: Type,
        keyword: bool,
        user_ordered: bool,
        /// Inside `groups`: a key may be a pattern (`<*>`, `<ge-*>`) that matches entries of
        /// the configuration the group is applied to.
        wildcard: bool,
        children: Vec<Node>,
    },
    /// A single value: `mtu 1500;`.
    Leaf(Type),
    /// A keyword alone: `disable;`.
    Flag,
    /// Several values: `members [ v10 v20 ];`.
    LeafList(Type),
}

impl Node {
    /// The statements inside a container or a list entry.
    pub fn children(&self) -> &[Node] {
        match &self.kind {
            Kind::Container { children, .. } | Kind::List { children, .. } => children,
            _ => &[],
        }
    }

    pub fn is_block(&self) -> bool {
        matches!(self.kind, Kind::Container { .. } | Kind::List { .. })
    }

    pub fn is_flatten(&self) -> bool {
        matches!(self.kind, Kind::Container { flatten: true, .. })
    }

    pub fn is_presence(&self) -> bool {
        matches!(self.kind, Kind::Container { presence: true, .. })
    }

    /// Whether this is a list printed without its keyword.
    pub fn is_bare_list(&self) -> bool {
        matches!(self.kind, Kind::List { keyword: false, .. })
    }

    pub fn excludes(mut self, names: &'static [&'static str]) -> Node {
        self.excludes = names;
        self
    }

    /// Marks the statement as not supported yet: a commit that uses it fails with `why`.
    pub fn unsupported(mut self, why: &'static str) -> Node {
        self.unsupported = Some(why);
        self
    }

    /// Marks the statement as kept and shown with no effect in Savin.
    pub fn no_effect(mut self) -> Node {
        self.no_effect = true;
        self
    }

    /// Whether the typed view leaves this statement out.
    pub fn untyped(&self) -> bool {
        self.no_effect || self.unsupported.is_some()
    }

    /// Prints single-statement entries of this list on one line.
    pub fn merged(mut self) -> Node {
        self.merged = true;
        self
    }

    pub fn oneline(mut self) -> Node {
        self.oneline = true;
        self
    }

    /// Marks a container as kept when empty.
    pub fn presence(mut self) -> Node {
        if let Kind::Container { presence, .. } = &mut self.kind {
            *presence = true;
        }
        self
    }

    /// Marks a container as printed merged with its child statement.
    pub fn flatten(mut self) -> Node {
        if let Kind::Container { flatten, .. } = &mut self.kind {
            *flatten = true;
        }
        self
    }

    /// Marks a list as holding one entry at most (see [`Node::single`]).
    pub fn single(mut self) -> Node {
        self.single = true;
        self
    }

    /// Marks a list as printed without its keyword.
    pub fn bare(mut self) -> Node {
        if let Kind::List { keyword, .. } = &mut self.kind {
            *keyword = false;
        }
        self
    }

    /// Lets this list and every list below it take `<pattern>` keys (the copy of the
    /// hierarchies inside `groups`).
    pub fn wildcards(mut self) -> Node {
        self.set_wildcards();
        self
    }

    fn set_wildcards(&mut self) {
        match &mut self.kind {
            Kind::List {
                wildcard, children, ..
            } => {
                *wildcard = true;
                children.iter_mut().for_each(Node::set_wildcards);
            }
            Kind::Container { children, .. } => children.iter_mut().for_each(Node::set_wildcards),
            _ => {}
        }
    }

    /// Adds `apply-groups` and `apply-groups-except` to this block and every block below it
    /// (not inside `family`-style merged containers, which print as one line with their child).
    pub fn with_apply_groups(mut self) -> Node {
        self.add_apply_groups();
        self
    }

    fn add_apply_groups(&mut self) {
        let flatten = self.is_flatten();
        let children = match &mut self.kind {
            Kind::List { children, .. } | Kind::Container { children, .. } => children,
            _ => return,
        };
        children.iter_mut().for_each(Node::add_apply_groups);
        if !flatten {
            children.splice(0..0, apply_groups());
        }
        let keywords: Vec<&'static str> = children
            .iter()
            .filter(|c| !c.is_bare_list())
            .map(|c| c.name)
            .collect();
        for c in children.iter_mut().filter(|c| c.is_bare_list()) {
            c.reserved.clone_from(&keywords);
        }
    }

    /// Marks a list as kept in the order the operator wrote it.
    pub fn ordered(mut self) -> Node {
        if let Kind::List { user_ordered, .. } = &mut self.kind {
            *user_ordered = true;
        }
        self
    }
}

pub fn container(name: &'static str, help: &'static str, children: Vec<Node>) -> Node {
    Node {
        name,
        help,
        kind: Kind::Container {
            children,
            presence: false,
            flatten: false,
        },
        excludes: &[],
        oneline: false,
        merged: false,
        unsupported: None,
        no_effect: false,
        single: false,
        reserved: Vec::new(),
    }
}

pub fn list(name: &'static str, help: &'static str, key: Type, children: Vec<Node>) -> Node {
    Node {
        name,
        help,
        kind: Kind::List {
            key,
            keyword: true,
            user_ordered: false,
            wildcard: false,
            children,
        },
        excludes: &[],
        oneline: false,
        merged: false,
        unsupported: None,
        no_effect: false,
        single: false,
        reserved: Vec::new(),
    }
}

pub fn leaf(name: &'static str, help: &'static str, ty: Type) -> Node {
    Node {
        name,
        help,
        kind: Kind::Leaf(ty),
        excludes: &[],
        oneline: false,
        merged: false,
        unsupported: None,
        no_effect: false,
        single: false,
        reserved: Vec::new(),
    }
}

pub fn flag(name: &'static str, help: &'static str) -> Node {
    Node {
        name,
        help,
        kind: Kind::Flag,
        excludes: &[],
        oneline: false,
        merged: false,
        unsupported: None,
        no_effect: false,
        single: false,
        reserved: Vec::new(),
    }
}

pub fn leaf_list(name: &'static str, help: &'static str, ty: Type) -> Node {
    Node {
        name,
        help,
        kind: Kind::LeafList(ty),
        excludes: &[],
        oneline: false,
        merged: false,
        unsupported: None,
        no_effect: false,
        single: false,
        reserved: Vec::new(),
    }
}

/// `apply-groups [ A B ]` and `apply-groups-except [ C ]`: the groups whose statements a block
/// inherits (first listed first), and those it and the blocks below it do not.
pub fn apply_groups() -> [Node; 2] {
    [
        leaf_list(
            "apply-groups",
            "Groups from which to inherit configuration data",
            Type::Ref(&["groups"]),
        ),
        leaf_list(
            "apply-groups-except",
            "Don't inherit configuration data from these groups",
            Type::Ref(&["groups"]),
        ),
    ]
}

/// The names of the statements `apply_groups` adds.
pub const APPLY_GROUPS: [&str; 2] = ["apply-groups", "apply-groups-except"];

/// The root of the schema: the top-level statements.
pub fn root() -> &'static Node {
    static ROOT: std::sync::OnceLock<Node> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| container("configuration", "Configuration", crate::model::schema()))
}

/// Finds the list node at an absolute keyword path (used by `Type::Ref`).
pub fn lookup(path: &[&str]) -> Option<&'static Node> {
    let mut node = root();
    for name in path {
        node = node.children().iter().find(|c| c.name == *name)?;
    }
    Some(node)
}

/// Edit distance, for "did you mean" on unknown keywords.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest keyword among `children` to `word`, if it is close enough to be a typo.
pub fn closest<'a>(children: &'a [Node], word: &str) -> Option<&'a str> {
    children
        .iter()
        .filter(|c| !c.is_bare_list())
        .map(|c| (edit_distance(word, c.name), c.name))
        .filter(|(d, name)| *d <= 2.max(name.len() / 3) || name.starts_with(word))
        .min()
        .map(|(_, n)| n)
}
