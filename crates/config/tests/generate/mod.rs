//! Configurations generated from the schema, for property tests (shared by the config
//! crate's round-trip tests and the management crate's XML and JSON form tests).

#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use savin_config::schema::{self, Kind, Node};
use savin_config::tree::{Block, Entries, Item, Meta};
use savin_config::value::{mask, NatStr, Type, Value};
use savin_config::Configuration;

const TEXTS: &[&str] = &[
    "uplink",
    "to core",
    "a \"quoted\" word",
    "back\\slash",
    "two\\nlines",
    "ends in \\",
    "#hash",
    "/*x*/",
    "tab\there",
    "ünïcode",
    "",
];

fn value(rng: &mut StdRng, ty: &Type) -> Value {
    let v4 = |rng: &mut StdRng| IpAddr::V4(Ipv4Addr::from(rng.gen::<u32>()));
    let v6 = |rng: &mut StdRng| IpAddr::V6(Ipv6Addr::from(rng.gen::<u128>()));
    let name = |rng: &mut StdRng| {
        format!(
            "{}{}",
            ["v", "eth", "ge-0-0-", "x_y.", "A"][rng.gen_range(0..5)],
            rng.gen_range(0..40)
        )
    };
    match ty {
        Type::Text | Type::Blob => Value::Text(NatStr::from(TEXTS[rng.gen_range(0..TEXTS.len())])),
        // Groups applied are among those `generate` defines.
        Type::Ref(["groups"]) => Value::Text(NatStr(format!("g{}", rng.gen_range(0..3)))),
        Type::Name | Type::Ref(_) => Value::Text(NatStr(name(rng))),
        Type::Uint { min, max } => Value::Num(rng.gen_range(*min..=*max)),
        Type::Ipv4 => Value::Addr(v4(rng)),
        Type::Ipv6 => Value::Addr(v6(rng)),
        Type::Port if rng.gen_bool(0.5) => Value::Num(rng.gen_range(0..=65535)),
        Type::Port => Value::Text(NatStr::from(
            ["http", "ntp", "snmp", "ftp-data"][rng.gen_range(0..4)],
        )),
        Type::Ip if rng.gen_bool(0.5) => Value::Addr(v4(rng)),
        Type::Ip => Value::Addr(v6(rng)),
        Type::Ipv4Prefix => {
            let l = rng.gen_range(0..=32);
            Value::Prefix(mask(v4(rng), l), l)
        }
        Type::Ipv6Prefix => {
            let l = rng.gen_range(0..=128);
            Value::Prefix(mask(v6(rng), l), l)
        }
        Type::IpPrefix => {
            let l = rng.gen_range(0..=32);
            Value::Prefix(mask(v4(rng), l), l)
        }
        Type::Ipv4IfAddr | Type::Ipv4PoolAddr => Value::Prefix(v4(rng), rng.gen_range(0..=32)),
        Type::Ipv6IfAddr => Value::Prefix(v6(rng), rng.gen_range(0..=128)),
        Type::Enum(e) => Value::Text(NatStr::from(e[rng.gen_range(0..e.len())])),
        Type::IfName => Value::Text(NatStr(match rng.gen_range(0..3) {
            0 => format!("eth{}", rng.gen_range(0..20)),
            1 => format!("ge-0/0/{}", rng.gen_range(0..20)),
            _ => format!(
                "xe-{}/0/{}:{}",
                rng.gen_range(0..2),
                rng.gen_range(0..4),
                rng.gen_range(0..4)
            ),
        })),
        Type::IflName => Value::Text(NatStr(format!(
            "eth{}.{}",
            rng.gen_range(0..20),
            rng.gen_range(0..5)
        ))),
        Type::HostName => Value::Text(NatStr(format!("r{}.lab", rng.gen_range(0..100)))),
        Type::NextHop { v6: is6 } => match (rng.gen_bool(0.7), is6) {
            (true, false) => Value::Addr(v4(rng)),
            (true, true) => Value::Addr(v6(rng)),
            _ => Value::Text(NatStr(format!("irb.{}", rng.gen_range(0..9)))),
        },
    }
}

fn meta(rng: &mut StdRng) -> Meta {
    Meta {
        inactive: rng.gen_bool(0.15),
        protect: rng.gen_bool(0.05),
        comment: rng
            .gen_bool(0.1)
            .then(|| format!("note {}", rng.gen_range(0..9))),
        replace: false,
    }
}

fn block(rng: &mut StdRng, node: &'static Node, depth: usize) -> Block {
    let mut b = Block::default();
    // A block of many statements (BGP's eighty) gets a dozen or so, as a real one has.
    let p = (12.0 / node.children().len().max(1) as f64).min(0.6);
    for (idx, child) in node.children().iter().enumerate() {
        if !rng.gen_bool(p) || depth > 8 {
            continue;
        }
        let excluded = child.excludes.iter().any(|n| {
            node.children()
                .iter()
                .position(|c| c.name == *n)
                .is_some_and(|j| b.items.get(&j).is_some())
        });
        if excluded {
            continue;
        }
        let item = match &child.kind {
            Kind::Container { .. } => {
                let mut inner = block(rng, child, depth + 1);
                if !child.is_flatten() {
                    inner.meta = meta(rng);
                }
                if inner.items.is_empty() && !child.is_presence() {
                    continue;
                }
                Item::Block(inner)
            }
            Kind::List { key, wildcard, .. } => {
                let mut e = Entries::new(child);
                // A single-entry list (`local-preference 200;`) holds one value.
                let n = if child.single { 1 } else { rng.gen_range(1..4) };
                for _ in 0..n {
                    let mut inner = block(rng, child, depth + 1);
                    inner.meta = meta(rng);
                    if child.name == "interface-range" {
                        range_members(rng, child, &mut inner);
                    }
                    // In groups, a pattern now and then (`<*>`, `<ge-*>`, `<[egx]e-*>`).
                    let k = if *wildcard && rng.gen_bool(0.3) {
                        let p = ["<*>", "<ge-*>", "<[egx]e-*>", "<eth?>"][rng.gen_range(0..4)];
                        Value::Text(NatStr(p.into()))
                    } else {
                        value(rng, key)
                    };
                    e.insert(k, inner);
                }
                Item::List(e)
            }
            Kind::Leaf(ty) => Item::Leaf(meta(rng), value(rng, ty)),
            Kind::Flag => Item::Flag(meta(rng)),
            Kind::LeafList(ty) => {
                let mut vs = Vec::new();
                for _ in 0..rng.gen_range(1..4) {
                    let v = value(rng, ty);
                    if !vs.contains(&v) {
                        vs.push(v);
                    }
                }
                Item::LeafList(meta(rng), vs)
            }
        };
        b.items.insert(idx, item);
    }
    b
}

/// An interface range names its members as Junos takes them: one port, a port span, or a
/// span of ports in brackets.
fn range_members(rng: &mut StdRng, node: &Node, range: &mut Block) {
    let pos = |n: &str| node.children().iter().position(|c| c.name == n).unwrap();
    let (mi, ri) = (pos("member"), pos("member-range"));
    range.items.remove(&ri);
    let member = match rng.gen_range(0..3) {
        0 => format!("ge-0/0/{}", rng.gen_range(0..8)),
        1 => format!("xe-1/0/[{}-{}]", rng.gen_range(0..4), rng.gen_range(4..8)),
        _ => "eth*".to_string(),
    };
    let mut e = Entries::new(&node.children()[mi]);
    e.insert(Value::Text(NatStr(member)), Block::default());
    range.items.insert(mi, Item::List(e));
}

pub fn generate(seed: u64) -> Configuration {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut root = block(&mut rng, schema::root(), 0);
    // Every group that an `apply-groups` may name is defined (an undefined one fails the
    // commit, which is tested on its own).
    let gi = schema::root()
        .children()
        .iter()
        .position(|c| c.name == "groups")
        .expect("groups");
    let gnode = &schema::root().children()[gi].children()[0];
    let Item::Block(groups) = root
        .items
        .get_or_insert_with(gi, || Item::Block(Block::default()))
    else {
        unreachable!("groups is a container")
    };
    let Item::List(list) = groups
        .items
        .get_or_insert_with(0, || Item::List(Entries::new(gnode)))
    else {
        unreachable!("group is a list")
    };
    for g in 0..3 {
        let k = Value::Text(NatStr(format!("g{g}")));
        if list.get(&k).is_none() {
            list.insert(k, Block::default());
        }
    }
    Configuration { root }
}
