//! BGP as the management plane sees it: the subsystem that takes `protocols bgp` at commit,
//! and the operational commands (`show bgp summary`, `show bgp neighbor`, `clear bgp
//! neighbor`), whose replies are typed state rendered as Junos' text and JSON
//! (`bgp-information`).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use savin_config::model::Config;
use savin_config::subsystem::{
    Changes, Message, OpCommand, Operational, PrepareError, Staged, State as OpState, Subsystem,
};
use savin_policy::Policies;
use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;

use crate::packet::Family;
use crate::session::State;
use crate::speaker::{Global, Speaker};
use crate::tasks::{self, Cmd, RibPort};

/// A BGP route's notes for `show route detail`: text lines, and JSON members.
pub type Notes = (Vec<String>, Vec<(String, Value)>);

/// The BGP subsystem.
pub struct Bgp {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    rib: Arc<dyn RibPort>,
    /// The BGP thread, started by the first commit that configures BGP.
    tx: Option<UnboundedSender<Cmd>>,
    port: u16,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Bgp {
    /// BGP with its routes going to `rib`.
    pub fn new(rib: Arc<dyn RibPort>) -> Bgp {
        Bgp::on_port(rib, tasks::PORT)
    }

    /// Listening on `port` instead of 179 (tests that cannot bind 179).
    pub fn on_port(rib: Arc<dyn RibPort>, port: u16) -> Bgp {
        Bgp {
            inner: Arc::new(Mutex::new(Inner {
                rib,
                tx: None,
                port,
            })),
        }
    }

    /// What `show route detail` says about BGP's routes to a prefix, one entry per RIB
    /// candidate (asked of the BGP thread; nothing if it does not answer within 2 s).
    pub fn notes(&self) -> Box<dyn Fn(savin_rib::IpPrefix) -> Vec<Notes> + Send + Sync> {
        let inner = self.inner.clone();
        Box::new(move |p| {
            let tx = lock(&inner).tx.clone();
            let Some(tx) = tx else {
                return Vec::new();
            };
            let (rtx, rrx) = std::sync::mpsc::channel();
            let sent = tx.send(Cmd::Query(Box::new(move |s, _| {
                let _ = rtx.send(s.notes(p));
            })));
            if sent.is_err() {
                return Vec::new();
            }
            rrx.recv_timeout(Duration::from_secs(2)).unwrap_or_default()
        })
    }

    pub fn operational(&self) -> Arc<dyn Operational> {
        Arc::new(Ops {
            inner: self.inner.clone(),
        })
    }
}

/// The router ID: `routing-options router-id`, else lo0's IPv4 address, else the lowest
/// IPv4 interface address (as Junos picks it).
pub fn router_id(cfg: &Config) -> Option<Ipv4Addr> {
    if let Some(id) = cfg.routing_options.router_id {
        return Some(id);
    }
    let v4 = |i: &savin_config::model::interfaces::Interface| -> Vec<Ipv4Addr> {
        i.unit
            .iter()
            .filter_map(|u| u.family.inet.as_ref())
            .flat_map(|f| f.address.iter())
            .filter_map(|a| match a.name.addr {
                IpAddr::V4(v) => Some(v),
                IpAddr::V6(_) => None,
            })
            .collect()
    };
    let ifs = &cfg.interfaces.interface;
    if let Some(lo) = ifs.iter().find(|i| i.name == "lo0") {
        if let Some(a) = v4(lo).into_iter().min() {
            return Some(a);
        }
    }
    ifs.iter().flat_map(v4).min()
}

struct StagedBgp {
    inner: Arc<Mutex<Inner>>,
    global: Global,
    peers: Vec<savin_config::model::protocols::Peer>,
    policies: Arc<Policies>,
    policy_options: Box<savin_config::model::policy_options::PolicyOptions>,
}

impl Staged for StagedBgp {
    fn apply(self: Box<Self>) -> Result<(), String> {
        let mut inner = lock(&self.inner);
        if inner.tx.is_none() {
            if self.peers.is_empty() {
                return Ok(());
            }
            let rib = inner.rib.clone();
            let port = inner.port;
            inner.tx = Some(tasks::spawn(rib, port));
        }
        if let Some(tx) = &inner.tx {
            tx.send(Cmd::Configure {
                global: self.global,
                peers: self.peers,
                policies: self.policies,
                policy_options: self.policy_options,
            })
            .map_err(|_| "the BGP thread has stopped".to_string())?;
        }
        Ok(())
    }
}

impl Subsystem for Bgp {
    fn name(&self) -> &'static str {
        "bgp"
    }

    fn hierarchies(&self) -> &'static [&'static str] {
        &[
            "protocols",
            "routing-options",
            "policy-options",
            "interfaces",
        ]
    }

    fn prepare(
        &mut self,
        _old: &Config,
        new: &Config,
        _changed: &Changes,
    ) -> Result<Box<dyn Staged>, PrepareError> {
        let (peers, global) = match &new.protocols.bgp {
            Some(bgp) => {
                let asn = new.routing_options.autonomous_system.unwrap_or(0);
                let peers = bgp.peers(asn);
                let id = router_id(new);
                if id.is_none() && !peers.is_empty() {
                    return Err(PrepareError::at(
                        "protocols bgp",
                        "BGP needs a router ID: set routing-options router-id (or an IPv4 address on lo0)",
                    ));
                }
                (
                    peers,
                    Global {
                        router_id: id.unwrap_or(Ipv4Addr::UNSPECIFIED),
                        local_as: asn,
                    },
                )
            }
            None => (
                Vec::new(),
                Global {
                    router_id: Ipv4Addr::UNSPECIFIED,
                    local_as: 0,
                },
            ),
        };
        let policies = Policies::compile(&new.policy_options)
            .map_err(|e| PrepareError::at("policy-options", e.to_string()))?;
        Ok(Box::new(StagedBgp {
            inner: self.inner.clone(),
            global,
            peers,
            policies: Arc::new(policies),
            policy_options: Box::new(new.policy_options.clone()),
        }))
    }
}

struct Ops {
    inner: Arc<Mutex<Inner>>,
}

const COMMANDS: &[OpCommand] = &[
    (&["show", "bgp"], "Show BGP information"),
    (&["show", "bgp", "summary"], "Show BGP peer summary"),
    (
        &["show", "bgp", "neighbor"],
        "Show BGP neighbor information",
    ),
    (
        &["show", "route", "receive-protocol"],
        "Show routes received from a BGP neighbor",
    ),
    (
        &["show", "route", "advertising-protocol"],
        "Show routes advertised to a BGP neighbor",
    ),
    (&["clear", "bgp"], "Clear BGP information"),
    (&["clear", "bgp", "neighbor"], "Reset BGP sessions"),
];

impl Ops {
    /// Runs `f` on the BGP thread and waits (5 s at most) for its answer.
    fn query<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Speaker, Instant) -> R + Send + 'static,
    ) -> Result<R, String> {
        let tx = lock(&self.inner).tx.clone();
        let Some(tx) = tx else {
            return Err("BGP is not running".into());
        };
        let (rtx, rrx) = std::sync::mpsc::channel();
        tx.send(Cmd::Query(Box::new(move |s, now| {
            let _ = rtx.send(f(s, now));
        })))
        .map_err(|_| "BGP is not running".to_string())?;
        rrx.recv_timeout(Duration::from_secs(5))
            .map_err(|_| "BGP did not answer".to_string())
    }
}

impl Operational for Ops {
    fn commands(&self) -> &'static [OpCommand] {
        COMMANDS
    }

    fn run(&self, command: &[&str], args: &[String]) -> Result<Box<dyn OpState>, String> {
        match command {
            ["show", "bgp", "summary"] => {
                let s = self.query(|sp, now| summary(sp, now))?;
                Ok(Box::new(s))
            }
            ["show", "bgp", "neighbor"] => {
                let want: Option<IpAddr> = match args.first() {
                    Some(a) => Some(a.parse().map_err(|_| format!("invalid address '{a}'"))?),
                    None => None,
                };
                let s = self.query(move |sp, now| neighbors(sp, now, want))?;
                if want.is_some() && s.0.is_empty() {
                    return Err(format!(
                        "error: peer {} not found",
                        want.map(|a| a.to_string()).unwrap_or_default()
                    ));
                }
                Ok(Box::new(s))
            }
            ["show", "route", "receive-protocol"] | ["show", "route", "advertising-protocol"] => {
                let received = command[2] == "receive-protocol";
                let mut it = args.iter();
                if it.next().map(String::as_str) != Some("bgp") {
                    return Err("syntax error: expected 'bgp'".into());
                }
                let addr: IpAddr = it
                    .next()
                    .ok_or("syntax error: expected a neighbor address")?
                    .parse()
                    .map_err(|_| "syntax error: expected a neighbor address".to_string())?;
                let hidden = it.any(|a| a == "hidden");
                let t = self.query(move |sp, _| exchanged(sp, addr, received, hidden))?;
                t.ok_or_else(|| format!("error: peer {addr} not found"))
                    .map(|t| Box::new(t) as Box<dyn OpState>)
            }
            ["clear", "bgp", "neighbor"] => {
                let mut addr: Option<IpAddr> = None;
                let (mut soft, mut inbound) = (false, false);
                for a in args {
                    match a.as_str() {
                        "soft" => soft = true,
                        "soft-inbound" => inbound = true,
                        other => {
                            addr = Some(
                                other
                                    .parse()
                                    .map_err(|_| format!("invalid argument '{other}'"))?,
                            )
                        }
                    }
                }
                let n = self.query(move |sp, now| {
                    let ids: Vec<_> = sp
                        .neighbors()
                        .filter(|(_, n)| addr.is_none_or(|a| n.cfg.address == a))
                        .map(|(i, _)| i)
                        .collect();
                    for id in &ids {
                        if soft || inbound {
                            sp.clear_soft(*id, inbound, now);
                        } else {
                            sp.clear(*id, now);
                        }
                    }
                    ids.len()
                })?;
                if n == 0 {
                    return Err(match addr {
                        Some(a) => format!("error: peer {a} not found"),
                        None => "error: no BGP neighbors".into(),
                    });
                }
                Ok(Box::new(Message(String::new())))
            }
            _ => Err("unknown command".into()),
        }
    }
}

/// Junos' elapsed time: `1:02` (minutes:seconds), `1:02:03`, `3d 4:05:06`, `2w1d 3:04:05`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    let (w, d_, h, m, sec) = (
        s / 604_800,
        (s / 86_400) % 7,
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
    );
    if s >= 604_800 {
        format!("{w}w{d_}d {h}:{m:02}:{sec:02}")
    } else if s >= 86_400 {
        format!("{d_}d {h}:{m:02}:{sec:02}")
    } else if s >= 3600 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

/// The state `show bgp summary` shows (`Establ` for Established, as Junos abbreviates).
fn short_state(s: State) -> &'static str {
    match s {
        State::Established => "Establ",
        s => s.name(),
    }
}

fn table_name(f: Family) -> &'static str {
    match f {
        Family::Ipv4Unicast => "inet.0",
        Family::Ipv6Unicast => "inet6.0",
    }
}

/// One neighbour's line (and its tables) in `show bgp summary`.
#[derive(Debug, Clone)]
struct PeerRow {
    address: IpAddr,
    peer_as: u32,
    input: u64,
    output: u64,
    flaps: u32,
    elapsed: Duration,
    state: State,
    /// (table, active, received, accepted) for each negotiated family.
    tables: Vec<(&'static str, u64, u64, u64)>,
    group: String,
}

/// `show bgp summary`.
#[derive(Debug, Clone)]
pub struct Summary {
    groups: usize,
    peers: Vec<PeerRow>,
    /// (table, paths, active paths).
    tables: Vec<(&'static str, u64, u64)>,
}

fn summary(sp: &Speaker, now: Instant) -> Summary {
    let mut peers = Vec::new();
    let mut groups: Vec<String> = Vec::new();
    let mut active = [0u64; 2];
    let mut paths = [0u64; 2];
    // One walk of the table (a full table from ten neighbours is ten million paths).
    let mut per_peer_active: std::collections::HashMap<u32, [u64; 2]> = Default::default();
    sp.for_each_path(|p, peer, _, acc, _, best| {
        let i = usize::from(matches!(p, savin_rib::IpPrefix::V6(_)));
        paths[i] += 1;
        if best && acc.is_some() {
            active[i] += 1;
            per_peer_active.entry(peer).or_default()[i] += 1;
        }
    });
    for (id, n) in sp.neighbors() {
        if !groups.contains(&n.cfg.group) {
            groups.push(n.cfg.group.clone());
        }
        let st = &n.session.stats;
        let fams = n
            .session
            .negotiated()
            .map(|g| g.families.clone())
            .unwrap_or_default();
        let act = per_peer_active.get(&id).copied().unwrap_or_default();
        peers.push(PeerRow {
            address: n.cfg.address,
            peer_as: n.cfg.peer_as,
            input: st.messages_in,
            output: st.messages_out,
            flaps: st.flaps,
            elapsed: st
                .since
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(t)),
            state: n.session.state(),
            tables: fams
                .iter()
                .map(|f| {
                    let i = usize::from(*f == Family::Ipv6Unicast);
                    (table_name(*f), act[i], n.received[i], n.accepted[i])
                })
                .collect(),
            group: n.cfg.group.clone(),
        });
    }
    peers.sort_by_key(|p| p.address);
    let mut tables = vec![("inet.0", paths[0], active[0])];
    if paths[1] > 0
        || peers
            .iter()
            .any(|p| p.tables.iter().any(|t| t.0 == "inet6.0"))
    {
        tables.push(("inet6.0", paths[1], active[1]));
    }
    Summary {
        groups: groups.len(),
        peers,
        tables,
    }
}

impl OpState for Summary {
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let down = self
            .peers
            .iter()
            .filter(|p| p.state != State::Established)
            .count();
        let _ = writeln!(s, "Threading mode: BGP I/O");
        let _ = writeln!(
            s,
            "Groups: {} Peers: {} Down peers: {}",
            self.groups,
            self.peers.len(),
            down
        );
        let _ = writeln!(
            s,
            "Table          Tot Paths  Act Paths Suppressed    History Damp State    Pending"
        );
        for (name, paths, act) in &self.tables {
            let _ = writeln!(s, "{name}");
            let _ = writeln!(
                s,
                "               {paths:>10} {act:>10} {:>10} {:>10} {:>10} {:>10}",
                0, 0, 0, 0
            );
        }
        let _ = writeln!(
            s,
            "Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped..."
        );
        for p in &self.peers {
            let state = if p.state == State::Established {
                String::new()
            } else {
                short_state(p.state).to_string()
            };
            let _ = writeln!(
                s,
                "{:<20} {:>10} {:>10} {:>10} {:>7} {:>7} {:>11} {}",
                p.address.to_string(),
                p.peer_as,
                p.input,
                p.output,
                0,
                p.flaps,
                elapsed(p.elapsed),
                if p.state == State::Established {
                    "Establ"
                } else {
                    &state
                }
            );
            if p.state == State::Established {
                for (t, a, r, acc) in &p.tables {
                    let _ = writeln!(s, "  {t}: {a}/{r}/{acc}/0");
                }
            }
        }
        s
    }

    fn json(&self) -> Value {
        let down = self
            .peers
            .iter()
            .filter(|p| p.state != State::Established)
            .count();
        let ribs: Vec<Value> = self
            .tables
            .iter()
            .map(|(n, paths, act)| {
                json!({"name": n, "total-prefix-count": paths, "active-prefix-count": act,
                    "suppressed-prefix-count": 0, "history-prefix-count": 0,
                    "damped-prefix-count": 0, "pending-prefix-count": 0})
            })
            .collect();
        let peers: Vec<Value> = self
            .peers
            .iter()
            .map(|p| {
                let ribs: Vec<Value> = p
                    .tables
                    .iter()
                    .map(|(t, a, r, acc)| {
                        json!({"name": t, "active-prefix-count": a, "received-prefix-count": r,
                            "accepted-prefix-count": acc, "suppressed-prefix-count": 0})
                    })
                    .collect();
                json!({
                    "peer-address": p.address.to_string(),
                    "peer-as": p.peer_as,
                    "peer-group": p.group,
                    "input-messages": p.input,
                    "output-messages": p.output,
                    "route-queue-count": 0,
                    "flap-count": p.flaps,
                    "elapsed-time": elapsed(p.elapsed),
                    "peer-state": p.state.name(),
                    "bgp-rib": ribs,
                })
            })
            .collect();
        json!({"bgp-information": {
            "group-count": self.groups,
            "peer-count": self.peers.len(),
            "down-peer-count": down,
            "bgp-rib": ribs,
            "bgp-peer": peers,
        }})
    }
}

/// One neighbour in `show bgp neighbor`.
#[derive(Debug, Clone)]
struct NeighborInfo {
    address: IpAddr,
    local: Option<IpAddr>,
    peer_as: u32,
    local_as: u32,
    group: String,
    internal: bool,
    state: State,
    last_state: Option<State>,
    last_error: Option<String>,
    flaps: u32,
    peer_id: Option<Ipv4Addr>,
    local_id: Ipv4Addr,
    hold: u16,
    negotiated_hold: Option<u16>,
    families: Vec<Family>,
    peer_families: Vec<Family>,
    import: Vec<String>,
    export: Vec<String>,
    tables: Vec<(&'static str, u64, u64, u64)>,
    input: u64,
    output: u64,
    updates_in: u64,
    updates_out: u64,
    description: Option<String>,
}

/// `show bgp neighbor [A]`.
#[derive(Debug, Clone)]
pub struct Neighbors(Vec<NeighborInfo>);

fn neighbors(sp: &Speaker, _now: Instant, want: Option<IpAddr>) -> Neighbors {
    let mut out = Vec::new();
    for (_, n) in sp.neighbors() {
        if want.is_some_and(|a| a != n.cfg.address) {
            continue;
        }
        let neg = n.session.negotiated();
        let st = &n.session.stats;
        let fams: Vec<Family> = neg.map(|g| g.families.clone()).unwrap_or_default();
        out.push(NeighborInfo {
            address: n.cfg.address,
            local: n.local_addr,
            peer_as: n.cfg.peer_as,
            local_as: n.cfg.local_as,
            group: n.cfg.group.clone(),
            internal: n.cfg.internal,
            state: n.session.state(),
            last_state: st.last_state,
            last_error: st.last_error.as_ref().map(|e| e.to_string()),
            flaps: st.flaps,
            peer_id: neg.map(|g| g.peer_id),
            local_id: sp.global().router_id,
            hold: n.cfg.hold_time,
            negotiated_hold: neg.map(|g| g.hold_time),
            families: fams.clone(),
            peer_families: neg.map(|g| g.peer_open.families()).unwrap_or_default(),
            import: n.cfg.import.clone(),
            export: n.cfg.export.clone(),
            tables: fams
                .iter()
                .map(|f| {
                    let i = usize::from(*f == Family::Ipv6Unicast);
                    (
                        table_name(*f),
                        n.received[i],
                        n.accepted[i],
                        n.advertised[i],
                    )
                })
                .collect(),
            input: st.messages_in,
            output: st.messages_out,
            updates_in: st.updates_in,
            updates_out: st.updates_out,
            description: n.cfg.description.clone(),
        });
    }
    out.sort_by_key(|n| n.address);
    Neighbors(out)
}

fn fam_names(f: &[Family]) -> String {
    f.iter().map(|f| f.name()).collect::<Vec<_>>().join(" ")
}

impl OpState for Neighbors {
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for n in &self.0 {
            let local = n
                .local
                .map(|a| format!("{a}+179"))
                .unwrap_or_else(|| "unspecified".into());
            let _ = writeln!(
                s,
                "Peer: {}+179 AS {}  Local: {} AS {}",
                n.address, n.peer_as, local, n.local_as
            );
            if let Some(d) = &n.description {
                let _ = writeln!(s, "  Description: {d}");
            }
            let _ = writeln!(
                s,
                "  Group: {}                 Routing-Instance: master",
                n.group
            );
            let _ = writeln!(
                s,
                "  Type: {}    State: {}",
                if n.internal { "Internal" } else { "External" },
                n.state.name()
            );
            if let Some(ls) = n.last_state {
                let _ = writeln!(s, "  Last State: {}", ls.name());
            }
            if !n.export.is_empty() {
                let _ = writeln!(s, "  Export: [ {} ] ", n.export.join(" "));
            }
            if !n.import.is_empty() {
                let _ = writeln!(s, "  Import: [ {} ]", n.import.join(" "));
            }
            let _ = writeln!(
                s,
                "  Last Error: {}",
                n.last_error.as_deref().unwrap_or("None")
            );
            let _ = writeln!(s, "  Holdtime: {} Preference: 170", n.hold);
            let _ = writeln!(s, "  Number of flaps: {}", n.flaps);
            if let Some(id) = n.peer_id {
                let _ = writeln!(
                    s,
                    "  Peer ID: {id:<15} Local ID: {:<15} Active Holdtime: {}",
                    n.local_id,
                    n.negotiated_hold.unwrap_or(0)
                );
                let _ = writeln!(s, "  NLRI for this session: {}", fam_names(&n.families));
                let _ = writeln!(
                    s,
                    "  NLRI advertised by peer: {}",
                    fam_names(&n.peer_families)
                );
            }
            for (t, r, a, adv) in &n.tables {
                let _ = writeln!(s, "  Table {t}");
                let _ = writeln!(s, "    Received prefixes:             {r}");
                let _ = writeln!(s, "    Accepted prefixes:             {a}");
                let _ = writeln!(s, "    Advertised prefixes:           {adv}");
            }
            let _ = writeln!(
                s,
                "  Input messages:  Total {}\tUpdates {}",
                n.input, n.updates_in
            );
            let _ = writeln!(
                s,
                "  Output messages: Total {}\tUpdates {}",
                n.output, n.updates_out
            );
            let _ = writeln!(s);
        }
        s
    }

    fn json(&self) -> Value {
        let peers: Vec<Value> = self
            .0
            .iter()
            .map(|n| {
                let ribs: Vec<Value> = n
                    .tables
                    .iter()
                    .map(|(t, r, a, adv)| {
                        json!({"name": t, "received-prefix-count": r,
                            "accepted-prefix-count": a, "advertised-prefix-count": adv})
                    })
                    .collect();
                json!({
                    "peer-address": format!("{}+179", n.address),
                    "peer-as": n.peer_as,
                    "local-address": n.local.map(|a| format!("{a}+179")),
                    "local-as": n.local_as,
                    "peer-group": n.group,
                    "peer-type": if n.internal { "Internal" } else { "External" },
                    "peer-state": n.state.name(),
                    "last-state": n.last_state.map(|s| s.name()),
                    "last-error": n.last_error.as_deref().unwrap_or("None"),
                    "flap-count": n.flaps,
                    "peer-id": n.peer_id.map(|i| i.to_string()),
                    "local-id": n.local_id.to_string(),
                    "holdtime": n.hold,
                    "active-holdtime": n.negotiated_hold,
                    "nlri-type-session": fam_names(&n.families),
                    "nlri-type-peer": fam_names(&n.peer_families),
                    "peer-import-policy": n.import.join(" "),
                    "peer-export-policy": n.export.join(" "),
                    "input-messages": n.input,
                    "input-updates": n.updates_in,
                    "output-messages": n.output,
                    "output-updates": n.updates_out,
                    "bgp-rib": ribs,
                })
            })
            .collect();
        json!({"bgp-information": {"bgp-peer": peers}})
    }
}

/// One route in `show route receive-protocol|advertising-protocol bgp A`.
#[derive(Debug, Clone)]
struct Exchanged {
    prefix: savin_rib::IpPrefix,
    /// The active route (`*`).
    active: bool,
    /// `Self`, or the address.
    next_hop: String,
    med: Option<u32>,
    local_pref: Option<u32>,
    /// AS numbers and the origin's letter, as Junos prints the path (`65002 I`).
    as_path: String,
}

/// The routes received from or advertised to a neighbour, by table.
#[derive(Debug, Clone)]
pub struct ExchangedRoutes {
    tables: Vec<(&'static str, Vec<Exchanged>)>,
}

/// An AS path as Junos prints it (`65002 {65010 65011} I`), the first `skip` AS numbers of
/// the leading sequence left out.
pub fn path_text(a: &crate::packet::PathAttrs, skip: usize) -> String {
    use crate::packet::SegmentKind;
    let mut words: Vec<String> = Vec::new();
    let mut skipped = 0;
    for seg in &a.as_path {
        let asns: Vec<String> = seg
            .asns
            .iter()
            .filter(|_| {
                let keep = skipped >= skip || seg.kind != SegmentKind::Sequence;
                if !keep {
                    skipped += 1;
                }
                keep
            })
            .map(|n| n.to_string())
            .collect();
        if asns.is_empty() {
            continue;
        }
        words.push(match seg.kind {
            SegmentKind::Sequence => asns.join(" "),
            SegmentKind::Set => format!("{{{}}}", asns.join(" ")),
            SegmentKind::ConfedSequence => format!("({})", asns.join(" ")),
            SegmentKind::ConfedSet => format!("[{}]", asns.join(" ")),
        });
    }
    words.push(a.origin.letter().to_string());
    words.join(" ")
}

fn exchanged(
    sp: &mut Speaker,
    addr: IpAddr,
    received: bool,
    hidden: bool,
) -> Option<ExchangedRoutes> {
    let id = sp.peer_by_addr(addr)?;
    let mut rows: Vec<Exchanged> = Vec::new();
    if received {
        sp.for_each_path(|p, peer, rx, acc, _, best| {
            if peer != id || (acc.is_none() && !hidden) {
                return;
            }
            rows.push(Exchanged {
                prefix: p,
                active: best,
                next_hop: crate::speaker::next_hop_of(rx)
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
                med: rx.med,
                local_pref: rx.local_pref,
                as_path: path_text(rx, 0),
            });
        });
    } else {
        let n = sp.neighbor(id)?;
        let local = n.local_addr;
        // Junos shows the path without the AS numbers this box puts in front for an
        // external neighbour.
        let skip = if n.cfg.internal {
            0
        } else if n.cfg.local_as != sp.global().local_as {
            2
        } else {
            1
        };
        for (p, a) in sp.advertised_to(id) {
            let nh = crate::speaker::next_hop_of(&a);
            let self_nh = match (nh, local) {
                (Some(h), Some(l)) => {
                    h == l
                        || h == std::net::IpAddr::V6(match l {
                            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                            IpAddr::V6(v6) => v6,
                        })
                }
                _ => false,
            };
            rows.push(Exchanged {
                prefix: p,
                active: true,
                next_hop: if self_nh {
                    "Self".into()
                } else {
                    nh.map(|h| h.to_string()).unwrap_or_default()
                },
                med: a.med,
                local_pref: a.local_pref,
                as_path: path_text(&a, skip),
            });
        }
    }
    rows.sort_by_key(|r| (r.prefix.ip(), r.prefix.length()));
    let (v4, v6): (Vec<Exchanged>, Vec<Exchanged>) = rows
        .into_iter()
        .partition(|r| matches!(r.prefix, savin_rib::IpPrefix::V4(_)));
    let mut tables = Vec::new();
    for (name, rows) in [("inet.0", v4), ("inet6.0", v6)] {
        if !rows.is_empty() {
            tables.push((name, rows));
        }
    }
    Some(ExchangedRoutes { tables })
}

impl OpState for ExchangedRoutes {
    fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for (name, rows) in &self.tables {
            let _ = writeln!(s, "\n{name}: {} destinations", rows.len());
            let _ = writeln!(
                s,
                "  Prefix                  Nexthop              MED     Lclpref    AS path"
            );
            for r in rows {
                let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
                let _ = writeln!(
                    s,
                    "{} {:<23} {:<20} {:<7} {:<10} {}",
                    if r.active { "*" } else { " " },
                    r.prefix.to_string(),
                    r.next_hop,
                    opt(r.med),
                    opt(r.local_pref),
                    r.as_path
                );
            }
        }
        s
    }

    fn json(&self) -> Value {
        let tables: Vec<Value> = self
            .tables
            .iter()
            .map(|(name, rows)| {
                let rt: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "rt-destination": r.prefix.ip().to_string(),
                            "rt-prefix-length": r.prefix.length(),
                            "rt-entry": {
                                "active-tag": if r.active { "*" } else { "" },
                                "protocol-name": "BGP",
                                "nh": [{"to": r.next_hop}],
                                "med": r.med,
                                "local-preference": r.local_pref,
                                "as-path": r.as_path,
                            }
                        })
                    })
                    .collect();
                json!({"table-name": name, "destination-count": rows.len(), "rt": rt})
            })
            .collect();
        json!({"route-information": {"route-table": tables}})
    }
}
