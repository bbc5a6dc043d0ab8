//! The glue between the routing protocols and the forwarding plane's RIB: the protocols'
//! crates do not know the forwarding crate, and it does not know them.

use savin_bgp::speaker::ActiveRoute;
use savin_forwarding::{ActiveChange, RouteFeed};
use savin_rib::{Protocol, SharedRib};

/// BGP's door to the RIB.
pub struct ForwardingRib(pub RouteFeed);

impl savin_bgp::RibPort for ForwardingRib {
    fn rib(&self) -> std::sync::Arc<SharedRib> {
        self.0.rib()
    }

    fn written(&self) {
        self.0.written();
    }

    fn backlog(&self) -> usize {
        self.0.rib_backlog()
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
