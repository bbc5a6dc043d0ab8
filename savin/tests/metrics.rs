//! `system services prometheus`: a real Prometheus (on h2) scrapes Savin's `/metrics`
//! through the data plane's host path, where host-inbound traffic decides whether it may,
//! and what it stores agrees with Savin's own `show` output: the RTP stream measured,
//! the interfaces' counters, the sessions.

mod labnet;

use std::time::Duration;

use labnet::{have, Net, PERMIT_TRUST_TO_UNTRUST};
use savin_lab::wait_until;

/// Asks h2's Prometheus for `query`; the first series' value, if it has one.
fn query(net: &Net, q: &str) -> Option<f64> {
    let url = format!("http://127.0.0.1:9090/api/v1/query?query={q}");
    let (ok, out) = net.run(&net.h2, &["curl", "-s", "-m", "2", "-g", &url], 5);
    if !ok {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&out).ok()?;
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
}

#[test]
fn prometheus_scrapes_what_show_says_when_host_inbound_allows_it() {
    const T: &str = "prometheus_scrapes_what_show_says_when_host_inbound_allows_it";
    if !have(T, &["prometheus", "curl", "python3"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let (ok, out) = net.cli(&format!(
        "configure; {PERMIT_TRUST_TO_UNTRUST}; \
         set services rtp-monitoring udp-port 16384-32767; \
         set services rtp-monitoring inactivity-timeout 60; \
         set system services prometheus; commit"
    ));
    assert!(ok, "{out}");
    // Not yet let through from the untrust side: the scrape gets nowhere.
    let scrape = |net: &Net| {
        net.run(
            &net.h2,
            &["curl", "-s", "-m", "2", "http://10.0.2.1:9100/metrics"],
            5,
        )
    };
    let (ok, out) = scrape(&net);
    assert!(!ok && !out.contains("savin_"), "{out}");
    let (ok, out) = net.cli(
        "configure; set security zones security-zone untrust host-inbound-traffic \
         system-services prometheus; commit",
    );
    assert!(ok, "{out}");
    let (ok, out) = scrape(&net);
    assert!(
        ok && out.contains("# TYPE savin_interface_receive_packets_total counter"),
        "{out}"
    );
    // Prometheus on h2, scraping every second.
    let dir = net.state.path().to_path_buf();
    let conf = dir.join("prometheus.yml");
    std::fs::write(
        &conf,
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n\
         scrape_configs:\n  - job_name: savin\n    static_configs: [{targets: ['10.0.2.1:9100']}]\n",
    )
    .unwrap();
    let config_arg = format!("--config.file={}", conf.display());
    let storage_arg = format!("--storage.tsdb.path={}", dir.join("tsdb").display());
    let prom = net
        .lab
        .spawn(
            &net.h2,
            &[
                "prometheus",
                &config_arg,
                &storage_arg,
                "--web.listen-address=127.0.0.1:9090",
            ],
            None,
            Some(std::fs::File::create(dir.join("prometheus.err")).unwrap()),
        )
        .unwrap();
    // An RTP stream through Savin: 400 packets of 10 ms, 3% lost.
    let script = format!("{}/tests/monitor/rtp_impair.py", env!("CARGO_MANIFEST_DIR"));
    let (ok, out) = net.run(
        &net.h1,
        &[
            "python3",
            &script,
            "10.0.2.2",
            "400",
            "10",
            "5",
            "20020:20021:random/0.03:0",
        ],
        60,
    );
    assert!(ok, "{out}");
    let sent: u64 = out
        .split(" sent ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    // What Savin shows once published, and what Prometheus stored from its scrapes.
    let mut shown = serde_json::Value::Null;
    assert!(
        wait_until(Duration::from_secs(10), || {
            let (_, out) = net.cli("show services rtp-monitoring streams | display json");
            shown = serde_json::from_str(&out).unwrap_or_default();
            shown["rtp-monitoring-information"]["rtp-stream"][0]["packets"].as_u64() == Some(sent)
        }),
        "{shown:#}"
    );
    let s = &shown["rtp-monitoring-information"]["rtp-stream"][0];
    let (packets, lost) = (s["packets"].as_f64().unwrap(), s["lost"].as_f64().unwrap());
    let sel = "{destination_port=\"20020\",codec=\"PCMU\"}";
    let mut got = (None, None, None);
    let agreed = wait_until(Duration::from_secs(20), || {
        got = (
            query(&net, &format!("savin_rtp_stream_packets_total{sel}")),
            query(&net, &format!("savin_rtp_stream_lost_packets{sel}")),
            query(&net, "up{job=\"savin\"}"),
        );
        got == (Some(packets), Some(lost), Some(1.0))
    });
    let err = std::fs::read_to_string(dir.join("prometheus.err")).unwrap_or_default();
    assert!(
        agreed && lost > 0.0,
        "Prometheus {got:?}, Savin packets {packets} lost {lost}\n{}",
        err.lines().rev().take(10).collect::<Vec<_>>().join("\n")
    );
    // The interfaces the stream crossed: Prometheus's figure within what Savin shows now
    // (the counters only grow).
    let rx = query(
        &net,
        "savin_interface_receive_packets_total{interface=\"eth1\"}",
    )
    .unwrap();
    let (_, out) = net.cli("show interfaces | display json");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let now = v["interface-information"]["physical-interface"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "eth1")
        .and_then(|p| p["traffic-statistics"]["input-packets"].as_f64())
        .unwrap();
    assert!(rx >= packets && rx <= now, "Prometheus {rx}, Savin {now}");
    assert_eq!(query(&net, "savin_security_sessions"), Some(1.0));
    net.lab.signal(prom, nix::sys::signal::Signal::SIGTERM);
    net.lab.wait(prom, Duration::from_secs(10));
}
