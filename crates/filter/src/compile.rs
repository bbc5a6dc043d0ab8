//! From `firewall family inet|inet6|ethernet-switching` to compiled filters: each term's
//! address, port and protocol lists become classifier rules (their cross product), so finding
//! the first term a packet matches costs a few hash probes however many terms there are; what
//! the classifier does not see (TCP flags, DSCP, length, fragments, `except` prefixes, ingress
//! interface, and for Ethernet filters the MAC addresses, Ethernet type and VLAN) is checked
//! on the term it finds. IPv4 and Ethernet filters classify on IPv4 headers (`u32`), IPv6
//! filters on IPv6 ones (`u128`): one code path, the classifier's.

use std::collections::HashMap;
use std::net::IpAddr;

use savin_classify::{Addr, Classifier, PortRange, Prefix, Rule};
use savin_config::model::firewall::{self, Fam, PrefixMatch};
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
    /// DSCP values (bit n: DSCP n); IPv6: the traffic class's DSCP.
    pub dscp: Option<u64>,
    /// IP total length ranges.
    pub length: Vec<(u16, u16)>,
    pub fragment: Option<Frag>,
    /// ICMP codes (of the types the classifier matched).
    pub icmp_code: Vec<u8>,
    /// IPv6 `payload-protocol`: the protocol past the extension headers.
    pub payload: Vec<u8>,
    /// A field's whole list (prefix, matched: false for `except`) as [`Wide`] addresses, when
    /// it has an `except`: the longest prefix holding the address decides, as on Junos.
    pub except_src: Vec<(Prefix<u128>, bool)>,
    pub except_dst: Vec<(Prefix<u128>, bool)>,
    /// `address` with an `except`: the source or the destination must be matched.
    pub except_either: Vec<(Prefix<u128>, bool)>,
    /// Ingress interfaces by name (bound to ports in the tables).
    pub interfaces: Vec<String>,
    /// Ethernet filters: source and destination MAC (value, mask) pairs, as 48-bit numbers.
    pub mac_src: Vec<(u64, u64)>,
    pub mac_dst: Vec<(u64, u64)>,
    pub ether_types: Vec<u16>,
    pub vlans: Vec<u16>,
    /// Ethernet filters with IP conditions: only IPv4 frames match.
    pub ip: bool,
}

/// An address widened to 128 bits: IPv6 as it is, IPv4 as an IPv4-mapped address, so one
/// list of `except` prefixes serves both.
pub trait Wide: Addr {
    fn wide(self) -> u128;
    fn ip(self) -> IpAddr;
    /// The family's address, or None for the other family.
    fn from_ip(a: IpAddr) -> Option<Self>;
}

impl Wide for u32 {
    #[inline]
    fn wide(self) -> u128 {
        0xffff_0000_0000 | u128::from(self)
    }
    fn ip(self) -> IpAddr {
        IpAddr::V4(self.into())
    }
    fn from_ip(a: IpAddr) -> Option<u32> {
        match a {
            IpAddr::V4(a) => Some(u32::from(a)),
            IpAddr::V6(_) => None,
        }
    }
}

impl Wide for u128 {
    #[inline]
    fn wide(self) -> u128 {
        self
    }
    fn ip(self) -> IpAddr {
        IpAddr::V6(self.into())
    }
    fn from_ip(a: IpAddr) -> Option<u128> {
        match a {
            IpAddr::V6(a) => Some(u128::from(a)),
            IpAddr::V4(_) => None,
        }
    }
}

fn wide_prefix<A: Wide>(p: Prefix<A>) -> Prefix<u128> {
    Prefix::new(p.addr.wide(), p.len + (128 - A::BITS))
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
            && self.icmp_code.is_empty()
            && self.payload.is_empty()
            && self.except_src.is_empty()
            && self.except_dst.is_empty()
            && self.except_either.is_empty()
            && self.interfaces.is_empty()
            && self.mac_src.is_empty()
            && self.mac_dst.is_empty()
            && self.ether_types.is_empty()
            && self.vlans.is_empty()
            && !self.ip
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
    /// Index into the filter set's policer instances.
    pub policer: Option<u32>,
    /// `log` or `syslog`: the packet goes into the firewall log (`show firewall log`).
    pub log: bool,
    /// `syslog`: and to `system syslog` (facility firewall).
    pub syslog: bool,
    /// The term's classifier rules: `rules[first..end]` of the filter.
    pub rules: (usize, usize),
}

/// A filter's classifier rules, of one address family.
pub struct Rules<A: Addr> {
    pub rules: Vec<Rule<A>>,
    /// The term of each rule.
    pub rule_term: Vec<u32>,
    pub classifier: Classifier<A>,
}

/// The rules by the headers they read: IPv4 (inet and ethernet-switching) or IPv6.
pub enum Body {
    V4(Rules<u32>),
    V6(Rules<u128>),
}

/// The rules of a family's address type in a [`Body`].
pub trait BodyOf: Wide {
    fn rules(b: &Body) -> Option<&Rules<Self>>;
}

impl BodyOf for u32 {
    #[inline]
    fn rules(b: &Body) -> Option<&Rules<u32>> {
        match b {
            Body::V4(r) => Some(r),
            Body::V6(_) => None,
        }
    }
}

impl BodyOf for u128 {
    #[inline]
    fn rules(b: &Body) -> Option<&Rules<u128>> {
        match b {
            Body::V6(r) => Some(r),
            Body::V4(_) => None,
        }
    }
}

pub struct Filter {
    pub name: String,
    pub fam: Fam,
    pub terms: Vec<Term>,
    pub body: Body,
}

impl Filter {
    pub fn rule_count(&self) -> usize {
        match &self.body {
            Body::V4(r) => r.rules.len(),
            Body::V6(r) => r.rules.len(),
        }
    }
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Filter({} {}, {} terms, {} rules)",
            self.fam.name(),
            self.name,
            self.terms.len(),
            self.rule_count()
        )
    }
}

/// A policer: a token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicerSpec {
    pub bits_per_second: u64,
    pub burst_bytes: u64,
}

/// Where a family's filters are applied (by configured interface name: the port for a unit
/// `NAME.0`, `irb.N` itself).
#[derive(Debug, Default)]
pub struct Applied {
    /// Interface → filters applied on input, in order.
    pub input: HashMap<String, Vec<u32>>,
    pub output: HashMap<String, Vec<u32>>,
    /// `lo0.0 family inet|inet6 filter input`: guards traffic for the box.
    pub lo0_input: Vec<u32>,
}

/// Every filter applied, the counters and policers they name, and where each family's are
/// applied.
#[derive(Debug, Default)]
pub struct FilterSpec {
    pub filters: Vec<Filter>,
    /// (filter index, counter name), indexed as terms count into them.
    pub counters: Vec<(u32, String)>,
    /// Policer instances, by the name `show firewall` gives them: one per term that uses
    /// the policer (`P-TERM`), or per filter for a `filter-specific` policer (`P-FILTER`);
    /// each has its own bucket, as on Junos.
    pub policers: Vec<(String, PolicerSpec)>,
    pub inet: Applied,
    pub inet6: Applied,
    pub ethernet: Applied,
}

impl FilterSpec {
    pub fn applied(&self, fam: Fam) -> &Applied {
        match fam {
            Fam::Inet => &self.inet,
            Fam::Inet6 => &self.inet6,
            Fam::EthernetSwitching => &self.ethernet,
        }
    }
}

/// A field's prefixes: those to match (ANY when none) and those left out (widened). A prefix
/// of the other family is an error (it would otherwise be dropped, widening the term).
/// Prefixes to match, and the whole list widened when it has an `except`.
type Field<A> = (Vec<Prefix<A>>, Vec<(Prefix<u128>, bool)>);

/// Whether the longest prefix of `list` that holds `a` is one to match (not an `except`).
pub fn longest_is_match(list: &[(Prefix<u128>, bool)], a: u128) -> bool {
    list.iter()
        .filter(|(p, _)| p.contains(a))
        .max_by_key(|(p, _)| p.len)
        .is_some_and(|(_, take)| *take)
}

fn field<A: Wide>(list: &[PrefixMatch]) -> Result<Field<A>, String> {
    let (mut take, mut all) = (Vec::new(), Vec::new());
    for m in list {
        let n = m.name.network();
        let Some(a) = A::from_ip(n.addr) else {
            return Err(format!(
                "{n}: an IPv{} prefix in a filter of IPv{} packets",
                if n.addr.is_ipv4() { 4 } else { 6 },
                if A::BITS == 32 { 4 } else { 6 },
            ));
        };
        let p = Prefix::new(a, n.len);
        all.push((wide_prefix(p), !m.except.0));
        if !m.except.0 {
            take.push(p);
        }
    }
    // Without an exception the classifier's prefixes say it all. A list of exceptions alone
    // matches no address (none has a longest match that is not excepted), as on Junos; the
    // classifier sees any address and the term's check refuses them all.
    if all.iter().all(|(_, t)| *t) {
        all.clear();
    }
    Ok((take, all))
}

fn ports(list: &[String]) -> Result<Vec<PortRange>, String> {
    list.iter()
        .map(|p| {
            savin_config::model::applications::port_range(p).map(|(lo, hi)| PortRange { lo, hi })
        })
        .collect()
}

/// An ICMP (or ICMPv6) code by number or by the name Junos gives it.
fn icmp_code(c: &str, v6: bool) -> Result<u8, String> {
    const V4: &[(&str, u8)] = &[
        // Destination unreachable.
        ("network-unreachable", 0),
        ("host-unreachable", 1),
        ("protocol-unreachable", 2),
        ("port-unreachable", 3),
        ("fragmentation-needed", 4),
        ("source-route-failed", 5),
        ("destination-network-unknown", 6),
        ("destination-host-unknown", 7),
        ("source-host-isolated", 8),
        ("destination-network-prohibited", 9),
        ("destination-host-prohibited", 10),
        ("network-unreachable-for-tos", 11),
        ("host-unreachable-for-tos", 12),
        ("communication-prohibited-by-filtering", 13),
        ("host-precedence-violation", 14),
        ("precedence-cutoff-in-effect", 15),
        // Redirect.
        ("redirect-for-network", 0),
        ("redirect-for-host", 1),
        ("redirect-for-tos-and-net", 2),
        ("redirect-for-tos-and-host", 3),
        // Time exceeded.
        ("ttl-eq-zero-during-transit", 0),
        ("ttl-eq-zero-during-reassembly", 1),
        // Parameter problem.
        ("ip-header-bad", 0),
        ("required-option-missing", 1),
    ];
    const V6: &[(&str, u8)] = &[
        ("no-route-to-destination", 0),
        ("administratively-prohibited", 1),
        ("beyond-scope-of-source-address", 2),
        ("address-unreachable", 3),
        ("port-unreachable", 4),
        ("source-address-failed-policy", 5),
        ("reject-route", 6),
        ("time-exceeded-in-transit", 0),
        ("time-exceeded-in-reassembly", 1),
        ("erroneous-header-field", 0),
        ("unrecognized-next-header", 1),
        ("unrecognized-option", 2),
    ];
    let names = if v6 { V6 } else { V4 };
    c.parse::<u8>()
        .ok()
        .or_else(|| names.iter().find(|(n, _)| *n == c).map(|(_, v)| *v))
        .ok_or_else(|| format!("invalid icmp-code '{c}': expected 0..255 or a code name"))
}

/// An ICMPv6 type by number or by the name Junos gives it.
fn icmp6_type(t: &str) -> Result<u8, String> {
    const NAMES: &[(&str, u8)] = &[
        ("destination-unreachable", 1),
        ("packet-too-big", 2),
        ("time-exceeded", 3),
        ("parameter-problem", 4),
        ("echo-request", 128),
        ("echo-reply", 129),
        ("membership-query", 130),
        ("membership-report", 131),
        ("membership-termination", 132),
        ("router-solicit", 133),
        ("router-advertisement", 134),
        ("neighbor-solicit", 135),
        ("neighbor-advertisement", 136),
        ("redirect", 137),
        ("router-renumbering", 138),
        ("node-information-request", 139),
        ("node-information-reply", 140),
        ("inverse-neighbor-discovery-solicitation", 141),
        ("inverse-neighbor-discovery-advertisement", 142),
        ("mldv2-listener-report", 143),
        ("home-agent-address-discovery-request", 144),
        ("home-agent-address-discovery-reply", 145),
        ("mobile-prefix-solicitation", 146),
        ("mobile-prefix-advertisement", 147),
        ("certificate-path-solicitation", 148),
        ("certificate-path-advertisement", 149),
        ("private-experimentation-100", 100),
        ("private-experimentation-101", 101),
        ("private-experimentation-200", 200),
        ("private-experimentation-201", 201),
    ];
    t.parse::<u8>()
        .ok()
        .or_else(|| NAMES.iter().find(|(n, _)| *n == t).map(|(_, v)| *v))
        .ok_or_else(|| format!("invalid icmp-type '{t}' (ICMPv6)"))
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
        ((1..=4).contains(&c) && (1..=3).contains(&p)).then(|| c * 8 + p * 2)
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

/// What a term needs from the filter being compiled.
struct Ctx<'a> {
    fam: Fam,
    /// The index of the filter being compiled (its counters are its own).
    filter: u32,
    /// Its name as shown (an interface-specific instance's is `F-IFL-i`).
    filter_name: &'a str,
    /// Appended to counter and policer names: `-IFL-i` (or `-o`) for an interface-specific
    /// instance.
    suffix: &'a str,
    /// The configured policers: name, limits, filter-specific.
    policer_defs: &'a [(String, PolicerSpec, bool)],
    /// Where this filter's policer instances start in the set's.
    policers_from: usize,
    /// VLAN name → ID, for Ethernet filters' `vlan`.
    vlans: &'a dyn Fn(&str) -> Option<u16>,
}

/// `00:11:22:33:44:55` or `00:11:22:00:00:00/24`: (value, mask) as 48-bit numbers.
fn mac(text: &str) -> Result<(u64, u64), String> {
    let bad = || format!("invalid MAC address '{text}': expected xx:xx:xx:xx:xx:xx[/length]");
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (
            a,
            l.parse::<u8>().ok().filter(|l| *l <= 48).ok_or_else(bad)?,
        ),
        None => (text, 48),
    };
    let bytes: Vec<u8> = addr
        .split([':', '-', '.'])
        .map(|b| u8::from_str_radix(b, 16).map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if bytes.len() != 6 {
        return Err(bad());
    }
    let value = bytes.iter().fold(0u64, |a, b| a << 8 | u64::from(*b));
    let mask = if len == 0 {
        0
    } else {
        (u64::MAX << (48 - u32::from(len))) & 0xffff_ffff_ffff
    };
    Ok((value & mask, mask))
}

fn ether_type(t: &str) -> Result<u16, String> {
    let named = match t {
        "ipv4" => Some(0x0800),
        "arp" => Some(0x0806),
        "ipv6" => Some(0x86dd),
        "vlan" => Some(0x8100),
        "mpls-unicast" => Some(0x8847),
        "mpls-multicast" => Some(0x8848),
        "ppp" => Some(0x880b),
        "pppoe-discovery" => Some(0x8863),
        "pppoe-session" => Some(0x8864),
        "lldp" => Some(0x88cc),
        "sna" => Some(0x80d5),
        "appletalk" => Some(0x809b),
        "aarp" => Some(0x80f3),
        "ipx" => Some(0x8137),
        _ => None,
    };
    named
        .or_else(|| match t.strip_prefix("0x") {
            Some(h) => u16::from_str_radix(h, 16).ok(),
            None => t.parse::<u16>().ok(),
        })
        .ok_or_else(|| {
            format!("invalid ether-type '{t}': expected ipv4, ipv6, arp, lldp, ... or a number")
        })
}

/// The policers and counters a filter instance adds to.
struct Pools<'a> {
    counters: &'a mut Vec<(u32, String)>,
    policers: &'a mut Vec<(String, PolicerSpec)>,
}

fn term<A: Wide>(
    f: &firewall::Term,
    pools: &mut Pools,
    cx: &Ctx,
    rules: &mut Vec<Rule<A>>,
) -> Result<Term, String> {
    let fr = &f.from;
    let eth = cx.fam == Fam::EthernetSwitching;
    // Ethernet filters name their IP fields with `ip-` (or as inet does).
    let joined = |a: &[PrefixMatch], b: &[PrefixMatch]| -> Vec<PrefixMatch> {
        a.iter().chain(b).cloned().collect()
    };
    let (src, except_src) = field::<A>(&joined(&fr.source_address, &fr.ip_source_address))?;
    let (dst, except_dst) =
        field::<A>(&joined(&fr.destination_address, &fr.ip_destination_address))?;
    let (either, except_either) = field::<A>(&fr.address)?;
    // inet: `protocol`; inet6: `next-header` (the first header's, as on Junos; the
    // classifier's) or `payload-protocol` (past the extension headers; checked on the term);
    // ethernet-switching: `protocol` or `ip-protocol`.
    let proto_names = fr
        .protocol
        .iter()
        .chain(&fr.next_header)
        .chain(&fr.ip_protocol);
    let mut protos: Vec<Option<u8>> = proto_names
        .map(|p| protocol(p).map(Some))
        .collect::<Result<_, _>>()?;
    let v6 = cx.fam == Fam::Inet6;
    let icmp_proto = if v6 { 58 } else { 1 };
    let icmp: Vec<u8> = fr
        .icmp_type
        .iter()
        .map(|t| if v6 { icmp6_type(t) } else { icmp_type(t) })
        .collect::<Result<_, _>>()?;
    let icmp_codes: Vec<u8> = fr
        .icmp_code
        .iter()
        .map(|c| icmp_code(c, v6))
        .collect::<Result<_, _>>()?;
    if (!icmp.is_empty() || !icmp_codes.is_empty())
        && protos.is_empty()
        && fr.payload_protocol.is_empty()
    {
        protos.push(Some(icmp_proto));
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
    let or_any_p = |v: Vec<Prefix<A>>| if v.is_empty() { vec![Prefix::ANY] } else { v };
    let (sports, dports) = (or_any(sports), or_any(dports));
    let (srcs, dsts) = (or_any_p(src), or_any_p(dst));
    let first = rules.len();
    // `address`/`port`: a rule set with it as the source and one with it as the destination.
    type Sides<A> = Vec<(Vec<Prefix<A>>, Vec<Prefix<A>>)>;
    let addr_sides: Sides<A> = if either.is_empty() {
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
        except_either,
        icmp_code: icmp_codes,
        payload: fr
            .payload_protocol
            .iter()
            .map(|p| protocol(p))
            .collect::<Result<_, _>>()?,
        interfaces: fr
            .interface
            .iter()
            .map(|i| port_of(i).to_string())
            .collect(),
        ..Extra::default()
    };
    if eth {
        extra.mac_src = fr
            .source_mac_address
            .iter()
            .map(|m| mac(&m.name))
            .collect::<Result<_, _>>()?;
        extra.mac_dst = fr
            .destination_mac_address
            .iter()
            .map(|m| mac(&m.name))
            .collect::<Result<_, _>>()?;
        extra.ether_types = fr
            .ether_type
            .iter()
            .map(|t| ether_type(t))
            .collect::<Result<_, _>>()?;
        extra.vlans = fr
            .vlan
            .iter()
            .map(|v| {
                (cx.vlans)(v)
                    .or_else(|| v.parse::<u16>().ok().filter(|n| (1..=4094).contains(n)))
                    .ok_or_else(|| format!("vlan '{v}' is neither a configured VLAN nor 1..4094"))
            })
            .collect::<Result<_, _>>()?;
        // Any IP condition: only IPv4 frames can match (the classifier reads zeros for others).
        extra.ip = !fr.source_address.is_empty()
            || !fr.destination_address.is_empty()
            || !fr.ip_source_address.is_empty()
            || !fr.ip_destination_address.is_empty()
            || !fr.address.is_empty()
            || !protos.iter().all(Option::is_none)
            || !fr.source_port.is_empty()
            || !fr.destination_port.is_empty()
            || !fr.port.is_empty()
            || !fr.dscp.is_empty()
            || !fr.packet_length.is_empty()
            || fr.tcp_flags.is_some()
            || fr.tcp_established.0
            || fr.tcp_initial.0
            || fr.is_fragment.0
            || fr.first_fragment.0
            || fr.fragment_flags.is_some();
        if extra.ip && extra.ether_types.iter().any(|t| *t != 0x0800) {
            return Err("IP conditions match IPv4 frames only: ether-type must be ipv4".into());
        }
    }
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
    if !fr.dscp.is_empty() || !fr.traffic_class.is_empty() {
        let mut bits = 0u64;
        for d in fr.dscp.iter().chain(&fr.traffic_class) {
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
        let key = (cx.filter, format!("{c}{}", cx.suffix));
        let counters = &mut *pools.counters;
        match counters.iter().position(|k| *k == key) {
            Some(i) => i as u32,
            None => {
                counters.push(key);
                (counters.len() - 1) as u32
            }
        }
    });
    let policer = match &th.policer {
        Some(p) => {
            let (_, limits, filter_specific) = cx
                .policer_defs
                .iter()
                .find(|(n, ..)| n == p)
                .ok_or_else(|| format!("policer '{p}' is not defined"))?;
            // Junos names a policer instance by the policer and its term (or its filter).
            // (An interface-specific filter's name has its interface already.)
            let shown = if *filter_specific {
                format!("{p}-{}", cx.filter_name)
            } else {
                format!("{p}-{}{}", f.name, cx.suffix)
            };
            let policers = &mut *pools.policers;
            // A filter-specific policer is one instance in its filter (found among this
            // filter's); a term's is its own, even where an inlined filter's term has the
            // name of another.
            let shared = filter_specific
                .then(|| {
                    policers[cx.policers_from..]
                        .iter()
                        .position(|(n, _)| *n == shown)
                })
                .flatten();
            Some(match shared {
                Some(i) => (cx.policers_from + i) as u32,
                None => {
                    policers.push((shown, *limits));
                    (policers.len() - 1) as u32
                }
            })
        }
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

pub use savin_config::model::interfaces::port_of;

/// The terms of filter `f`, with `filter NAME` terms standing for that filter's terms in
/// place (their counters show under `f`, the filter applied; the one referenced may be
/// applied nowhere).
fn filter_terms<A: Wide>(
    fw: &firewall::Firewall,
    f: &firewall::Filter,
    pools: &mut Pools,
    cx: &Ctx,
) -> Result<(Vec<Term>, Vec<Rule<A>>), String> {
    let mut rules = Vec::new();
    let mut terms = Vec::new();
    for t in &f.term {
        let (owner, inline) = match &t.filter {
            Some(inner) => {
                let g = fw.of(cx.fam, inner).ok_or_else(|| {
                    format!(
                        "firewall family {} filter '{inner}' is not defined",
                        cx.fam.name()
                    )
                })?;
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
                term(u, pools, cx, &mut rules)
                    .map_err(|e| format!("firewall filter {} term {}: {e}", owner.name, u.name))?,
            );
        }
    }
    Ok((terms, rules))
}

fn rules_of<A: Addr>(terms: &[Term], rules: Vec<Rule<A>>) -> Rules<A> {
    let rule_term = terms
        .iter()
        .enumerate()
        .flat_map(|(ti, t)| (t.rules.0..t.rules.1).map(move |_| ti as u32))
        .collect();
    let classifier = Classifier::new(&rules);
    Rules {
        rules,
        rule_term,
        classifier,
    }
}

/// Compiles the filters the configuration applies, of every family, and where they are
/// applied. Err: a filter that cannot be compiled (named, with the reason), which fails the
/// commit.
pub fn compile(cfg: &Config) -> Result<FilterSpec, String> {
    let fw = &cfg.firewall;
    let mut spec = FilterSpec::default();
    let mut policer_defs = Vec::new();
    for p in &fw.policer {
        let (bw, burst) = p
            .limits()
            .map_err(|e| format!("firewall policer {}: {e}", p.name))?;
        policer_defs.push((
            p.name.clone(),
            PolicerSpec {
                bits_per_second: bw,
                burst_bytes: burst,
            },
            p.filter_specific.0,
        ));
    }
    let vlans = |name: &str| {
        cfg.vlans
            .vlan
            .iter()
            .find(|v| v.name == name)
            .and_then(|v| v.vlan_id)
    };
    // A filter is compiled once and shared by the interfaces that apply it, but an
    // `interface-specific` one once per interface and direction (`F-IFL-i`, `F-IFL-o`), with
    // its own counters and policers.
    let mut index: HashMap<(Fam, String), u32> = HashMap::new();
    let mut filter_of =
        |fam: Fam, name: &str, at: (&str, char), spec: &mut FilterSpec| -> Result<u32, String> {
            let f = fw.of(fam, name).ok_or_else(|| {
                format!(
                    "firewall family {} filter '{name}' is not defined",
                    fam.name()
                )
            })?;
            let suffix = if f.interface_specific.0 {
                format!("-{}-{}", at.0, at.1)
            } else {
                String::new()
            };
            let shown = format!("{name}{suffix}");
            if let Some(i) = index.get(&(fam, shown.clone())) {
                return Ok(*i);
            }
            let cx = Ctx {
                fam,
                filter: spec.filters.len() as u32,
                filter_name: &shown,
                suffix: &suffix,
                policer_defs: &policer_defs,
                policers_from: spec.policers.len(),
                vlans: &vlans,
            };
            let mut pools = Pools {
                counters: &mut spec.counters,
                policers: &mut spec.policers,
            };
            let built = match fam {
                Fam::Inet6 => filter_terms::<u128>(fw, f, &mut pools, &cx)
                    .map(|(terms, rules)| (Body::V6(rules_of(&terms, rules)), terms)),
                Fam::Inet | Fam::EthernetSwitching => filter_terms::<u32>(fw, f, &mut pools, &cx)
                    .map(|(terms, rules)| (Body::V4(rules_of(&terms, rules)), terms)),
            };
            let (body, terms) = built?;
            spec.filters.push(Filter {
                name: shown.clone(),
                fam,
                terms,
                body,
            });
            let i = (spec.filters.len() - 1) as u32;
            index.insert((fam, shown), i);
            Ok(i)
        };
    for ifd in &cfg.interfaces.interface {
        if ifd.disable.0 {
            continue;
        }
        for u in &ifd.unit {
            for (fam, fl) in u.filters() {
                let Some(fl) = fl else { continue };
                let ifl = format!("{}.{}", ifd.name, u.name);
                let ins: Vec<u32> = fl
                    .inputs()
                    .iter()
                    .map(|n| filter_of(fam, n, (&ifl, 'i'), &mut spec))
                    .collect::<Result<_, _>>()?;
                let outs: Vec<u32> = fl
                    .outputs()
                    .iter()
                    .map(|n| filter_of(fam, n, (&ifl, 'o'), &mut spec))
                    .collect::<Result<_, _>>()?;
                let applied = match fam {
                    Fam::Inet => &mut spec.inet,
                    Fam::Inet6 => &mut spec.inet6,
                    Fam::EthernetSwitching => &mut spec.ethernet,
                };
                if ifd.name == "lo0" {
                    applied.lo0_input = ins;
                    continue;
                }
                let port = port_of(&ifl).to_string();
                if !ins.is_empty() {
                    applied.input.insert(port.clone(), ins);
                }
                if !outs.is_empty() {
                    applied.output.insert(port, outs);
                }
            }
        }
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DSCP names: the Junos ones map to their code points; anything else is refused, never a
    /// panic (`afi...` once computed its code point before the range check and overflowed:
    /// found by the config fuzzer).
    #[test]
    fn dscp_names_map_to_code_points_and_others_are_refused() {
        assert_eq!(dscp("af11"), Ok(10));
        assert_eq!(dscp("af43"), Ok(38));
        assert_eq!(dscp("ef"), Ok(46));
        assert_eq!(dscp("cs7"), Ok(56));
        assert_eq!(dscp("63"), Ok(63));
        for bad in [
            "afinactive:11",
            "af51",
            "af14",
            "af",
            "cs8",
            "64",
            "af\u{ff}1",
        ] {
            assert!(dscp(bad).is_err(), "{bad}");
        }
    }

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
        let edge_i = s.filters.iter().position(|f| f.name == "edge").unwrap() as u32;
        assert_eq!(s.counters[pings], (edge_i, "pings".into()));
        let udp = edge.terms[0].count.unwrap() as usize;
        assert_eq!(s.counters[udp], (edge_i, "udp".into()));
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

    #[test]
    fn interface_specific_filters_count_per_interface_and_policers_per_term() {
        let s = spec(
            "firewall {
                policer p { if-exceeding { bandwidth-limit 1m; burst-size-limit 10k; } then discard; }
                policer shared { filter-specific; if-exceeding { bandwidth-limit 2m; burst-size-limit 10k; } then discard; }
                family inet {
                    filter per-if { interface-specific; term t { from { protocol tcp; } then { count c; policer p; accept; } }
                                    term u { then { policer shared; accept; } } }
                    filter common { term a { from { protocol udp; } then { policer p; accept; } }
                                    term b { from { protocol tcp; } then { policer p; accept; } }
                                    term c { from { protocol icmp; } then { policer shared; accept; } }
                                    term d { then { policer shared; accept; } } } } }
             interfaces { eth1 { unit 0 { family inet { filter { input per-if; output common; } } } }
                          eth2 { unit 0 { family inet { filter { input per-if; output common; } } } } }",
        )
        .unwrap();
        let names: Vec<&str> = s.filters.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["per-if-eth1.0-i", "common", "per-if-eth2.0-i"]);
        assert_eq!(s.inet.input["eth1"], [0]);
        assert_eq!(s.inet.input["eth2"], [2]);
        assert_eq!(s.inet.output["eth1"], s.inet.output["eth2"], "shared");
        let counters: Vec<&str> = s.counters.iter().map(|(_, c)| c.as_str()).collect();
        assert_eq!(counters, ["c-eth1.0-i", "c-eth2.0-i"]);
        let policers: Vec<&str> = s.policers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            policers,
            [
                "p-t-eth1.0-i",
                "shared-per-if-eth1.0-i",
                "p-a",
                "p-b",
                "shared-common",
                "p-t-eth2.0-i",
                "shared-per-if-eth2.0-i"
            ],
            "one bucket per term, per filter when filter-specific, per interface when interface-specific"
        );
        let common = &s.filters[1];
        assert_eq!(common.terms[2].policer, common.terms[3].policer);
        assert_ne!(common.terms[0].policer, common.terms[1].policer);
        // A referenced filter's term named as one of the filter's own keeps its own bucket.
        let s = spec(
            "firewall { policer p { if-exceeding { bandwidth-limit 1m; burst-size-limit 10k; } then discard; }
                family inet { filter inner { term t { from { protocol udp; } then { policer p; accept; } } }
                              filter outer { term t { from { protocol tcp; } then { policer p; accept; } }
                                             term x { filter inner; } } } }
             interfaces { eth1 { unit 0 { family inet { filter { input outer; } } } } }",
        )
        .unwrap();
        let outer = &s.filters[0];
        assert_eq!(s.policers.len(), 2);
        assert_ne!(outer.terms[0].policer, outer.terms[1].policer);
    }

    #[test]
    fn each_family_has_its_own_filters_fields_and_refusals() {
        // One name in two families: two filters, each with its own counter.
        let s = spec(
            "firewall { family inet { filter f { term t { then { count c; accept; } } } }
                        family inet6 { filter f { term t { from { next-header icmp6; icmp-type neighbor-solicit; }
                                                         then { count c; accept; } } } } }
             interfaces { eth1 { unit 0 { family inet { filter { input f; } } family inet6 { filter { input f; output f; } } } } }",
        )
        .unwrap();
        assert_eq!(s.filters.len(), 2);
        assert_eq!(s.counters.len(), 2);
        let v6 = s.filters.iter().position(|f| f.fam == Fam::Inet6).unwrap() as u32;
        assert!(matches!(s.filters[v6 as usize].body, Body::V6(_)));
        assert_eq!(s.inet6.input["eth1"], [v6]);
        assert_eq!(s.inet6.output["eth1"], [v6]);
        let Body::V6(r) = &s.filters[v6 as usize].body else {
            unreachable!()
        };
        assert_eq!(
            (r.rules[0].proto, r.rules[0].dport.lo >> 8),
            (Some(58), 135)
        );
        // ICMP codes by their Junos names, of the family's ICMP.
        let s = spec(
            "firewall { family inet { filter f4 { term t { from { icmp-type unreachable; icmp-code port-unreachable; } } } }
                        family inet6 { filter f6 { term t { from { icmp-type destination-unreachable; icmp-code port-unreachable; } } } } }
             interfaces { eth1 { unit 0 { family inet { filter { input f4; } } family inet6 { filter { input f6; } } } } }",
        )
        .unwrap();
        let codes: Vec<Vec<u8>> = s
            .filters
            .iter()
            .map(|f| f.terms[0].extra.icmp_code.clone())
            .collect();
        assert_eq!(codes, [vec![3], vec![4]]);
        // An IPv4 prefix in an inet6 filter is a syntax error, not a term that matches all.
        let e = savin_config::Configuration::parse(
            "firewall { family inet6 { filter f { term t { from { source-address 10.0.0.0/8; } } } } }",
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
        // Ethernet filters: no reject; IP conditions with a non-IPv4 type; unknown VLANs.
        let errs = |text: &str| {
            let c = savin_config::Configuration::parse(text, None).unwrap();
            match c.check() {
                Err(e) => e
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                Ok(cfg) => compile(&cfg).unwrap_err(),
            }
        };
        let apply =
            "interfaces { eth1 { unit 0 { family ethernet-switching { filter { input e; } } } } }";
        let e = errs(&format!(
            "firewall {{ family ethernet-switching {{ filter e {{ term t {{ then reject; }} }} }} }} {apply}"
        ));
        assert!(e.contains("have no reject"), "{e}");
        let e = errs(&format!(
            "firewall {{ family ethernet-switching {{ filter e {{ term t {{ from {{ ether-type ipv6; ip-protocol udp; }} }} }} }} }} {apply}"
        ));
        assert!(e.contains("ether-type must be ipv4"), "{e}");
        let e = errs(&format!(
            "firewall {{ family ethernet-switching {{ filter e {{ term t {{ from {{ vlan nowhere; }} }} }} }} }} {apply}"
        ));
        assert!(e.contains("vlan 'nowhere'"), "{e}");
        let e = errs(&format!(
            "firewall {{ family ethernet-switching {{ filter e {{ term t {{ from {{ source-mac-address 00:11:22; }} }} }} }} }} {apply}"
        ));
        assert!(e.contains("invalid MAC address"), "{e}");
        assert_eq!(
            mac("00:11:22:00:00:00/24"),
            Ok((0x0011_2200_0000, 0xffff_ff00_0000))
        );
        // An input filter applied but not defined in its family.
        let e = errs("firewall { family inet { filter e { term t { then accept; } } } } interfaces { eth1 { unit 0 { family inet6 { filter { input e; } } } } }");
        assert!(e.contains("family inet6"), "{e}");
    }

    fn spec_filter<'a>(s: &'a FilterSpec, name: &str) -> &'a Filter {
        s.filters.iter().find(|f| f.name == name).unwrap()
    }
}
