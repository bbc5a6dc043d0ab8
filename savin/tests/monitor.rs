//! The service monitor measures the RTP that Savin forwards, and its figures agree with
//! tshark's (`-z rtp,streams`) on the same streams captured at the receiver: packets, loss
//! and jitter. One stream is found on a configured UDP port range, one from the SIP INVITE
//! whose SDP names its port and maps its dynamic payload type to PCMA. The senders
//! (`monitor/rtp_send.py`) skip known sequence numbers and send every tenth packet late.

mod labnet;

use std::time::Duration;

use labnet::{have, Net};
use savin_lab::wait_until;

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

#[test]
fn rtp_loss_and_jitter_agree_with_tshark() {
    const T: &str = "rtp_loss_and_jitter_agree_with_tshark";
    if !have(T, &["python3", "tshark"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (ok, out) = net.cli(
        "configure; set services rtp-monitoring udp-port 16384-32767; \
         set services rtp-monitoring inactivity-timeout 60; commit",
    );
    assert!(ok, "{out}");
    // tshark on the receiver, RTP recognised by its heuristic (no signalling for the first
    // stream) and by the SIP for the second.
    let out_file = net.state.path().join("tshark.out");
    let err_file = net.state.path().join("tshark.err");
    let pid = net
        .lab
        .spawn(
            &net.h2,
            &[
                "tshark",
                "-n",
                "-q",
                "-i",
                "eth0",
                "-o",
                "rtp.heuristic_rtp:TRUE",
                "-z",
                "rtp,streams",
            ],
            Some(std::fs::File::create(&out_file).unwrap()),
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
    // receiver's socket): within 0.1 ms or 10% of each other.
    let (mean, max) = (num(&s["mean-jitter-ms"]), num(&s["max-jitter-ms"]));
    eprintln!(
        "Savin: lost {} mean jitter {mean} max {max} MOS-LQ {}; tshark: lost {} mean {} max {}",
        s["lost"], s["mos-lq"], want.1, want.2, want.3
    );
    let close = |a: f64, b: f64| (a - b).abs() <= 0.1_f64.max(b * 0.10);
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
