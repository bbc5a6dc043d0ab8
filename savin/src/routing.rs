//! The glue between the routing protocols and the forwarding plane's RIB: the protocols'
//! crates do not know the forwarding crate, and it does not know them.

use savin_bgp::speaker::{ActiveRoute, RibChange};
use savin_forwarding::{ActiveChange, ProtocolRoute, RouteFeed};
use savin_rib::Protocol;

/// BGP's door to the RIB.
pub struct ForwardingRib(pub RouteFeed);

impl savin_bgp::RibPort for ForwardingRib {
    fn apply(&self, changes: Vec<RibChange>) {
        self.0.update(
            Protocol::Bgp,
            changes
                .into_iter()
                .map(|c| {
                    // BGP's order is kept by the metric (0 for its best, then 1, 2, ...): the
                    // RIB takes the first candidate it can use.
                    let routes = c
                        .route
                        .into_iter()
                        .chain(c.backups)
                        .enumerate()
                        .map(|(i, r)| ProtocolRoute {
                            preference: r.preference,
                            metric: i as u32,
                            next_hops: r.next_hops,
                        })
                        .collect();
                    (c.prefix, routes)
                })
                .collect(),
        );
    }

    fn backlog(&self) -> usize {
        self.0.backlog()
    }

    fn watch(&self, f: savin_bgp::tasks::ActiveWatcher) {
        self.0.watch(Box::new(move |changes: Vec<ActiveChange>| {
            f(changes
                .into_iter()
                .map(|c| {
                    let active = c.active.map(|a| ActiveRoute {
                        protocol: a.protocol.policy_name(),
                        next_hops: a.next_hops,
                        interfaces: a.interfaces,
                        metric: a.metric,
                    });
                    (c.prefix, active)
                })
                .collect())
        }));
    }
}

/// `show route detail` asks BGP about its routes.
pub fn annotate(feed: &RouteFeed, bgp: &savin_bgp::Bgp) {
    let notes = bgp.notes();
    feed.annotate(
        Protocol::Bgp,
        Box::new(move |p| {
            notes(p)
                .into_iter()
                .map(|(text, json)| savin_forwarding::RouteNotes { text, json })
                .collect()
        }),
    );
}
