//! Savin's ARP against a real Linux host: the host resolves our address from our replies (it
//! then sends its ICMP echo requests to our MAC), and we resolve the host.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use savin_dataplane::arp::{Arp, ArpAction, ArpConfig, ArpInterface};
use savin_io::af_packet::{AfPacket, RingConfig};
use savin_io::{FrameBatch, PacketIo};
use savin_lab::Lab;

const OUR_MAC: [u8; 6] = [0x02, 0x5a, 0, 0, 0, 0x01];

#[test]
fn a_linux_host_resolves_us_and_we_resolve_it() {
    let Some(mut lab) = Lab::require("a_linux_host_resolves_us_and_we_resolve_it") else {
        return;
    };
    let a = lab.netns("a").unwrap();
    let b = lab.netns("b").unwrap();
    lab.veth(&a, "eth0", &b, "eth0").unwrap();
    lab.addr(&b, "eth0", "10.9.0.2/24").unwrap();
    lab.exec(
        &a,
        &["ip", "link", "set", "eth0", "promisc", "on"],
        Duration::from_secs(5),
    )
    .unwrap();
    // The host pings our address for a while; it can only send the echo once ARP worked.
    lab.spawn(
        &b,
        &["ping", "-c", "20", "-i", "0.2", "10.9.0.1"],
        None,
        None,
    )
    .unwrap();
    let (echo_to_us, host_mac) = lab.run_in(&a, move || {
        let mut port = AfPacket::open("eth0", RingConfig::default()).unwrap();
        let ifc = ArpInterface {
            port: 0,
            mac: OUR_MAC,
            addrs: vec![(Ipv4Addr::new(10, 9, 0, 1), 24)],
            proxy: Vec::new(),
        };
        let mut arp = Arp::new(ArpConfig::default());
        let start = Instant::now();
        let now = || start.elapsed().as_millis() as u64;
        let mut rx = FrameBatch::with_capacity(64);
        let mut tx = FrameBatch::with_capacity(64);
        let mut echo_to_us = false;
        let mut host_mac = None;
        // Ask for the host ourselves too (with a packet held for it).
        let mut actions = arp.resolve(&ifc, Ipv4Addr::new(10, 9, 0, 2), vec![0u8; 60], now());
        while start.elapsed() < Duration::from_secs(4) && !(echo_to_us && host_mac.is_some()) {
            rx.clear();
            port.rx(&mut rx).unwrap();
            for f in rx.iter() {
                if f.len() >= 14 && f[12..14] == [0x08, 0x06] {
                    actions.extend(arp.receive(&ifc, f, now()));
                } else if f.len() >= 34
                    && f[..6] == OUR_MAC
                    && f[12..14] == [0x08, 0x00]
                    && f[23] == 1
                {
                    echo_to_us = true;
                }
            }
            actions.extend(arp.tick(std::slice::from_ref(&ifc), now()));
            tx.clear();
            for act in actions.drain(..) {
                match act {
                    ArpAction::Send { frame, .. } => {
                        tx.push(&frame);
                    }
                    ArpAction::Resolved { mac, .. } => host_mac = Some(mac),
                    ArpAction::Unreachable { .. } | ArpAction::Conflict { .. } => {}
                }
            }
            let all: Vec<u16> = (0..tx.len() as u16).collect();
            port.tx(&tx, &all).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        (echo_to_us, host_mac)
    });
    assert!(
        echo_to_us,
        "the host never sent an ICMP echo to our MAC: it did not accept our ARP reply"
    );
    let out = lab
        .exec(
            &b,
            &["cat", "/sys/class/net/eth0/address"],
            Duration::from_secs(5),
        )
        .unwrap();
    let want: Vec<u8> = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    assert_eq!(
        host_mac.map(|m| m.to_vec()),
        Some(want),
        "we resolved the host's real MAC"
    );
}
