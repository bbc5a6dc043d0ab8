//! `savin bench monitor`: the forwarding pipeline with the service monitor's stage on and
//! thousands of RTP streams active (each packet found in its stream, its sequence, loss and
//! jitter updated), against the same pipeline with the monitor off, in the same run. One
//! core, in memory; G.711 frames of 214 bytes (20 ms of voice) in batches of 256.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwapOption;
use savin_monitor::stage::{MonitorStage, SettingsHandle};
use savin_monitor::table::Settings;
use serde_json::json;

const BATCH: usize = 256;
const FRAME: usize = 14 + 20 + 8 + 12 + 160;
/// The destination ports of the streams: a configured range.
const PORT_BASE: u16 = 16384;

type Pipeline = savin_dataplane::Pipeline<MonitorStage>;

/// Writes stream `s`'s packet number `n`: 10.x.y.2:20000+ to 198.51.100.1:16384+, RTP
/// PCMU with sequence and timestamp following `n`, SSRC `s`.
fn rtp_frame(buf: &mut [u8], s: u32, n: u32) -> usize {
    buf[..FRAME].fill(0xd5);
    buf[..6].copy_from_slice(&[2, 0, 0, 0, 0, 0xaa]);
    buf[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 0xbb]);
    buf[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let total = (FRAME - 14) as u16;
    let src = 0x0a00_0002u32 | (s << 8);
    let dst = 0xc633_6401u32;
    let ip = &mut buf[14..34];
    ip.copy_from_slice(&[
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[12..16].copy_from_slice(&src.to_be_bytes());
    ip[16..20].copy_from_slice(&dst.to_be_bytes());
    let mut sum = 0u32;
    for w in ip.chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    let udp = &mut buf[34..42];
    udp[0..2].copy_from_slice(&(20000 + (s % 8192) as u16).to_be_bytes());
    udp[2..4].copy_from_slice(&(PORT_BASE + (s % 16384) as u16).to_be_bytes());
    udp[4..6].copy_from_slice(&(total - 20).to_be_bytes());
    udp[6..8].copy_from_slice(&[0, 0]);
    let rtp = &mut buf[42..54];
    rtp[0] = 0x80;
    rtp[1] = 0;
    rtp[2..4].copy_from_slice(&(n as u16).to_be_bytes());
    rtp[4..8].copy_from_slice(&n.wrapping_mul(160).to_be_bytes());
    rtp[8..12].copy_from_slice(&s.to_be_bytes());
    FRAME
}

/// What differs between two packets of the workload (addresses, IP checksum, ports, RTP
/// sequence, timestamp and SSRC), patched onto a template as a receive copy would land the
/// frame: 214 bytes from a hot template instead of streaming 80 MB of prepared frames
/// through the cache, which would measure the memory bus rather than the monitor.
#[derive(Clone, Copy)]
struct Patch {
    ip: [u8; 12],
    ports: [u8; 4],
    rtp: [u8; 10],
}

impl Patch {
    fn of(frame: &[u8]) -> Patch {
        let mut p = Patch {
            ip: [0; 12],
            ports: [0; 4],
            rtp: [0; 10],
        };
        p.ip.copy_from_slice(&frame[24..36]);
        p.ports.copy_from_slice(&frame[34..38]);
        p.rtp.copy_from_slice(&frame[44..54]);
        p
    }

    #[inline(always)]
    fn write(&self, template: &[u8; FRAME], buf: &mut [u8]) -> usize {
        buf[..FRAME].copy_from_slice(template);
        buf[24..36].copy_from_slice(&self.ip);
        buf[34..38].copy_from_slice(&self.ports);
        buf[44..54].copy_from_slice(&self.rtp);
        FRAME
    }
}

/// Runs `frames` in batches; the packets per second of each slice of `slice` packets. The
/// worker's clock moves `step_us` a batch.
fn run<F: savin_dataplane::Feature>(
    p: &mut savin_dataplane::Pipeline<F>,
    t: &savin_dataplane::Tables,
    (template, frames): (&[u8; FRAME], &[Patch]),
    slice: usize,
    step_us: u64,
) -> Vec<f64> {
    let mut batch = savin_io::FrameBatch::with_capacity(BATCH);
    let mut rates = Vec::new();
    let mut i = 0;
    while i + slice <= frames.len() {
        let start = Instant::now();
        let end = i + slice;
        while i < end {
            batch.clear();
            let upto = (i + BATCH).min(end);
            for f in &frames[i..upto] {
                batch.push_with(|buf| f.write(template, buf));
            }
            // The worker's clock: 20 ms a round of every stream.
            p.now_us += step_us;
            p.now_ms = p.now_us / 1000;
            p.process(&mut batch, t, 0);
            i = upto;
        }
        rates.push(slice as f64 / start.elapsed().as_secs_f64());
    }
    rates
}

/// Security as the daemon runs it for this traffic: the streams' side (port 0) in zone
/// trust, the far side (port 1) in untrust, one policy that permits them, a session each.
fn security_tables(capacity: usize) -> anyhow::Result<savin_security::SecurityTables> {
    let p = "set security policies from-zone trust to-zone untrust policy all";
    let set = format!(
        "set interfaces eth1 unit 0 family inet address 10.0.0.1/8\n\
         set interfaces eth2 unit 0 family inet address 198.51.100.2/24\n\
         set security zones security-zone trust interfaces eth1.0\n\
         set security zones security-zone untrust interfaces eth2.0\n\
         {p} match source-address any\n{p} match destination-address any\n\
         {p} match application any\n{p} then permit\n"
    );
    let c =
        savin_config::Configuration::parse_set(&set, None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let cfg = c
        .check()
        .map_err(|e| anyhow::anyhow!("{}", e.first().map(|e| e.to_string()).unwrap_or_default()))?;
    crate::security::security_tables(&cfg, capacity, vec![0x0a00_0001, 0xc633_6402])
}

fn best_median(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() - 1], v[v.len() / 2])
}

pub fn monitor(streams: usize, rounds: usize) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        streams > 0 && rounds > 1,
        "streams and rounds must be positive"
    );
    let t = crate::security::tables(None);
    let handle: SettingsHandle = Arc::new(ArcSwapOption::empty());
    let on = Arc::new(Settings {
        port_ranges: vec![PORT_BASE..=u16::MAX],
        max_streams: streams * 2,
        idle_ms: 3_600_000,
        ..Settings::default()
    });
    let mut p = Pipeline::with_feature(2, BATCH, MonitorStage::new(handle.clone()));
    // The frames, built before the clock starts: round r holds every stream's packet r.
    let mut template = [0u8; FRAME];
    rtp_frame(&mut template, 0, 0);
    let mut patches = Vec::with_capacity(streams * rounds);
    let mut f = [0u8; FRAME];
    for r in 0..rounds as u32 {
        for s in 0..streams as u32 {
            rtp_frame(&mut f, s, r);
            patches.push(Patch::of(&f));
        }
    }
    // The same packets to ports the monitor does not watch: what it must not slow.
    let others: Vec<Patch> = patches
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut o = *p;
            o.ports[..2].copy_from_slice(&(1024 + (i % 8192) as u16).to_be_bytes());
            o.ports[2..].copy_from_slice(&443u16.to_be_bytes());
            o
        })
        .collect();
    let frames = (&template, &patches[..]);
    let first = (&template, &patches[..streams]);
    let rest = (&template, &patches[streams..]);
    let slice = (streams * rounds / 8).max(BATCH);
    let step_us = (20_000 * BATCH / streams).max(1) as u64;
    // Warm-up with the monitor on: every stream created (the steady state measured next).
    handle.store(Some(on.clone()));
    run(&mut p, &t, first, streams, step_us);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        handle.store(None);
        without.extend(run(&mut p, &t, frames, slice, step_us));
        // The monitor forgot its streams when turned off: create them again, untimed.
        handle.store(Some(on.clone()));
        run(&mut p, &t, first, streams, step_us);
        with.extend(run(&mut p, &t, rest, slice, step_us));
    }
    // Unwatched traffic, with the monitor holding every stream and with it off.
    let (mut other_on, mut other_off) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        other_on.extend(run(&mut p, &t, (&template, &others), slice, step_us));
        handle.store(None);
        other_off.extend(run(&mut p, &t, (&template, &others), slice, step_us));
        handle.store(Some(on.clone()));
        run(&mut p, &t, first, streams, step_us);
    }
    let m = p
        .feature
        .monitor()
        .ok_or_else(|| anyhow::anyhow!("monitor off"))?;
    let measured = m.streams().count();
    let lost: u64 = m.streams().map(|(_, e)| e.stream.stats().lost).sum();
    let dropped = p.counters.total_drops();
    anyhow::ensure!(
        measured == streams && lost == 0 && dropped == 0,
        "the monitor saw {measured} streams (want {streams}), {lost} lost, {dropped} frames dropped"
    );
    // The pipeline as the daemon runs it for this traffic: security (zones, a policy, a
    // session per stream) and the monitor on the output arc, against security alone.
    let full_handle: SettingsHandle = Arc::new(ArcSwapOption::empty());
    let st = crate::security::tables(Some(security_tables(streams * 2)?));
    let mut q = savin_dataplane::Pipeline::with_feature(
        2,
        BATCH,
        savin_dataplane::Chain::new(
            MonitorStage::new(full_handle.clone()),
            savin_security::SecurityStage::new(BATCH),
        ),
    );
    q.now_ms = 1000;
    q.now_us = 1_000_000;
    full_handle.store(Some(on.clone()));
    run(&mut q, &st, first, streams, step_us);
    let (mut full_on, mut full_off) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        full_handle.store(None);
        full_off.extend(run(&mut q, &st, frames, slice, step_us));
        full_handle.store(Some(on.clone()));
        run(&mut q, &st, first, streams, step_us);
        full_on.extend(run(&mut q, &st, rest, slice, step_us));
    }
    let sessions = q.feature.b.sessions.as_ref().map_or(0, |s| s.len());
    let full_measured = q.feature.a.monitor().map_or(0, |m| m.streams().count());
    let full_dropped = q.counters.total_drops();
    anyhow::ensure!(
        sessions == streams && full_measured == streams && full_dropped == 0,
        "full pipeline: {sessions} sessions, {full_measured} streams (want {streams}), \
         {full_dropped} frames dropped ({:?})",
        q.counters
    );
    let (fb, fm) = best_median(full_on);
    let (fob, fom) = best_median(full_off);
    let (wb, wm) = best_median(with);
    let (ob, om) = best_median(without);
    let (uwb, uwm) = best_median(other_on);
    let (uob, uom) = best_median(other_off);
    let out = json!({
        "bench": "monitor",
        "workload": format!("one core, in memory: {streams} RTP streams (G.711, {FRAME}-byte frames, each written from a template and its 26 varying bytes as a receive copy would land it) interleaved, {rounds} packets each, in batches of {BATCH}, through the routing pipeline with the monitor stage on the output arc (every packet matched to its stream: sequence, loss, jitter, burst state) and with it off, alternately, 3 times each"),
        "streams": streams,
        "monitor_on_mpps": {"best": wb / 1e6, "median": wm / 1e6},
        "monitor_off_mpps": {"best": ob / 1e6, "median": om / 1e6},
        "ratio_on_to_off": {"best": wb / ob, "median": wm / om},
        "unwatched_traffic": {
            "what": "the same frames to UDP port 443 from ports outside the ranges, with the monitor on and holding every stream, and with it off",
            "monitor_on_mpps": {"best": uwb / 1e6, "median": uwm / 1e6},
            "monitor_off_mpps": {"best": uob / 1e6, "median": uom / 1e6},
            "ratio_on_to_off": {"best": uwb / uob, "median": uwm / uom},
        },
        "full_pipeline": {
            "what": "the same RTP through security as well (trust to untrust, a permit policy, a session per stream: the pipeline as the daemon runs it for this traffic), with the monitor on and off",
            "monitor_on_mpps": {"best": fb / 1e6, "median": fm / 1e6},
            "monitor_off_mpps": {"best": fob / 1e6, "median": fom / 1e6},
            "ratio_on_to_off": {"best": fb / fob, "median": fm / fom},
        },
        "bytes_per_stream_entry": std::mem::size_of::<savin_monitor::table::Entry>(),
        "bytes_touched_per_packet": savin_monitor::table::SLOT_HOT_BYTES,
        "goals": {"ratio_on_to_off": 0.9, "streams": 10_000},
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
