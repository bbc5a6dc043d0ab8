//! The tables a worker reads, as the control plane publishes them: the FIB snapshots, the
//! adjacencies (next hops), the L2 and security tables; and the flow hash that picks an
//! equal-cost member.

use std::sync::Arc;

use arc_swap::ArcSwap;
use savin_fib::FibReader;

use crate::bridge::L2Tables;
use crate::ipv4::ETH_HDR;
pub use crate::punt::{PuntReason, Punted};
use savin_security_tables::SecurityTables;

/// What a next hop resolves to: the output port, the Ethernet addresses to write and the
/// port's IP MTU (larger packets are fragmented or answered with fragmentation needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjacency {
    pub port: u16,
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub mtu: u16,
}

/// What a next-hop index means to the data plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextHop {
    /// Known but not usable (a neighbour that did not answer): drop.
    Unresolved,
    /// Rewrite and send.
    Forward(Adjacency),
    /// One of the box's own addresses: to the control plane.
    Local,
    /// A neighbour still to be resolved (a connected destination or a gateway) on `port`:
    /// the packet is routed (TTL decremented) and handed to the control plane, which holds
    /// it while it asks ARP. The port is known so that security sees the egress zone.
    Resolve { port: u16 },
    /// A `discard` route: drop silently.
    Discard,
    /// A `reject` route: drop and send ICMP unreachable.
    Reject,
    /// Equal-cost paths: the next hops at `base..base + n` in the same table; a flow hash
    /// picks one, so a flow keeps its path and its packets their order.
    Group { base: u32, n: u16 },
}

/// The flow hash of an IP packet in an Ethernet frame: addresses, protocol and (for TCP and
/// UDP, unfragmented) ports, as Linux's and Junos's L3+L4 load balancing. Malformed input
/// hashes to something; it never panics.
#[inline]
pub fn flow_hash(frame: &[u8], v6: bool) -> u32 {
    let word = |at: usize| -> u64 {
        frame.get(at..at + 4).map_or(0, |b| {
            u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        })
    };
    let l3 = ETH_HDR;
    let (mut h, proto, l4) = if v6 {
        let mut h = 0u64;
        for i in 0..8 {
            h = (h ^ word(l3 + 8 + 4 * i)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        (h, frame.get(l3 + 6).copied().unwrap_or(0), Some(l3 + 40))
    } else {
        let ihl = usize::from(frame.get(l3).copied().unwrap_or(0x45) & 0x0f) * 4;
        let frag = frame
            .get(l3 + 6..l3 + 8)
            .is_some_and(|b| u16::from_be_bytes([b[0], b[1]]) & 0x3fff != 0);
        let h = (word(l3 + 12) << 32 | word(l3 + 16)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (
            h,
            frame.get(l3 + 9).copied().unwrap_or(0),
            (!frag).then_some(l3 + ihl),
        )
    };
    h ^= u64::from(proto);
    if let (6 | 17, Some(at)) = (proto, l4) {
        h = (h ^ word(at)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    (h ^ (h >> 29)) as u32
}

/// The tables workers read. The control plane publishes new versions; a worker takes one
/// snapshot of each per batch.
#[derive(Clone)]
pub struct Tables {
    pub fib4: FibReader<u32>,
    pub fib6: FibReader<u128>,
    /// Indexed by next-hop index.
    pub adjacencies: Arc<ArcSwap<Vec<NextHop>>>,
    /// Port modes and VLANs.
    pub l2: Arc<ArcSwap<L2Tables>>,
    /// Zones, policies and session settings; None: no `security zones`, nothing is filtered.
    pub security: Arc<arc_swap::ArcSwapOption<SecurityTables>>,
}

impl Tables {
    /// Tables for IPv4 routing alone: `fib4` and its next hops, an empty IPv6 FIB, no VLANs,
    /// no security (what tests, benchmarks and fuzz targets start from).
    pub fn routed(fib4: FibReader<u32>, adjacencies: Vec<NextHop>) -> Tables {
        Tables {
            fib4,
            fib6: savin_fib::Fib::<u128>::new().reader(),
            adjacencies: Arc::new(ArcSwap::from_pointee(adjacencies)),
            l2: Default::default(),
            security: Default::default(),
        }
    }
}
