//! Session limits across commits: when a commit binds a limiting screen again (or turns
//! the limit on), the sessions that already exist are counted against it, so the limit
//! holds at once instead of starting from zero.

mod common;

use common::Pipeline;
use savin_dataplane::{DropReason, Tables};
use savin_io::FrameBatch;

const CONFIG: &str = "\
set interfaces eth1 unit 0 family inet address 10.0.1.1/24
set interfaces eth2 unit 0 family inet address 203.0.113.1/24
set security zones security-zone trust interfaces eth1.0
set security zones security-zone untrust interfaces eth2.0
set security policies global policy any match source-address any
set security policies global policy any match destination-address any
set security policies global policy any match application any
set security policies global policy any then permit
set security screen ids-option lim limit-session source-ip-based 3
set security zones security-zone trust screen lim
";

/// Sends one UDP frame from 10.0.1.2:`sport` in from port 0; whether it left.
fn flow(p: &mut Pipeline, t: &Tables, sport: u16) -> bool {
    let mut f = savin_dataplane::ipv4::test_frame([10, 0, 1, 2], [198, 51, 100, 7], 64, 60);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[40..42].copy_from_slice(&[0, 0]); // no UDP checksum
    let mut batch = FrameBatch::with_capacity(4);
    assert!(batch.push(&f));
    p.process(&mut batch, t, 0);
    p.tx[1].len() == 1
}

#[test]
fn a_limit_bound_again_counts_the_sessions_that_exist() {
    let (_fib, t) = common::tables(common::security(CONFIG, true));
    let mut p = common::pipeline(2, 4);
    p.now_ms = 1000;
    for sport in 1..=3 {
        assert!(flow(&mut p, &t, sport), "session {sport} within the limit");
    }
    assert!(!flow(&mut p, &t, 4), "a fourth session from the source");
    assert_eq!(p.counters.dropped(DropReason::Screen), 1);
    // The screen unbound: nothing limits; a fourth session is made.
    t.security.store(Some(common::security(CONFIG, false)));
    assert!(flow(&mut p, &t, 4));
    // Bound again: the four live sessions count, so a fifth is refused at once.
    t.security.store(Some(common::security(CONFIG, true)));
    assert!(!flow(&mut p, &t, 5), "the limit holds across the commits");
    assert_eq!(p.counters.dropped(DropReason::Screen), 2);
    // The sessions' own packets still pass.
    assert!(flow(&mut p, &t, 2));
}
