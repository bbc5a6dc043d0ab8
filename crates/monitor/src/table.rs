//! A worker's monitor: where RTP is expected (the calls SIP sets up, and configured port
//! ranges), and the streams seen, each with its statistics and codec. Everything is bounded:
//! a table that is full refuses what is new and counts it; streams that go quiet end and
//! leave their last figures in a short history.
//!
//! Sans-IO: the data-plane stage hands it UDP payloads with their addresses and the batch's
//! clock; the control plane reads the tables (through the stage's published copy).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::ops::RangeInclusive;

use savin_wire::rtp::{Header, RtpError};

use crate::codec::{Codec, Kind};
use crate::emodel::{self, Quality};
use crate::sip;
use crate::stream::{Packet, Stats, Stream};

/// The tables are keyed by what the network sends (addresses, ports, SSRCs): a keyed,
/// randomly seeded hash, as std's is, several times faster on these small keys.
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// What the monitor watches (`services monitor rtp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Follow SIP on these UDP ports (5060 unless set; empty: no SIP discovery).
    pub sip_ports: Vec<u16>,
    /// UDP ports whose traffic is taken for RTP without signalling.
    pub port_ranges: Vec<RangeInclusive<u16>>,
    /// Streams and calls held at once.
    pub max_streams: usize,
    pub max_calls: usize,
    /// A stream with no packet for this long has ended.
    pub idle_ms: u64,
    /// Ended streams kept for `show` (newest last).
    pub history: usize,
    /// The endpoints conceal lost packets (G.711 Appendix I): G.113's Bpl 25.1, else 4.3.
    pub plc: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sip_ports: vec![5060],
            port_ranges: Vec::new(),
            max_streams: 10_000,
            max_calls: 5_000,
            idle_ms: 10_000,
            history: 100,
            plc: true,
        }
    }
}

/// A stream: its 5-tuple and SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub ssrc: u32,
}

/// A stream and what the monitor knows of it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub stream: Stream,
    /// The codec of its latest payload type (None: unknown dynamic type).
    pub codec: Option<Codec>,
    pub payload_type: u8,
    /// The SIP call it belongs to.
    pub call_id: Option<String>,
    /// First and last packet, on the worker's clock.
    pub first_ms: u64,
    pub last_ms: u64,
}

impl Entry {
    fn update(&mut self, codec: Option<Codec>, p: &Packet, now_ms: u64) {
        // Comfort noise and DTMF events share the stream and its clock: the voice codec
        // stays the stream's.
        if codec.is_some_and(|c| c.kind != Kind::Other) {
            self.codec = codec;
            self.payload_type = p.payload_type;
        }
        self.last_ms = now_ms;
        self.stream.add(p);
    }

    /// The E-model's estimate, for narrowband voice with a rated codec.
    pub fn quality(&self, plc: bool) -> Option<Quality> {
        let c = self.codec.filter(|c| c.kind == Kind::Voice)?;
        let c = if plc { c } else { c.without_plc() };
        let st: Stats = self.stream.stats();
        Some(emodel::quality(
            c.impairment?,
            st.loss_percent(),
            self.stream.burst().burst_ratio(),
            None,
        ))
    }
}

/// Where SDP said a call's media go.
#[derive(Debug, Clone)]
struct Expected {
    call_id: String,
    /// Dynamic payload types the SDP mapped.
    rtpmap: Vec<(u8, Codec)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub sip_messages: u64,
    /// SIP on a SIP port that did not parse.
    pub sip_errors: u64,
    pub calls: u64,
    pub calls_refused: u64,
    pub rtp_packets: u64,
    /// Packets on an RTP port or endpoint that are not RTP.
    pub rtp_errors: u64,
    pub streams: u64,
    pub streams_refused: u64,
    pub streams_ended: u64,
}

/// A worker's monitor.
#[derive(Debug, Default)]
pub struct Monitor {
    pub settings: Settings,
    expected: HashMap<(IpAddr, u16), Expected>,
    /// Call-ID to the endpoints its SDP named.
    calls: HashMap<String, Vec<(IpAddr, u16)>>,
    /// Stream to its slot in `slots`: the index is small (about 50 bytes a stream) and
    /// stays in cache where the entries (a few hundred bytes each) would not.
    index: HashMap<StreamKey, u32>,
    slots: Vec<Option<(StreamKey, Entry)>>,
    free: Vec<u32>,
    ended: VecDeque<(StreamKey, Entry)>,
    pub counters: Counters,
}

impl Monitor {
    pub fn new(settings: Settings) -> Monitor {
        Monitor {
            settings,
            ..Monitor::default()
        }
    }

    /// Whether a UDP packet between these ports may be the monitor's: SIP, a configured
    /// range, or (checked in [`Monitor::udp`]) an endpoint SDP named. Cheap, for the stage
    /// to skip the rest of the traffic.
    pub fn wants(&self, sport: u16, dport: u16) -> bool {
        !self.expected.is_empty()
            || self
                .settings
                .sip_ports
                .iter()
                .any(|p| *p == sport || *p == dport)
            || self
                .settings
                .port_ranges
                .iter()
                .any(|r| r.contains(&dport) || r.contains(&sport))
    }

    /// One UDP payload, `src` to `dst`, at `now_us` (microseconds on the worker's clock).
    /// No allocation but for a new stream.
    pub fn udp(&mut self, src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8], now_us: u64) {
        if self
            .settings
            .sip_ports
            .iter()
            .any(|p| *p == src.1 || *p == dst.1)
        {
            self.sip(payload);
            return;
        }
        let ranged = || {
            self.settings
                .port_ranges
                .iter()
                .any(|r| r.contains(&dst.1) || r.contains(&src.1))
        };
        let expected = if self.expected.is_empty() {
            None
        } else {
            self.expected.get(&dst)
        };
        if expected.is_none() && !ranged() {
            return;
        }
        let h = match Header::parse(payload) {
            Ok(h) => h,
            // RTCP beside the RTP (RFC 5761) is not an error; neither is RTCP on the odd
            // port of a range, which parses as RTP version 2 with a conflicting type.
            Err(RtpError::Rtcp) => return,
            Err(_) => {
                self.counters.rtp_errors += 1;
                return;
            }
        };
        self.counters.rtp_packets += 1;
        let key = StreamKey {
            src: src.0,
            dst: dst.0,
            sport: src.1,
            dport: dst.1,
            ssrc: h.ssrc,
        };
        let codec = expected
            .and_then(|e| e.rtpmap.iter().find(|(pt, _)| *pt == h.payload_type))
            .map(|(_, c)| *c)
            .or_else(|| Codec::of_static(h.payload_type));
        let now_ms = now_us / 1000;
        let packet = Packet {
            sequence: h.sequence,
            timestamp: h.timestamp,
            payload_type: h.payload_type,
            marker: h.marker,
            arrival_ns: now_us.saturating_mul(1000),
        };
        // One lookup for a known stream (the common case); a second only for a new one.
        if let Some(&slot) = self.index.get(&key) {
            if let Some((_, e)) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) {
                e.update(codec, &packet, now_ms);
            }
            return;
        }
        if self.index.len() >= self.settings.max_streams {
            self.counters.streams_refused += 1;
            return;
        }
        self.counters.streams += 1;
        let mut e = Entry {
            stream: Stream::new(codec.map_or(0, |c| c.clock_rate)),
            codec,
            payload_type: h.payload_type,
            call_id: expected.map(|e| e.call_id.clone()),
            first_ms: now_ms,
            last_ms: now_ms,
        };
        e.update(codec, &packet, now_ms);
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some((key, e));
                i
            }
            None => {
                self.slots.push(Some((key, e)));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
    }

    fn sip(&mut self, payload: &[u8]) {
        let m = match sip::parse(payload) {
            Ok(m) => m,
            Err(_) => {
                self.counters.sip_errors += 1;
                return;
            }
        };
        self.counters.sip_messages += 1;
        if m.ends_call() {
            if let Some(eps) = self.calls.remove(&m.call_id) {
                for ep in eps {
                    self.expected.remove(&ep);
                }
            }
            return;
        }
        let Some(sdp) = m.sdp else { return };
        if !self.calls.contains_key(&m.call_id) {
            if self.calls.len() >= self.settings.max_calls {
                self.counters.calls_refused += 1;
                return;
            }
            self.counters.calls += 1;
        }
        let eps = self.calls.entry(m.call_id.clone()).or_default();
        for media in sdp.media {
            let Some(addr) = media.address else { continue };
            if media.port == 0 || !media.proto.starts_with("RTP/") {
                continue;
            }
            let ep = (addr, media.port);
            let rtpmap = media
                .rtpmap
                .iter()
                .map(|(pt, name, rate)| (*pt, Codec::of_rtpmap(name, *rate)))
                .collect();
            if !eps.contains(&ep) && eps.len() < 2 * sip::MAX_MEDIA {
                eps.push(ep);
            } else if !eps.contains(&ep) {
                continue;
            }
            self.expected.insert(
                ep,
                Expected {
                    call_id: m.call_id.clone(),
                    rtpmap,
                },
            );
        }
    }

    /// Ends the streams idle since `now_ms - idle_ms`, keeping their last figures.
    pub fn expire(&mut self, now_ms: u64) {
        let idle = self.settings.idle_ms;
        for i in 0..self.slots.len() {
            let quiet = self.slots[i]
                .as_ref()
                .is_some_and(|(_, e)| now_ms.saturating_sub(e.last_ms) >= idle);
            if !quiet {
                continue;
            }
            if let Some((k, e)) = self.slots[i].take() {
                self.index.remove(&k);
                self.free.push(i as u32);
                self.counters.streams_ended += 1;
                if self.settings.history > 0 {
                    if self.ended.len() == self.settings.history {
                        self.ended.pop_front();
                    }
                    self.ended.push_back((k, e));
                }
            }
        }
    }

    pub fn streams(&self) -> impl Iterator<Item = (&StreamKey, &Entry)> {
        self.slots.iter().flatten().map(|(k, e)| (k, e))
    }

    pub fn ended(&self) -> impl Iterator<Item = &(StreamKey, Entry)> {
        self.ended.iter()
    }

    /// Calls whose SDP the monitor follows.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use savin_wire::rtp::put_header;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut p = Vec::new();
        put_header(&mut p, false, pt, seq, ts, ssrc);
        p.extend_from_slice(&[0xd5; 160]);
        p
    }

    fn invite(call: &str, addr: &str, port: u16) -> Vec<u8> {
        let body = format!(
            "v=0\r\nc=IN IP4 {addr}\r\nm=audio {port} RTP/AVP 96 0\r\na=rtpmap:96 PCMA/8000\r\n"
        );
        format!(
            "INVITE sip:b@x SIP/2.0\r\nCall-ID: {call}\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn sdp_tells_where_rtp_goes_and_which_codec_it_carries() {
        let mut m = Monitor::new(Settings::default());
        let (a, b) = ((ip("192.0.2.10"), 5060), (ip("192.0.2.20"), 5060));
        m.udp(a, b, &invite("c1", "192.0.2.20", 40000), 0);
        assert_eq!((m.counters.sip_messages, m.calls()), (1, 1));
        // RTP to the endpoint the offer named, dynamic type 96 = PCMA.
        let (src, dst) = ((ip("192.0.2.10"), 30000), (ip("192.0.2.20"), 40000));
        for i in 0..50u16 {
            if i == 20 {
                continue;
            }
            m.udp(
                src,
                dst,
                &rtp(96, i, u32::from(i) * 160, 7),
                u64::from(i) * 20_000,
            );
        }
        // Traffic elsewhere is not RTP to the monitor.
        m.udp(src, (ip("192.0.2.20"), 40002), &rtp(0, 1, 1, 9), 0);
        let (k, e) = m.streams().next().unwrap();
        assert_eq!(m.streams().count(), 1);
        assert_eq!((k.ssrc, k.dport), (7, 40000));
        assert_eq!(e.codec.unwrap().name, "PCMA");
        assert_eq!(e.call_id.as_deref(), Some("c1"));
        assert_eq!((e.stream.stats().expected, e.stream.stats().lost), (50, 1));
        let q = e.quality(true).unwrap();
        assert!(q.mos_lq > 4.0 && q.mos_lq < 4.41, "{q:?}");
        // BYE: the endpoint is forgotten (the stream lives until it goes quiet).
        m.udp(
            a,
            b,
            b"BYE sip:b@x SIP/2.0\r\nCall-ID: c1\r\nCSeq: 2 BYE\r\n\r\n",
            1_000_000,
        );
        assert_eq!(m.calls(), 0);
        m.expire(1000 + 10_000);
        assert_eq!((m.streams().count(), m.ended().count()), (0, 1));
    }

    #[test]
    fn port_ranges_limits_and_noise() {
        let mut m = Monitor::new(Settings {
            port_ranges: vec![16384..=32767],
            max_streams: 2,
            history: 1,
            ..Settings::default()
        });
        let dst = (ip("198.51.100.1"), 20000);
        for ssrc in 1..=3 {
            m.udp((ip("198.51.100.2"), 20000), dst, &rtp(0, 1, 160, ssrc), 0);
        }
        assert_eq!((m.counters.streams, m.counters.streams_refused), (2, 1));
        // Not RTP on the range: counted; RTCP beside it: ignored.
        m.udp((ip("198.51.100.2"), 20001), dst, &[0x40; 20], 0);
        m.udp(
            (ip("198.51.100.2"), 20001),
            dst,
            &[0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0],
            0,
        );
        assert_eq!(m.counters.rtp_errors, 1);
        // Garbage on the SIP port.
        m.udp(
            (ip("198.51.100.2"), 5060),
            (ip("198.51.100.1"), 5060),
            b"\x00\x01",
            0,
        );
        assert_eq!(m.counters.sip_errors, 1);
        assert!(!m.wants(80, 443) && m.wants(5060, 80) && m.wants(1, 16384));
        // Two streams end; the history keeps one.
        m.expire(60_000);
        assert_eq!((m.ended().count(), m.counters.streams_ended), (1, 2));
    }

    #[test]
    fn calls_are_bounded() {
        let mut m = Monitor::new(Settings {
            max_calls: 3,
            ..Settings::default()
        });
        for i in 0..10 {
            m.udp(
                (ip("192.0.2.1"), 5060),
                (ip("192.0.2.2"), 5060),
                &invite(&format!("call{i}"), "192.0.2.2", 40000 + i),
                0,
            );
        }
        assert_eq!((m.calls(), m.counters.calls_refused), (3, 7));
    }
}
