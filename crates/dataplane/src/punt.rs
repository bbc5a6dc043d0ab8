//! The queue from the workers to the control plane, and what goes on it.
//!
//! One queue carries every punted frame: ARP and ND, packets waiting for a neighbour, ICMP
//! errors to send, frames to fragment, and frames for the box's own sockets (BGP, SSH, NETCONF
//! behind the host interfaces). Each of the two kinds has its own bound, and a kind past its
//! bound drops: an ARP flood (every request from a new sender costs the control plane a
//! neighbour) cannot drop the BGP keepalives behind it, and a flood of SYNs to the box cannot
//! keep ARP from resolving neighbours - as a router's control-plane protection keeps routing
//! protocols and ARP apart.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{
    sync_channel, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError,
};
use std::sync::Arc;
use std::time::Duration;

use crate::ipv4::{ETHERTYPE_IPV4, ETH_HDR};
use crate::ipv6::ETHERTYPE_IPV6;

/// Why a frame goes to the control plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PuntReason {
    /// For the box (ARP, its own addresses).
    Host,
    /// Routed, waiting for its neighbour to be resolved: the next-hop index the lookup chose
    /// (an equal-cost group's member), so the control plane resolves that neighbour and never
    /// picks a member of its own.
    Resolve {
        nh: u32,
    },
    /// Dropped; the control plane answers with an ICMP error (the frame is a copy of the
    /// first bytes, enough to quote).
    TtlExpired,
    NoRoute,
    Reject,
    FragmentationNeeded {
        mtu: u16,
    },
    /// Routed (TTL decremented), larger than `mtu` with DF clear: fragment and send by next
    /// hop `nh` (the one the lookup chose).
    Fragment {
        mtu: u16,
        nh: u32,
    },
    /// A `reject` policy: answer with a TCP RST, or ICMP administratively prohibited.
    PolicyReject,
}

impl PuntReason {
    #[inline]
    pub(crate) fn is_error(self) -> bool {
        matches!(
            self,
            PuntReason::TtlExpired
                | PuntReason::NoRoute
                | PuntReason::Reject
                | PuntReason::PolicyReject
                | PuntReason::FragmentationNeeded { .. }
        )
    }
}

/// A frame for the control plane, with the port it came in on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Punted {
    pub port: u16,
    pub reason: PuntReason,
    pub frame: Vec<u8>,
}

impl Punted {
    /// For the box's own sockets: IPv4 or IPv6 addressed to it, other than neighbour discovery
    /// (which the control plane answers itself, as it does ARP). These have their own share
    /// of the queue; anything not known to be one of them has the other.
    #[inline]
    pub fn for_sockets(&self) -> bool {
        self.reason == PuntReason::Host && is_ip_but_not_nd(&self.frame)
    }
}

/// Whether a frame for the box goes straight to the kernel's sockets through the port's host
/// interface (TAP), with no stop at the control thread: IP to the box that the control plane
/// does not answer itself (not ARP, not Neighbor Discovery, not an echo request), untagged;
/// unicast, or link-local multicast of a routing protocol (224.0.0.0/24: OSPF, VRRP; IPv6
/// ff02::/16 other than ICMPv6: OSPFv3, VRRP). The control thread still gets the rest.
#[inline]
pub fn straight_to_host(frame: &[u8]) -> bool {
    let Some(t) = frame.get(12..14) else {
        return false;
    };
    let unicast = frame[0] & 1 == 0;
    match u16::from_be_bytes([t[0], t[1]]) {
        ETHERTYPE_IPV4 => {
            let Some(ip) = frame.get(ETH_HDR..ETH_HDR + 20) else {
                return false;
            };
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let link_mcast = ip[16] == 224 && ip[17] == 0 && ip[18] == 0;
            let echo = ip[9] == 1 && frame.get(ETH_HDR + ihl) == Some(&8);
            (unicast || link_mcast) && !echo
        }
        ETHERTYPE_IPV6 => {
            let Some(ip) = frame.get(ETH_HDR..ETH_HDR + 40) else {
                return false;
            };
            let icmp = ip[6] == 58;
            if ip[24] == 0xff {
                // Multicast: MLD, router solicitations and the like stay with the control plane.
                return !icmp;
            }
            // ND (133-137) and echo requests (128) are answered by the control plane.
            unicast
                && !(icmp
                    && frame
                        .get(ETH_HDR + 40)
                        .is_none_or(|t| *t == 128 || (133..=137).contains(t)))
        }
        _ => false,
    }
}

fn is_ip_but_not_nd(frame: &[u8]) -> bool {
    let Some(t) = frame.get(12..14) else {
        return false;
    };
    match u16::from_be_bytes([t[0], t[1]]) {
        ETHERTYPE_IPV4 => frame.len() >= ETH_HDR + 20,
        // ND: next header ICMPv6 (58) right after the fixed header, types 133-137 (router and
        // neighbour solicitation and advertisement, redirect).
        ETHERTYPE_IPV6 => {
            frame.len() >= ETH_HDR + 40
                && !(frame[ETH_HDR + 6] == 58
                    && frame
                        .get(ETH_HDR + 40)
                        .is_none_or(|t| (133..=137).contains(t)))
        }
        _ => false,
    }
}

/// A queue that holds up to `others` frames that are not for the box's sockets and, beside
/// them, up to `sockets` that are ([`Punted::for_sockets`]).
pub fn punt_queue(others: usize, sockets: usize) -> (PuntSender, PuntReceiver) {
    let (tx, rx) = sync_channel(others + sockets);
    let queued: Arc<[AtomicUsize; 2]> = Arc::default();
    (
        PuntSender {
            tx,
            queued: queued.clone(),
            max: [others, sockets],
        },
        PuntReceiver { rx, queued },
    )
}

/// Which count a frame is under: 0 the rest, 1 for the box's sockets.
fn kind(p: &Punted) -> usize {
    usize::from(p.for_sockets())
}

/// The workers' end. Never blocks.
#[derive(Clone)]
pub struct PuntSender {
    tx: SyncSender<Punted>,
    /// Frames of each kind in the queue (never fewer than there are: counted up before they
    /// are sent and down after they are received).
    queued: Arc<[AtomicUsize; 2]>,
    max: [usize; 2],
}

impl PuntSender {
    /// Queues `p`, or gives it back when its kind's share of the queue is full.
    pub fn try_send(&self, p: Punted) -> Result<(), Punted> {
        let k = kind(&p);
        if self.queued[k].fetch_add(1, Ordering::Relaxed) >= self.max[k] {
            self.queued[k].fetch_sub(1, Ordering::Relaxed);
            return Err(p);
        }
        self.tx.try_send(p).map_err(|e| {
            self.queued[k].fetch_sub(1, Ordering::Relaxed);
            match e {
                TrySendError::Full(p) | TrySendError::Disconnected(p) => p,
            }
        })
    }
}

/// The control plane's end.
pub struct PuntReceiver {
    rx: Receiver<Punted>,
    queued: Arc<[AtomicUsize; 2]>,
}

impl PuntReceiver {
    fn took(&self, p: Punted) -> Punted {
        self.queued[kind(&p)].fetch_sub(1, Ordering::Relaxed);
        p
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Result<Punted, RecvTimeoutError> {
        self.rx.recv_timeout(timeout).map(|p| self.took(p))
    }

    pub fn try_recv(&self) -> Result<Punted, TryRecvError> {
        self.rx.try_recv().map(|p| self.took(p))
    }

    /// The frames waiting now, without blocking.
    pub fn try_iter(&self) -> impl Iterator<Item = Punted> + '_ {
        std::iter::from_fn(|| self.try_recv().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6(next_header: u8, icmp_type: u8) -> Vec<u8> {
        let mut f = vec![0u8; ETH_HDR + 48];
        f[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
        f[ETH_HDR + 6] = next_header;
        f[ETH_HDR + 40] = icmp_type;
        f
    }

    fn tcp4_copy() -> Vec<u8> {
        crate::ipv4::test_frame([192, 0, 2, 1], [10, 0, 0, 1], 64, 64)
    }

    #[test]
    fn arp_and_neighbour_discovery_are_told_from_frames_for_the_boxs_sockets() {
        let host = |frame: Vec<u8>| Punted {
            port: 0,
            reason: PuntReason::Host,
            frame,
        };
        let mut arp = vec![0xffu8; 60];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(!host(arp.clone()).for_sockets());
        for nd in 133..=137 {
            assert!(!host(ipv6(58, nd)).for_sockets(), "ICMPv6 type {nd}");
        }
        assert!(host(ipv6(58, 128)).for_sockets(), "echo request is not ND");
        assert!(host(ipv6(6, 135)).for_sockets(), "TCP whatever its bytes");
        let tcp4 = tcp4_copy();
        assert!(host(tcp4.clone()).for_sockets());
        // Only frames for the box: the rest never use the reserved share.
        let resolve = Punted {
            reason: PuntReason::Resolve { nh: 1 },
            ..host(tcp4)
        };
        assert!(!resolve.for_sockets());
        // Neither is what cannot be told apart; and short frames do not panic.
        for len in 0..ETH_HDR + 41 {
            let mut f = ipv6(58, 135);
            f.truncate(len);
            assert!(!host(f).for_sockets(), "{len} bytes");
        }
        let mut vlan = tcp4_copy();
        vlan[12..14].copy_from_slice(&[0x81, 0x00]);
        assert!(!host(vlan).for_sockets());
    }
}
