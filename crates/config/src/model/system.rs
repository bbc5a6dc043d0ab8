//! `system`: host-wide settings.

use serde::Deserialize;

use crate::schema::{container, leaf, Node};
use crate::value::Type;

pub fn schema() -> Node {
    container(
        "system",
        "System parameters",
        vec![leaf(
            "host-name",
            "Hostname for this router",
            Type::HostName,
        )],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct System {
    pub host_name: Option<String>,
}
