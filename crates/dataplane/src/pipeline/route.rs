//! From a lookup result to an output queue: ECMP member choice, TTL, MTU (and GSO segment
//! sizes), the security stage's second half, and the MAC rewrite.

use super::*;

impl<F: Feature> Pipeline<F> {
    #[inline]
    pub(crate) fn route(
        &mut self,
        batch: &mut FrameBatch,
        i: u16,
        nh: u32,
        adj: &[NextHop],
        l2: &L2Tables,
        v6: bool,
    ) {
        if nh == MISS {
            self.counters.drop(DropReason::NoRoute);
            self.punt_error(i, PuntReason::NoRoute);
            return;
        }
        // The entry itself, or the member of its equal-cost group the flow hash picks (the
        // one choice in the system: frames the control plane sends are routed here too).
        let nh = member(adj, nh, batch.frame(usize::from(i)), v6);
        let a = match adj.get(nh as usize) {
            Some(NextHop::Forward(a)) => *a,
            Some(NextHop::Local) => {
                if !self.output_arc(batch, i, None, v6) {
                    return;
                }
                self.punt.push((i, PuntReason::Host));
                self.counters.punted += 1;
                return;
            }
            Some(NextHop::Resolve { port }) => {
                let ttl_at = if v6 { ETH_HDR + 7 } else { ETH_HDR + 8 };
                if batch.frame(usize::from(i))[ttl_at] <= 1 {
                    self.counters.drop(DropReason::TtlExpired);
                    self.punt_error(i, PuntReason::TtlExpired);
                    return;
                }
                if !self.output_arc(batch, i, Some(*port), v6) {
                    return;
                }
                let f = batch.frame_mut(usize::from(i));
                let _ = if v6 {
                    ipv6::decrement_hop_limit(f, ETH_HDR)
                } else {
                    ipv4::decrement_ttl(f, ETH_HDR)
                };
                self.punt.push((i, PuntReason::Resolve { nh }));
                self.counters.punted += 1;
                return;
            }
            Some(NextHop::Discard) => {
                self.counters.drop(DropReason::Discarded);
                return;
            }
            Some(NextHop::Reject) => {
                self.counters.drop(DropReason::Rejected);
                self.punt_error(i, PuntReason::Reject);
                return;
            }
            Some(NextHop::Unresolved | NextHop::Group { .. }) | None => {
                self.counters.drop(DropReason::Unresolved);
                return;
            }
        };
        let irb = match l2.mode(a.port) {
            PortMode::Irb { vlan } => Some(vlan),
            _ => None,
        };
        if irb.is_none() && usize::from(a.port) >= self.tx.len() {
            self.counters.drop(DropReason::Unresolved);
            return;
        }
        // As Linux orders it (ip_forward): TTL first, then the MTU, then the security stage
        // (Linux's FORWARD and POSTROUTING hooks) and the rewrite, so an error quotes the
        // packet as its sender knows it (before source NAT).
        let ttl_at = if v6 { ETH_HDR + 7 } else { ETH_HDR + 8 };
        if batch.frame(usize::from(i))[ttl_at] <= 1 {
            self.counters.drop(DropReason::TtlExpired);
            self.punt_error(i, PuntReason::TtlExpired);
            return;
        }
        let offload = batch.offload(usize::from(i));
        let f = batch.frame(usize::from(i));
        let total = if offload.is_gso() {
            // A super-frame leaves as segments: each of those must fit (as Linux checks with
            // skb_gso_validate_network_len).
            gso_segment_len(f, offload)
        } else if v6 {
            ipv6::total_len(f, ETH_HDR)
        } else {
            usize::from(u16::from_be_bytes([f[ETH_HDR + 2], f[ETH_HDR + 3]]))
        };
        let too_big = total > usize::from(a.mtu);
        // IPv6 routers never fragment (RFC 8200 5): packet too big, always.
        if too_big && (v6 || f[ETH_HDR + 6] & 0x40 != 0) {
            self.counters.drop(DropReason::FragmentationNeeded);
            self.punt_error(i, PuntReason::FragmentationNeeded { mtu: a.mtu });
            return;
        }
        if !self.output_arc(batch, i, Some(a.port), v6) {
            return;
        }
        let f = batch.frame_mut(usize::from(i));
        if too_big {
            let _ = ipv4::decrement_ttl(f, ETH_HDR);
            self.punt.push((i, PuntReason::Fragment { mtu: a.mtu, nh }));
            self.counters.punted += 1;
            return;
        }
        if v6 {
            f[ttl_at] -= 1;
        } else {
            let _ = ipv4::decrement_ttl(f, ETH_HDR);
        }
        f[..6].copy_from_slice(&a.dst_mac);
        f[6..12].copy_from_slice(&a.src_mac);
        self.counters.forwarded += 1;
        if let Some(vlan) = irb {
            // Into a VLAN: the bridge takes it from here. Counted once, as forwarded.
            let (b, fl) = (self.counters.bridged, self.counters.flooded);
            self.bridge_out(batch, usize::from(i), a.port, vlan, l2);
            (self.counters.bridged, self.counters.flooded) = (b, fl);
            return;
        }
        self.tx[usize::from(a.port)].push(i);
    }
}

/// What became of a frame the box originates ([`crate::ToWorker::Route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Originated {
    /// Its MACs written: out of this port.
    Out(u16),
    /// Its neighbour on `port` is still to be resolved: next hop `nh` was chosen.
    Resolve { port: u16, nh: u32 },
    /// No usable route: dropped and counted.
    Dropped,
}

impl<F: Feature> Pipeline<F> {
    /// Routes a frame the box originates by the same lookup and equal-cost choice as a
    /// forwarded one; its TTL is the box's to set, and host-outbound traffic passes no
    /// security stage.
    pub(crate) fn originated(&mut self, frame: &mut [u8], tables: &Tables) -> Originated {
        let at = |r: std::ops::Range<usize>| frame.get(ETH_HDR + r.start..ETH_HDR + r.end);
        let (v6, nh) = match savin_wire::ethernet::ethertype(frame) {
            Some(ETHERTYPE_IPV4) => match at(savin_wire::ipv4::DESTINATION) {
                Some(d) => (
                    false,
                    tables
                        .fib4
                        .load()
                        .lookup(u32::from_be_bytes([d[0], d[1], d[2], d[3]])),
                ),
                None => return self.originated_drop(DropReason::Truncated),
            },
            Some(ETHERTYPE_IPV6) => match at(savin_wire::ipv6::DESTINATION) {
                Some(d) => {
                    let mut a = [0u8; 16];
                    a.copy_from_slice(d);
                    (true, tables.fib6.load().lookup(u128::from_be_bytes(a)))
                }
                None => return self.originated_drop(DropReason::Truncated),
            },
            _ => return self.originated_drop(DropReason::UnsupportedProtocol),
        };
        if nh == MISS {
            return self.originated_drop(DropReason::NoRoute);
        }
        let adj = tables.adjacencies.load();
        let nh = member(&adj, nh, frame, v6);
        match adj.get(nh as usize) {
            Some(NextHop::Forward(a)) => {
                frame[..6].copy_from_slice(&a.dst_mac);
                frame[6..12].copy_from_slice(&a.src_mac);
                Originated::Out(a.port)
            }
            Some(NextHop::Resolve { port }) => Originated::Resolve { port: *port, nh },
            Some(NextHop::Discard) => self.originated_drop(DropReason::Discarded),
            Some(NextHop::Reject) => self.originated_drop(DropReason::Rejected),
            Some(NextHop::Local | NextHop::Unresolved | NextHop::Group { .. }) | None => {
                self.originated_drop(DropReason::Unresolved)
            }
        }
    }

    /// An originated frame with no usable route (`_why`: the drop reason a forwarded frame
    /// would be counted under; the box's own frames are counted apart).
    fn originated_drop(&mut self, _why: DropReason) -> Originated {
        self.counters.originated_dropped += 1;
        Originated::Dropped
    }
}

/// The next-hop index a frame with lookup result `nh` leaves by: `nh`, or for an equal-cost
/// group the member its flow hash picks.
#[inline]
pub fn member(adj: &[NextHop], nh: u32, frame: &[u8], v6: bool) -> u32 {
    match adj.get(nh as usize) {
        Some(NextHop::Group { base, n }) => base + flow_hash(frame, v6) % u32::from((*n).max(1)),
        _ => nh,
    }
}

/// The IP length of each segment a GSO super-frame will be cut into: network and transport
/// headers plus `gso_size`. Offsets the frame does not bear out count as too large.
pub(crate) fn gso_segment_len(f: &[u8], o: savin_io::Offload) -> usize {
    let l4 = usize::from(o.csum_start);
    let l4_hdr = match o.gso_type & 0x7f {
        // TCPv4, TCPv6: the data offset.
        1 | 4 => match f.get(l4 + 12) {
            Some(b) => usize::from(b >> 4) * 4,
            None => return usize::MAX,
        },
        // UDP: 8 bytes.
        _ => 8,
    };
    if !o.needs_csum() || l4 < ETH_HDR || l4 >= f.len() {
        return usize::MAX;
    }
    l4 - ETH_HDR + l4_hdr + usize::from(o.gso_size)
}

/// The protocol at `proto_at` and, for TCP and UDP, the ports of the header at `l4`
/// (zeros where the frame is too short).
pub fn ip_ports(f: &[u8], proto_at: usize, l4: usize) -> (u8, u16, u16) {
    let proto = f.get(proto_at).copied().unwrap_or(0);
    let port = |at: usize| {
        f.get(at..at + 2)
            .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]))
    };
    match proto {
        6 | 17 => (proto, port(l4), port(l4 + 2)),
        _ => (proto, 0, 0),
    }
}
