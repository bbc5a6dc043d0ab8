//! From `firewall family inet` to compiled filters: each term's address, port and protocol
//! lists become classifier rules (their cross product), so finding the first term a packet
//! matches costs a few hash probes however many terms there are; what the classifier does
//! not see (TCP flags, DSCP, length, fragments, `except` prefixes, ingress interface) is
//! checked on the term it finds.

use std::collections::HashMap;
use std::net::IpAddr;

use savin_classify::{Classifier, PortRange, Prefix, Rule};
use savin_config::model::firewall::{self, PrefixMatch};
use savin_config::model::Config;

/// The most classifier rules one filter may expand to (a term's lists multiply).
pub const MAX_RULES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Discard,
    Reject {
        tcp_reset: bool,
    },
    /// `next term`: counted (and policed), then the terms after it decide.
    Next,
}

/// TCP flag bits as in the header's 13th byte.
const FLAGS: &[(&str, u8)] = &[
    ("fin", 0x01),
    ("syn", 0x02),
    ("rst", 0x04),
    ("push", 0x08),
    ("ack", 0x10),
    ("urgent", 0x20),
];

/// Conditions the classifier does not see.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// TCP flags as a disjunction of (mask, value) conjunctions.
    pub tcp: Option<Vec<(u8, u8)>>,
    /// DSCP values (bit n: DSCP n).
    pub dscp: Option<u64>,
    /// IP total length ranges.
    pub length: Vec<(u16, u16)>,
    pub fragment: Option<Frag>,
    /// Source and destination prefixes to leave out (`except`), by field.
    pub except_src: Vec<Prefix>,
    pub except_dst: Vec<Prefix>,
    /// Ingress interfaces by name (bound to ports in the tables).
    pub interfaces: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frag {
    /// Any fragment but the first (`is-fragment`).
    Later,
    First,
    More,
    DontFragment,
}

impl Extra {
    fn is_empty(&self) -> bool {
        self.tcp.is_none()
            && self.dscp.is_none()
            && self.length.is_empty()
            && self.fragment.is_none()
            && self.except_src.is_empty()
            && self.except_dst.is_empty()
            && self.interfaces.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct Term {
    pub name: String,
    pub extra: Extra,
    /// Whether `extra` has anything to check.
    pub checks: bool,
    pub action: Action,
    /// Index into the filter set's counters.
    pub count: Option<u32>,
    /// Index into the filter set's policers.
    pub policer: Option<u32>,
    /// `log` or `syslog`: the packet goes into the firewall log (`show firewall log`).
    pub log: bool,
    /// `syslog`: and to `system syslog` (facility firewall).
    pub syslog: bool,
    /// The term's classifier rules: `rules[first..end]` of the filter.
    pub rules: (usize, usize),
}

pub struct Filter {
    pub name: String,
    pub terms: Vec<Term>,
    pub rules: Vec<Rule>,
    /// The term of each rule.
    pub rule_term: Vec<u32>,
    pub classifier: Classifier,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Filter({}, {} terms, {} rules)",
            self.name,
            self.terms.len(),
            self.rules.len()
        )
    }
}

/// A policer: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicerSpec {
    pub bits_per_second: u64,
    pub burst_bytes: u64,
}

/// Every IPv4 filter, the counters and policers they name, and where they are applied (by
/// configured interface name: the port for a unit `NAME.0`, `lo0` for the box).
#[derive(Debug, Default)]
pub struct FilterSpec {
    pub filters: Vec<Filter>,
    /// (filter, counter) names, indexed as terms count into them.
    pub counters: Vec<(String, String)>,
    pub policers: Vec<(String, PolicerSpec)>,
    /// Interface (physical name, or `irb.N`) → filters applied on input, in order.
    pub input: HashMap<String, Vec<u32>>,
    pub output: HashMap<String, Vec<u32>>,
    /// `lo0.0 family inet filter input`: guards traffic for the box.
    pub lo0_input: Vec<u32>,
}

fn prefix4(p: &savin_config::model::Prefix) -> Option<Prefix> {
    match p.network().addr {
        IpAddr::V4(a) => Some(Prefix::new(u32::from(a), p.len)),
        IpAddr::V6(_) => None,
    }
}

/// A field's prefixes: those to match (ANY when none) and those left out.
fn field(list: &[PrefixMatch]) -> (Vec<Prefix>, Vec<Prefix>) {
    let (mut take, mut leave) = (Vec::new(), Vec::new());
    for m in list {
        if let Some(p) = prefix4(&m.name) {
            if m.except.0 {
                leave.push(p);
            } else {
                take.push(p);
            }
        }
    }
    (take, leave)
}

fn ports(list: &[String]) -> Result<Vec<PortRange>, String> {
    list.iter()
        .map(|p| {
            savin_config::model::applications::port_range(p).map(|(lo, hi)| PortRange { lo, hi })
        })
        .collect()
}

fn icmp_type(t: &str) -> Result<u8, String> {
    const NAMES: &[(&str, u8)] = &[
        ("echo-reply", 0),
        ("unreachable", 3),
        ("source-quench", 4),
        ("redirect", 5),
        ("echo-request", 8),
        ("router-advertisement", 9),
        ("router-solicit", 10),
        ("time-exceeded", 11),
        ("parameter-problem", 12),
        ("timestamp", 13),
        ("timestamp-reply", 14),
        ("info-request", 15),
        ("info-reply", 16),
        ("mask-request", 17),
        ("mask-reply", 18),
    ];
    t.parse::<u8>()
        .ok()
        .or_else(|| NAMES.iter().find(|(n, _)| *n == t).map(|(_, v)| *v))
        .ok_or_else(|| format!("invalid icmp-type '{t}'"))
}

fn dscp(d: &str) -> Result<u8, String> {
    let named = match d {
        "be" => Some(0),
        "ef" => Some(46),
        _ => None,
    };
    let af = d.strip_prefix("af").and_then(|n| {
        let (c, p) = (n.as_bytes().first()?, n.as_bytes().get(1)?);
        let (c, p) = (c.checked_sub(b'0')?, p.checked_sub(b'0')?);
        ((1..=4).contains(&c) && (1..=3).contains(&p)).then_some(c * 8 + p * 2)
    });
    let cs = d
        .strip_prefix("cs")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| *n <= 7)
        .map(|n| n * 8);
    named
        .or(af)
        .or(cs)
        .or_else(|| d.parse::<u8>().ok().filter(|n| *n < 64))
        .ok_or_else(|| format!("invalid dscp '{d}': expected 0..63, be, ef, afXY or csN"))
}

/// `syn & !ack`, `rst | fin`, `(syn & !ack) | rst`: a disjunction of conjunctions of flags.
pub fn tcp_flags(expr: &str) -> Result<Vec<(u8, u8)>, String> {
    let mut out = Vec::new();
    for conj in expr.split('|') {
        let (mut mask, mut want) = (0u8, 0u8);
        for lit in conj.split('&') {
            let lit = lit.trim().trim_matches(|c| c == '(' || c == ')').trim();
            let (neg, name) = match lit.strip_prefix('!') {
                Some(n) => (true, n.trim()),
                None => (false, lit),
            };
            let bit = FLAGS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, b)| *b)
                .or(match name {
                    "urg" => Some(0x20),
                    "psh" => Some(0x08),
                    _ => None,
                })
                .ok_or_else(|| format!("tcp-flags '{expr}': unknown flag '{name}'"))?;
            mask |= bit;
            if !neg {
                want |= bit;
            }
        }
        out.push((mask, want));
    }
    Ok(out)
}

fn protocol(p: &str) -> Result<u8, String> {
    match p {
        "ospf" => Ok(89),
        "vrrp" => Ok(112),
        "igmp" => Ok(2),
        "pim" => Ok(103),
        "ipip" => Ok(4),
        "rsvp" => Ok(46),
        _ => savin_config::model::applications::protocol_number(p),
    }
}

fn term(
    f: &firewall::Term,
    counters: &mut Vec<(String, String)>,
    filter: &str,
    policers: &[(String, PolicerSpec)],
    rules: &mut Vec<Rule>,
) -> Result<Term, String> {
    let fr = &f.from;
    let (src, except_src) = field(&fr.source_address);
    let (dst, except_dst) = field(&fr.destination_address);
    let (either, except_either) = field(&fr.address);
    if !except_either.is_empty() {
        return Err(
            "address ... except is not supported yet: use source-address or destination-address"
                .into(),
        );
    }
    let mut protos: Vec<Option<u8>> = fr
        .protocol
        .iter()
        .map(|p| protocol(p).map(Some))
        .collect::<Result<_, _>>()?;
    let icmp: Vec<u8> = fr
        .icmp_type
        .iter()
        .map(|t| icmp_type(t))
        .collect::<Result<_, _>>()?;
    if !icmp.is_empty() && protos.is_empty() {
        protos.push(Some(1));
    }
    if protos.is_empty() {
        protos.push(None);
    }
    let sports = ports(&fr.source_port)?;
    let mut dports = ports(&fr.destination_port)?;
    let either_ports = ports(&fr.port)?;
    // ICMP types ride in the classifier's destination port (type << 8 | code).
    for t in &icmp {
        let base = u16::from(*t) << 8;
        dports.push(PortRange {
            lo: base,
            hi: base | 0xff,
        });
    }
    let or_any = |v: Vec<PortRange>| {
        if v.is_empty() {
            vec![PortRange::ANY]
        } else {
            v
        }
    };
    let or_any_p = |v: Vec<Prefix>| if v.is_empty() { vec![Prefix::ANY] } else { v };
    let (sports, dports) = (or_any(sports), or_any(dports));
    let (srcs, dsts) = (or_any_p(src), or_any_p(dst));
    let first = rules.len();
    // `address`/`port`: a rule set with it as the source and one with it as the destination.
    let addr_sides: Vec<(Vec<Prefix>, Vec<Prefix>)> = if either.is_empty() {
        vec![(srcs.clone(), dsts.clone())]
    } else {
        vec![
            (either.clone(), dsts.clone()),
            (srcs.clone(), either.clone()),
        ]
    };
    let port_sides: Vec<(Vec<PortRange>, Vec<PortRange>)> = if either_ports.is_empty() {
        vec![(sports.clone(), dports.clone())]
    } else {
        vec![
            (either_ports.clone(), dports.clone()),
            (sports.clone(), either_ports.clone()),
        ]
    };
    for (ss, ds) in &addr_sides {
        for (sp, dp) in &port_sides {
            for s in ss {
                for d in ds {
                    for a in sp {
                        for b in dp {
                            for p in &protos {
                                if rules.len() - first >= MAX_RULES {
                                    return Err(format!(
                                        "its lists expand to more than {MAX_RULES} classifier rules"
                                    ));
                                }
                                rules.push(Rule {
                                    src: *s,
                                    dst: *d,
                                    sport: *a,
                                    dport: *b,
                                    proto: *p,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    let mut extra = Extra {
        except_src,
        except_dst,
        interfaces: fr
            .interface
            .iter()
            .map(|i| port_of(i).to_string())
            .collect(),
        ..Extra::default()
    };
    let mut tcp = Vec::new();
    if let Some(e) = &fr.tcp_flags {
        tcp = tcp_flags(e)?;
    }
    if fr.tcp_established.0 {
        // ack | rst
        tcp.extend([(0x10, 0x10), (0x04, 0x04)]);
    }
    if fr.tcp_initial.0 {
        tcp.push((0x12, 0x02));
    }
    if !tcp.is_empty() {
        extra.tcp = Some(tcp);
    }
    if !fr.dscp.is_empty() {
        let mut bits = 0u64;
        for d in &fr.dscp {
            bits |= 1 << dscp(d)?;
        }
        extra.dscp = Some(bits);
    }
    for l in &fr.packet_length {
        let one = |s: &str| {
            s.parse::<u16>()
                .map_err(|_| format!("invalid packet-length '{l}'"))
        };
        extra.length.push(match l.split_once('-') {
            Some((a, b)) => (one(a)?, one(b)?),
            None => (one(l)?, one(l)?),
        });
    }
    extra.fragment = if fr.is_fragment.0 {
        Some(Frag::Later)
    } else if fr.first_fragment.0 {
        Some(Frag::First)
    } else {
        match fr.fragment_flags.as_deref().map(str::trim) {
            None => None,
            Some("is-fragment") => Some(Frag::Later),
            Some("more-fragments") => Some(Frag::More),
            Some("dont-fragment") => Some(Frag::DontFragment),
            Some(other) => {
                return Err(format!(
                "fragment-flags '{other}': expected dont-fragment, more-fragments or is-fragment"
            ))
            }
        }
    };
    let th = &f.then;
    let action = if th.discard.0 {
        Action::Discard
    } else if let Some(r) = &th.reject {
        Action::Reject {
            tcp_reset: r.tcp_reset.0,
        }
    } else if th.next.as_ref().is_some_and(|n| n.term.0) {
        Action::Next
    } else {
        // `accept`, or a term of modifiers alone (count, log, policer): accepted.
        Action::Accept
    };
    let count = th.count.as_ref().map(|c| {
        let key = (filter.to_string(), c.clone());
        match counters.iter().position(|k| *k == key) {
            Some(i) => i as u32,
            None => {
                counters.push(key);
                (counters.len() - 1) as u32
            }
        }
    });
    let policer = match &th.policer {
        Some(p) => Some(
            policers
                .iter()
                .position(|(n, _)| n == p)
                .ok_or_else(|| format!("policer '{p}' is not defined"))? as u32,
        ),
        None => None,
    };
    let checks = !extra.is_empty();
    Ok(Term {
        name: f.name.clone(),
        extra,
        checks,
        action,
        count,
        policer,
        log: th.log.0 || th.syslog.0,
        syslog: th.syslog.0,
        rules: (first, rules.len()),
    })
}

/// The port an interface name stands for: `ge-0/0/0` for `ge-0/0/0.0`, `irb.10` itself.
pub fn port_of(ifl: &str) -> &str {
    match ifl.strip_suffix(".0") {
        Some(dev) if dev != "irb" && dev != "vlan" => dev,
        _ => ifl,
    }
}

/// Compiles the configuration's IPv4 filters and where they are applied. Err: a filter that
/// cannot be compiled (named, with the reason), which fails the commit.
pub fn compile(cfg: &Config) -> Result<FilterSpec, String> {
    let fw = &cfg.firewall;
    let mut spec = FilterSpec::default();
    for p in &fw.policer {
        let (bw, burst) = p
            .limits()
            .map_err(|e| format!("firewall policer {}: {e}", p.name))?;
        spec.policers.push((
            p.name.clone(),
            PolicerSpec {
                bits_per_second: bw,
                burst_bytes: burst,
            },
        ));
    }
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut filter_of = |name: &str, spec: &mut FilterSpec| -> Result<u32, String> {
        if let Some(i) = index.get(name) {
            return Ok(*i);
        }
        let f = fw
            .inet(name)
            .ok_or_else(|| format!("firewall filter '{name}' is not defined"))?;
        let mut rules = Vec::new();
        let mut terms = Vec::new();
        for t in &f.term {
            // A `filter` term stands for the terms of that filter, in place; their counters
            // show under the filter applied (the referenced one may be applied nowhere).
            let (owner, inline) = match &t.filter {
                Some(inner) => {
                    let g = fw
                        .inet(inner)
                        .ok_or_else(|| format!("firewall filter '{inner}' is not defined"))?;
                    (g, g.term.as_slice())
                }
                None => (f, std::slice::from_ref(t)),
            };
            for u in inline {
                if u.filter.is_some() {
                    return Err(format!(
                        "firewall filter {} term {}: nested filter references go one level deep",
                        owner.name, u.name
                    ));
                }
                terms.push(
                    term(u, &mut spec.counters, &f.name, &spec.policers, &mut rules).map_err(
                        |e| format!("firewall filter {} term {}: {e}", owner.name, u.name),
                    )?,
                );
            }
        }
        let rule_term = terms
            .iter()
            .enumerate()
            .flat_map(|(ti, t)| (t.rules.0..t.rules.1).map(move |_| ti as u32))
            .collect();
        let classifier = Classifier::new(&rules);
        spec.filters.push(Filter {
            name: f.name.clone(),
            terms,
            rules,
            rule_term,
            classifier,
        });
        let i = (spec.filters.len() - 1) as u32;
        index.insert(name.to_string(), i);
        Ok(i)
    };
    for ifd in &cfg.interfaces.interface {
        if ifd.disable.0 {
            continue;
        }
        for u in &ifd.unit {
            let Some(fl) = u.family.inet.as_ref().and_then(|i| i.filter.as_ref()) else {
                continue;
            };
            let ifl = format!("{}.{}", ifd.name, u.name);
            let ins: Vec<u32> = fl
                .inputs()
                .iter()
                .map(|n| filter_of(n, &mut spec))
                .collect::<Result<_, _>>()?;
            let outs: Vec<u32> = fl
                .outputs()
                .iter()
                .map(|n| filter_of(n, &mut spec))
                .collect::<Result<_, _>>()?;
            if ifd.name == "lo0" {
                spec.lo0_input = ins;
                continue;
            }
            let port = port_of(&ifl).to_string();
            if !ins.is_empty() {
                spec.input.insert(port.clone(), ins);
            }
            if !outs.is_empty() {
                spec.output.insert(port, outs);
            }
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<FilterSpec, String> {
        let c = savin_config::Configuration::parse(text, None).map_err(|e| e.to_string())?;
        compile(&c.typed()?)
    }

    #[test]
    fn a_filter_term_stands_for_the_terms_of_that_filter_in_place() {
        let s = spec(
            "firewall { family inet {
                filter common { term icmp { from { protocol icmp; } then { count pings; discard; } }
                                term ssh { from { protocol tcp; destination-port 22; } then accept; } }
                filter edge { term first { from { protocol udp; } then { count udp; accept; } }
                              term shared { filter common; }
                              term last { then { count rest; discard; } } } } }
             interfaces { eth1 { unit 0 { family inet { address 10.0.0.1/24; filter { input edge; } } } } }",
        )
        .unwrap();
        let edge = spec_filter(&s, "edge");
        let names: Vec<&str> = edge.terms.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["first", "icmp", "ssh", "last"]);
        let actions: Vec<Action> = edge.terms.iter().map(|t| t.action).collect();
        assert_eq!(
            actions,
            [
                Action::Accept,
                Action::Discard,
                Action::Accept,
                Action::Discard
            ]
        );
        // The inlined term counts under the filter applied, which `show firewall` lists.
        let pings = edge.terms[1].count.unwrap() as usize;
        assert_eq!(s.counters[pings], ("edge".into(), "pings".into()));
        let udp = edge.terms[0].count.unwrap() as usize;
        assert_eq!(s.counters[udp], ("edge".into(), "udp".into()));
    }

    #[test]
    fn filter_references_go_one_level_deep_and_must_exist() {
        let nested = "firewall { family inet {
                filter a { term t { filter b; } }
                filter b { term t { filter c; } }
                filter c { term t { then accept; } } } }
             interfaces { eth1 { unit 0 { family inet { filter { input a; } } } } }";
        let e = spec(nested).unwrap_err();
        assert!(e.contains("one level deep"), "{e}");
        let c = savin_config::Configuration::parse(nested, None).unwrap();
        let errs = c.check().unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.to_string().contains("one level deep")),
            "{errs:?}"
        );
        let missing = "firewall { family inet { filter a { term t { filter nope; } } } }";
        let c = savin_config::Configuration::parse(missing, None).unwrap();
        let errs = c.check().unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.to_string().contains("'nope' is not defined")),
            "{errs:?}"
        );
    }

    fn spec_filter<'a>(s: &'a FilterSpec, name: &str) -> &'a Filter {
        s.filters.iter().find(|f| f.name == name).unwrap()
    }
}
