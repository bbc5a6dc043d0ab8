//! The service monitor measures the RTP that Savin forwards, and its figures agree with
//! tshark's (`-z rtp,streams`) on the same streams captured at the receiver: packets, loss
//! and jitter. One stream is found on a configured UDP port range, one from the SIP INVITE
//! whose SDP names its port and maps its dynamic payload type to PCMA. The senders
//! (`monitor/rtp_send.py`) skip known sequence numbers and send every tenth packet late.

mod labnet;

use std::time::Duration;

use labnet::{have, Net};
use savin_lab::wait_until;

/// The tests here measure jitter to a tenth of a millisecond: one at a time (two lab
/// networks sending on two cores at once disturb each other's timing).
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// tshark's row for a stream: packets, lost, and mean and max jitter (ms).
fn tshark_row(out: &str, dport: u16) -> Option<(u64, i64, f64, f64)> {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().nth(5) == Some(&dport.to_string()))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    Some((
        f.get(8)?.parse().ok()?,
        f.get(9)?.parse().ok()?,
        f.get(15)?.parse().ok()?,
        f.get(16)?.parse().ok()?,
    ))
}

/// A lab with RTP monitoring on the range 16384-32767 (streams kept a minute), and tshark
/// started on the receiver with `args` after `tshark -n -q -i eth0`, its output to the file
/// `out` in the lab's state directory, or (`pcap`) the capture written there; returns once
/// it captures.
fn lab_with_tshark(test: &str, args: &[&str], out: &str, pcap: bool) -> Option<(Net, u32)> {
    let mut net = Net::new(test)?;
    let (ok, cli) = net.cli(
        "configure; set services rtp-monitoring udp-port 16384-32767; \
         set services rtp-monitoring inactivity-timeout 60; commit",
    );
    assert!(ok, "{cli}");
    let err_file = net.state.path().join("tshark.err");
    let out = net.state.path().join(out);
    let out_arg = out.to_str().unwrap().to_string();
    let mut argv = vec!["tshark", "-n", "-q", "-i", "eth0"];
    argv.extend_from_slice(args);
    let stdout = if pcap {
        argv.extend(["-w", &out_arg]);
        None
    } else {
        Some(std::fs::File::create(&out).unwrap())
    };
    let pid = net
        .lab
        .spawn(
            &net.h2,
            &argv,
            stdout,
            Some(std::fs::File::create(&err_file).unwrap()),
        )
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(20), || {
            std::fs::read_to_string(&err_file)
                .unwrap_or_default()
                .contains("Capture started")
        }),
        "tshark did not start"
    );
    Some((net, pid))
}

#[test]
fn rtp_loss_and_jitter_agree_with_tshark() {
    const T: &str = "rtp_loss_and_jitter_agree_with_tshark";
    let _one = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    if !have(T, &["python3", "tshark"]) {
        return;
    }
    // tshark on the receiver, RTP recognised by its heuristic (no signalling for the first
    // stream) and by the SIP for the second.
    let args = ["-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams"];
    let Some((mut net, pid)) = lab_with_tshark(T, &args, "tshark.out", false) else {
        return;
    };
    let out_file = net.state.path().join("tshark.out");
    let script = format!("{}/tests/monitor/rtp_send.py", env!("CARGO_MANIFEST_DIR"));
    // 600 packets (12 s of voice; the sequence numbers wrap at packet 536), 9 lost in three
    // places (a burst of five among them), every tenth packet 6 ms late.
    let (ok, out) = net.run(
        &net.h1,
        &[
            "python3",
            &script,
            "10.0.2.2",
            "20000",
            "20002",
            "600",
            "100,101,102,103,104,300,301,450,590",
            "10",
            "6",
        ],
        60,
    );
    assert!(ok && out.contains("sent 591"), "{out}");
    // The second stream, announced by SIP with PCMA as dynamic type 96, outside the range.
    let (ok, out) = net.run(
        &net.h1,
        &[
            "python3",
            &script,
            "10.0.2.2",
            "7078",
            "7080",
            "200",
            "50",
            "0",
            "0",
            "call-1@h1",
        ],
        60,
    );
    assert!(ok && out.contains("sent 199"), "{out}");
    std::thread::sleep(Duration::from_millis(500));
    net.lab.signal(pid, nix::sys::signal::Signal::SIGINT);
    net.lab.wait(pid, Duration::from_secs(10));
    let tshark = std::fs::read_to_string(&out_file).unwrap_or_default();
    let want = tshark_row(&tshark, 20000).unwrap_or_else(|| panic!("no tshark row: {tshark}"));
    // Savin's figures once published (about a second).
    let mut got = serde_json::Value::Null;
    let found = wait_until(Duration::from_secs(10), || {
        let (ok, out) = net.cli("show services rtp-monitoring streams | display json");
        got = serde_json::from_str(&out).unwrap_or_default();
        ok && got["rtp-monitoring-information"]["rtp-stream"]
            .as_array()
            .is_some_and(|a| {
                a.iter().any(|s| {
                    s["destination-port"] == 20000
                        && s["packets"] == 591
                        && s["destination-port"] != 7078
                }) && a
                    .iter()
                    .any(|s| s["destination-port"] == 7078 && s["packets"] == 199)
            })
    });
    assert!(found, "Savin's streams: {got:#}\ntshark:\n{tshark}");
    let streams = got["rtp-monitoring-information"]["rtp-stream"]
        .as_array()
        .unwrap();
    let s = streams
        .iter()
        .find(|s| s["destination-port"] == 20000)
        .unwrap();
    let num = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<f64>().ok()).unwrap();
    // tshark counts what it received; it sees the same 591 and the same 9 lost.
    assert_eq!((want.0, want.1), (591, 9), "tshark:\n{tshark}");
    assert_eq!(s["lost"], 9, "{s:#}");
    assert_eq!(s["expected"], 600, "{s:#}");
    assert_eq!(s["codec"], "PCMU");
    // Jitter: the same estimator at two capture points (Savin's forwarding thread, the
    // receiver's socket): within 0.1 ms or 1% of each other.
    let (mean, max) = (num(&s["mean-jitter-ms"]), num(&s["max-jitter-ms"]));
    eprintln!(
        "Savin: lost {} mean jitter {mean} max {max} MOS-LQ {}; tshark: lost {} mean {} max {}",
        s["lost"], s["mos-lq"], want.1, want.2, want.3
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 0.1_f64.max(b * 0.01);
    assert!(
        close(mean, want.2) && close(max, want.3),
        "jitter mean {mean} max {max} vs tshark mean {} max {}\n{s:#}\n{tshark}",
        want.2,
        want.3
    );
    // Known: 6 ms late every tenth packet gives a jitter of a few ms, not zero.
    assert!(max > 1.0, "{s:#}");
    // The loss shows in the score: a burst of five and four single losses in 600.
    let mos = num(&s["mos-lq"]);
    assert!(mos > 3.0 && mos < 4.40, "{s:#}");
    // The SIP-announced stream: PCMA by the SDP's rtpmap, its call, one loss.
    let c = streams
        .iter()
        .find(|s| s["destination-port"] == 7078)
        .unwrap();
    assert_eq!(
        (&c["codec"], &c["call-id"], &c["lost"]),
        (&"PCMA".into(), &"call-1@h1".into(), &1.into()),
        "{c:#}"
    );
    let (ok, out) = net.cli("show services rtp-monitoring statistics");
    assert!(
        ok && out.contains("SIP messages                   1")
            && out.contains("Calls followed                 1"),
        "{out}"
    );
    let (ok, out) = net.cli("show services rtp-monitoring streams");
    assert!(
        ok && out.contains("10.0.1.2:20002") && out.contains("PCMA"),
        "{out}"
    );
}

/// The E-model as ITU-T gives it, written here apart from Savin's: G.107 (06/2015) 7-29
/// for Ie,eff with the burst ratio, G.113 Appendix I's G.711 with packet loss concealment
/// (Ie 0, Bpl 25.1), R = 93.2 with the default values (7-1 with Ro 93.2 less Is, Id, A at
/// their defaults 0 here: MOS-LQ leaves delay out), and Annex B's MOS.
fn reference_r(loss_percent: f64, burst_r: f64) -> f64 {
    let (ie, bpl) = (0.0, 25.1);
    let ie_eff = ie + (95.0 - ie) * loss_percent / (loss_percent / burst_r + bpl);
    93.2 - ie_eff
}

fn reference_mos(r: f64) -> f64 {
    1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6
}

/// G.107's burst ratio from the sequence numbers received, in order (no reordering here):
/// the two-state Markov chain's p (received to lost) and q (lost to received) counted over
/// the numbers from the first to the last; 1 with no loss.
fn reference_burst_ratio(seqs: &[u32]) -> f64 {
    let got: std::collections::BTreeSet<u32> = seqs.iter().copied().collect();
    let (first, last) = (*got.first().unwrap(), *got.last().unwrap());
    let lost: Vec<bool> = (first..=last).map(|s| !got.contains(&s)).collect();
    let (mut rr, mut rl, mut lr, mut ll) = (0u32, 0u32, 0u32, 0u32);
    for w in lost.windows(2) {
        match (w[0], w[1]) {
            (false, false) => rr += 1,
            (false, true) => rl += 1,
            (true, false) => lr += 1,
            (true, true) => ll += 1,
        }
    }
    if rl == 0 {
        return 1.0;
    }
    let p = f64::from(rl) / f64::from(rr + rl);
    let q = f64::from(lr) / f64::from(lr + ll);
    (1.0 / (p + q)).max(1.0)
}

/// Four streams at once through Savin, impaired before it as netem would (this kernel has no
/// netem: the sender draws the same models with a fixed seed): clean; 3% random loss with
/// 3 ms of jitter; about the same loss in bursts (Gilbert-Elliott, mean burst 3.3 packets)
/// with jitter; 8% random loss. Savin's packets, loss and jitter agree with tshark's on a
/// capture at the receiver; its R and MOS agree with the E-model computed here from that
/// capture, and fall as loss and burstiness rise.
#[test]
fn mos_falls_as_loss_and_burstiness_rise() {
    const T: &str = "mos_falls_as_loss_and_burstiness_rise";
    let _one = TIMING.lock().unwrap_or_else(|e| e.into_inner());
    if !have(T, &["python3", "tshark"]) {
        return;
    }
    let Some((mut net, pid)) = lab_with_tshark(T, &["-f", "udp"], "rtp.pcap", true) else {
        return;
    };
    let pcap = net.state.path().join("rtp.pcap");
    let script = format!("{}/tests/monitor/rtp_impair.py", env!("CARGO_MANIFEST_DIR"));
    // 1000 packets of 10 ms each; seed 5 draws 3.4% random loss, 3.3% in bursts (burst
    // ratio about 2) and 8.5% random.
    let (ok, out) = net.run(
        &net.h1,
        &[
            "python3",
            &script,
            "10.0.2.2",
            "1000",
            "10",
            "5",
            "20010:20011:clean:0",
            "20020:20021:random/0.03:3",
            "20030:20031:ge/0.01/0.3:3",
            "20040:20041:random/0.08:0",
        ],
        60,
    );
    assert!(ok && out.matches("stream").count() == 4, "{out}");
    std::thread::sleep(Duration::from_millis(500));
    net.lab.signal(pid, nix::sys::signal::Signal::SIGINT);
    net.lab.wait(pid, Duration::from_secs(10));
    let tshark = |args: &[&str]| {
        let o = std::process::Command::new("tshark")
            .args([
                "-n",
                "-r",
                pcap.to_str().unwrap(),
                "-o",
                "rtp.heuristic_rtp:TRUE",
            ])
            .args(args)
            .output()
            .expect("tshark runs");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let table = tshark(&["-q", "-z", "rtp,streams"]);
    let fields = tshark(&[
        "-Y",
        "rtp",
        "-T",
        "fields",
        "-e",
        "udp.dstport",
        "-e",
        "rtp.seq",
    ]);
    let ports = [20010u16, 20020, 20030, 20040];
    // Savin's figures once published, every stream whole.
    let want: Vec<(u64, i64, f64, f64)> = ports
        .iter()
        .map(|p| tshark_row(&table, *p).unwrap_or_else(|| panic!("no tshark row {p}: {table}")))
        .collect();
    let mut got = serde_json::Value::Null;
    let found = wait_until(Duration::from_secs(10), || {
        let (ok, out) = net.cli("show services rtp-monitoring streams | display json");
        got = serde_json::from_str(&out).unwrap_or_default();
        ok && ports.iter().zip(&want).all(|(p, w)| {
            got["rtp-monitoring-information"]["rtp-stream"]
                .as_array()
                .is_some_and(|a| {
                    a.iter()
                        .any(|s| s["destination-port"] == *p && s["packets"] == w.0)
                })
        })
    });
    assert!(found, "Savin's streams: {got:#}\ntshark:\n{table}");
    let num = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<f64>().ok()).unwrap();
    let mut mos = Vec::new();
    for (p, w) in ports.iter().zip(&want) {
        let s = got["rtp-monitoring-information"]["rtp-stream"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["destination-port"] == *p)
            .unwrap();
        let seqs: Vec<u32> = fields
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(port, _)| port.trim() == p.to_string())
            .filter_map(|(_, seq)| seq.trim().parse().ok())
            .collect();
        assert_eq!(seqs.len() as u64, w.0, "{p}: the capture's packets");
        let expected = u64::from(seqs.iter().max().unwrap() - seqs.iter().min().unwrap() + 1);
        // Packets and loss: the same counts as tshark.
        assert_eq!(s["packets"], w.0, "{s:#}\n{table}");
        assert_eq!(s["lost"], w.1, "{s:#}\n{table}");
        assert_eq!(s["expected"], expected, "{s:#}");
        // Jitter: two capture points (Savin's worker, the receiver's socket), the same
        // estimator: within 0.1 ms or 1%.
        let (mean, max) = (num(&s["mean-jitter-ms"]), num(&s["max-jitter-ms"]));
        let close = |a: f64, b: f64| (a - b).abs() <= 0.1_f64.max(b * 0.01);
        assert!(
            close(mean, w.2) && close(max, w.3),
            "{p}: jitter mean {mean} max {max} vs tshark mean {} max {}\n{s:#}",
            w.2,
            w.3
        );
        // Quality: the reference E-model on the capture's loss and burstiness.
        let loss = w.1 as f64 * 100.0 / expected as f64;
        let burst = reference_burst_ratio(&seqs);
        let r = reference_r(loss, burst);
        let (r_got, mos_got) = (num(&s["r-factor-lq"]), num(&s["mos-lq"]));
        eprintln!(
            "{p}: loss {loss:.2}% burst ratio {burst:.2} (Savin {}): R {r:.2} MOS {:.3}; \
             Savin R {r_got} MOS {mos_got}; jitter mean {mean} max {max}, tshark {} {}",
            s["burst-ratio"],
            reference_mos(r),
            w.2,
            w.3
        );
        assert!((num(&s["burst-ratio"]) - burst).abs() <= 0.01, "{s:#}");
        assert!((r_got - r).abs() <= 0.06, "R {r_got} vs {r}\n{s:#}");
        assert!((mos_got - reference_mos(r)).abs() <= 0.006, "{s:#}");
        mos.push((loss, burst, r_got));
    }
    // Clean scores the codec's best; loss lowers it; the same loss in bursts lowers it more;
    // more loss, more still.
    let (clean, random, bursty, heavy) = (mos[0], mos[1], mos[2], mos[3]);
    assert_eq!((clean.0, clean.2), (0.0, 93.2), "{mos:?}");
    assert!(bursty.1 > 1.5 && random.1 < 1.2, "{mos:?}");
    assert!(
        (bursty.0 - random.0).abs() < 0.5 && bursty.2 < random.2,
        "{mos:?}"
    );
    assert!(clean.2 > random.2 && random.2 > heavy.2, "{mos:?}");
}
