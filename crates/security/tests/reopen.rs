//! A client that resets its connections reuses their ports at once (RFC 1122 allows it; a
//! load generator or a health checker does it thousands of times a second): a SYN on the
//! tuple of a closed session starts a new session, through policy and source NAT, as
//! conntrack reopens a closed connection. A SYN on a session that is still open is not a new
//! connection and stays subject to the window check.

mod common;

use common::Pipeline;
use savin_dataplane::{Adjacency, DropReason, NextHop, Tables};
use savin_fib::Fib;
use savin_io::FrameBatch;
use savin_security::SessionEvent;

const CONFIG: &str = "\
set interfaces eth1 unit 0 family inet address 10.0.1.1/24
set interfaces eth2 unit 0 family inet address 203.0.113.1/24
set security zones security-zone trust interfaces eth1.0
set security zones security-zone untrust interfaces eth2.0
set security policies from-zone trust to-zone untrust policy web match source-address any
set security policies from-zone trust to-zone untrust policy web match destination-address any
set security policies from-zone trust to-zone untrust policy web match application junos-http
set security policies from-zone trust to-zone untrust policy web then permit
set security policies from-zone trust to-zone untrust policy web then log session-close
set security nat source pool p address 203.0.113.10/32
set security nat source rule-set s from zone trust
set security nat source rule-set s to zone untrust
set security nat source rule-set s rule a match source-address 10.0.0.0/8
set security nat source rule-set s rule a then source-nat pool p
";

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const RST: u8 = 0x04;
const CLIENT: [u8; 4] = [10, 0, 1, 2];
const SERVER: [u8; 4] = [198, 51, 100, 7];

/// A TCP segment (no payload) as an Ethernet frame with a valid IP header checksum.
fn tcp(src: ([u8; 4], u16), dst: ([u8; 4], u16), flags: u8, seq: u32, ack: u32) -> Vec<u8> {
    let mut f = savin_dataplane::ipv4::test_frame(src.0, dst.0, 64, 54);
    let ip = &mut f[14..34];
    ip[9] = 6;
    ip[10..12].fill(0);
    let c = savin_dataplane::checksum::checksum(ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let t = &mut f[34..54];
    t.fill(0);
    t[0..2].copy_from_slice(&src.1.to_be_bytes());
    t[2..4].copy_from_slice(&dst.1.to_be_bytes());
    t[4..8].copy_from_slice(&seq.to_be_bytes());
    t[8..12].copy_from_slice(&ack.to_be_bytes());
    t[12] = 0x50;
    t[13] = flags;
    t[14..16].copy_from_slice(&64240u16.to_be_bytes());
    f
}

/// Tables routing 10.0.1.0/24 out of port 0 (trust) and everything else out of port 1.
fn tables() -> (Fib<u32>, Tables) {
    let mut fib = Fib::new();
    fib.insert(0, 0, 1).expect("next hop in range");
    fib.insert(0x0a00_0100, 24, 2).expect("next hop in range");
    let adj = |port| {
        NextHop::Forward(Adjacency {
            port,
            dst_mac: [2; 6],
            src_mac: [4; 6],
            mtu: 1500,
        })
    };
    let t = Tables::routed(fib.reader(), vec![NextHop::Unresolved, adj(1), adj(0)]);
    t.security.store(Some(common::security(CONFIG, false)));
    (fib, t)
}

/// Sends one frame in on `port`; returns it as it left (on the other port), if it did.
fn send(p: &mut Pipeline, t: &Tables, port: u16, frame: Vec<u8>) -> Option<Vec<u8>> {
    let mut batch = FrameBatch::with_capacity(4);
    assert!(batch.push(&frame));
    p.process(&mut batch, t, port);
    let out = &p.tx[usize::from(1 - port)];
    out.first().map(|&i| batch.frame(usize::from(i)).to_vec())
}

/// The translated source (address, port) of a frame that left on the untrust side.
fn source(f: &[u8]) -> ([u8; 4], u16) {
    (
        [f[26], f[27], f[28], f[29]],
        u16::from_be_bytes([f[34], f[35]]),
    )
}

#[test]
fn a_syn_on_the_tuple_of_a_reset_connection_opens_a_new_session() {
    let (_fib, t) = tables();
    let mut p = common::pipeline(2, 32);
    let client = (CLIENT, 40000);
    let server = (SERVER, 80);
    // A connection: handshake through source NAT, then the client resets it.
    let out = send(&mut p, &t, 0, tcp(client, server, SYN, 1000, 0)).expect("SYN forwarded");
    let nat = source(&out);
    assert_eq!(nat.0, [203, 0, 113, 10]);
    send(&mut p, &t, 1, tcp(server, nat, SYN | ACK, 5000, 1001)).expect("SYN-ACK back");
    send(&mut p, &t, 0, tcp(client, server, ACK, 1001, 5001)).expect("ACK");
    // A SYN with another sequence number while the connection is open: not a new one.
    assert!(send(&mut p, &t, 0, tcp(client, server, SYN, 900_000_000, 0)).is_none());
    assert_eq!(p.counters.dropped(DropReason::TcpOutOfWindow), 1);
    send(&mut p, &t, 0, tcp(client, server, RST | ACK, 1001, 5001)).expect("RST");
    let sessions = |p: &Pipeline| p.feature.sessions.as_ref().map_or(0, |s| s.len());
    assert_eq!(sessions(&p), 1);
    // The same port again at once, a new initial sequence number: a new connection.
    let out = send(&mut p, &t, 0, tcp(client, server, SYN, 777_777, 0))
        .expect("the SYN reusing the port is forwarded");
    let nat2 = source(&out);
    assert_eq!(nat2.0, [203, 0, 113, 10]);
    let s = p.feature.sessions.as_ref().expect("a session table");
    assert_eq!(s.counters().reopened, 1);
    assert_eq!(s.counters().created, 2);
    assert_eq!(
        sessions(&p),
        1,
        "the closed session went, the new one is the only one"
    );
    // The new connection completes through its own session and translation.
    let back = send(&mut p, &t, 1, tcp(server, nat2, SYN | ACK, 9000, 777_778))
        .expect("the new SYN-ACK is translated back");
    assert_eq!(&back[30..34], &CLIENT);
    assert_eq!(u16::from_be_bytes([back[36], back[37]]), 40000);
    send(&mut p, &t, 0, tcp(client, server, ACK, 777_778, 9001)).expect("ACK of the new one");
    assert_eq!(p.counters.dropped(DropReason::TcpOutOfWindow), 1);
    // The old session's close was reported (logged) when it went, as reset.
    let closes: Vec<_> = p
        .feature
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Close(g) => Some(g),
            SessionEvent::Create { .. } => None,
        })
        .collect();
    assert_eq!(closes.len(), 1, "{:?}", p.feature.events);
    assert_eq!(closes[0].reason, savin_session::CloseReason::Rst);
    assert_eq!(closes[0].info.key.sport, 40000);
}
