//! Routing policy as Junos evaluates it: a chain of `policy-statement`s, each a list of terms
//! whose `from` conditions select routes and whose `then` actions change their attributes and
//! decide (accept, reject, next term, next policy); a route no term decides gets the chain's
//! default, which depends on where the chain runs (BGP import accepts, BGP export accepts only
//! active BGP routes, ...).
//!
//! Sans-IO and independent of any protocol: a producer describes a route ([`RouteIn`]) and its
//! attributes ([`Attrs`]); [`Policies::evaluate`] changes the attributes and says whether the
//! route is accepted. [`Policies::compile`] turns the configuration into matchers at commit
//! (prefix lists into prefixes, AS-path expressions into regular expressions), and fails with
//! the reason for a policy it cannot run.

mod aspath;
mod community;
mod prefix;

use std::collections::HashMap;
use std::net::IpAddr;

use savin_config::model::policy_options::{self as po, PolicyOptions};

pub use aspath::AsPathRegex;
pub use community::{Community, CommunityMatch, Large};
pub use prefix::Net;

/// The route as a policy sees it (what it matches on).
#[derive(Debug, Clone)]
pub struct RouteIn<'a> {
    pub prefix: Net,
    /// `direct`, `local`, `static`, `bgp`, `ospf`, `aggregate`.
    pub protocol: &'a str,
    /// The BGP neighbour it came from.
    pub neighbor: Option<IpAddr>,
    pub next_hops: &'a [IpAddr],
    /// Interfaces its next hops leave by (`ge-0/0/0.0`).
    pub interfaces: &'a [String],
    /// `inet.0`, `inet6.0`.
    pub rib: &'a str,
}

/// BGP origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    #[default]
    Igp,
    Egp,
    Incomplete,
}

/// What `then next-hop` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextHopAction {
    /// Left as it came.
    #[default]
    Keep,
    /// `next-hop self`: the box's own address on the session.
    Myself,
    /// `next-hop peer-address`: the neighbour's address.
    Peer,
    Address(IpAddr),
    Discard,
    Reject,
}

/// The attributes a policy reads and changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attrs {
    pub preference: u32,
    /// BGP MED, OSPF metric.
    pub metric: u32,
    pub local_preference: u32,
    pub communities: Vec<Community>,
    pub large_communities: Vec<Large>,
    /// AS numbers, nearest first.
    pub as_path: Vec<u32>,
    pub origin: Origin,
    pub next_hop: NextHopAction,
}

/// A chain's verdict when no term decides, or a term's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Reject,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyError {
    #[error("policy-statement {policy}{}: {why}", term.as_deref().map(|t| format!(" term {t}")).unwrap_or_default())]
    Term {
        policy: String,
        term: Option<String>,
        why: String,
    },
    #[error("{what}: {why}")]
    Definition { what: String, why: String },
    #[error("policy '{0}' is not defined")]
    Undefined(String),
}

/// How a route filter compares a route's length with its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Length {
    Exact,
    OrLonger,
    Longer,
    /// From the filter's length to this one.
    UpTo(u8),
    Range(u8, u8),
}

impl Length {
    fn admits(self, filter_len: u8, len: u8) -> bool {
        match self {
            Length::Exact => len == filter_len,
            Length::OrLonger => len >= filter_len,
            Length::Longer => len > filter_len,
            Length::UpTo(n) => len >= filter_len && len <= n,
            Length::Range(a, b) => len >= a && len <= b,
        }
    }
}

#[derive(Debug, Clone)]
struct RouteFilter {
    net: Net,
    length: Length,
    /// An action of the filter's own: taken at once, the term's `then` is not.
    action: Option<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Accept,
    Reject,
    NextTerm,
    NextPolicy,
}

/// A value, or a change to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Adjust {
    Set(u32),
    Add(u32),
    Subtract(u32),
}

impl Adjust {
    fn apply(self, v: &mut u32) {
        *v = match self {
            Adjust::Set(n) => n,
            Adjust::Add(n) => v.saturating_add(n),
            Adjust::Subtract(n) => v.saturating_sub(n),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Term {
    protocols: Vec<String>,
    route_filters: Vec<RouteFilter>,
    /// `route-filter-list`: each list decides as a term's route filters do; any list may.
    route_filter_lists: Vec<Vec<RouteFilter>>,
    /// `from local-preference`, `from metric`.
    local_preference_is: Option<u32>,
    metric_is: Option<u32>,
    /// `prefix-list`: the route's prefix is one of these.
    prefix_lists: Vec<Vec<Net>>,
    /// `prefix-list-filter`: each list's prefixes with a length rule.
    prefix_list_filters: Vec<(Vec<Net>, Length)>,
    communities: Vec<CommunityMatch>,
    as_paths: Vec<AsPathRegex>,
    neighbors: Vec<IpAddr>,
    next_hops: Vec<IpAddr>,
    family_v6: Option<bool>,
    interfaces: Vec<String>,
    rib: Option<String>,
    // Actions.
    flow: Option<Flow>,
    local_preference: Option<Adjust>,
    metric: Option<Adjust>,
    preference: Option<Adjust>,
    community_set: Option<(Vec<Community>, Vec<Large>)>,
    community_add: (Vec<Community>, Vec<Large>),
    community_delete: Vec<CommunityMatch>,
    prepend: Vec<u32>,
    next_hop: Option<NextHopAction>,
    origin: Option<Origin>,
    default_action: Option<Action>,
}

/// The named things a term may refer to.
struct Names<'a> {
    lists: &'a HashMap<&'a str, Vec<Net>>,
    filter_lists: &'a HashMap<&'a str, Vec<RouteFilter>>,
    communities: &'a HashMap<&'a str, CommunityMatch>,
    paths: &'a HashMap<&'a str, AsPathRegex>,
}

/// Among `filters`, the longest covering `prefix` decides (as on Junos: if its length rule
/// fails, no shorter one is tried). None: no match; Some(action of the filter).
fn route_filters_decide(filters: &[RouteFilter], prefix: &Net) -> Option<Option<Action>> {
    let best = filters
        .iter()
        .filter(|f| f.net.covers(prefix))
        .max_by_key(|f| f.net.len)?;
    filters
        .iter()
        .filter(|f| f.net == best.net)
        .find(|f| f.length.admits(f.net.len, prefix.len))
        .map(|f| f.action)
}

/// The configuration's policies, compiled.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    statements: HashMap<String, Vec<Term>>,
}

fn adjust(a: &Option<po::Adjust>) -> Option<Adjust> {
    let a = a.as_ref()?;
    if let Some(v) = a.value.first() {
        Some(Adjust::Set(v.name))
    } else if let Some(n) = a.add {
        Some(Adjust::Add(n))
    } else {
        a.subtract.map(Adjust::Subtract)
    }
}

/// `/24` (or `24`) as a length of at most `max`.
fn length(text: &str, max: u8) -> Result<u8, String> {
    text.trim_start_matches('/')
        .parse::<u8>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| format!("invalid prefix length '{text}' (0..{max})"))
}

fn route_filter(f: &po::RouteFilter) -> Result<RouteFilter, String> {
    let net = Net::of(&f.name);
    let max = net.max_len();
    let mut kinds = Vec::new();
    if f.exact.0 {
        kinds.push(Length::Exact);
    }
    if f.orlonger.0 {
        kinds.push(Length::OrLonger);
    }
    if f.longer.0 {
        kinds.push(Length::Longer);
    }
    if let Some(u) = &f.upto {
        let n = length(u, max)?;
        if n < net.len {
            return Err(format!("upto {u} is shorter than the prefix"));
        }
        kinds.push(Length::UpTo(n));
    }
    if let Some(r) = &f.prefix_length_range {
        let (a, b) = r
            .split_once('-')
            .ok_or_else(|| format!("invalid prefix-length-range '{r}': expected /A-/B"))?;
        let (a, b) = (length(a, max)?, length(b, max)?);
        if a > b || a < net.len {
            return Err(format!(
                "prefix-length-range {r}: the range must start at the prefix length or after and not end before it starts"
            ));
        }
        kinds.push(Length::Range(a, b));
    }
    let [length] = kinds[..] else {
        return Err(format!(
            "route-filter {}: give one of exact, orlonger, longer, upto, prefix-length-range",
            f.name
        ));
    };
    let action = match (f.accept.0, f.reject.0) {
        (true, false) => Some(Action::Accept),
        (false, true) => Some(Action::Reject),
        (false, false) => None,
        (true, true) => return Err("a route filter takes accept or reject, not both".into()),
    };
    Ok(RouteFilter {
        net,
        length,
        action,
    })
}

impl Policies {
    /// Compiles every policy statement of `po`.
    pub fn compile(po: &PolicyOptions) -> Result<Policies, PolicyError> {
        let lists: HashMap<&str, Vec<Net>> = po
            .prefix_list
            .iter()
            .map(|l| {
                (
                    l.name.as_str(),
                    l.prefix.iter().map(|p| Net::of(&p.name)).collect(),
                )
            })
            .collect();
        let mut communities = HashMap::new();
        for c in &po.community {
            let m = CommunityMatch::compile(&c.members, c.invert_match.0).map_err(|why| {
                PolicyError::Definition {
                    what: format!("community {}", c.name),
                    why,
                }
            })?;
            communities.insert(c.name.as_str(), m);
        }
        let mut filter_lists = HashMap::new();
        for l in &po.route_filter_list {
            let filters = l
                .filter
                .iter()
                .map(route_filter)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| PolicyError::Definition {
                    what: format!("route-filter-list {}", l.name),
                    why,
                })?;
            filter_lists.insert(l.name.as_str(), filters);
        }
        let mut paths = HashMap::new();
        for a in &po.as_path {
            let text = a.path.first().map(|p| p.name.as_str()).unwrap_or("");
            let re = AsPathRegex::compile(text).map_err(|why| PolicyError::Definition {
                what: format!("as-path {}", a.name),
                why,
            })?;
            paths.insert(a.name.as_str(), re);
        }
        let mut out = Policies::default();
        for p in &po.policy_statement {
            let mut terms = Vec::new();
            for t in p.terms() {
                let err = |why: String| PolicyError::Term {
                    policy: p.name.clone(),
                    term: (!t.name.is_empty()).then(|| t.name.clone()),
                    why,
                };
                let names = Names {
                    lists: &lists,
                    filter_lists: &filter_lists,
                    communities: &communities,
                    paths: &paths,
                };
                terms.push(Self::term(&t, &names).map_err(err)?);
            }
            out.statements.insert(p.name.clone(), terms);
        }
        Ok(out)
    }

    fn term(t: &po::PolicyTerm, names: &Names) -> Result<Term, String> {
        let Names {
            lists,
            filter_lists,
            communities,
            paths,
        } = names;
        let f = &t.from;
        let list = |n: &str| {
            lists
                .get(n)
                .cloned()
                .ok_or_else(|| format!("prefix-list '{n}' is not defined"))
        };
        let community = |n: &str| {
            communities
                .get(n)
                .cloned()
                .ok_or_else(|| format!("community '{n}' is not defined"))
        };
        let mut term = Term {
            protocols: f.protocol.clone(),
            route_filters: f
                .route_filter
                .iter()
                .map(route_filter)
                .collect::<Result<_, _>>()?,
            prefix_lists: f
                .prefix_list
                .iter()
                .map(|n| list(n))
                .collect::<Result<_, _>>()?,
            prefix_list_filters: f
                .prefix_list_filter
                .iter()
                .map(|p| {
                    let len = match (p.exact.0, p.orlonger.0, p.longer.0) {
                        (true, false, false) => Length::Exact,
                        (false, true, false) => Length::OrLonger,
                        (false, false, true) => Length::Longer,
                        _ => {
                            return Err(format!(
                                "prefix-list-filter {}: give one of exact, orlonger, longer",
                                p.name
                            ))
                        }
                    };
                    Ok((list(&p.name)?, len))
                })
                .collect::<Result<_, String>>()?,
            communities: f
                .community
                .iter()
                .map(|n| community(n))
                .collect::<Result<_, _>>()?,
            as_paths: f
                .as_path
                .iter()
                .map(|n| {
                    paths
                        .get(n.as_str())
                        .cloned()
                        .ok_or_else(|| format!("as-path '{n}' is not defined"))
                })
                .collect::<Result<_, _>>()?,
            route_filter_lists: f
                .route_filter_list
                .iter()
                .map(|n| {
                    filter_lists
                        .get(n.as_str())
                        .cloned()
                        .ok_or_else(|| format!("route-filter-list '{n}' is not defined"))
                })
                .collect::<Result<_, _>>()?,
            local_preference_is: f.local_preference,
            metric_is: f.metric,
            neighbors: f.neighbor.clone(),
            next_hops: f.next_hop.clone(),
            family_v6: match f.family.as_deref() {
                None => None,
                Some("inet") => Some(false),
                Some("inet6") => Some(true),
                Some(other) => return Err(format!("family {other} is not supported yet")),
            },
            interfaces: f.interface.clone(),
            rib: f.rib.clone(),
            ..Term::default()
        };
        let th = &t.then;
        let flows = [
            (th.accept.0, Flow::Accept),
            (th.reject.0, Flow::Reject),
            (th.next.as_ref().is_some_and(|n| n.term.0), Flow::NextTerm),
            (
                th.next.as_ref().is_some_and(|n| n.policy.0),
                Flow::NextPolicy,
            ),
        ];
        let mut set = flows.iter().filter(|(on, _)| *on).map(|(_, f)| *f);
        term.flow = set.next();
        if set.next().is_some() {
            return Err("give one of accept, reject, next term, next policy".into());
        }
        term.local_preference = adjust(&th.local_preference);
        term.metric = adjust(&th.metric);
        term.preference = adjust(&th.preference);
        if let Some(c) = &th.community {
            let literal = |names: &[String]| -> Result<(Vec<Community>, Vec<Large>), String> {
                let mut std = Vec::new();
                let mut large = Vec::new();
                for n in names {
                    let (s, l) = community(n)?
                        .literals()
                        .map_err(|e| format!("community {n}: {e}"))?;
                    std.extend(s);
                    large.extend(l);
                }
                Ok((std, large))
            };
            if !c.set.is_empty() {
                term.community_set = Some(literal(&c.set)?);
            }
            term.community_add = literal(&c.add)?;
            term.community_delete = c
                .delete
                .iter()
                .map(|n| {
                    let m = community(n)?;
                    if m.inverted() {
                        return Err(format!(
                            "community {n}: a community with invert-match cannot be deleted"
                        ));
                    }
                    Ok(m)
                })
                .collect::<Result<_, String>>()?;
        }
        if let Some(p) = &th.as_path_prepend {
            term.prepend = p
                .split_whitespace()
                .map(|a| {
                    a.parse::<u32>()
                        .map_err(|_| format!("as-path-prepend '{p}': expected AS numbers"))
                })
                .collect::<Result<_, _>>()?;
        }
        term.next_hop = match th.next_hop.as_deref() {
            None => None,
            Some("self") => Some(NextHopAction::Myself),
            Some("peer-address") => Some(NextHopAction::Peer),
            Some("discard") => Some(NextHopAction::Discard),
            Some("reject") => Some(NextHopAction::Reject),
            Some(a) => Some(NextHopAction::Address(a.parse().map_err(|_| {
                format!(
                    "next-hop '{a}': expected self, peer-address, discard, reject or an address"
                )
            })?)),
        };
        term.origin = match th.origin.as_deref() {
            None => None,
            Some("igp") => Some(Origin::Igp),
            Some("egp") => Some(Origin::Egp),
            _ => Some(Origin::Incomplete),
        };
        term.default_action = match th.default_action.as_deref() {
            None => None,
            Some("accept") => Some(Action::Accept),
            _ => Some(Action::Reject),
        };
        Ok(term)
    }

    pub fn has(&self, name: &str) -> bool {
        self.statements.contains_key(name)
    }

    /// Runs the chain `chain` (policy names, in order) on `route`, changing `attrs` as the
    /// terms say. True: accepted. A route no term accepts or rejects gets `default` (or the
    /// `default-action` a matching term set).
    pub fn evaluate(
        &self,
        chain: &[String],
        default: Action,
        route: &RouteIn,
        attrs: &mut Attrs,
    ) -> Result<bool, PolicyError> {
        let mut default = default;
        for name in chain {
            let terms = self
                .statements
                .get(name)
                .ok_or_else(|| PolicyError::Undefined(name.clone()))?;
            'terms: for t in terms {
                let Some(filter_action) = t.matches(route, attrs) else {
                    continue;
                };
                if let Some(a) = filter_action {
                    return Ok(a == Action::Accept);
                }
                t.apply(attrs);
                if let Some(d) = t.default_action {
                    default = d;
                }
                match t.flow {
                    Some(Flow::Accept) => return Ok(true),
                    Some(Flow::Reject) => return Ok(false),
                    Some(Flow::NextPolicy) => break 'terms,
                    Some(Flow::NextTerm) | None => {}
                }
            }
        }
        Ok(default == Action::Accept)
    }
}

impl Term {
    /// None: no match. Some(Some(action)): a route filter with an action of its own matched.
    fn matches(&self, r: &RouteIn, a: &Attrs) -> Option<Option<Action>> {
        if !self.protocols.is_empty() && !self.protocols.iter().any(|p| p == r.protocol) {
            return None;
        }
        if let Some(v6) = self.family_v6 {
            if r.prefix.v6 != v6 {
                return None;
            }
        }
        if self.rib.as_deref().is_some_and(|x| x != r.rib) {
            return None;
        }
        if !self.neighbors.is_empty() && !r.neighbor.is_some_and(|n| self.neighbors.contains(&n)) {
            return None;
        }
        if !self.next_hops.is_empty() && !r.next_hops.iter().any(|h| self.next_hops.contains(h)) {
            return None;
        }
        if !self.interfaces.is_empty() && !r.interfaces.iter().any(|i| self.interfaces.contains(i))
        {
            return None;
        }
        if !self.communities.is_empty()
            && !self
                .communities
                .iter()
                .any(|c| c.matches(&a.communities, &a.large_communities))
        {
            return None;
        }
        if !self.as_paths.is_empty() && !self.as_paths.iter().any(|p| p.matches(&a.as_path)) {
            return None;
        }
        if self
            .local_preference_is
            .is_some_and(|v| v != a.local_preference)
            || self.metric_is.is_some_and(|v| v != a.metric)
        {
            return None;
        }
        self.route_lists(&r.prefix)
    }

    /// The route lists (route filters, route filter lists, prefix lists, prefix list
    /// filters): a route matches when any list does, as on Junos (a term without one matches
    /// any prefix). None: no match; Some(the action of the route filter that matched).
    fn route_lists(&self, prefix: &Net) -> Option<Option<Action>> {
        let any = !self.route_filters.is_empty()
            || !self.route_filter_lists.is_empty()
            || !self.prefix_lists.is_empty()
            || !self.prefix_list_filters.is_empty();
        if !any {
            return Some(None);
        }
        if !self.route_filters.is_empty() {
            if let Some(action) = route_filters_decide(&self.route_filters, prefix) {
                return Some(action);
            }
        }
        for l in &self.route_filter_lists {
            if let Some(action) = route_filters_decide(l, prefix) {
                return Some(action);
            }
        }
        if self.prefix_lists.iter().any(|l| l.contains(prefix)) {
            return Some(None);
        }
        // A prefix list filter: the longest entry covering the route decides.
        let filtered = self.prefix_list_filters.iter().any(|(l, len)| {
            l.iter()
                .filter(|n| n.covers(prefix))
                .max_by_key(|n| n.len)
                .is_some_and(|n| len.admits(n.len, prefix.len))
        });
        filtered.then_some(None)
    }

    fn apply(&self, a: &mut Attrs) {
        if let Some(x) = self.local_preference {
            x.apply(&mut a.local_preference);
        }
        if let Some(x) = self.metric {
            x.apply(&mut a.metric);
        }
        if let Some(x) = self.preference {
            x.apply(&mut a.preference);
        }
        if let Some((std, large)) = &self.community_set {
            a.communities.clone_from(std);
            a.large_communities.clone_from(large);
        }
        for m in &self.community_delete {
            m.delete_from(&mut a.communities, &mut a.large_communities);
        }
        for c in &self.community_add.0 {
            if !a.communities.contains(c) {
                a.communities.push(*c);
            }
        }
        for c in &self.community_add.1 {
            if !a.large_communities.contains(c) {
                a.large_communities.push(*c);
            }
        }
        if !self.prepend.is_empty() {
            let mut path = self.prepend.clone();
            path.extend_from_slice(&a.as_path);
            a.as_path = path;
        }
        if let Some(n) = self.next_hop {
            a.next_hop = n;
        }
        if let Some(o) = self.origin {
            a.origin = o;
        }
    }
}

#[cfg(test)]
mod tests;
