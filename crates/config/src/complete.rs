//! TAB completion and `?` help, derived from the schema and the current configuration.

use crate::schema::{self, Kind, Node};
use crate::tree::{block_at, node_at, Block, Entries, Item, Step, Word};
use crate::value::Type;

/// One possible next word. `placeholder` entries (`<interface-name>`) are shown by `?` but
/// never inserted by TAB.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub word: String,
    pub help: String,
    pub placeholder: bool,
}

impl Candidate {
    fn keyword(word: &str, help: &str) -> Candidate {
        Candidate {
            word: word.into(),
            help: help.into(),
            placeholder: false,
        }
    }

    fn placeholder(word: String, help: &str) -> Candidate {
        Candidate {
            word,
            help: help.into(),
            placeholder: true,
        }
    }
}

enum State<'a> {
    At(&'static Node, Option<&'a Block>),
    Key(&'static Node, Option<&'a Entries>),
    Value(&'static Node, bool),
    Done,
}

/// What may follow `words` (already typed) at edit level `level`, filtered by `partial`.
pub fn complete(root: &Block, level: &[Step], words: &[Word], partial: &str) -> Vec<Candidate> {
    let mut state = State::At(node_at(schema::root(), level), block_at(root, level));
    for w in words {
        state = match state {
            State::At(node, block) => {
                let children = node.children();
                let exact = children
                    .iter()
                    .position(|c| !c.is_bare_list() && c.name == w.text);
                let prefixed: Vec<usize> = children
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.is_bare_list() && c.name.starts_with(&w.text))
                    .map(|(i, _)| i)
                    .collect();
                let idx = exact.or(if prefixed.len() == 1 {
                    Some(prefixed[0])
                } else {
                    None
                });
                match idx {
                    Some(i) => step_into(&children[i], block.and_then(|b| b.items.get(&i))),
                    None => match children.iter().position(|c| c.is_bare_list()) {
                        Some(i) => {
                            let list = &children[i];
                            let entry = entries_of(block.and_then(|b| b.items.get(&i)))
                                .and_then(|e| key_lookup(list, e, &w.text));
                            State::At(list, entry)
                        }
                        None => return Vec::new(),
                    },
                }
            }
            State::Key(list, entries) => {
                let entry = entries.and_then(|e| key_lookup(list, e, &w.text));
                State::At(list, entry)
            }
            State::Value(node, open) => {
                if (!w.quoted && w.text == "[") || (open && w.text != "]") {
                    State::Value(node, true)
                } else {
                    State::Done
                }
            }
            State::Done => return Vec::new(),
        };
    }
    let mut out = match state {
        State::At(node, block) => {
            let mut out = Vec::new();
            for (i, c) in node.children().iter().enumerate() {
                if c.is_bare_list() {
                    if let Kind::List { key, .. } = &c.kind {
                        out.push(Candidate::placeholder(key.placeholder(), c.help));
                    }
                    if let Some(e) = entries_of(block.and_then(|b| b.items.get(&i))) {
                        out.extend(
                            e.keys()
                                .into_iter()
                                .map(|k| Candidate::keyword(&k.to_plain(), c.help)),
                        );
                    }
                } else {
                    out.push(Candidate::keyword(c.name, c.help));
                }
            }
            out
        }
        State::Key(list, entries) => {
            let Kind::List { key, .. } = &list.kind else {
                return Vec::new();
            };
            let mut out = vec![Candidate::placeholder(key.placeholder(), list.help)];
            if let Some(e) = entries {
                out.extend(
                    e.keys()
                        .into_iter()
                        .map(|k| Candidate::keyword(&k.to_plain(), list.help)),
                );
            }
            out
        }
        State::Value(node, _) => value_candidates(root, node),
        State::Done => Vec::new(),
    };
    out.retain(|c| c.placeholder || c.word.starts_with(partial));
    out.sort_by(|a, b| {
        b.placeholder
            .cmp(&a.placeholder)
            .then_with(|| a.word.cmp(&b.word))
    });
    out.dedup();
    out
}

fn step_into<'a>(child: &'static Node, item: Option<&'a Item>) -> State<'a> {
    match &child.kind {
        Kind::Container { .. } => State::At(
            child,
            match item {
                Some(Item::Block(b)) => Some(b),
                _ => None,
            },
        ),
        Kind::List { .. } => State::Key(child, entries_of(item)),
        Kind::Leaf(_) | Kind::LeafList(_) => State::Value(child, false),
        Kind::Flag => State::Done,
    }
}

fn entries_of(item: Option<&Item>) -> Option<&Entries> {
    match item {
        Some(Item::List(e)) => Some(e),
        _ => None,
    }
}

fn key_lookup<'a>(list: &Node, e: &'a Entries, text: &str) -> Option<&'a Block> {
    let Kind::List { key, .. } = &list.kind else {
        return None;
    };
    e.get(&key.parse(text).ok()?)
}

fn value_candidates(root: &Block, node: &Node) -> Vec<Candidate> {
    let ty = match &node.kind {
        Kind::Leaf(t) | Kind::LeafList(t) => *t,
        _ => return Vec::new(),
    };
    match ty {
        Type::Enum(values) => values
            .iter()
            .map(|v| Candidate::keyword(v, node.help))
            .collect(),
        Type::Ref(path) => {
            let mut out = vec![Candidate::placeholder(ty.placeholder(), node.help)];
            out.extend(
                keys_at(root, path)
                    .into_iter()
                    .map(|k| Candidate::keyword(&k, node.help)),
            );
            out
        }
        _ => vec![Candidate::placeholder(ty.placeholder(), node.help)],
    }
}

/// The keys of the list at an absolute keyword path, in the given configuration.
pub fn keys_at(root: &Block, path: &[&str]) -> Vec<String> {
    let mut node = schema::root();
    let mut block = root;
    for (n, name) in path.iter().enumerate() {
        let Some(i) = node.children().iter().position(|c| c.name == *name) else {
            return Vec::new();
        };
        node = &node.children()[i];
        match block.items.get(&i) {
            Some(Item::Block(b)) => block = b,
            Some(Item::List(e)) if n + 1 == path.len() => {
                return e.keys().into_iter().map(|k| k.to_plain()).collect();
            }
            _ => return Vec::new(),
        }
    }
    Vec::new()
}
