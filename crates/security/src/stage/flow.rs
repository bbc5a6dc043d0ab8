//! The security stage: zones, host-inbound traffic, sessions and policy for routed IPv4.
//!
//! Runs on the pipeline's output arc, once the egress port is known: a packet of an existing session (either
//! direction) is checked and counted by the session table and skips policy; the first packet
//! of a flow gets the policy of its zone pair, and a session if permitted. What the control
//! plane publishes is [`SecurityTables`]; the session table belongs to the worker.

use savin_classify::Header;
use savin_dataplane::counters::DropReason;
use savin_security_tables::icmp_port;
use savin_session::{FlowKey, TcpSeg};
use savin_wire::ethernet::HEADER_LEN as ETH_HDR;

/// The 5-tuple of a checked IPv4 frame, with what tracking needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flow {
    pub key: FlowKey,
    /// The classifier's destination port: the key's, or for ICMP its type and code (the key
    /// carries the echo identifier there).
    pub hport: u16,
    pub tcp: Option<TcpSeg>,
    pub icmp_type: u8,
    /// IP length, for byte counters.
    pub len: u32,
    /// A fragment (first or later): its session is found or left by datagram too.
    pub fragment: bool,
}

impl Flow {
    /// The classifier's view of the flow. (Made when wanted, for first packets: the header
    /// kept beside the key in every parsed flow was 16 bytes more to write per packet.)
    #[inline]
    pub fn header(&self) -> Header {
        Header {
            src: self.key.src,
            dst: self.key.dst,
            sport: self.key.sport,
            dport: self.hport,
            proto: self.key.proto,
        }
    }
}

/// Reads the flow of a checked IPv4 frame. None: too short for its transport header.
#[inline]
pub fn flow_of(f: &[u8]) -> Option<Flow> {
    let l3 = ETH_HDR;
    let ihl = usize::from(f[l3] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]));
    let proto = f[l3 + 9];
    let src = u32::from_be_bytes([f[l3 + 12], f[l3 + 13], f[l3 + 14], f[l3 + 15]]);
    let dst = u32::from_be_bytes([f[l3 + 16], f[l3 + 17], f[l3 + 18], f[l3 + 19]]);
    let l4 = f.get(l3 + ihl..(l3 + total).min(f.len()))?;
    let payload = (total - ihl) as u32;
    let frag = u16::from_be_bytes([f[l3 + 6], f[l3 + 7]]);
    let fragment = frag & 0x1fff != 0;
    let (sport, dport, hport, icmp_type, tcp) = match proto {
        // A non-first fragment has no ports: it is classified as the protocol alone.
        _ if fragment => (0, 0, 0, 0, None),
        6 | 17 | 132 => {
            let sp = u16::from_be_bytes([*l4.first()?, *l4.get(1)?]);
            let dp = u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]);
            let tcp = if proto == 6 {
                Some(TcpSeg::parse(l4, payload)?)
            } else {
                None
            };
            (sp, dp, dp, 0, tcp)
        }
        1 => {
            let (t, c) = (*l4.first()?, *l4.get(1)?);
            // Echo request and reply share the identifier, so both ends have one key.
            let id = if matches!(t, 0 | 8) {
                u16::from_be_bytes([*l4.get(4)?, *l4.get(5)?])
            } else {
                icmp_port(t, c)
            };
            (id, id, icmp_port(t, c), t, None)
        }
        _ => (0, 0, 0, 0, None),
    };
    Some(Flow {
        key: FlowKey {
            src,
            dst,
            sport,
            dport,
            proto,
        },
        hport,
        tcp,
        icmp_type,
        len: total as u32,
        fragment: frag & 0x3fff != 0,
    })
}

/// The drop reason of a refused session operation.
#[inline]
pub fn drop_of(e: savin_session::TrackError) -> DropReason {
    match e {
        savin_session::TrackError::NotSyn => DropReason::TcpNotSyn,
        savin_session::TrackError::Window => DropReason::TcpOutOfWindow,
        savin_session::TrackError::Full => DropReason::SessionTableFull,
        savin_session::TrackError::Exists => DropReason::PolicyDenied,
        // Callers that meet it retire the session and start another; one that cannot, drops.
        savin_session::TrackError::Reopen => DropReason::TcpOutOfWindow,
    }
}
