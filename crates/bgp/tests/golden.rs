//! Golden tests: BGP sessions recorded from real peers, replayed into a speaker.
//!
//! `scripts/record-bgp-golden.sh` ran BIRD 2, FRR and GoBGP (AS 65002, 10.99.0.2) against a
//! passive listener (AS 65001, 10.99.0.1) and kept, per peer in `tests/golden/<peer>/`, every
//! message the peer sent (`session.hex`) and the peer's own account of the routes it sent,
//! raw, as the daemon printed it, once after its initial table and once more after it
//! withdrew a prefix of each family. Here a speaker configured as the listener was takes
//! those bytes on a virtual clock, and the routes it then holds must be exactly the routes
//! in the peer's account: a second opinion on the decoder and the speaker that comes from the
//! daemons themselves, not from our reading of the RFCs.
//!
//! Each account is read by the daemon's own conventions, spelled out at its reader (BIRD lists
//! routes before it prepends its AS and sets the next hop, FRR keeps communities in another
//! table, GoBGP gives an IPv6 route's IPv4 next hop unmapped): those readings are all that
//! these tests assume about the daemons.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use savin_bgp::packet::{Family, MpNextHop, Origin, PathAttrs, SegmentKind};
use savin_bgp::session::{Conn, Output, State};
use savin_bgp::speaker::{next_hop_of, Global, PeerId, RibRoute, Speaker};
use savin_config::Configuration;
use savin_policy::Policies;
use savin_rib::IpPrefix;
use serde_json::Value;

/// The listener's side of the recordings, which the speaker takes over.
const LOCAL: &str = "10.99.0.1";
/// The recorded peer.
const PEER: &str = "10.99.0.2";
const CONFIG: &str = "routing-options { autonomous-system 65001; } protocols { bgp { \
                      group golden { type external; peer-as 65002; passive; \
                      family inet { unicast; } family inet6 { unicast; } \
                      neighbor 10.99.0.2; } } }";
/// Junos' preference for BGP routes.
const BGP_PREFERENCE: u32 = 170;

/// One route: what the speaker holds for a prefix, or what the peer says it sent.
/// Communities are sets (RFC 1997, RFC 8092), kept sorted so that the order of the daemon's
/// listing does not matter.
#[derive(Clone, PartialEq, Eq)]
struct Route {
    origin: Origin,
    /// One AS_SEQUENCE, nearest AS first (no peer here sends sets or confederations).
    as_path: Vec<u32>,
    next_hop: IpAddr,
    /// The link-local address that may follow an IPv6 global next hop (RFC 2545).
    link_local: Option<Ipv6Addr>,
    med: Option<u32>,
    communities: Vec<u32>,
    large_communities: Vec<[u32; 3]>,
}

/// As the daemons print communities (`65002:100`), so that a failure reads at a glance.
impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let communities: Vec<String> = self
            .communities
            .iter()
            .map(|c| format!("{}:{}", c >> 16, c & 0xffff))
            .collect();
        let large: Vec<String> = self
            .large_communities
            .iter()
            .map(|[a, b, c]| format!("{a}:{b}:{c}"))
            .collect();
        f.debug_struct("Route")
            .field("origin", &self.origin)
            .field("as_path", &self.as_path)
            .field("next_hop", &self.next_hop)
            .field("link_local", &self.link_local)
            .field("med", &self.med)
            .field("communities", &communities)
            .field("large_communities", &large)
            .finish()
    }
}

type Table = BTreeMap<IpPrefix, Route>;

// --- the recording --------------------------------------------------------------------------

fn golden_dir(peer: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(peer)
}

fn read(dir: &Path, file: &str) -> String {
    let path = dir.join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

/// `session.hex`: the messages before the recorder's mark (the initial table) and after it
/// (the withdrawals). The header's comments come before the first message; a comment after
/// a message is the mark.
fn session(dir: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut initial, mut after) = (Vec::new(), Vec::new());
    let mut marked = false;
    for line in read(dir, "session.hex").lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            if !initial.is_empty() {
                assert!(!marked, "one mark in a recording");
                marked = true;
            }
            continue;
        }
        let m = hex(line);
        assert!(
            m.len() >= 19 && m[..16] == [0xff; 16],
            "not a BGP message: {line}"
        );
        assert_eq!(usize::from(u16::from_be_bytes([m[16], m[17]])), m.len());
        if marked { &mut after } else { &mut initial }.push(m);
    }
    assert!(marked, "the recording has no mark before its withdrawals");
    (initial, after)
}

/// The BGP messages in `bytes` (a speaker's write may hold several).
fn frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 19, "a truncated message: {bytes:02x?}");
        let len = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        assert!((19..=bytes.len()).contains(&len), "bad length {len}");
        out.push(bytes[..len].to_vec());
        bytes = &bytes[len..];
    }
    out
}

// --- the speaker ----------------------------------------------------------------------------

/// A speaker configured as the recording's listener, its one neighbour connected, and what
/// it sent and told the RIB.
struct Replay {
    sp: Speaker,
    id: PeerId,
    now: Instant,
    rib: BTreeMap<IpPrefix, RibRoute>,
    /// Every message the speaker sent to the peer.
    sent: Vec<Vec<u8>>,
}

impl Replay {
    fn new() -> Replay {
        let c = Configuration::parse(CONFIG, None)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .check()
            .unwrap_or_else(|e| panic!("{e:?}"));
        let asn = c.routing_options.autonomous_system.expect("an AS");
        let peers = c.protocols.bgp.as_ref().expect("bgp").peers(asn);
        let policies = Arc::new(Policies::compile(&c.policy_options).expect("policies"));
        let g = Global {
            router_id: LOCAL.parse().expect("router ID"),
            local_as: asn,
        };
        let now = Instant::now();
        let mut sp = Speaker::new(g.clone(), Default::default(), now);
        sp.configure(g, peers, policies, &c.policy_options, now);
        let peer: IpAddr = PEER.parse().expect("address");
        // The peer connects (the speaker is passive, as the listener was).
        let id = sp.accept(peer, now).expect("the peer is a neighbour");
        sp.connected(id, Conn::Incoming, LOCAL.parse().expect("address"), now);
        let mut r = Replay {
            sp,
            id,
            now,
            rib: BTreeMap::new(),
            sent: Vec::new(),
        };
        r.flush();
        assert_eq!(
            r.sent.first().map(|m| m[18]),
            Some(1),
            "the speaker opens with an OPEN"
        );
        r
    }

    /// Bytes from the peer, 10 ms after the last ones (well inside every timer).
    fn feed(&mut self, bytes: &[u8]) {
        self.now += Duration::from_millis(10);
        self.sp.received(self.id, Conn::Incoming, bytes, self.now);
        self.sp.poll(self.now);
        self.flush();
    }

    /// Does what the daemon's adapter does after each event: the speaker's writes go to the
    /// peer (kept here), its route changes to the RIB.
    fn flush(&mut self) {
        loop {
            self.sp.pump(self.now);
            if self.sp.take_rib_written() {
                self.rib = self
                    .sp
                    .rib_view()
                    .into_values()
                    .filter_map(|c| Some((c.prefix, c.route?)))
                    .collect();
            }
            let Some(io) = self.sp.poll_io() else {
                break;
            };
            assert_eq!(io.peer, self.id);
            match io.output {
                Output::Send(Conn::Incoming, bytes) => self.sent.extend(frames(&bytes)),
                o => panic!(
                    "the speaker did not just answer: {o:?}; it sent {:02x?}",
                    self.sent
                ),
            }
        }
    }

    /// The session is up with both families, the peer's initial table is over, and nothing
    /// the speaker sent was a NOTIFICATION.
    fn assert_up(&self) {
        let n = self.sp.neighbor(self.id).expect("the neighbour");
        assert_eq!(n.session.state(), State::Established);
        let neg = n.session.negotiated().expect("negotiated");
        assert_eq!(neg.families, [Family::Ipv4Unicast, Family::Ipv6Unicast]);
        assert_eq!(neg.peer_id, PEER.parse::<Ipv4Addr>().expect("router ID"));
        assert_eq!(neg.peer_as, 65002);
        // Ours; every peer here offered as much or more.
        assert_eq!(neg.hold_time, 90);
        // The speaker answered the peer's OPEN with a KEEPALIVE.
        assert_eq!(
            self.sent.get(1).map(|m| m[18]),
            Some(4),
            "{:02x?}",
            self.sent
        );
        let mut eor = n.end_of_rib.clone();
        eor.sort_by_key(|f| *f == Family::Ipv6Unicast);
        assert_eq!(
            eor,
            [Family::Ipv4Unicast, Family::Ipv6Unicast],
            "End-of-RIB"
        );
        assert_eq!(n.session.stats.flaps, 0);
        for m in &self.sent {
            assert_ne!(m[18], 3, "the speaker sent a NOTIFICATION: {m:02x?}");
        }
    }

    /// The paths the speaker holds, one per prefix (there is one neighbour), each accepted
    /// and best, as [`Route`]s.
    fn routes(&self) -> Table {
        let mut t = Table::new();
        self.sp
            .for_each_path(|p, peer, received, accepted, preference, best| {
                assert_eq!(peer, self.id);
                let a = accepted.unwrap_or_else(|| panic!("{p} was not accepted"));
                // No import policy: what was accepted is what was received.
                assert_eq!(a, received, "{p}");
                assert!(best, "{p} is the only path, so the best");
                assert_eq!(preference, BGP_PREFERENCE);
                let dup = t.insert(p, route_of(p, a));
                assert!(dup.is_none(), "two paths for {p}");
            });
        t
    }

    /// The RIB got one route per prefix the speaker holds: the path's next hop and MED.
    fn assert_rib(&self, t: &Table) {
        let want: BTreeMap<IpPrefix, RibRoute> = t
            .iter()
            .map(|(p, r)| {
                let rr = RibRoute {
                    preference: BGP_PREFERENCE,
                    metric: r.med.unwrap_or(0),
                    next_hops: vec![r.next_hop],
                };
                (*p, rr)
            })
            .collect();
        assert_eq!(self.rib, want);
    }

    fn updates_in(&self) -> u64 {
        let n = self.sp.neighbor(self.id).expect("the neighbour");
        n.session.stats.updates_in
    }
}

/// A held path as a [`Route`]. The attributes no account lists (LOCAL_PREF, AGGREGATOR, ...)
/// must be absent: the speaker holds nothing the peer did not say it sent.
fn route_of(p: IpPrefix, a: &PathAttrs) -> Route {
    assert!(
        a.local_pref.is_none(),
        "{p}: LOCAL_PREF from an external peer"
    );
    assert!(!a.atomic_aggregate && a.aggregator.is_none(), "{p}: {a:?}");
    assert!(
        a.originator_id.is_none() && a.cluster_list.is_empty(),
        "{p}: {a:?}"
    );
    assert!(a.unknown.is_empty(), "{p}: {:?}", a.unknown);
    assert!(
        a.as_path.iter().all(|s| s.kind == SegmentKind::Sequence),
        "{p}: {:?}",
        a.as_path
    );
    let link_local = match a.mp_next_hop {
        Some(MpNextHop::V6 { link_local, .. }) => link_local,
        _ => None,
    };
    let mut communities = a.communities.clone();
    communities.sort_unstable();
    let mut large_communities = a.large_communities.clone();
    large_communities.sort_unstable();
    Route {
        origin: a.origin,
        as_path: a.as_path_flat(),
        next_hop: next_hop_of(a).unwrap_or_else(|| panic!("{p}: no next hop")),
        link_local,
        med: a.med,
        communities,
        large_communities,
    }
}

// --- the peers' accounts --------------------------------------------------------------------

fn prefix(s: &str) -> IpPrefix {
    let (a, l) = s
        .split_once('/')
        .unwrap_or_else(|| panic!("not a prefix: {s}"));
    let ip: IpAddr = a.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
    let p = IpPrefix::new(ip, l.parse().unwrap_or_else(|e| panic!("{s}: {e}")));
    assert_eq!(p.ip(), ip, "{s} has host bits");
    p
}

fn num(s: &str) -> u32 {
    s.trim()
        .parse()
        .unwrap_or_else(|e| panic!("not a number: {s:?}: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("not an address: {s:?}: {e}"))
}

fn community(a: u32, b: u32) -> u32 {
    assert!(a <= 0xffff && b <= 0xffff, "community {a}:{b}");
    (a << 16) | b
}

/// `65002:100` (FRR).
fn community_text(s: &str) -> u32 {
    let (a, b) = s.split_once(':').unwrap_or_else(|| panic!("community {s}"));
    community(num(a), num(b))
}

/// `65002:1:1` (FRR).
fn large_text(s: &str) -> [u32; 3] {
    let v: Vec<u32> = s.split(':').map(num).collect();
    v.try_into()
        .unwrap_or_else(|v| panic!("large community {s}: {v:?}"))
}

fn finish(mut r: Route) -> Route {
    r.communities.sort_unstable();
    r.large_communities.sort_unstable();
    r
}

/// BIRD 2: `show route export listener all` lists the routes the BGP channel exports, with
/// the attributes the export filter gave them and before BGP's own changes on the way to an
/// external peer, which `show protocols all listener` gives: the local AS goes first in the
/// path, the next hop is the channel's "BGP Next hop" (global, then link-local). A route
/// that never had an ORIGIN leaves with IGP, BIRD's value for routes it originates.
fn bird_account(dir: &Path, phase: &str) -> Table {
    let protocols = read(dir, &format!("show-protocols.{phase}.txt"));
    let mut local_as = None;
    let mut channel = "";
    let mut hops: BTreeMap<&str, Vec<IpAddr>> = BTreeMap::new();
    for line in protocols.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Local AS:") {
            local_as = Some(num(v));
        } else if let Some(v) = line.strip_prefix("Channel ") {
            channel = v;
        } else if let Some(v) = line.strip_prefix("BGP Next hop:") {
            hops.insert(channel, v.split_whitespace().map(ip).collect());
        }
    }
    let local_as = local_as.expect("Local AS");
    assert!(protocols.contains("Established"), "{protocols}");

    let export = read(dir, &format!("show-route-export.{phase}.txt"));
    let mut t = Table::new();
    let mut current: Option<(IpPrefix, Route)> = None;
    let mut table = "";
    for line in export.lines() {
        if line.starts_with("BIRD ") || line.trim().is_empty() {
            continue;
        }
        if let Some(v) = line.strip_prefix("Table ") {
            table = v.trim_end_matches(':');
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            // `203.0.113.0/24       unreachable [s4 19:04:33.114] * (200)`: a route.
            if let Some((p, r)) = current.take() {
                assert!(t.insert(p, finish(r)).is_none(), "{p} twice");
            }
            let p = prefix(line.split_whitespace().next().unwrap_or_default());
            let h = &hops[match (table, p) {
                ("master4", IpPrefix::V4(_)) => "ipv4",
                ("master6", IpPrefix::V6(_)) => "ipv6",
                _ => panic!("{p} in table {table}"),
            }];
            let link_local = match h.get(1) {
                Some(IpAddr::V6(a)) => Some(*a),
                None => None,
                Some(a) => panic!("link-local next hop {a}"),
            };
            current = Some((
                p,
                Route {
                    origin: Origin::Igp,
                    as_path: vec![local_as],
                    next_hop: h[0],
                    link_local,
                    med: None,
                    communities: Vec::new(),
                    large_communities: Vec::new(),
                },
            ));
            continue;
        }
        let (p, r) = current.as_mut().expect("an attribute before any route");
        let line = line.trim();
        let Some((name, value)) = line.split_once(": ") else {
            panic!("{p}: {line}");
        };
        // `(65002,200) (65002,201)`, `(65002, 1, 1) (65002, 2, 3)`.
        let tuples = || -> Vec<Vec<u32>> {
            value
                .split(')')
                .filter(|t| !t.trim().is_empty())
                .map(|t| {
                    t.trim()
                        .trim_start_matches('(')
                        .split(',')
                        .map(num)
                        .collect()
                })
                .collect()
        };
        match name {
            "Type" => {}
            "BGP.origin" => {
                r.origin = match value {
                    "IGP" => Origin::Igp,
                    "EGP" => Origin::Egp,
                    "Incomplete" => Origin::Incomplete,
                    o => panic!("{p}: origin {o}"),
                }
            }
            "BGP.as_path" => r.as_path.extend(value.split_whitespace().map(num)),
            "BGP.med" => r.med = Some(num(value)),
            "BGP.community" => {
                r.communities = tuples()
                    .into_iter()
                    .map(|c| match c[..] {
                        [a, b] => community(a, b),
                        _ => panic!("{p}: community {c:?}"),
                    })
                    .collect()
            }
            "BGP.large_community" => {
                r.large_communities = tuples()
                    .into_iter()
                    .map(|c| c.try_into().unwrap_or_else(|c| panic!("{p}: {c:?}")))
                    .collect()
            }
            // Anything else would be an attribute this reading would miss.
            _ => panic!("{p}: attribute not understood: {line}"),
        }
    }
    if let Some((p, r)) = current.take() {
        assert!(t.insert(p, finish(r)).is_none(), "{p} twice");
    }
    t
}

fn json(dir: &Path, file: &str) -> Value {
    serde_json::from_str(&read(dir, file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn u32_of(v: &Value) -> u32 {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or_else(|| panic!("not a u32: {v}"))
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// FRR: `show bgp <afi> unicast neighbors 10.99.0.1 advertised-routes json` lists what went
/// to the listener (MED, ORIGIN, the path before FRR prepends its AS for an external peer);
/// the communities are in the table (`show bgp <afi> unicast json detail`, the best path);
/// `show bgp neighbors 10.99.0.1 json` gives the local AS and the next hops FRR uses towards
/// the neighbour ("nexthop"; "nexthopGlobal" and "nexthopLocal" for IPv6, "::" for none).
fn frr_account(dir: &Path, phase: &str) -> Table {
    let neighbor = json(dir, &format!("neighbor.{phase}.json"));
    let n = &neighbor["10.99.0.1"];
    assert_eq!(str_of(&n["bgpState"]), "Established");
    let local_as = u32_of(&n["localAs"]);
    let mut t = Table::new();
    for af in ["ipv4", "ipv6"] {
        let adv = json(dir, &format!("advertised-routes.{af}.{phase}.json"));
        let table = json(dir, &format!("table.{af}.{phase}.json"));
        let routes = adv["advertisedRoutes"]
            .as_object()
            .unwrap_or_else(|| panic!("{af}: no advertisedRoutes"));
        for (key, a) in routes {
            let p = prefix(key);
            let (next_hop, link_local) = match af {
                "ipv4" => (ip(str_of(&n["nexthop"])), None),
                _ => {
                    let ll: Ipv6Addr = str_of(&n["nexthopLocal"]).parse().expect("address");
                    let global = ip(str_of(&n["nexthopGlobal"]));
                    (global, (!ll.is_unspecified()).then_some(ll))
                }
            };
            let mut as_path = vec![local_as];
            as_path.extend(str_of(&a["path"]).split_whitespace().map(num));
            let origin = match str_of(&a["bgpOriginCode"]) {
                "i" => Origin::Igp,
                "e" => Origin::Egp,
                "?" => Origin::Incomplete,
                o => panic!("{p}: origin {o}"),
            };
            // The table: `"prefix": [{header}, {path}, ...]`; the advertised path is the best.
            let paths = table["routes"][key]
                .as_array()
                .unwrap_or_else(|| panic!("{p} not in the table"));
            let best: Vec<&Value> = paths
                .iter()
                .filter(|x| x["bestpath"]["overall"] == Value::Bool(true))
                .collect();
            let [best] = best[..] else {
                panic!("{p}: {} best paths", best.len());
            };
            let list = |v: &Value| -> Vec<String> {
                v["list"]
                    .as_array()
                    .map(|l| l.iter().map(|x| str_of(x).to_string()).collect())
                    .unwrap_or_default()
            };
            let r = Route {
                origin,
                as_path,
                next_hop,
                link_local,
                med: a.get("metric").map(u32_of),
                communities: list(&best["community"])
                    .iter()
                    .map(|c| community_text(c))
                    .collect(),
                large_communities: list(&best["largeCommunity"])
                    .iter()
                    .map(|c| large_text(c))
                    .collect(),
            };
            assert!(t.insert(p, finish(r)).is_none(), "{p} twice");
        }
    }
    t
}

/// GoBGP: `gobgp neighbor 10.99.0.1 adj-out -a <afi> -j` gives each route as sent, its AS
/// prepended and next hop set, attribute by attribute (type codes of RFC 4271 and after). An
/// IPv6 route with an IPv4 next hop (the session is IPv4) goes out with that address
/// IPv4-mapped in MP_REACH_NLRI.
fn gobgp_account(dir: &Path, phase: &str) -> Table {
    let mut t = Table::new();
    for af in ["ipv4", "ipv6"] {
        let out = json(dir, &format!("adj-out.{af}.{phase}.json"));
        let routes = out
            .as_object()
            .unwrap_or_else(|| panic!("{af}: not an object"));
        for (key, paths) in routes {
            let p = prefix(key);
            let paths = paths.as_array().expect("paths");
            let [path] = &paths[..] else {
                panic!("{p}: {} paths", paths.len());
            };
            assert_eq!(str_of(&path["nlri"]["prefix"]), key);
            let mut r = Route {
                origin: Origin::Igp,
                as_path: Vec::new(),
                next_hop: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                link_local: None,
                med: None,
                communities: Vec::new(),
                large_communities: Vec::new(),
            };
            let mut seen = Vec::new();
            for a in path["attrs"].as_array().expect("attrs") {
                let code = u32_of(&a["type"]);
                assert!(!seen.contains(&code), "{p}: attribute {code} twice");
                seen.push(code);
                match code {
                    1 => {
                        r.origin = match u32_of(&a["value"]) {
                            0 => Origin::Igp,
                            1 => Origin::Egp,
                            2 => Origin::Incomplete,
                            o => panic!("{p}: origin {o}"),
                        }
                    }
                    2 => {
                        for s in a["as_paths"].as_array().expect("segments") {
                            assert_eq!(u32_of(&s["segment_type"]), 2, "{p}: not a sequence");
                            r.as_path
                                .extend(s["asns"].as_array().expect("asns").iter().map(u32_of));
                        }
                    }
                    3 | 14 => {
                        let nh = ip(str_of(&a["nexthop"]));
                        r.next_hop = match (p, nh) {
                            (IpPrefix::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
                            _ => nh,
                        };
                    }
                    4 => r.med = Some(u32_of(&a["metric"])),
                    8 => {
                        r.communities = a["communities"]
                            .as_array()
                            .expect("communities")
                            .iter()
                            .map(u32_of)
                            .collect()
                    }
                    32 => {
                        r.large_communities = a["value"]
                            .as_array()
                            .expect("large communities")
                            .iter()
                            .map(|l| {
                                [
                                    u32_of(&l["ASN"]),
                                    u32_of(&l["LocalData1"]),
                                    u32_of(&l["LocalData2"]),
                                ]
                            })
                            .collect()
                    }
                    _ => panic!("{p}: attribute not understood: {a}"),
                }
            }
            for code in [1, 2] {
                assert!(seen.contains(&code), "{p}: no attribute {code}");
            }
            assert!(!r.next_hop.is_unspecified(), "{p}: no next hop");
            assert!(t.insert(p, finish(r)).is_none(), "{p} twice");
        }
    }
    t
}

// --- the tests ------------------------------------------------------------------------------

/// Where two tables differ, one prefix a line (an `assert_eq!` of whole tables buries it).
fn assert_same(peer: &str, phase: &str, got: &Table, want: &Table) {
    let prefixes: BTreeSet<&IpPrefix> = got.keys().chain(want.keys()).collect();
    let mut diff = Vec::new();
    for p in prefixes {
        match (got.get(p), want.get(p)) {
            (Some(g), Some(w)) if g == w => {}
            (g, w) => diff.push(format!("{p}:\n  speaker: {g:?}\n  {peer}: {w:?}")),
        }
    }
    assert!(
        diff.is_empty(),
        "{peer}, {phase}: the speaker's routes differ from the peer's account:\n{}",
        diff.join("\n")
    );
}

fn families(t: &Table) -> (usize, usize) {
    let v4 = t.keys().filter(|p| matches!(p, IpPrefix::V4(_))).count();
    (v4, t.len() - v4)
}

/// Replays `peer`'s recording and compares the speaker's routes with `account`'s reading of
/// what the peer says it sent, after the initial table and after the withdrawals.
fn golden(peer: &str, account: fn(&Path, &str) -> Table) {
    let dir = golden_dir(peer);
    let (initial, after) = session(&dir);
    let mut r = Replay::new();
    for m in &initial {
        r.feed(m);
    }
    r.assert_up();
    let want = account(&dir, "initial");
    let (v4, v6) = families(&want);
    assert!(
        v4 > 0 && v6 > 0,
        "{peer}: the account lists {v4} + {v6} routes"
    );
    let got = r.routes();
    assert_same(peer, "initial", &got, &want);
    assert_eq!(got.len(), want.len(), "{peer}: routes held and listed");
    r.assert_rib(&got);

    assert!(!after.is_empty(), "{peer}: nothing recorded after the mark");
    for m in &after {
        r.feed(m);
    }
    r.assert_up();
    let want_final = account(&dir, "final");
    let withdrawn: Vec<IpPrefix> = want
        .keys()
        .filter(|p| !want_final.contains_key(p))
        .copied()
        .collect();
    assert!(
        !withdrawn.is_empty(),
        "{peer}: the account shows no withdrawal"
    );
    let got = r.routes();
    assert_same(peer, "final", &got, &want_final);
    assert_eq!(
        got.len(),
        want_final.len(),
        "{peer}: routes held and listed"
    );
    r.assert_rib(&got);
    for p in &withdrawn {
        assert!(!got.contains_key(p) && !r.rib.contains_key(p), "{p} stayed");
    }
    // Every UPDATE recorded reached the speaker as one.
    let updates = initial.iter().chain(&after).filter(|m| m[18] == 2).count();
    assert_eq!(r.updates_in(), updates as u64, "{peer}: UPDATEs counted");

    // TCP does not keep message boundaries: the same bytes cut anywhere give the same routes.
    let stream: Vec<u8> = initial.iter().chain(&after).flatten().copied().collect();
    let mut cut = Replay::new();
    for piece in stream.chunks(7) {
        cut.feed(piece);
    }
    cut.assert_up();
    assert_same(peer, "in 7-byte pieces", &cut.routes(), &got);
}

#[test]
fn bird() {
    golden("bird", bird_account);
}

#[test]
fn frr() {
    golden("frr", frr_account);
}

#[test]
fn gobgp() {
    golden("gobgp", gobgp_account);
}
