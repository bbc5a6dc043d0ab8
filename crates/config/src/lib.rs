//! Savin's configuration system: one schema, from which everything else derives.
//!
//! Contract: [`schema::root`] describes every statement once. [`Configuration`] is a data tree
//! checked against it; the curly-brace and `set` parsers, both printers, the Junos-style diff,
//! JSON, TAB completion and the typed view for subsystems ([`model::Config`]) all walk the
//! schema instead of restating it. Nothing here performs I/O; persistence and the commit engine
//! live in `savin-mgmt`. Parsing never panics on any input and refuses input over
//! [`parse::MAX_TEXT`] bytes.

pub mod complete;
pub mod diff;
pub mod error;
pub mod groups;
pub mod model;
pub mod parse;
pub mod print;
pub mod range;
pub mod schema;
pub mod subsystem;
pub mod tree;
pub mod value;

pub use error::{ConfigError, Pos};
pub use model::{Config, ValidationError};
pub use tree::Block;

/// A whole configuration (the candidate, the active one, or a rollback).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Configuration {
    pub root: Block,
}

impl Configuration {
    /// Parses the curly-brace form. `file` names the source in error messages. `replace:`
    /// tags mean something only to `load replace` (which parses with `parse_curly`); a
    /// configuration does not keep them.
    pub fn parse(text: &str, file: Option<&str>) -> Result<Configuration, ConfigError> {
        let mut root = parse::parse_curly(text, file)?;
        tree::strip_replace(&mut root);
        // A tag was all that kept an empty block (`replace: vlans { }`): without it, the block
        // is as absent as `vlans { }` is (found by the config_curly fuzz target).
        tree::prune(&mut root, schema::root());
        Ok(Configuration { root })
    }

    /// Parses the `set` form.
    pub fn parse_set(text: &str, file: Option<&str>) -> Result<Configuration, ConfigError> {
        let mut root = Block::default();
        parse::apply_set_text(&mut root, text, file)?;
        Ok(Configuration { root })
    }

    pub fn to_curly(&self) -> String {
        print::curly(&self.root, schema::root())
    }

    pub fn to_set(&self) -> String {
        print::set_form(&self.root, schema::root(), "")
    }

    /// `show configuration | display json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "configuration": print::json(&self.root, schema::root(), true) })
    }

    /// `show | compare` from `self` (old) to `new`, in the Junos format.
    pub fn compare(&self, new: &Configuration) -> String {
        diff::diff(&self.root, &new.root, schema::root(), &[])
    }

    /// The configuration with its groups applied (`show configuration | display
    /// inheritance`): what the box runs.
    pub fn expanded(&self) -> Result<Configuration, String> {
        let root = groups::expand(&self.root, schema::root())?;
        Ok(Configuration {
            root: root.into_owned(),
        })
    }

    /// The typed view subsystems receive: groups applied, inactive statements left out.
    pub fn typed(&self) -> Result<Config, String> {
        let root = groups::expand(&self.root, schema::root())?;
        let json = print::json_active(&root, schema::root());
        serde_json::from_value(json)
            .map_err(|e| format!("internal error: schema and typed model disagree: {e}"))
    }

    /// Typed view plus the commit-time checks.
    pub fn check(&self) -> Result<Config, Vec<ValidationError>> {
        let root = groups::expand(&self.root, schema::root())
            .map_err(|e| vec![ValidationError::new(&[], "apply-groups", e)])?;
        let json = print::json_active(&root, schema::root());
        let typed: Config = serde_json::from_value(json).map_err(|e| {
            vec![ValidationError::new(
                &[],
                "configuration",
                format!("internal error: schema and typed model disagree: {e}"),
            )]
        })?;
        // What Savin cannot do yet comes first: it is why a loaded configuration stops, and
        // the checks of related statements (a vlan-id without vlan-tagging, next to an
        // unsupported flexible-vlan-tagging) only follow from it.
        let mut errors = Vec::new();
        unsupported(&root, schema::root(), &mut Vec::new(), &mut errors);
        errors.extend(typed.validate());
        if errors.is_empty() {
            Ok(typed)
        } else {
            Err(errors)
        }
    }
}

/// Statements the schema accepts that Savin cannot carry out yet, in use (active) in `block`:
/// each one a commit error naming it and why.
fn unsupported(
    block: &Block,
    node: &schema::Node,
    path: &mut Vec<String>,
    errors: &mut Vec<ValidationError>,
) {
    use tree::Item;
    for (idx, item) in &block.items {
        let child = &node.children()[*idx];
        if item.meta().is_some_and(|m| m.inactive) {
            continue;
        }
        if let Some(why) = child.unsupported {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            errors.push(ValidationError::new(
                &p,
                child.name,
                format!("not supported by Savin yet: {why}"),
            ));
            continue;
        }
        match item {
            Item::Block(b) => {
                path.push(child.name.to_string());
                unsupported(b, child, path, errors);
                path.pop();
            }
            Item::List(entries) => {
                for (k, b) in entries.iter() {
                    if b.meta.inactive {
                        continue;
                    }
                    if !child.is_bare_list() {
                        path.push(child.name.to_string());
                    }
                    path.push(k.to_string());
                    unsupported(b, child, path, errors);
                    path.pop();
                    if !child.is_bare_list() {
                        path.pop();
                    }
                }
            }
            _ => {}
        }
    }
}
