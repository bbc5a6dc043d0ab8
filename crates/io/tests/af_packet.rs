//! The AF_PACKET driver against a real Linux host in a namespace: frames we put in the TX ring
//! reach the host's kernel, its replies come back through the RX ring (V2 and V3) with the
//! kernel's receive stamp, and a VLAN tag the kernel moved into metadata is back in the frame; a GSO super-frame goes out whole (by
//! sendmsg, after the ring's frames) and arrives whole with its offload header; a fanout group
//! spreads flows over its sockets, each flow to one.

use std::time::{Duration, Instant};

use savin_io::af_packet::{AfPacket, RingConfig};
use savin_io::{FrameBatch, PacketIo};
use savin_lab::Lab;

const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

fn arp_request(vlan: Option<u16>, spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&OUR_MAC);
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&spa);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&tpa);
    f.resize(f.len().max(60), 0);
    f
}

fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Sends `frame` and waits for a received frame that `want` accepts; asserts that the frame
/// carries the kernel's receive stamp, taken between the send and the receive.
fn exchange(port: &mut AfPacket, frame: &[u8], want: impl Fn(&[u8]) -> bool) -> Option<Vec<u8>> {
    let mut out = FrameBatch::with_capacity(1);
    out.push(frame);
    let sent = unix_ns();
    assert_eq!(port.tx(&out, &[0]).unwrap(), 1);
    let mut inb = FrameBatch::with_capacity(64);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        inb.clear();
        port.rx(&mut inb).unwrap();
        let seen = unix_ns();
        if let Some(i) = (0..inb.len()).find(|&i| want(inb.frame(i))) {
            let at = inb.rx_time(i);
            assert!(
                sent <= at && at <= seen,
                "receive stamp {at} not between the send {sent} and the receive {seen}"
            );
            return Some(inb.frame(i).to_vec());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

#[test]
fn arp_through_the_rings_untagged_and_tagged() {
    let Some(mut lab) = Lab::require("arp_through_the_rings_untagged_and_tagged") else {
        return;
    };
    let a = lab.netns("a").unwrap();
    let b = lab.netns("b").unwrap();
    lab.veth(&a, "eth0", &b, "eth0").unwrap();
    lab.addr(&b, "eth0", "10.9.0.2/24").unwrap();
    lab.vlan(&b, "eth0", 100, "eth0.100").unwrap();
    lab.addr(&b, "eth0.100", "10.9.1.2/24").unwrap();
    // Replies go to OUR_MAC, not eth0's own address.
    lab.exec(
        &a,
        &["ip", "link", "set", "eth0", "promisc", "on"],
        Duration::from_secs(5),
    )
    .unwrap();
    let (plain, tagged, v3) = lab.run_in(&a, || {
        let mut port = AfPacket::open("eth0", RingConfig::default()).unwrap();
        let is_reply_from = |ip: [u8; 4], tagged: bool| {
            move |f: &[u8]| {
                let arp = if tagged {
                    if f.len() < 46 || f[12..16] != [0x81, 0x00, 0x00, 100] {
                        return false;
                    }
                    &f[16..]
                } else {
                    &f[12..]
                };
                arp.len() >= 30
                    && arp[..2] == [0x08, 0x06]
                    && arp[8..10] == [0, 2]
                    && arp[16..20] == ip
            }
        };
        let plain = exchange(
            &mut port,
            &arp_request(None, [10, 9, 0, 1], [10, 9, 0, 2]),
            is_reply_from([10, 9, 0, 2], false),
        );
        let tagged = exchange(
            &mut port,
            &arp_request(Some(100), [10, 9, 1, 1], [10, 9, 1, 2]),
            is_reply_from([10, 9, 1, 2], true),
        );
        // The same through a TPACKET_V3 ring (blocks of frames, stamps in their headers).
        let mut v3 = AfPacket::open(
            "eth0",
            RingConfig {
                version: savin_io::af_packet::RingVersion::V3,
                ..RingConfig::default()
            },
        )
        .unwrap();
        let v3 = exchange(
            &mut v3,
            &arp_request(None, [10, 9, 0, 1], [10, 9, 0, 2]),
            is_reply_from([10, 9, 0, 2], false),
        );
        (plain, tagged, v3)
    });
    let plain = plain.expect("ARP reply from the host on the untagged link");
    assert_eq!(plain[..6], OUR_MAC, "addressed to us");
    let tagged = tagged.expect("ARP reply from the host on VLAN 100, with its tag in the frame");
    assert_eq!(tagged[..6], OUR_MAC);
    v3.expect("ARP reply through a TPACKET_V3 ring");
}

#[test]
fn a_missing_interface_is_a_clear_error() {
    let err = AfPacket::open("no-such-if0", RingConfig::default())
        .err()
        .unwrap();
    assert_eq!(err.to_string(), "no such interface: no-such-if0");
}

/// A TCP/IPv4 super-frame of `payload` bytes (GSO, segments of 1448) from a0 to b0.
fn super_frame(payload: usize) -> (Vec<u8>, savin_io::Offload) {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02];
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (40 + payload) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend_from_slice(&[10, 9, 2, 1, 10, 9, 2, 2]);
    let c = savin_io::csum::fold(savin_io::csum::add(0, &f[14..34]));
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&[
        0x9c, 0x40, 0x14, 0x51, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0x50, 0x18, 0x01, 0xf5, 0, 0, 0, 0,
    ]);
    f.extend((0..payload).map(|i| (i % 251) as u8));
    let o = savin_io::Offload {
        flags: savin_io::Offload::NEEDS_CSUM,
        gso_type: 1,
        hdr_len: 54,
        gso_size: 1448,
        csum_start: 34,
        csum_offset: 16,
    };
    (f, o)
}

#[test]
fn a_super_frame_goes_out_whole_with_its_offload_header() {
    let Some(mut lab) = Lab::require("a_super_frame_goes_out_whole_with_its_offload_header") else {
        return;
    };
    let a = lab.netns("a").unwrap();
    let b = lab.netns("b").unwrap();
    lab.veth(&a, "a0", &b, "b0").unwrap();
    lab.exec(
        &b,
        &["ip", "link", "set", "b0", "promisc", "on"],
        Duration::from_secs(5),
    )
    .unwrap();
    // Sockets stay in the namespace they were made in, whichever thread uses them.
    let mut rx = lab.run_in(&b, || AfPacket::open("b0", RingConfig::default()).unwrap());
    let mut tx = lab.run_in(&a, || AfPacket::open("a0", RingConfig::default()).unwrap());
    let (frame, offload) = super_frame(20_000);
    let mut out = FrameBatch::with_frame_size(2, savin_io::MAX_GSO_FRAME);
    // A small frame first, then the super-frame: both go, in order.
    out.push(&arp_request(None, [10, 9, 2, 1], [10, 9, 2, 2]));
    out.push(&frame);
    out.set_offload(1, offload);
    assert_eq!(tx.tx(&out, &[0, 1]).unwrap(), 2);
    assert_eq!(
        tx.tx_direct, 1,
        "the super-frame by sendmsg, not through the ring"
    );
    let mut inb = FrameBatch::with_frame_size(64, savin_io::MAX_GSO_FRAME);
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < 2 && start.elapsed() < Duration::from_secs(3) {
        inb.clear();
        rx.rx(&mut inb).unwrap();
        // Ours only: a0's kernel sends IPv6 of its own (router solicitations, MLD) as it
        // comes up.
        got.extend(
            (0..inb.len())
                .filter(|&i| matches!(inb.frame(i)[12..14], [0x08, 0x06] | [0x08, 0x00]))
                .map(|i| (inb.frame(i).to_vec(), inb.offload(i))),
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(got.len(), 2, "both frames arrive");
    assert_eq!(got[0].0[12..14], [0x08, 0x06], "the small frame first");
    let (got, o) = &got[1];
    let expect = &frame;
    assert_eq!(got.len(), expect.len());
    assert_eq!(&got[54..], &expect[54..], "payload intact");
    assert_eq!(
        (o.gso_type & 0x7f, o.gso_size),
        (1, 1448),
        "still a super-frame"
    );
}

/// An IPv4/UDP frame of flow `flow` (its source port), numbered `seq` in its payload.
fn udp_frame(flow: u16, seq: u16) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [
        0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 9, 3, 1, 10, 9, 3, 2,
    ];
    let sum = savin_io::csum::fold(savin_io::csum::add(0, &ip));
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&(10_000 + flow).to_be_bytes());
    f.extend_from_slice(&9999u16.to_be_bytes());
    f.extend_from_slice(&[0, 12, 0, 0]);
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&[0; 2]);
    f.resize(60, 0);
    f
}

#[test]
fn a_fanout_group_keeps_each_flow_on_one_socket_and_loses_nothing() {
    let Some(mut lab) =
        Lab::require("a_fanout_group_keeps_each_flow_on_one_socket_and_loses_nothing")
    else {
        return;
    };
    let a = lab.netns("a").unwrap();
    let b = lab.netns("b").unwrap();
    lab.veth(&a, "a0", &b, "b0").unwrap();
    let mut workers = lab.run_in(&b, || {
        (0..2)
            .map(|_| {
                let p = AfPacket::open("b0", RingConfig::default()).unwrap();
                p.join_fanout(0x5a51).unwrap();
                p
            })
            .collect::<Vec<_>>()
    });
    let mut tx = lab.run_in(&a, || AfPacket::open("a0", RingConfig::default()).unwrap());
    const FLOWS: u16 = 16;
    const EACH: u16 = 20;
    let mut out = FrameBatch::with_capacity(256);
    for seq in 0..EACH {
        for flow in 0..FLOWS {
            out.push(&udp_frame(flow, seq));
        }
    }
    let all: Vec<u16> = (0..out.len() as u16).collect();
    assert_eq!(tx.tx(&out, &all).unwrap(), all.len());
    // Which socket saw each of our frames: (flow, socket).
    let mut seen: Vec<(u16, usize)> = Vec::new();
    let mut inb = FrameBatch::with_frame_size(256, savin_io::MAX_GSO_FRAME);
    let start = Instant::now();
    while seen.len() < all.len() && start.elapsed() < Duration::from_secs(3) {
        for (w, port) in workers.iter_mut().enumerate() {
            inb.clear();
            port.rx(&mut inb).unwrap();
            for f in inb.iter() {
                if f.len() >= 42 && f[12..14] == [0x08, 0x00] && f[36..38] == [0x27, 0x0f] {
                    seen.push((u16::from_be_bytes([f[34], f[35]]) - 10_000, w));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(seen.len(), all.len(), "every frame reaches one socket");
    for flow in 0..FLOWS {
        let on: std::collections::BTreeSet<usize> =
            seen.iter().filter(|s| s.0 == flow).map(|s| s.1).collect();
        assert_eq!(on.len(), 1, "flow {flow} went to sockets {on:?}");
    }
    let used: std::collections::BTreeSet<usize> = seen.iter().map(|s| s.1).collect();
    assert_eq!(used.len(), 2, "16 flows spread over both sockets");
    // What a worker sends on the interface does not come back to the group (a router on
    // a fanout group would otherwise forward its own output again): small frames from the
    // ring, and super-frames, which go by the send-only socket outside the group.
    let mut own = FrameBatch::with_frame_size(2, savin_io::MAX_GSO_FRAME);
    own.push(&udp_frame(99, 0));
    let (big, offload) = super_frame(20_000);
    own.push(&big);
    own.set_offload(1, offload);
    assert_eq!(workers[0].tx(&own, &[0, 1]).unwrap(), 2);
    assert_eq!(workers[0].tx_direct, 1);
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        for port in workers.iter_mut() {
            inb.clear();
            port.rx(&mut inb).unwrap();
            assert!(
                !inb.iter()
                    .any(|f| f.len() > 4096
                        || (f.len() >= 42 && f[34..36] == (10_099u16).to_be_bytes())),
                "the group received a frame one of its sockets sent"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
