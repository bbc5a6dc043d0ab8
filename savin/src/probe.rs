//! The demo's own probes, for machines without `ping` or `traceroute`: ICMP echo requests
//! from a raw socket inside a lab namespace, with a TTL, and what came back (an echo reply,
//! time exceeded from a hop, or unreachable). Only the demo uses them; tests use the real
//! tools.

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// What one probe got back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    Echo { from: Ipv4Addr, rtt_ms: f64 },
    TimeExceeded { from: Ipv4Addr, rtt_ms: f64 },
    Unreachable { from: Ipv4Addr, code: u8 },
    Nothing,
}

fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sends one echo request to `dst` with `ttl` and waits up to `wait` for its answer. Must run
/// inside the namespace to probe from (see `Lab::run_in`).
pub fn probe(
    dst: Ipv4Addr,
    ttl: u32,
    id: u16,
    seq: u16,
    wait: Duration,
) -> std::io::Result<Answer> {
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))?;
    s.set_ttl_v4(ttl)?;
    let mut req = vec![8u8, 0, 0, 0];
    req.extend(id.to_be_bytes());
    req.extend(seq.to_be_bytes());
    req.extend(b"savin demo probe");
    let c = checksum(&req);
    req[2..4].copy_from_slice(&c.to_be_bytes());
    let start = Instant::now();
    s.send_to(&req, &SockAddr::from(SocketAddrV4::new(dst, 0)))?;
    let mut buf = [0u8; 1500];
    loop {
        let left = wait.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(Answer::Nothing);
        }
        s.set_read_timeout(Some(left))?;
        let n = match (&s).read(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(Answer::Nothing)
            }
            Err(e) => return Err(e),
        };
        let rtt_ms = start.elapsed().as_secs_f64() * 1e3;
        if let Some(a) = parse(&buf[..n], id, seq, rtt_ms) {
            return Ok(a);
        }
    }
}

/// The answer to our probe `id`/`seq` in a received IPv4 datagram, if it is one.
fn parse(p: &[u8], id: u16, seq: u16, rtt_ms: f64) -> Option<Answer> {
    let ihl = usize::from(p.first()? & 0x0f) * 4;
    let from = Ipv4Addr::new(*p.get(12)?, *p.get(13)?, *p.get(14)?, *p.get(15)?);
    let icmp = p.get(ihl..)?;
    let ours = |echo: &[u8]| {
        echo.get(4..8) == Some(&[(id >> 8) as u8, id as u8, (seq >> 8) as u8, seq as u8][..])
    };
    match *icmp.first()? {
        0 if ours(icmp) => Some(Answer::Echo { from, rtt_ms }),
        3 | 11 => {
            // The quoted datagram: its header, then our echo request.
            let inner = icmp.get(8..)?;
            let inner_ihl = usize::from(inner.first()? & 0x0f) * 4;
            let echo = inner.get(inner_ihl..)?;
            if *echo.first()? != 8 || !ours(echo) {
                return None;
            }
            Some(if icmp[0] == 11 {
                Answer::TimeExceeded { from, rtt_ms }
            } else {
                Answer::Unreachable {
                    from,
                    code: icmp[1],
                }
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_matched_to_the_probe_and_short_datagrams_are_not_answers() {
        let mut reply = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 2, 2, 10, 0, 1, 2,
        ];
        reply.extend([0, 0, 0, 0, 0x12, 0x34, 0, 7]);
        assert_eq!(
            parse(&reply, 0x1234, 7, 1.0),
            Some(Answer::Echo {
                from: Ipv4Addr::new(10, 0, 2, 2),
                rtt_ms: 1.0
            })
        );
        assert_eq!(
            parse(&reply, 0x1234, 8, 1.0),
            None,
            "another sequence number"
        );
        let mut exceeded = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 1, 1, 10, 0, 1, 2,
        ];
        exceeded.extend([11, 0, 0, 0, 0, 0, 0, 0]);
        exceeded.extend([
            0x45, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 10, 0, 1, 2, 10, 0, 2, 2,
        ]);
        exceeded.extend([8, 0, 0, 0, 0x12, 0x34, 0, 7]);
        assert_eq!(
            parse(&exceeded, 0x1234, 7, 2.0),
            Some(Answer::TimeExceeded {
                from: Ipv4Addr::new(10, 0, 1, 1),
                rtt_ms: 2.0
            })
        );
        for n in 0..exceeded.len() {
            let _ = parse(&exceeded[..n], 0x1234, 7, 0.0);
        }
        assert_eq!(checksum(&[8, 0, 0, 0, 0, 1, 0, 1]), !0x0802);
    }
}
