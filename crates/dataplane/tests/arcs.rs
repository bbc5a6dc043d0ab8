//! A feature joins the pipeline on its two arcs: before the route lookup (it may change the
//! destination the lookup sees, or take a frame off the path) and after it (with the egress
//! known, it may drop); each arc counts what the feature was given and what it dropped.

use std::sync::Arc;

use arc_swap::ArcSwap;
use savin_dataplane::ipv4::test_frame;
use savin_dataplane::pipeline::arc::{ArcCounters, Cx, Feature, Routes};
use savin_dataplane::{Adjacency, DropReason, NextHop, Pipeline, Tables};
use savin_fib::Fib;
use savin_io::FrameBatch;

/// Moves 10.9.0.0/16 to 10.1.0.0/16 before the lookup (as destination NAT would), drops
/// what goes to 10.0.0.66 there, and drops after the lookup whatever leaves by port 2.
#[derive(Default)]
struct Steer {
    seen_out: Vec<(u16, Option<u16>)>,
}

impl Feature for Steer {
    const NAME: &'static str = "steer";
    type Published = ();

    fn active(&self) -> bool {
        true
    }

    fn ip4_unicast(
        &mut self,
        cx: &mut Cx,
        _batch: &mut FrameBatch,
        passed: &[u16],
        keys: &mut [u32],
        _routes: Routes,
    ) {
        for (j, &i) in passed.iter().enumerate() {
            if keys[j] >> 16 == 0x0a09 {
                keys[j] = 0x0a01_0000 | (keys[j] & 0xffff);
            } else if keys[j] == 0x0a00_0042 {
                cx.drop(DropReason::PolicyDenied);
                cx.meta.taken[usize::from(i)] = true;
            }
        }
    }

    fn ip4_output(
        &mut self,
        cx: &mut Cx,
        _batch: &mut FrameBatch,
        i: u16,
        out: Option<u16>,
        _v6: bool,
    ) -> bool {
        self.seen_out.push((i, out));
        if out == Some(2) {
            cx.drop(DropReason::PolicyDenied);
            return false;
        }
        true
    }
}

#[test]
fn a_feature_steers_and_drops_on_both_arcs_and_each_arc_counts_it() {
    let mut fib: Fib<u32> = Fib::new();
    fib.insert(0x0a01_0000, 16, 1).unwrap(); // 10.1/16 -> port 1
    fib.insert(0x0a02_0000, 16, 2).unwrap(); // 10.2/16 -> port 2
    let fwd = |port: u16| {
        NextHop::Forward(Adjacency {
            port,
            dst_mac: [2, 0, 0, 0, 0, 9],
            src_mac: [2, 0, 0, 0, 0, 1],
            mtu: 1500,
        })
    };
    let tables = Tables {
        adjacencies: Arc::new(ArcSwap::from_pointee(vec![
            NextHop::Unresolved,
            fwd(1),
            fwd(2),
        ])),
        ..Tables::routed(fib.reader(), Vec::new())
    };
    let mut p = Pipeline::with_feature(3, 64, Steer::default());
    let mut batch = FrameBatch::with_capacity(8);
    for dst in [[10, 9, 0, 5], [10, 0, 0, 66], [10, 2, 0, 5], [10, 1, 0, 7]] {
        batch.push(&test_frame([192, 0, 2, 1], dst, 64, 64));
    }
    p.process(&mut batch, &tables, 0);
    assert_eq!(
        p.tx[1],
        vec![0, 3],
        "10.9.0.5 steered to port 1, and 10.1.0.7"
    );
    assert!(
        p.tx[2].is_empty(),
        "what left by port 2 was dropped after the lookup"
    );
    assert_eq!(
        p.feature.seen_out,
        vec![(0, Some(1)), (2, Some(2)), (3, Some(1))],
        "the output arc sees every routed frame but the one taken before the lookup"
    );
    assert_eq!(p.stages.feature, "steer");
    assert_eq!(
        p.stages.ip4_unicast,
        ArcCounters {
            packets: 4,
            dropped: 1
        }
    );
    assert_eq!(
        p.stages.ip4_output,
        ArcCounters {
            packets: 3,
            dropped: 1
        }
    );
    assert_eq!(p.counters.dropped(DropReason::PolicyDenied), 2);
    assert_eq!(p.counters.forwarded, 2);
}
