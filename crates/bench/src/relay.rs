//! The smallest userspace router over the same I/O as Savin: a yardstick for the namespace
//! benchmarks. It takes frames from one AF_PACKET port and puts them out of the other with
//! the MAC addresses rewritten and the TTL decremented, nothing else: no table lookup, no
//! ARP (the hosts get a static neighbour), no security. What it cannot beat, no data plane
//! built on this driver can; the gap between it and the Linux kernel is the I/O's, and the
//! gap between it and Savin is Savin's own work.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

// Savin's worker's own wait: busy (yielding) this long after the last frame, then asleep
// in poll(2), so the relay waits for frames exactly as the worker does.
use savin_forwarding::BUSY_AFTER_TRAFFIC;
use savin_io::af_packet::{AfPacket, RingConfig};
use savin_io::{FrameBatch, PacketIo};

/// A running relay between two ports; stops when dropped.
pub(crate) struct Relay {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

/// One side of the relay: its port, its own MAC and the MAC of the host behind it.
pub(crate) struct Side {
    pub port: AfPacket,
    pub mac: [u8; 6],
    pub peer: [u8; 6],
}

impl Relay {
    /// Starts relaying between the two sides on a thread named `relay-worker`.
    pub(crate) fn start(sides: [Side; 2]) -> std::io::Result<Relay> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("relay-worker".into())
            .spawn(move || run(sides, &s))?;
        Ok(Relay {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the relay; returns how many frames it forwarded.
    pub(crate) fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or(0)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens the port on `ifname` as Savin opens its ports (same ring geometry, GRO off, up).
/// Call it inside the router's namespace.
pub(crate) fn open(ifname: &str) -> anyhow::Result<AfPacket> {
    anyhow::ensure!(
        savin_io::af_packet::set_up(ifname),
        "could not bring {ifname} up"
    );
    savin_io::af_packet::disable_gro(ifname);
    Ok(AfPacket::open(ifname, RingConfig::default())?)
}

fn run(mut sides: [Side; 2], stop: &AtomicBool) -> u64 {
    let mut batch = FrameBatch::with_frame_size(256, savin_io::MAX_GSO_FRAME);
    let mut out: Vec<u16> = Vec::with_capacity(256);
    let mut forwarded = 0u64;
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let mut got = 0;
        for from in 0..2 {
            batch.clear();
            let n = sides[from].port.rx(&mut batch).unwrap_or(0);
            if n == 0 {
                continue;
            }
            got += n;
            let to = 1 - from;
            let (mac, peer) = (sides[to].mac, sides[to].peer);
            out.clear();
            for i in 0..n {
                if route(batch.frame_mut(i), mac, peer) {
                    out.push(i as u16);
                }
            }
            forwarded += sides[to].port.tx(&batch, &out).unwrap_or(0) as u64;
        }
        if got > 0 {
            last = Instant::now();
        } else if last.elapsed() < BUSY_AFTER_TRAFFIC {
            std::thread::yield_now();
        } else {
            wait(&sides);
        }
    }
    forwarded
}

/// What a router does to an IPv4 frame it forwards, and no more: new MAC addresses, TTL
/// down by one with the header checksum adjusted (RFC 1624). False for anything else.
fn route(f: &mut [u8], mac: [u8; 6], peer: [u8; 6]) -> bool {
    if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[14] >> 4 != 4 {
        return false;
    }
    // Savin's own TTL step (refuses TTL 1, updates the checksum as RFC 1624 says).
    if savin_dataplane::ipv4::decrement_ttl(f, 14).is_err() {
        return false;
    }
    f[..6].copy_from_slice(&peer);
    f[6..12].copy_from_slice(&mac);
    true
}

fn wait(sides: &[Side; 2]) {
    use nix::poll::{poll, PollFd, PollFlags};
    let mut fds: Vec<PollFd> = sides
        .iter()
        .filter_map(|s| s.port.readiness_fd())
        .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
        .collect();
    let _ = poll(&mut fds, 1u16);
}

/// The router lab of [`crate::router_lab`] with a relay as the router: the same hosts,
/// addresses and routes, the router's interfaces without addresses (its kernel neither
/// answers nor forwards), and the hosts given the gateway's MAC address statically.
pub(crate) fn relay_lab(
    lab: &mut savin_lab::Lab,
    threads: usize,
) -> anyhow::Result<(crate::RouterLab, Vec<Relay>)> {
    let r = lab.netns("r-relay")?;
    let h1 = lab.netns("h1")?;
    let h2 = lab.netns("h2")?;
    lab.veth(&r, "eth1", &h1, "eth0")?;
    lab.veth(&r, "eth2", &h2, "eth0")?;
    let mac = |lab: &savin_lab::Lab, ns: &savin_lab::Ns, ifname: &str| -> anyhow::Result<[u8; 6]> {
        let o = lab.exec(
            ns,
            &["cat", &format!("/sys/class/net/{ifname}/address")],
            Duration::from_secs(5),
        )?;
        let text = String::from_utf8_lossy(&o.stdout);
        let bytes: Vec<u8> = text
            .trim()
            .split(':')
            .filter_map(|b| u8::from_str_radix(b, 16).ok())
            .collect();
        bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("no MAC address for {ifname}: {text:?}"))
    };
    let mut ends = Vec::new();
    for (h, n) in [(&h1, 1), (&h2, 2)] {
        let port = format!("eth{n}");
        let (own, peer) = (mac(lab, &r, &port)?, mac(lab, h, "eth0")?);
        lab.addr(h, "eth0", &format!("10.0.{n}.2/24"))?;
        lab.route(h, &["default", "via", &format!("10.0.{n}.1")])?;
        let own_text = own.map(|b| format!("{b:02x}")).join(":");
        let gw = format!("10.0.{n}.1");
        let o = lab.exec(
            h,
            &[
                "ip",
                "neigh",
                "replace",
                &gw,
                "lladdr",
                &own_text,
                "dev",
                "eth0",
                "nud",
                "permanent",
            ],
            Duration::from_secs(5),
        )?;
        anyhow::ensure!(
            o.status.success(),
            "ip neigh: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // One socket per thread; with more than one, a fanout group per interface spreads
        // the frames over them.
        let group = 0x5a00 + n as u16;
        let ios = lab.run_in(&r, move || -> anyhow::Result<Vec<AfPacket>> {
            (0..threads)
                .map(|_| {
                    let io = open(&port)?;
                    if threads > 1 {
                        io.join_fanout(group)?;
                    }
                    Ok(io)
                })
                .collect()
        })?;
        ends.push((ios, own, peer));
    }
    let mut relays = Vec::new();
    let (mut a, mut b) = (ends.remove(0), ends.remove(0));
    for _ in 0..threads {
        let (Some(pa), Some(pb)) = (a.0.pop(), b.0.pop()) else {
            break;
        };
        relays.push(Relay::start([
            Side {
                port: pa,
                mac: a.1,
                peer: a.2,
            },
            Side {
                port: pb,
                mac: b.1,
                peer: b.2,
            },
        ])?);
    }
    let rl = crate::RouterLab {
        r,
        h1,
        h2,
        daemon: None,
        state: tempfile::tempdir()?,
    };
    Ok((rl, relays))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forwarded_frame_gets_new_macs_a_lower_ttl_and_a_header_checksum_that_still_adds_up() {
        let mut f = vec![0u8; 60];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&46u16.to_be_bytes());
        f[22] = 64;
        f[23] = 17;
        f[26..30].copy_from_slice(&[10, 0, 1, 2]);
        f[30..34].copy_from_slice(&[10, 0, 2, 2]);
        let c = savin_io::csum::fold(savin_io::csum::add(0, &f[14..34]));
        f[24..26].copy_from_slice(&c.to_be_bytes());
        assert!(route(&mut f, [2; 6], [3; 6]));
        assert_eq!(f[22], 63);
        assert_eq!(savin_io::csum::fold(savin_io::csum::add(0, &f[14..34])), 0);
        assert_eq!((&f[..6], &f[6..12]), (&[3u8; 6][..], &[2u8; 6][..]));
        f[22] = 1;
        assert!(!route(&mut f, [2; 6], [3; 6]), "TTL 1 is not forwarded");
        f[22] = 64;
        f[12] = 0x86;
        assert!(!route(&mut f, [2; 6], [3; 6]), "not IPv4");
    }
}
