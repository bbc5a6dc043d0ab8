//! `vlans`: bridge domains and their routed (IRB) interfaces.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Config, ValidationError};
use crate::schema::{container, flag, leaf, list, Node};
use crate::value::Type;

pub fn schema() -> Node {
    container(
        "vlans",
        "VLAN configuration",
        vec![list(
            "vlan",
            "VLAN name",
            Type::Name,
            vec![
                leaf("description", "Text description of VLAN", Type::Text),
                leaf(
                    "vlan-id",
                    "IEEE 802.1q VLAN identifier for VLAN",
                    Type::Uint { min: 1, max: 4094 },
                ),
                leaf(
                    "l3-interface",
                    "Layer 3 interface for this VLAN",
                    Type::IflName,
                ),
                container(
                    "switch-options",
                    "VLAN switching options",
                    vec![leaf(
                        "mac-table-size",
                        "Maximum MAC addresses learnt in this VLAN",
                        Type::Uint {
                            min: 1,
                            max: 1_048_576,
                        },
                    )],
                ),
                container(
                    "vxlan",
                    "VXLAN options",
                    vec![
                        leaf(
                            "vni",
                            "VXLAN identifier",
                            Type::Uint {
                                min: 0,
                                max: 16_777_214,
                            },
                        ),
                        flag(
                            "ingress-node-replication",
                            "Enable ingress node replication",
                        ),
                        leaf(
                            "multicast-group",
                            "Multicast group registered for VXLAN segment",
                            Type::Ipv4,
                        ),
                    ],
                )
                .unsupported("VXLAN"),
            ],
        )
        .bare()],
    )
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Vlans {
    #[serde(default)]
    pub vlan: Vec<Vlan>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Vlan {
    pub name: String,
    pub description: Option<String>,
    pub vlan_id: Option<u16>,
    pub l3_interface: Option<String>,
    #[serde(default)]
    pub switch_options: SwitchOptions,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SwitchOptions {
    pub mac_table_size: Option<u32>,
}

/// The VLAN a `vlan members` entry names: by name, or by its VLAN ID.
pub fn find<'a>(cfg: &'a Config, member: &str) -> Option<&'a Vlan> {
    let by_name = cfg.vlans.vlan.iter().find(|v| v.name == member);
    by_name.or_else(|| {
        let id: u16 = member.parse().ok()?;
        cfg.vlans.vlan.iter().find(|v| v.vlan_id == Some(id))
    })
}

/// A `vlan members` entry as a range of VLAN IDs: `all`, `10-20`. None: a name or one ID.
pub fn member_range(member: &str) -> Option<(u16, u16)> {
    if member == "all" {
        return Some((1, 4094));
    }
    let (lo, hi) = member.split_once('-')?;
    let (lo, hi): (u16, u16) = (lo.parse().ok()?, hi.parse().ok()?);
    (lo <= hi).then_some((lo, hi))
}

/// The VLANs a `vlan members` entry stands for: by name, by VLAN ID, every configured VLAN in
/// a range (`10-20`), or all of them (`all`, on a trunk).
pub fn members<'a>(cfg: &'a Config, member: &str) -> Vec<&'a Vlan> {
    match member_range(member) {
        Some((lo, hi)) => cfg
            .vlans
            .vlan
            .iter()
            .filter(|v| v.vlan_id.is_some_and(|id| (lo..=hi).contains(&id)))
            .collect(),
        None => find(cfg, member).into_iter().collect(),
    }
}

pub(super) fn validate(cfg: &Config, errors: &mut Vec<ValidationError>) {
    let mut ids: HashMap<u16, &str> = HashMap::new();
    let mut l3: HashMap<&str, &str> = HashMap::new();
    for v in &cfg.vlans.vlan {
        let path = ["vlans", v.name.as_str()];
        if let Some(id) = v.vlan_id {
            if let Some(other) = ids.insert(id, &v.name) {
                errors.push(ValidationError::new(
                    &path,
                    format!("vlan-id {id}"),
                    format!("vlan-id {id} is already used by VLAN {other}"),
                ));
            }
        }
        if let Some(ifl) = &v.l3_interface {
            let stmt = format!("l3-interface {ifl}");
            // `vlan.N` is the legacy name of `irb.N` (EX before ELS, older SRX).
            if !ifl.starts_with("irb.") && !ifl.starts_with("vlan.") {
                errors.push(ValidationError::new(
                    &path,
                    stmt,
                    "l3-interface must be an irb interface (irb.N, or vlan.N in the legacy form)",
                ));
            } else if cfg.interfaces.unit(ifl).is_none() {
                errors.push(ValidationError::new(
                    &path,
                    stmt,
                    format!("interface {ifl} is not configured under [edit interfaces]"),
                ));
            } else if let Some(other) = l3.insert(ifl, &v.name) {
                errors.push(ValidationError::new(
                    &path,
                    stmt,
                    format!("{ifl} is already the l3-interface of VLAN {other}"),
                ));
            }
        }
    }
}
