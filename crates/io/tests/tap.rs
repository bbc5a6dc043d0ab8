//! The TAP driver against the kernel: what the kernel sends through the TAP (an ARP request
//! for a neighbour) is read, and what we write (the reply) the kernel takes in (its neighbour
//! table learns the address).

use std::process::Command;
use std::time::{Duration, Instant};

use savin_io::tap::TapPort;
use savin_io::{FrameBatch, PacketIo};
use savin_lab::Lab;

const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x42];

fn ip(args: &[&str]) -> String {
    let o = Command::new("ip").args(args).output().expect("ip");
    assert!(o.status.success(), "ip {args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn frames_cross_a_tap_both_ways() {
    let Some(mut lab) = Lab::require("frames_cross_a_tap_both_ways") else {
        return;
    };
    let ns = lab.netns("host").unwrap();
    let neigh = lab.run_in(&ns, || {
        let mut tap = TapPort::open("svtap0").unwrap();
        ip(&["link", "set", "svtap0", "up"]);
        ip(&["addr", "add", "10.9.0.1/24", "dev", "svtap0"]);
        // The kernel wants 10.9.0.2: its ARP request comes out of the TAP.
        let mut pinger = Command::new("ping")
            .args(["-c", "3", "-i", "0.5", "-W", "1", "10.9.0.2"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut batch = FrameBatch::with_capacity(16);
        let start = Instant::now();
        let request = loop {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no ARP request from the kernel"
            );
            batch.clear();
            tap.rx(&mut batch).unwrap();
            if let Some(f) = batch
                .iter()
                .find(|f| f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[38..42] == [10, 9, 0, 2])
            {
                break f.to_vec();
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        // Answer it: 10.9.0.2 is at PEER_MAC.
        let mut reply = request[6..12].to_vec();
        reply.extend_from_slice(&PEER_MAC);
        reply.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
        reply.extend_from_slice(&PEER_MAC);
        reply.extend_from_slice(&[10, 9, 0, 2]);
        reply.extend_from_slice(&request[6..12]);
        reply.extend_from_slice(&[10, 9, 0, 1]);
        reply.resize(60, 0);
        let mut out = FrameBatch::with_capacity(1);
        out.push(&reply);
        assert_eq!(tap.tx(&out, &[0]).unwrap(), 1);
        std::thread::sleep(Duration::from_millis(200));
        let _ = pinger.kill();
        let _ = pinger.wait();
        ip(&["neigh", "show", "10.9.0.2", "dev", "svtap0"])
    });
    assert!(
        neigh.contains("02:00:00:00:00:42"),
        "the kernel learnt the reply: {neigh}"
    );
}
