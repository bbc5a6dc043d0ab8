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

use savin_wire::mpegts::is_transport_stream;
use savin_wire::rtp::{Header, RtpError};

use crate::codec::{Codec, Kind};
use crate::emodel::{self, Quality};
use crate::index::Index;
use crate::sip;
use crate::stream::{Packet, Stats, Stream};
use crate::ts::TsStream;

/// The tables are keyed by what the network sends (addresses, ports, SSRCs): a keyed,
/// randomly seeded hash, as std's is, several times faster on these small keys.
type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// Alarm thresholds, in hundredths (MOS x100, percent x100, ms x100, packets a second x100):
/// integers keep `Settings` comparable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Thresholds {
    /// Voice whose MOS-LQ falls below.
    pub mos_lq: Option<u32>,
    /// Loss above this percentage.
    pub loss_percent: Option<u32>,
    /// MPEG-TS delay factor (last interval) above, ms.
    pub delay_factor: Option<u32>,
    /// MPEG-TS media loss rate (last interval) above.
    pub media_loss_rate: Option<u32>,
}

impl Thresholds {
    /// The thresholds in [`crate::stage::ALARMS`]'s order.
    pub fn limits(&self) -> [Option<u32>; 4] {
        [
            self.mos_lq,
            self.loss_percent,
            self.delay_factor,
            self.media_loss_rate,
        ]
    }
}

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
    /// Alarm thresholds (none: no alarms).
    pub thresholds: Thresholds,
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
            thresholds: Thresholds::default(),
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

impl StreamKey {
    pub fn new(src: (IpAddr, u16), dst: (IpAddr, u16), ssrc: u32) -> StreamKey {
        StreamKey {
            src: src.0,
            dst: dst.0,
            sport: src.1,
            dport: dst.1,
            ssrc,
        }
    }

    /// The key as three words for the hash (IPv4 as IPv4-mapped IPv6): a few mixing steps
    /// instead of one per field and enum tag.
    #[inline]
    fn packed(&self) -> (u128, u128, u64) {
        let a = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        (
            a(self.src),
            a(self.dst),
            u64::from(self.sport) << 48 | u64::from(self.dport) << 32 | u64::from(self.ssrc),
        )
    }
}

/// A stream and what the monitor knows of it: the stream's state first (its hot bytes
/// lead), what changes only with the payload type or never after.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Entry {
    pub stream: Stream,
    /// The codec of its latest payload type (None: unknown dynamic type).
    pub codec: Option<Codec>,
    pub payload_type: u8,
    /// The SIP call it belongs to.
    pub call_id: Option<String>,
    /// First packet, on the worker's clock.
    pub first_ms: u64,
    /// A transport stream's continuity and delivery index (video over UDP or RTP type 33).
    pub ts: Option<Box<TsStream>>,
}

/// An address and port.
type Endpoint = (IpAddr, u16);

/// Whether slot `s` holds the stream `key`.
#[inline(always)]
fn holds(slots: &[Slot], s: u32, key: &StreamKey) -> bool {
    slots
        .get(s as usize)
        .is_some_and(|slot| slot.live && slot.key == *key)
}

/// RFC 3551's payload type for MPEG-2 transport streams (RFC 2250).
const MP2T: u8 = 33;

/// The codec of a pending packet's payload type: from the rtpmap of the SDP that named its
/// destination, else the static type's.
fn codec_of(expected: &HashMap<(IpAddr, u16), Expected>, p: &Pending) -> Option<Codec> {
    let pt = p.packet.payload_type;
    p.sdp
        .then(|| expected.get(&(p.key.dst, p.key.dport)))
        .flatten()
        .and_then(|e| e.rtpmap.iter().find(|(t, _)| *t == pt))
        .map(|(_, c)| *c)
        .or_else(|| Codec::of_static(pt))
}

/// A slot of the stream table: the key compared on every packet, then the entry, the two
/// hot parts together at the start of a cache line.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
struct Slot {
    key: StreamKey,
    /// Holds a stream (a free slot keeps its last one until it is reused). A flag beside
    /// the key rather than an `Option`, whose tag the compiler may put in a cold line.
    live: bool,
    /// No codec known yet: every packet asks (a dynamic type whose SDP comes later).
    unknown_codec: bool,
    entry: Entry,
}

/// The bytes of a slot a packet in order touches: what is prefetched.
pub const SLOT_HOT_BYTES: usize = std::mem::offset_of!(Slot, entry) + Stream::HOT_BYTES;
// Three cache lines a packet, checked when it builds: a field moved into the hot part that
// pushed it over would cost a fourth miss on every packet of ten thousand streams.
const _: () = assert!(SLOT_HOT_BYTES <= 192 && std::mem::align_of::<Slot>() == 64);

impl Entry {
    /// The codec of payload type `pt` (asked only when the type changes or no codec is
    /// known yet: the codec and its type are cold). False while none is known.
    fn codec_seen(&mut self, codec: Option<Codec>, pt: u8) -> bool {
        // Comfort noise and DTMF events share the stream and its clock: the voice codec
        // stays the stream's.
        if let Some(c) = codec.filter(|c| c.kind != Kind::Other) {
            self.codec = Some(c);
            self.payload_type = pt;
            // A stream found before its SDP learns its clock now: jitter from here on.
            self.stream.set_clock_rate(c.clock_rate);
        }
        self.codec.is_some()
    }

    /// Last packet, milliseconds on the worker's clock.
    pub fn last_ms(&self) -> u64 {
        self.stream.last_arrival_ns() / 1_000_000
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
    /// Datagrams of MPEG transport streams over bare UDP.
    pub ts_datagrams: u64,
    /// Datagrams on a watched port that could not be read whole: first fragments (the
    /// monitor does not reassemble) and datagrams cut short.
    pub unreadable: u64,
    /// Packets on an RTP port or endpoint that are not RTP.
    pub rtp_errors: u64,
    pub streams: u64,
    pub streams_refused: u64,
    pub streams_ended: u64,
}

/// UDP ports as a bitmap: one load to tell whether a port is the monitor's, however many
/// ranges are configured.
#[derive(Debug, Clone)]
struct PortSet(Box<[u64; 1024]>);

impl Default for PortSet {
    fn default() -> Self {
        PortSet(Box::new([0; 1024]))
    }
}

impl PortSet {
    fn add(&mut self, p: u16) {
        self.0[usize::from(p >> 6)] |= 1 << (p & 63);
    }

    fn clear(&mut self) {
        self.0.fill(0);
    }

    #[inline(always)]
    fn contains(&self, p: u16) -> bool {
        self.0[usize::from(p >> 6)] & (1 << (p & 63)) != 0
    }
}

/// An RTP packet classified to its stream, waiting for the batch's lookup
/// ([`Monitor::classify`], then [`Monitor::apply`]).
#[derive(Debug, Clone, Copy)]
pub struct Pending {
    key: StreamKey,
    hash: u64,
    packet: Packet,
    /// Sent to an endpoint SDP named (whose rtpmap gives the codec).
    sdp: bool,
    /// The slot its tag pointed at, prefetched (confirmed against the key when applied).
    slot: Option<u32>,
}

/// A worker's monitor (made by [`Monitor::new`], which sets its port bitmaps).
#[derive(Debug)]
pub struct Monitor {
    settings: Settings,
    sip_ports: PortSet,
    rtp_ports: PortSet,
    /// The ports SDP named (the endpoints in `expected`): only their packets are looked up
    /// there.
    sdp_ports: PortSet,
    /// Every port the monitor may want: SIP, the ranges, and the ports SDP named (the
    /// one test the traffic it does not watch pays).
    watched: PortSet,
    expected: HashMap<(IpAddr, u16), Expected>,
    /// Call-ID to the endpoints its SDP named.
    calls: HashMap<String, Vec<(IpAddr, u16)>>,
    /// Stream (its keyed hash) to its slot in `slots`.
    hasher: ahash::RandomState,
    index: Index,
    slots: Vec<Slot>,
    free: Vec<u32>,
    ended: VecDeque<(StreamKey, Entry)>,
    pub counters: Counters,
}

impl Monitor {
    pub fn new(settings: Settings) -> Monitor {
        let mut m = Monitor {
            settings: Settings::default(),
            sip_ports: PortSet::default(),
            rtp_ports: PortSet::default(),
            sdp_ports: PortSet::default(),
            watched: PortSet::default(),
            expected: HashMap::default(),
            calls: HashMap::default(),
            hasher: ahash::RandomState::new(),
            index: Index::default(),
            slots: Vec::new(),
            free: Vec::new(),
            ended: VecDeque::new(),
            counters: Counters::default(),
        };
        m.configure(settings);
        m
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// New settings; the streams measured so far stay.
    pub fn configure(&mut self, settings: Settings) {
        self.sip_ports.clear();
        self.rtp_ports.clear();
        for &p in &settings.sip_ports {
            self.sip_ports.add(p);
        }
        for r in &settings.port_ranges {
            for p in r.clone() {
                self.rtp_ports.add(p);
            }
        }
        self.settings = settings;
        self.rewatch();
    }

    /// Builds the watched ports again (after the settings changed or endpoints were
    /// forgotten).
    fn rewatch(&mut self) {
        self.sdp_ports.clear();
        for (_, port) in self.expected.keys() {
            self.sdp_ports.add(*port);
        }
        let ports = self.sip_ports.0.iter().zip(self.rtp_ports.0.iter());
        for (w, ((s, r), e)) in self
            .watched
            .0
            .iter_mut()
            .zip(ports.zip(self.sdp_ports.0.iter()))
        {
            *w = s | r | e;
        }
    }

    /// Whether a UDP packet between these ports may be the monitor's (SIP, a range, an
    /// endpoint SDP named): false for everything else, at the cost of two bit tests.
    #[inline(always)]
    pub fn watches(&self, sport: u16, dport: u16) -> bool {
        self.watched.contains(dport) || self.watched.contains(sport)
    }

    /// One UDP payload, `src` to `dst`, at `now_us` (microseconds on the worker's clock),
    /// measured at once: [`Monitor::classify`] and [`Monitor::apply`] for one packet.
    #[cfg(test)]
    pub fn udp(&mut self, src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[u8], now_us: u64) {
        if let Some(p) = self.classify(src, dst, payload, now_us) {
            self.apply(&mut [p], now_us / 1000);
        }
    }

    /// A UDP payload, `src` to `dst`, at `now_us`: SIP is read at once; RTP on a configured
    /// port or an endpoint SDP named comes back to be measured with its batch (its index
    /// bucket already asked for), but an MPEG transport stream (over UDP or RTP type 33) is
    /// measured at once; anything else is passed over at the cost of two bit tests.
    /// (So SIP is read ahead of RTP that came before it in the same batch: a BYE right
    /// behind a call's first RTP packet leaves that stream without its call ID.)
    #[inline]
    pub fn classify(
        &mut self,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        payload: &[u8],
        now_us: u64,
    ) -> Option<Pending> {
        if self.sip_ports.contains(src.1) || self.sip_ports.contains(dst.1) {
            self.sip(payload);
            return None;
        }
        let expected = if self.sdp_ports.contains(dst.1) {
            self.expected.get(&dst)
        } else {
            None
        };
        if expected.is_none() && !self.rtp_ports.contains(dst.1) && !self.rtp_ports.contains(src.1)
        {
            return None;
        }
        let h = match Header::parse(payload) {
            Ok(h) => h,
            // RTCP beside the RTP (RFC 5761) is not an error; neither is RTCP on the odd
            // port of a range, which parses as RTP version 2 with a conflicting type.
            Err(RtpError::Rtcp) => return None,
            // MPEG-TS over bare UDP (its sync byte reads as RTP version 1): asked only of
            // what is not RTP, so voice pays nothing for it.
            Err(_) if is_transport_stream(payload) => {
                self.ts_over_udp(src, dst, expected.is_some(), payload, now_us);
                return None;
            }
            Err(_) => {
                self.counters.rtp_errors += 1;
                return None;
            }
        };
        self.counters.rtp_packets += 1;
        let key = StreamKey::new(src, dst, h.ssrc);
        let packet = Packet {
            sequence: h.sequence,
            timestamp: h.timestamp,
            payload_type: h.payload_type,
            marker: h.marker,
            arrival_ns: now_us.saturating_mul(1000),
        };
        let sdp = expected.is_some();
        // Every type-33 packet is a transport stream's: one whose bytes are damaged is
        // counted in its stream (sync errors), in order with the rest.
        if h.payload_type == MP2T {
            let media = payload
                .get(h.payload_offset..h.payload_offset + h.payload_len)
                .unwrap_or_default();
            self.transport_stream(key, packet, sdp, true, media);
            return None;
        }
        let hash = self.hasher.hash_one(key.packed());
        self.index.prefetch(hash);
        Some(Pending {
            key,
            hash,
            packet,
            sdp,
            slot: None,
        })
    }

    /// MPEG-TS over bare UDP: a stream per 5-tuple (SSRC 0); no RTP header, so only its
    /// arrival and type are the stream's.
    #[cold]
    #[inline(never)]
    fn ts_over_udp(&mut self, src: Endpoint, dst: Endpoint, sdp: bool, ts: &[u8], now_us: u64) {
        self.counters.ts_datagrams += 1;
        let packet = Packet {
            sequence: 0,
            timestamp: 0,
            payload_type: MP2T,
            marker: false,
            arrival_ns: now_us.saturating_mul(1000),
        };
        self.transport_stream(StreamKey::new(src, dst, 0), packet, sdp, false, ts);
    }

    /// A transport stream's datagram (`ts`: its 188-byte packets; `rtp`: `packet` is its RTP
    /// header's), measured at once rather than with its batch: the analysis reads the
    /// payload, which a pending packet does not keep. Video streams are few and their
    /// datagrams large; voice keeps the batched path. Out of line: the voice path stays
    /// small (inlined into the stage, its Pending built in place).
    #[cold]
    #[inline(never)]
    fn transport_stream(
        &mut self,
        key: StreamKey,
        packet: Packet,
        sdp: bool,
        rtp: bool,
        ts: &[u8],
    ) {
        let p = Pending {
            key,
            hash: self.hasher.hash_one(key.packed()),
            packet,
            sdp,
            slot: None,
        };
        let now_ms = p.packet.arrival_ns / 1_000_000;
        let found = self.find(&p);
        let slot = if rtp {
            self.measure(&p, found, now_ms)
        } else {
            found.or_else(|| self.create(&p, now_ms, false))
        };
        let Some(slot) = slot.and_then(|s| self.slots.get_mut(s as usize)) else {
            return;
        };
        if !rtp {
            slot.entry.stream.seen_without_rtp(p.packet.arrival_ns);
        }
        slot.entry
            .ts
            .get_or_insert_with(Box::default)
            .add(ts, p.packet.arrival_ns);
    }

    /// The slot holding `p`'s stream.
    fn find(&self, p: &Pending) -> Option<u32> {
        self.index.find(p.hash, |s| holds(&self.slots, s, &p.key))
    }

    /// Measures a batch's classified packets, in order: every entry is asked for before
    /// the first is touched. No allocation but for a new stream.
    pub fn apply(&mut self, batch: &mut [Pending], now_ms: u64) {
        for p in batch.iter_mut() {
            p.slot = self.index.first(p.hash);
            // By address: reading the slot to see whether it is occupied would wait for
            // the very line being asked for.
            if let Some(s) = p.slot.filter(|&s| (s as usize) < self.slots.len()) {
                savin_fib::prefetch_lines(
                    self.slots.as_ptr().wrapping_add(s as usize),
                    SLOT_HOT_BYTES,
                );
            }
        }
        for p in batch.iter() {
            let slots = &self.slots;
            let is = |s: u32| holds(slots, s, &p.key);
            let found = match p.slot {
                Some(s) if is(s) => Some(s),
                // Another stream's tag came first (or the stream is new).
                _ => self.index.find(p.hash, is),
            };
            self.measure(p, found, now_ms);
        }
    }

    /// Measures RTP packet `p` in its stream (in slot `found`), or starts its stream: the
    /// slot, or None when the table is full.
    #[inline(always)]
    fn measure(&mut self, p: &Pending, found: Option<u32>, now_ms: u64) -> Option<u32> {
        let Some(s) = found else {
            return self.create(p, now_ms, true);
        };
        if let Some(slot) = self.slots.get_mut(s as usize) {
            let pt = p.packet.payload_type;
            if slot.unknown_codec || pt != slot.entry.stream.last_payload_type() {
                let codec = codec_of(&self.expected, p);
                slot.unknown_codec = !slot.entry.codec_seen(codec, pt);
            }
            slot.entry.stream.add(&p.packet);
        }
        Some(s)
    }

    /// A new stream for `p` (its first packet measured if it is RTP): its slot, or None
    /// when the table is full.
    fn create(&mut self, p: &Pending, now_ms: u64, rtp: bool) -> Option<u32> {
        if self.index.len() >= self.settings.max_streams {
            self.counters.streams_refused += 1;
            return None;
        }
        self.counters.streams += 1;
        let call_id = if p.sdp {
            self.expected
                .get(&(p.key.dst, p.key.dport))
                .map(|e| e.call_id.clone())
        } else {
            None
        };
        let codec = if rtp {
            codec_of(&self.expected, p)
        } else {
            Codec::of_static(MP2T)
        };
        let mut e = Entry {
            stream: Stream::new(codec.map_or(0, |c| c.clock_rate)),
            codec,
            payload_type: p.packet.payload_type,
            call_id,
            first_ms: now_ms,
            ts: None,
        };
        if rtp {
            e.stream.add(&p.packet);
        }
        let new = Slot {
            key: p.key,
            live: true,
            unknown_codec: codec.is_none(),
            entry: e,
        };
        let slot = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = new;
                i
            }
            None => {
                self.slots.push(new);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(p.hash, slot);
        Some(slot)
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
                self.rewatch();
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
            self.watched.add(ep.1);
            self.sdp_ports.add(ep.1);
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
            let s = &mut self.slots[i];
            if !s.live || now_ms.saturating_sub(s.entry.last_ms()) < idle {
                continue;
            }
            s.live = false;
            let k = s.key;
            // The entry's last figures go to the history (the slot keeps a copy of its
            // fixed-size part until it is reused; its call ID and TS state are moved out).
            let ended = Entry {
                call_id: s.entry.call_id.take(),
                ts: s.entry.ts.take(),
                ..s.entry.clone()
            };
            self.index
                .remove(self.hasher.hash_one(k.packed()), i as u32);
            self.free.push(i as u32);
            self.counters.streams_ended += 1;
            if self.settings.history > 0 {
                if self.ended.len() == self.settings.history {
                    self.ended.pop_front();
                }
                self.ended.push_back((k, ended));
            }
        }
    }

    pub fn streams(&self) -> impl Iterator<Item = (&StreamKey, &Entry)> {
        self.slots
            .iter()
            .filter(|s| s.live)
            .map(|s| (&s.key, &s.entry))
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
    fn a_dynamic_type_seen_before_its_sdp_learns_its_codec_from_it() {
        let mut m = Monitor::new(Settings {
            port_ranges: vec![16384..=16385],
            ..Settings::default()
        });
        let (a, b) = ((ip("198.51.100.2"), 30000), (ip("198.51.100.1"), 16384));
        m.udp(a, b, &rtp(96, 1, 160, 5), 0);
        m.udp(a, b, &rtp(96, 2, 320, 5), 20_000);
        assert!(m.streams().all(|(_, e)| e.codec.is_none()));
        m.udp(
            (ip("198.51.100.2"), 5060),
            (ip("198.51.100.1"), 5060),
            &invite("late", "198.51.100.1", 16384),
            30_000,
        );
        m.udp(a, b, &rtp(96, 3, 480, 5), 40_000);
        let (_, e) = m.streams().next().unwrap();
        assert_eq!(e.codec.map(|c| c.name), Some("PCMA"));
        assert_eq!(e.stream.clock_rate(), 8000);
        assert_eq!(e.stream.stats().packets, 3);
    }

    /// Seven transport stream packets of one PID, counters from `cc`.
    /// A datagram of seven TS packets of PID 0x100, counters from `cc`.
    fn ts7(cc: u8) -> Vec<u8> {
        let mut d = Vec::new();
        for k in 0..7u8 {
            savin_wire::mpegts::put_packet(&mut d, 0x100, 0b01, cc + k, &[]);
        }
        d
    }

    #[test]
    fn transport_streams_over_udp_and_rtp_are_measured() {
        let mut m = Monitor::new(Settings {
            port_ranges: vec![5004..=5006],
            ..Settings::default()
        });
        let (a, b) = ((ip("198.51.100.2"), 30000), (ip("198.51.100.1"), 5004));
        // Over UDP: datagrams 0, 1, 3 (datagram 2, seven packets, lost).
        for (i, n) in [0u8, 1, 3].into_iter().enumerate() {
            m.udp(a, b, &ts7(7 * n), i as u64 * 5_000);
        }
        // Over RTP (type 33), every datagram.
        let c = (ip("198.51.100.2"), 30002);
        for n in 0..4u8 {
            let mut p = Vec::new();
            put_header(&mut p, false, 33, u16::from(n), u32::from(n) * 450, 9);
            p.extend(ts7(7 * n));
            m.udp(c, (b.0, 5006), &p, u64::from(n) * 5_000);
        }
        assert_eq!(m.counters.ts_datagrams, 3);
        assert_eq!(m.counters.rtp_packets, 4);
        let by_port = |port: u16| {
            m.streams()
                .find(|(k, _)| k.dport == port)
                .map(|(k, e)| (*k, e.clone()))
                .unwrap()
        };
        let (k, e) = by_port(5004);
        assert_eq!(k.ssrc, 0);
        let t = e.ts.as_ref().unwrap().counters();
        assert_eq!((t.packets, t.cc_errors, t.lost), (21, 1, 7));
        assert_eq!(e.stream.stats().packets, 0);
        assert_eq!(e.codec.map(|c| c.name), Some("MP2T"));
        assert_eq!(e.last_ms(), 10);
        let (_, e) = by_port(5006);
        let t = e.ts.as_ref().unwrap().counters();
        assert_eq!((t.packets, t.cc_errors), (28, 0));
        assert_eq!((e.stream.stats().packets, e.stream.stats().lost), (4, 0));
    }

    #[test]
    fn stray_packets_keep_a_stream_alive() {
        let mut m = Monitor::new(Settings {
            port_ranges: vec![16384..=16385],
            idle_ms: 1000,
            ..Settings::default()
        });
        let (a, b) = ((ip("198.51.100.2"), 30000), (ip("198.51.100.1"), 16384));
        m.udp(a, b, &rtp(0, 1, 160, 5), 0);
        // Sequence numbers all over the place for two seconds: errors, but traffic.
        for i in 0..100u32 {
            let seq = if i % 2 == 0 { 20_000 } else { 40_000 };
            m.udp(a, b, &rtp(0, seq, 0, 5), u64::from(i) * 20_000);
        }
        m.expire(2000);
        assert_eq!((m.streams().count(), m.counters.streams_ended), (1, 0));
        m.expire(2000 + 1000);
        assert_eq!(m.counters.streams_ended, 1);
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
        // RTP outside the ranges and the SIP ports is not looked at; either end in a range
        // is enough, the range's last port included.
        let pkt = rtp(0, 1, 160, 9);
        let (a, b) = (ip("198.51.100.2"), ip("198.51.100.1"));
        assert!(m.classify((a, 80), (b, 443), &pkt, 0).is_none());
        assert!(m.classify((a, 16383), (b, 32768), &pkt, 0).is_none());
        assert!(m.classify((a, 32767), (b, 443), &pkt, 0).is_some());
        assert!(m.classify((a, 1), (b, 16384), &pkt, 0).is_some());
        assert_eq!(m.counters.rtp_packets, 5);
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
