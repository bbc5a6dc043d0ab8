//! The monitor on the data plane: a feature on the ip4-output arc, after the route lookup
//! and security (it sees what Savin forwards, with NAT applied), that looks at UDP and hands
//! what may be SIP or RTP to the worker's [`Monitor`]. It never drops and never changes a
//! frame; traffic it does not watch costs a port check.
//!
//! Its settings come from the control plane through an `ArcSwapOption` read once per batch
//! (None: off, and the arcs skip it). What it measured is published about once a second.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use savin_dataplane::{Cx, Feature, Tables};
use savin_io::FrameBatch;
use savin_wire::ethernet::HEADER_LEN as ETH_HDR;

use crate::burst::Metrics;
use crate::emodel::Quality;
use crate::stream::Stats;
use crate::table::{Counters, Entry, Monitor, Pending, Settings, StreamKey, Thresholds};
use crate::ts::{MdiView, TsCounters};

/// How the control plane hands the stage its settings.
pub type SettingsHandle = Arc<ArcSwapOption<Settings>>;

/// Ended streams are looked for this often.
const EXPIRE_EVERY_MS: u64 = 1000;
/// What it measured is copied out this often.
const PUBLISH_EVERY_MS: u64 = 1000;

/// A stream as `show` reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamView {
    pub key: StreamKey,
    pub codec: Option<&'static str>,
    pub payload_type: u8,
    pub clock_rate: u32,
    pub call_id: Option<String>,
    pub stats: Stats,
    pub burst: Metrics,
    pub burst_ratio: f64,
    pub quality: Option<Quality>,
    /// A transport stream's figures (video over UDP, or RTP type 33).
    pub ts: Option<TsView>,
    /// Carried in RTP (false: a transport stream over bare UDP, no RTP figures).
    pub rtp: bool,
    /// First and last packet, milliseconds on the worker's clock; `ended`: gone quiet.
    pub first_ms: u64,
    pub last_ms: u64,
    pub ended: bool,
}

impl StreamView {
    fn of(k: &StreamKey, e: &Entry, plc: bool, ended: bool) -> StreamView {
        StreamView {
            key: *k,
            codec: e.codec.map(|c| c.name),
            payload_type: e.payload_type,
            clock_rate: e.stream.clock_rate(),
            call_id: e.call_id.clone(),
            stats: e.stream.stats(),
            burst: e.stream.burst().metrics(),
            burst_ratio: e.stream.burst().burst_ratio(),
            quality: e.quality(plc),
            ts: e.ts.as_ref().map(|t| TsView {
                counters: *t.counters(),
                mdi: *t.mdi(),
            }),
            rtp: k.ssrc != 0 || e.stream.stats().packets > 0,
            first_ms: e.first_ms,
            last_ms: e.last_ms(),
            ended,
        }
    }
}

impl StreamView {
    /// Packets received and lost: a transport stream over bare UDP has no RTP figures, so
    /// its TS packets'.
    pub fn packets_lost(&self) -> (u64, u64) {
        match (&self.ts, self.rtp) {
            (Some(t), false) => (t.counters.packets, t.counters.lost),
            _ => (self.stats.packets, self.stats.lost),
        }
    }
}

/// Packets a stream must have had before its loss or MOS raises an alarm: at the start a
/// single loss is a large percentage of nothing.
pub const ALARM_MIN_PACKETS: u64 = 100;

/// The metrics alarms watch, in [`StreamView::alarm_values`]'s and
/// [`Thresholds::limits`]'s order: the name, and whether a value below the threshold is
/// past it (MOS) rather than one above (the others).
pub const ALARMS: [(&str, bool); 4] = [
    ("mos-lq", true),
    ("loss-percent", false),
    ("delay-factor", false),
    ("media-loss-rate", false),
];

impl StreamView {
    /// Per alarm metric with a threshold set and a value to judge: (value, threshold, past
    /// it, as [`ALARMS`] says).
    pub fn alarm_values(&self, t: &Thresholds) -> [Option<(f64, f64, bool)>; 4] {
        let enough = self.stats.expected >= ALARM_MIN_PACKETS;
        let mdi = self.ts.as_ref().map(|t| t.mdi);
        let values = [
            self.quality.filter(|_| enough).map(|q| q.mos_lq),
            enough.then(|| self.stats.loss_percent()),
            mdi.and_then(|m| m.df_ms),
            mdi.and_then(|m| m.last_mlr()),
        ];
        let mut out = [None; 4];
        for (i, (v, l)) in values.into_iter().zip(t.limits()).enumerate() {
            if let (Some(v), Some(l)) = (v, l) {
                let l = f64::from(l) / 100.0;
                out[i] = Some((v, l, if ALARMS[i].1 { v < l } else { v > l }));
            }
        }
        out
    }
}

/// A transport stream as `show` reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TsView {
    pub counters: TsCounters,
    pub mdi: MdiView,
}

/// What a worker's monitor publishes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Published {
    pub counters: Counters,
    pub calls: usize,
    /// Live streams, then the ended ones kept for history.
    pub streams: Vec<StreamView>,
    /// The worker clock when this was taken (ms).
    pub at_ms: u64,
}

pub struct MonitorStage {
    handle: SettingsHandle,
    settings: Option<Arc<Settings>>,
    monitor: Option<Monitor>,
    /// This batch's RTP packets, measured together at its end.
    pending: Vec<Pending>,
    now_us: u64,
    expired_ms: u64,
    published_ms: Option<u64>,
}

impl MonitorStage {
    pub fn new(handle: SettingsHandle) -> MonitorStage {
        MonitorStage {
            handle,
            settings: None,
            monitor: None,
            pending: Vec::new(),
            now_us: 0,
            expired_ms: 0,
            published_ms: None,
        }
    }

    /// The monitor (tests, and the benchmark).
    pub fn monitor(&self) -> Option<&Monitor> {
        self.monitor.as_ref()
    }

    /// Measures the packets the batch left pending.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if let Some(m) = &mut self.monitor {
            m.apply(&mut self.pending, self.now_us / 1000);
        }
        self.pending.clear();
    }
}

/// An address and port.
type Endpoint = (IpAddr, u16);

/// The UDP ports of an IP packet at `l3` (None: not UDP, a later fragment, or short).
#[inline(always)]
fn udp_ports(frame: &[u8], l3: usize, v6: bool) -> Option<(u16, u16)> {
    let ip = frame.get(l3..)?;
    let at = if v6 {
        (*ip.get(6)? == savin_wire::ip_proto::UDP).then_some(40)?
    } else {
        let h = ip.get(..20)?;
        let later = u16::from_be_bytes([h[6], h[7]]) & 0x1fff != 0;
        (h[9] == savin_wire::ip_proto::UDP && !later).then_some(usize::from(h[0] & 0x0f) * 4)?
    };
    let u = ip.get(at..at + 4)?;
    Some((
        u16::from_be_bytes([u[0], u[1]]),
        u16::from_be_bytes([u[2], u[3]]),
    ))
}

/// The UDP datagram in an IP packet at `l3`: source, destination and payload. None: not
/// UDP, a later fragment, or cut short.
fn udp(frame: &[u8], l3: usize, v6: bool) -> Option<(Endpoint, Endpoint, &[u8])> {
    let ip = frame.get(l3..)?;
    let (src, dst, proto, hlen, total): (IpAddr, IpAddr, u8, usize, usize) = if v6 {
        let h = ip.get(..40)?;
        let s: [u8; 16] = h[8..24].try_into().ok()?;
        let d: [u8; 16] = h[24..40].try_into().ok()?;
        let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
        (
            Ipv6Addr::from(s).into(),
            Ipv6Addr::from(d).into(),
            h[6],
            40,
            40 + len,
        )
    } else {
        let h = ip.get(..20)?;
        let hlen = usize::from(h[0] & 0x0f) * 4;
        // A later fragment has no UDP header; a first fragment's payload is not whole.
        if u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0 {
            return None;
        }
        let s: [u8; 4] = h[12..16].try_into().ok()?;
        let d: [u8; 4] = h[16..20].try_into().ok()?;
        let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
        (
            Ipv4Addr::from(s).into(),
            Ipv4Addr::from(d).into(),
            h[9],
            hlen,
            total,
        )
    };
    if proto != savin_wire::ip_proto::UDP || hlen < 20 {
        return None;
    }
    let ip = ip.get(..total)?;
    let u = ip.get(hlen..hlen + 8)?;
    let sport = u16::from_be_bytes([u[0], u[1]]);
    let dport = u16::from_be_bytes([u[2], u[3]]);
    let ulen = usize::from(u16::from_be_bytes([u[4], u[5]]));
    let payload = ip.get(hlen + 8..hlen + ulen.max(8))?;
    Some(((src, sport), (dst, dport), payload))
}

impl Feature for MonitorStage {
    const NAME: &'static str = "monitor";
    type Published = Published;

    fn publish(&mut self, into: &mut Published) {
        let now_ms = self.now_us / 1000;
        let Some(m) = &self.monitor else {
            if into.at_ms != 0 || !into.streams.is_empty() {
                *into = Published::default();
            }
            return;
        };
        if self
            .published_ms
            .is_some_and(|t| now_ms.saturating_sub(t) < PUBLISH_EVERY_MS)
        {
            return;
        }
        self.published_ms = Some(now_ms);
        let plc = m.settings().plc;
        into.counters = m.counters;
        into.calls = m.calls();
        into.at_ms = now_ms;
        into.streams.clear();
        into.streams
            .extend(m.streams().map(|(k, e)| StreamView::of(k, e, plc, false)));
        into.streams
            .extend(m.ended().map(|(k, e)| StreamView::of(k, e, plc, true)));
    }

    fn begin(&mut self, _tables: &Tables, now_ms: u64) {
        // A batch whose end was not seen (frames injected without one) is measured now.
        self.flush();
        self.now_us = now_ms.saturating_mul(1000).max(self.now_us);
        // A guard per batch (no reference count touched); a clone only when it changed.
        let same = match (&*self.handle.load(), &self.settings) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if !same {
            let cur = self.handle.load_full();
            // New settings keep the streams measured so far; off forgets them.
            match (&cur, &mut self.monitor) {
                (Some(s), Some(m)) => m.configure(Settings::clone(s)),
                (Some(s), None) => self.monitor = Some(Monitor::new(Settings::clone(s))),
                (None, _) => self.monitor = None,
            }
            self.settings = cur;
        }
        if let Some(m) = &mut self.monitor {
            if now_ms.saturating_sub(self.expired_ms) >= EXPIRE_EVERY_MS {
                self.expired_ms = now_ms;
                m.expire(now_ms);
            }
        }
    }

    #[inline]
    fn active(&self) -> bool {
        self.monitor.is_some()
    }

    #[inline]
    fn ip4_output(
        &mut self,
        cx: &mut Cx,
        batch: &mut FrameBatch,
        i: u16,
        _out: Option<u16>,
        v6: bool,
    ) -> bool {
        let Some(m) = &mut self.monitor else {
            return true;
        };
        let frame = batch.frame(usize::from(i));
        // The ports first: what the monitor does not watch goes on after two bit tests.
        if !udp_ports(frame, ETH_HDR, v6).is_some_and(|(s, d)| m.watches(s, d)) {
            return true;
        }
        match udp(frame, ETH_HDR, v6) {
            Some((src, dst, payload)) => {
                // When the kernel took the frame in, in microseconds: jitter needs finer
                // than milliseconds, and a batch's time would add the wait for the worker.
                if let Some(p) = m.classify(src, dst, payload, cx.rx_us(batch, usize::from(i))) {
                    self.pending.push(p);
                }
            }
            // A first fragment (its datagram is not whole here) or a datagram cut short:
            // counted, not measured.
            None => m.counters.unreadable += 1,
        }
        true
    }

    fn end_batch(&mut self, _cx: &mut Cx) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_v4(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08;
        let total = 20 + 8 + payload.len();
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            17,
            0,
            0,
        ]);
        f.extend_from_slice(&[192, 0, 2, 1, 198, 51, 100, 7]);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn udp_is_found_in_ipv4_and_ipv6_and_nothing_else() {
        let f = frame_v4(30000, 20000, b"hello");
        let (s, d, p) = udp(&f, ETH_HDR, false).unwrap();
        assert_eq!((s.1, d.1, p), (30000, 20000, &b"hello"[..]));
        assert_eq!(d.0, "198.51.100.7".parse::<IpAddr>().unwrap());
        // A later fragment, TCP, a frame cut short: none.
        let mut frag = f.clone();
        frag[14 + 7] = 8;
        assert!(udp(&frag, ETH_HDR, false).is_none());
        let mut tcp = f.clone();
        tcp[14 + 9] = 6;
        assert!(udp(&tcp, ETH_HDR, false).is_none());
        assert!(udp(&f[..30], ETH_HDR, false).is_none());
        // IPv6.
        let mut g = vec![0u8; 14];
        g.extend_from_slice(&[0x60, 0, 0, 0, 0, 13, 17, 64]);
        g.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        g.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        g.extend_from_slice(&[0x13, 0xc4, 0x13, 0xc4, 0, 13, 0, 0]);
        g.extend_from_slice(b"INVIT");
        let (s, d, p) = udp(&g, ETH_HDR, true).unwrap();
        assert_eq!((s.1, d.1, p), (5060, 5060, &b"INVIT"[..]));
    }

    #[test]
    fn the_stage_measures_rtp_it_forwards_and_lets_everything_through() {
        let handle: SettingsHandle = Arc::new(ArcSwapOption::empty());
        let mut stage = MonitorStage::new(handle.clone());
        let tables = Tables::routed(savin_fib::Fib::<u32>::new().reader(), Vec::new());
        stage.begin(&tables, 0);
        assert!(!stage.active());
        handle.store(Some(Arc::new(Settings {
            port_ranges: vec![20000..=20001],
            ..Settings::default()
        })));
        let mut batch = FrameBatch::with_capacity(4);
        let mut pipeline = savin_dataplane::Pipeline::new(2, 4);
        for n in 0..100u16 {
            let now_ms = u64::from(n) * 20;
            stage.begin(&tables, now_ms);
            assert!(stage.active());
            let mut rtp = Vec::new();
            savin_wire::rtp::put_header(&mut rtp, false, 0, n, u32::from(n) * 160, 42);
            rtp.extend_from_slice(&[0xd5; 160]);
            batch.clear();
            batch.push(&frame_v4(30000, 20000, &rtp));
            batch.push(&frame_v4(40000, 443, b"not watched"));
            (pipeline.now_ms, pipeline.now_us) = (now_ms, now_ms * 1000);
            let mut cx = pipeline.cx();
            if n != 50 {
                assert!(stage.ip4_output(&mut cx, &mut batch, 0, Some(1), false));
            }
            if n == 60 {
                // A first fragment on the watched port: counted, not measured.
                let mut frag = frame_v4(30000, 20000, &rtp);
                frag[ETH_HDR + 6] = 0x20;
                batch.push(&frag);
                assert!(stage.ip4_output(&mut cx, &mut batch, 2, Some(1), false));
            }
            assert!(stage.ip4_output(&mut cx, &mut batch, 1, Some(1), false));
            stage.end_batch(&mut cx);
        }
        let mut p = Published::default();
        stage.publish(&mut p);
        assert_eq!(p.streams.len(), 1);
        let s = &p.streams[0];
        assert_eq!(
            (s.key.ssrc, s.codec, s.stats.expected, s.stats.lost),
            (42, Some("PCMU"), 100, 1)
        );
        assert!(s.quality.is_some_and(|q| q.mos_lq > 4.0));
        assert_eq!(p.counters.unreadable, 1);
        // Alarms: MOS below 4.5 and loss above 0.5% are past; loss above 2% is not; the
        // transport stream figures have no value to judge.
        let t = Thresholds {
            mos_lq: Some(450),
            loss_percent: Some(50),
            delay_factor: Some(5000),
            media_loss_rate: None,
        };
        let v = s.alarm_values(&t);
        assert!(
            v[0].is_some_and(|(mos, l, past)| past && mos < 4.5 && l == 4.5),
            "{v:?}"
        );
        assert_eq!(v[1], Some((1.0, 0.5, true)));
        assert_eq!((v[2], v[3]), (None, None));
        let t = Thresholds {
            loss_percent: Some(200),
            ..Thresholds::default()
        };
        assert_eq!(s.alarm_values(&t)[1], Some((1.0, 2.0, false)));
        // Off: the monitor and its streams go.
        handle.store(None);
        stage.begin(&tables, 5000);
        assert!(!stage.active());
        stage.publish(&mut p);
        assert!(p.streams.is_empty());
    }
}
