//! From a lookup result to an output queue: ECMP member choice, TTL, MTU (and GSO segment
//! sizes), the security stage's second half, and the MAC rewrite.

use super::*;

impl Pipeline {
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
        let mut entry = adj.get(nh as usize);
        if let Some(NextHop::Group { base, n }) = entry {
            let pick = flow_hash(batch.frame(usize::from(i)), v6) % u32::from((*n).max(1));
            entry = adj.get((base + pick) as usize);
        }
        let a = match entry {
            Some(NextHop::Forward(a)) => *a,
            Some(NextHop::Local) => {
                if !self.security_passes(batch, i, None, v6) {
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
                if !self.security_passes(batch, i, Some(*port), v6) {
                    return;
                }
                let f = batch.frame_mut(usize::from(i));
                let _ = if v6 {
                    ipv6::decrement_hop_limit(f, ETH_HDR)
                } else {
                    ipv4::decrement_ttl(f, ETH_HDR)
                };
                self.punt.push((i, PuntReason::Resolve));
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
        if !self.security_passes(batch, i, Some(a.port), v6) {
            return;
        }
        let f = batch.frame_mut(usize::from(i));
        if too_big {
            let _ = ipv4::decrement_ttl(f, ETH_HDR);
            self.punt.push((i, PuntReason::Fragment { mtu: a.mtu }));
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

/// Where the route to `src` leads (the spoofing screen's reverse-path check).
pub(crate) fn source_route(
    (fib4, adj): (&savin_fib::Table<u32>, &[NextHop]),
    src: u32,
) -> SourceRoute {
    let nh = fib4.lookup(src);
    if nh == MISS {
        return SourceRoute::Unknown;
    }
    let port_of = |e: Option<&NextHop>| match e {
        Some(NextHop::Forward(a)) => Some(a.port),
        Some(NextHop::Resolve { port }) => Some(*port),
        _ => None,
    };
    match adj.get(nh as usize) {
        Some(NextHop::Local) => SourceRoute::Local,
        Some(NextHop::Group { base, n }) => {
            let mut ports = [0; 4];
            let mut k = 0;
            for m in 0..u32::from(*n).min(4) {
                if let Some(p) = port_of(adj.get((base + m) as usize)) {
                    ports[k] = p;
                    k += 1;
                }
            }
            SourceRoute::Ports(ports, k as u8)
        }
        e => match port_of(e) {
            Some(p) => SourceRoute::Ports([p, 0, 0, 0], 1),
            None => SourceRoute::Unknown,
        },
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
pub(crate) fn ip_ports(f: &[u8], proto_at: usize, l4: usize) -> (u8, u16, u16) {
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
