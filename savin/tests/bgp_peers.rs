//! BGP against more peers: GoBGP on h2 (eBGP over IPv4 and IPv6, communities and policies
//! both ways, withdrawals, an import policy change applied without a flap, checked on both
//! sides), and a hand-rolled speaker on h2 that sends malformed UPDATEs and expects the
//! outcomes RFC 7606 (and our codec's documented choices, crates/bgp/src/packet/update.rs)
//! give them, then replays UPDATEs captured from real speakers.

mod labnet;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use labnet::{have, Net};
use savin_lab::{wait_until, Ns};

// GoBGP.

/// gobgpd on `ns`: AS 65002, one IPv4 and one IPv6 neighbour (Savin), its API on the
/// namespace's loopback. Returns its directory, once the API answers.
fn start_gobgp(net: &mut Net, ns: &Ns) -> PathBuf {
    let dir = net.state.path().join("gobgp");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("gobgpd.toml");
    std::fs::write(
        &conf,
        r#"
[global.config]
  as = 65002
  router-id = "10.0.2.2"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.2.1"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 3
    hold-time = 9
    keepalive-interval = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "2001:db8:2::1"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 3
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#,
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("gobgpd.log")).unwrap();
    let c = conf.to_string_lossy().to_string();
    net.lab
        .spawn(
            ns,
            &[
                "gobgpd",
                "-f",
                &c,
                "-p",
                "--pprof-disable",
                "--api-hosts",
                "127.0.0.1:50051",
            ],
            None,
            Some(log),
        )
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || net
            .run(ns, &["gobgp", "global"], 5)
            .0),
        "gobgpd did not start: {}",
        std::fs::read_to_string(dir.join("gobgpd.log")).unwrap_or_default()
    );
    dir
}

fn gobgp(net: &Net, ns: &Ns, args: &[&str]) -> (bool, String) {
    let mut a = vec!["gobgp"];
    a.extend_from_slice(args);
    net.run(ns, &a, 10)
}

/// `gobgp global rib [-a ipv6] -j`: prefix -> its paths.
fn gobgp_rib(net: &Net, ns: &Ns, v6: bool) -> serde_json::Value {
    let mut args = vec!["global", "rib"];
    if v6 {
        args.extend(["-a", "ipv6"]);
    }
    args.push("-j");
    let (_, out) = gobgp(net, ns, &args);
    serde_json::from_str(&out).unwrap_or(serde_json::Value::Null)
}

/// A path's attribute of type `ty` in GoBGP's JSON.
fn attr(path: &serde_json::Value, ty: u64) -> Option<&serde_json::Value> {
    path["attrs"]
        .as_array()?
        .iter()
        .find(|a| a["type"].as_u64() == Some(ty))
}

/// The ASNs of a path's AS_PATH, flattened.
fn as_path(path: &serde_json::Value) -> Vec<u64> {
    attr(path, 2)
        .and_then(|a| a["as_paths"].as_array())
        .map(|segs| {
            segs.iter()
                .flat_map(|s| s["asns"].as_array().cloned().unwrap_or_default())
                .filter_map(|a| a.as_u64())
                .collect()
        })
        .unwrap_or_default()
}

/// A community as GoBGP's JSON carries it (a 32-bit number).
fn community(asn: u64, v: u64) -> u64 {
    (asn << 16) | v
}

const GOBGP_CONFIG: &str = "configure; \
    set routing-options router-id 10.0.1.1; \
    set routing-options autonomous-system 65001; \
    set policy-options community bad members 65002:666; \
    set policy-options community ours members 65001:100; \
    set policy-options community ours-large members large:65001:1:2; \
    set policy-options policy-statement to-gobgp term direct from protocol direct; \
    set policy-options policy-statement to-gobgp term direct from route-filter 10.0.1.0/24 exact; \
    set policy-options policy-statement to-gobgp term direct from route-filter 2001:db8:1::/64 exact; \
    set policy-options policy-statement to-gobgp term direct then as-path-prepend \"65001 65001\"; \
    set policy-options policy-statement to-gobgp term direct then community add ours; \
    set policy-options policy-statement to-gobgp term direct then community add ours-large; \
    set policy-options policy-statement to-gobgp term direct then accept; \
    set policy-options policy-statement from-gobgp term bad from community bad; \
    set policy-options policy-statement from-gobgp term bad then reject; \
    set policy-options policy-statement from-gobgp then local-preference 200; \
    set policy-options policy-statement from-gobgp then preference 160; \
    set policy-options policy-statement from-gobgp then accept; \
    set protocols bgp group gobgp type external; \
    set protocols bgp group gobgp peer-as 65002; \
    set protocols bgp group gobgp import from-gobgp; \
    set protocols bgp group gobgp export to-gobgp; \
    set protocols bgp group gobgp neighbor 10.0.2.2 family inet unicast; \
    set protocols bgp group gobgp neighbor 2001:db8:2::2 family inet6 unicast; \
    commit";

fn route(net: &Net, dst: &str) -> String {
    net.cli(&format!("show route {dst}")).1
}

fn bgp_route(net: &Net, dst: &str) -> String {
    net.cli(&format!("show route {dst} exact protocol bgp")).1
}

/// `show bgp neighbor A`'s Received and Accepted prefixes (of its first table).
fn counts(net: &Net, peer: &str) -> (u64, u64) {
    let out = net.cli(&format!("show bgp neighbor {peer}")).1;
    let get = |what: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(what))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(u64::MAX)
    };
    (get("Received prefixes:"), get("Accepted prefixes:"))
}

#[test]
fn savin_and_gobgp_exchange_routes_over_ebgp_and_policies_apply() {
    const T: &str = "savin_and_gobgp_exchange_routes_over_ebgp_and_policies_apply";
    if !have(T, &["gobgpd", "gobgp"]) {
        return;
    }
    let Some(mut net) = Net::new(T) else {
        return;
    };
    let h2 = net.h2.clone();
    let dir = start_gobgp(&mut net, &h2);
    let gobgp_log = || std::fs::read_to_string(dir.join("gobgpd.log")).unwrap_or_default();
    for args in [
        &[
            "global",
            "rib",
            "add",
            "198.51.100.0/24",
            "community",
            "65002:10",
            "large-community",
            "65002:1:1",
        ][..],
        &[
            "global",
            "rib",
            "add",
            "192.0.2.0/24",
            "community",
            "65002:666",
        ],
        &[
            "global",
            "rib",
            "-a",
            "ipv6",
            "add",
            "2001:db8:100::/48",
            "community",
            "65002:10",
        ],
    ] {
        let (ok, out) = gobgp(&net, &h2, args);
        assert!(ok, "gobgp {args:?}: {out}");
    }
    let (ok, out) = net.cli(GOBGP_CONFIG);
    assert!(ok, "{out}\n{}", net.log());

    let established = |net: &Net| net.cli("show bgp summary").1.matches("Establ").count() == 2;
    assert!(
        wait_until(Duration::from_secs(30), || established(&net)),
        "{}\n{}\n{}\n{}",
        net.cli("show bgp summary").1,
        gobgp(&net, &h2, &["neighbor"]).1,
        gobgp_log(),
        net.log()
    );

    // Savin took GoBGP's routes through its import policy: the one tagged 65002:666 is
    // refused, the others carry the preference the policy set.
    assert!(
        wait_until(Duration::from_secs(10), || route(&net, "198.51.100.0/24")
            .contains("*[BGP/")
            && route(&net, "2001:db8:100::/48").contains("*[BGP/")),
        "{}\n{}",
        route(&net, "198.51.100.0/24"),
        route(&net, "2001:db8:100::/48")
    );
    let out = route(&net, "198.51.100.0/24");
    assert!(
        out.contains("*[BGP/160]") && out.contains("to 10.0.2.2 via eth2.0"),
        "{out}"
    );
    let out = route(&net, "2001:db8:100::/48");
    assert!(
        out.contains("*[BGP/160]") && out.contains("to 2001:db8:2::2 via eth2.0"),
        "{out}"
    );
    // GoBGP sends its table at once: both prefixes have arrived by now.
    assert!(
        wait_until(Duration::from_secs(5), || counts(&net, "10.0.2.2")
            == (2, 1)),
        "{}",
        net.cli("show bgp neighbor 10.0.2.2").1
    );
    assert!(!route(&net, "192.0.2.0/24").contains("BGP"));
    assert_eq!(counts(&net, "2001:db8:2::2"), (1, 1));

    // GoBGP took Savin's connected network, as the export policy shaped it: Savin's AS
    // three times (two prepended, one for the hop), the communities added, next hop Savin.
    let v4 = |net: &Net| gobgp_rib(net, &h2, false);
    assert!(
        wait_until(Duration::from_secs(10), || v4(&net)["10.0.1.0/24"]
            .is_array()),
        "{}",
        gobgp(&net, &h2, &["global", "rib"]).1
    );
    let rib = v4(&net);
    let path = &rib["10.0.1.0/24"][0];
    assert_eq!(as_path(path), vec![65001, 65001, 65001], "{path}");
    assert_eq!(
        attr(path, 3).map(|a| a["nexthop"].clone()),
        Some(serde_json::json!("10.0.2.1")),
        "{path}"
    );
    let comms: Vec<u64> = attr(path, 8)
        .and_then(|a| a["communities"].as_array())
        .map(|c| c.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(comms, vec![community(65001, 100)], "{path}");
    assert_eq!(
        attr(path, 32).map(|a| a["value"].clone()),
        Some(serde_json::json!([{"ASN": 65001, "LocalData1": 1, "LocalData2": 2}])),
        "{path}"
    );
    // Only what the policy exports: not the other connected networks.
    for other in ["10.0.2.0/24", "10.0.3.0/24"] {
        assert!(rib[other].is_null(), "{other}: {rib}");
    }
    let v6 = |net: &Net| gobgp_rib(net, &h2, true);
    assert!(
        wait_until(Duration::from_secs(10), || v6(&net)["2001:db8:1::/64"]
            .is_array()),
        "{}",
        gobgp(&net, &h2, &["global", "rib", "-a", "ipv6"]).1
    );
    let rib6 = v6(&net);
    let path = &rib6["2001:db8:1::/64"][0];
    assert_eq!(as_path(path), vec![65001, 65001, 65001], "{path}");
    assert_eq!(
        attr(path, 14).map(|a| a["nexthop"].clone()),
        Some(serde_json::json!("2001:db8:2::1")),
        "{path}"
    );
    assert_eq!(
        attr(path, 8).map(|a| a["communities"].clone()),
        Some(serde_json::json!([community(65001, 100)])),
        "{path}"
    );

    // A new import policy applies to the routes held, without resetting the session: the
    // route refused so far is taken, and the preference changes. (The old preference is
    // deleted first: a second `set` of `then preference` adds a value beside the old one,
    // which the commit refuses, where Junos would replace it.)
    let (ok, out) = net.cli(
        "configure; \
         delete policy-options policy-statement from-gobgp term bad; \
         delete policy-options policy-statement from-gobgp then preference; \
         set policy-options policy-statement from-gobgp then preference 150; \
         commit",
    );
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(10), || route(&net, "192.0.2.0/24")
            .contains("*[BGP/150]")
            && route(&net, "198.51.100.0/24").contains("*[BGP/150]")),
        "{}\n{}",
        route(&net, "192.0.2.0/24"),
        route(&net, "198.51.100.0/24")
    );
    assert_eq!(counts(&net, "10.0.2.2"), (2, 2));
    for peer in ["10.0.2.2", "2001:db8:2::2"] {
        let (_, out) = net.cli(&format!("show bgp neighbor {peer}"));
        assert!(
            out.contains("State: Established") && out.contains("Number of flaps: 0"),
            "{out}"
        );
    }

    // GoBGP withdraws a route: it leaves Savin's RIB; the others stay.
    let (ok, out) = gobgp(&net, &h2, &["global", "rib", "del", "198.51.100.0/24"]);
    assert!(ok, "{out}");
    let (ok, out) = gobgp(
        &net,
        &h2,
        &["global", "rib", "-a", "ipv6", "del", "2001:db8:100::/48"],
    );
    assert!(ok, "{out}");
    assert!(
        wait_until(Duration::from_secs(10), || !route(&net, "198.51.100.0/24")
            .contains("BGP")
            && !route(&net, "2001:db8:100::/48").contains("BGP")),
        "{}\n{}",
        route(&net, "198.51.100.0/24"),
        route(&net, "2001:db8:100::/48")
    );
    assert!(route(&net, "192.0.2.0/24").contains("*[BGP/150]"));
    assert_eq!(counts(&net, "10.0.2.2"), (1, 1));
    assert_eq!(counts(&net, "2001:db8:2::2"), (0, 0));
    let (_, out) = net.cli("show bgp summary");
    assert_eq!(out.matches("Establ").count(), 2, "{out}");
}

// A hand-rolled speaker on h2.

/// The BGP messages a peer sent: (type, body after the header).
type Log = Arc<Mutex<Vec<(u8, Vec<u8>)>>>;

/// One TCP connection to Savin from h2, spoken by hand. The socket is opened from a thread
/// that entered h2's namespace ([`savin_lab::Lab::run_in`]), so the test writes each message
/// itself, in step with its checks. The OPEN exchange is done in [`Speaker::connect`]; a
/// thread then reads what Savin sends (logged) and answers its KEEPALIVEs.
struct Speaker {
    tx: Arc<Mutex<TcpStream>>,
    log: Log,
    closed: Arc<AtomicBool>,
}

const MSG_OPEN: u8 = 1;
const MSG_UPDATE: u8 = 2;
const MSG_NOTIFICATION: u8 = 3;
const MSG_KEEPALIVE: u8 = 4;

fn message(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(ty);
    m.extend_from_slice(body);
    m
}

fn read_message(s: &mut TcpStream) -> std::io::Result<(u8, Vec<u8>)> {
    let mut h = [0u8; 19];
    s.read_exact(&mut h)?;
    if h[..16] != [0xff; 16] {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad marker: {h:02x?}"),
        ));
    }
    let len = usize::from(u16::from_be_bytes([h[16], h[17]]));
    let mut body = vec![0u8; len.saturating_sub(19)];
    s.read_exact(&mut body)?;
    Ok((h[18], body))
}

/// Our OPEN: AS 65002, hold time 90, identifier 10.0.2.2; capabilities multiprotocol IPv4
/// unicast, route refresh, four-octet AS 65002.
fn open() -> Vec<u8> {
    let caps: &[u8] = &[
        1, 4, 0, 1, 0, 1, // MP IPv4 unicast
        2, 0, // route refresh
        65, 4, 0, 0, 0xfd, 0xea, // four-octet AS 65002
    ];
    let mut b = vec![4];
    b.extend_from_slice(&65002u16.to_be_bytes());
    b.extend_from_slice(&90u16.to_be_bytes());
    b.extend_from_slice(&[10, 0, 2, 2]);
    b.push(u8::try_from(caps.len() + 2).unwrap());
    b.push(2);
    b.push(u8::try_from(caps.len()).unwrap());
    b.extend_from_slice(caps);
    message(MSG_OPEN, &b)
}

impl Speaker {
    /// Connects from h2 to Savin (retrying while Savin does not listen yet) and brings the
    /// session up.
    fn connect(net: &Net) -> Speaker {
        let mut stream = None;
        let connected = wait_until(Duration::from_secs(15), || {
            stream = net
                .lab
                .run_in(&net.h2, || {
                    TcpStream::connect_timeout(
                        &"10.0.2.1:179".parse().unwrap(),
                        Duration::from_secs(2),
                    )
                })
                .ok();
            if stream.is_none() {
                std::thread::sleep(Duration::from_millis(200));
            }
            stream.is_some()
        });
        assert!(connected, "cannot connect to 10.0.2.1:179\n{}", net.log());
        let mut s = stream.unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&open()).unwrap();
        // Savin's OPEN (sent when the connection came up), then its KEEPALIVE (once it has
        // ours).
        let (ty, body) = read_message(&mut s).unwrap();
        assert_eq!(ty, MSG_OPEN, "{body:02x?}");
        assert_eq!(body[1..3], 65001u16.to_be_bytes(), "Savin's AS");
        s.write_all(&message(MSG_KEEPALIVE, &[])).unwrap();
        let (ty, body) = read_message(&mut s).unwrap();
        assert_eq!(ty, MSG_KEEPALIVE, "{body:02x?}");
        s.set_read_timeout(None).unwrap();
        let log: Log = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let tx = Arc::new(Mutex::new(s.try_clone().unwrap()));
        {
            let (log, closed, tx) = (log.clone(), closed.clone(), tx.clone());
            std::thread::spawn(move || {
                while let Ok((ty, body)) = read_message(&mut s) {
                    if ty == MSG_KEEPALIVE {
                        let _ = tx.lock().unwrap().write_all(&message(MSG_KEEPALIVE, &[]));
                    }
                    log.lock().unwrap().push((ty, body));
                }
                closed.store(true, Ordering::SeqCst);
            });
        }
        Speaker { tx, log, closed }
    }

    fn send(&self, msg: &[u8]) {
        self.tx.lock().unwrap().write_all(msg).unwrap();
    }

    /// The NOTIFICATIONs Savin sent: (code, subcode, data).
    fn notifications(&self) -> Vec<(u8, u8, Vec<u8>)> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(ty, _)| *ty == MSG_NOTIFICATION)
            .map(|(_, b)| match b.as_slice() {
                [code, sub, data @ ..] => (*code, *sub, data.to_vec()),
                _ => (0, 0, b.clone()),
            })
            .collect()
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        // Ends the reader thread.
        let _ = self.tx.lock().unwrap().shutdown(Shutdown::Both);
    }
}

// Path attributes, as bytes: flags, type, length, value.

fn attribute(flags: u8, code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = vec![flags, code, u8::try_from(value.len()).unwrap()];
    a.extend_from_slice(value);
    a
}

const WELL_KNOWN: u8 = 0x40;
const OPTIONAL_TRANSITIVE: u8 = 0xc0;

fn origin(v: u8) -> Vec<u8> {
    attribute(WELL_KNOWN, 1, &[v])
}

/// AS_PATH: one AS_SEQUENCE [65002], four-octet ASNs.
fn as_path_65002() -> Vec<u8> {
    attribute(WELL_KNOWN, 2, &[2, 1, 0, 0, 0xfd, 0xea])
}

fn next_hop(a: [u8; 4]) -> Vec<u8> {
    attribute(WELL_KNOWN, 3, &a)
}

/// An UPDATE: withdrawn routes, attributes, NLRI.
fn update(withdrawn: &[u8], attrs: &[Vec<u8>], nlri: &[u8]) -> Vec<u8> {
    let a = attrs.concat();
    let mut b = Vec::new();
    b.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&u16::try_from(a.len()).unwrap().to_be_bytes());
    b.extend_from_slice(&a);
    b.extend_from_slice(nlri);
    message(MSG_UPDATE, &b)
}

/// A prefix as the NLRI field carries it.
fn nlri(addr: [u8; 4], len: u8) -> Vec<u8> {
    let mut v = vec![len];
    v.extend_from_slice(&addr[..usize::from(len.div_ceil(8))]);
    v
}

/// A well-formed announcement of `prefix` (origin IGP, path 65002, next hop h2).
fn good(prefix: &[u8]) -> Vec<u8> {
    update(
        &[],
        &[origin(0), as_path_65002(), next_hop([10, 0, 2, 2])],
        prefix,
    )
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// UPDATEs as real speakers sent them, on four-octet sessions (from the codec's tests,
// crates/bgp/tests/common/mod.rs).

/// FRR 8.4.4: AS_PATH [65002] with the Extended Length flag, MED 0, next hop 192.0.2.1;
/// 198.18.0.0/15 and 203.0.113.0/24.
const FRR_UPDATE_V4: &str = "ffffffffffffffffffffffffffffffff003a020000001c400101005002000602010000fdea400304c0000201800404000000000fc61218cb0071";
/// BIRD 2.0.12: AS_PATH [65001], MED 50, a community, a large community; 198.51.100.0/25,
/// 192.0.2.0/24, 10.0.0.0/8.
const BIRD_UPDATE_V4: &str = "ffffffffffffffffffffffffffffffff005302000000314001010040020602010000fde9400304c000020180040400000032c00804fde90064c0200c0000fde9000000010000000219c633640018c00002080a";

#[test]
fn malformed_updates_are_handled_as_rfc_7606_says_and_the_session_survives() {
    const T: &str = "malformed_updates_are_handled_as_rfc_7606_says_and_the_session_survives";
    let Some(net) = Net::new(T) else {
        return;
    };
    let (ok, out) = net.cli(
        "configure; \
         set routing-options router-id 10.0.1.1; \
         set routing-options autonomous-system 65001; \
         set protocols bgp group hand type external; \
         set protocols bgp group hand peer-as 65002; \
         set protocols bgp group hand neighbor 10.0.2.2 family inet unicast; \
         commit",
    );
    assert!(ok, "{out}");
    let mut sp = Speaker::connect(&net);
    let established = |net: &Net| {
        net.cli("show bgp neighbor 10.0.2.2")
            .1
            .contains("State: Established")
    };
    assert!(
        wait_until(Duration::from_secs(5), || established(&net)),
        "{}",
        net.cli("show bgp neighbor 10.0.2.2").1
    );

    // The anchor stays throughout; the target comes and goes. (The lab has a static reject
    // route to 203.0.113.0/24: BGP's route is a candidate behind it, so it is looked up with
    // `exact protocol bgp`.)
    let anchor = nlri([198, 51, 100, 0], 24);
    let target = nlri([203, 0, 113, 0], 24);
    sp.send(&good(&anchor));
    let has = |net: &Net, dst: &str| bgp_route(net, dst).contains("BGP");
    // Active: in the RIB and chosen (the choice follows BGP's write by a moment).
    assert!(
        wait_until(Duration::from_secs(10), || route(&net, "198.51.100.0/24")
            .contains("*[BGP/170]")),
        "{}\n{}",
        route(&net, "198.51.100.0/24"),
        net.log()
    );
    assert_eq!(counts(&net, "10.0.2.2"), (1, 1));

    // After each: the session stands, nothing was sent to us but what a session carries,
    // the anchor route is still there.
    let survived = |sp: &Speaker, net: &Net, case: &str| {
        let (_, out) = net.cli("show bgp neighbor 10.0.2.2");
        assert!(
            out.contains("State: Established") && out.contains("Number of flaps: 0"),
            "{case}: {out}"
        );
        assert!(
            sp.notifications().is_empty() && !sp.is_closed(),
            "{case}: {:?}",
            sp.notifications()
        );
        assert!(
            route(net, "198.51.100.0/24").contains("*[BGP/170]"),
            "{case}"
        );
    };

    // Treat-as-withdraw (RFC 7606 §2): the target is announced validly, then by a malformed
    // UPDATE, which must take it away.
    let comm = |len: usize| {
        attribute(
            OPTIONAL_TRANSITIVE,
            8,
            &[0xfd, 0xea, 0, 10, 0, 0, 0, 0][..len],
        )
    };
    let nh = || next_hop([10, 0, 2, 2]);
    let cases: Vec<(&str, u8, Vec<u8>)> = vec![
        // §7.1: ORIGIN of an undefined value.
        (
            "ORIGIN 7",
            1,
            update(&[], &[origin(7), as_path_65002(), nh()], &target),
        ),
        // §7.2: an AS_PATH segment that claims 3 ASNs and holds 1.
        (
            "AS_PATH segment overrun",
            2,
            update(
                &[],
                &[
                    origin(0),
                    attribute(WELL_KNOWN, 2, &[2, 3, 0, 0, 0xfd, 0xea]),
                    nh(),
                ],
                &target,
            ),
        ),
        // §3 d: a well-known mandatory attribute missing.
        (
            "ORIGIN missing",
            1,
            update(&[], &[as_path_65002(), nh()], &target),
        ),
        // §7.8: COMMUNITIES not a multiple of 4 octets.
        (
            "COMMUNITIES of 5 octets",
            8,
            update(&[], &[origin(0), as_path_65002(), nh(), comm(5)], &target),
        ),
        // RFC 8092 §6 (and RFC 7606): LARGE_COMMUNITY not a multiple of 12.
        (
            "LARGE_COMMUNITY of 11 octets",
            32,
            update(
                &[],
                &[
                    origin(0),
                    as_path_65002(),
                    nh(),
                    attribute(OPTIONAL_TRANSITIVE, 32, &[0; 11]),
                ],
                &target,
            ),
        ),
        // §7.3: a NEXT_HOP no route can use.
        (
            "NEXT_HOP 224.0.0.1",
            3,
            update(
                &[],
                &[origin(0), as_path_65002(), next_hop([224, 0, 0, 1])],
                &target,
            ),
        ),
        // §4: the last attribute claims more octets than the section holds; the NLRI is
        // still found through the Total Path Attribute Length.
        (
            "attribute length past the section",
            8,
            update(
                &[],
                &[
                    origin(0),
                    as_path_65002(),
                    nh(),
                    vec![0xc0, 8, 9, 0xfd, 0xea, 0, 10],
                ],
                &target,
            ),
        ),
    ];
    let withdrawals = |net: &Net| -> Vec<String> {
        net.log()
            .lines()
            .filter(|l| l.contains("treated as withdrawn"))
            .map(str::to_string)
            .collect()
    };
    let mut seen = 0;
    for (case, code, bad) in &cases {
        sp.send(&good(&target));
        assert!(
            wait_until(Duration::from_secs(10), || has(&net, "203.0.113.0/24")),
            "{case}: the valid announcement: {}",
            route(&net, "203.0.113.0/24")
        );
        assert_eq!(counts(&net, "10.0.2.2"), (2, 2), "{case}");
        sp.send(bad);
        assert!(
            wait_until(Duration::from_secs(10), || !has(&net, "203.0.113.0/24")),
            "{case}: still installed: {}",
            route(&net, "203.0.113.0/24")
        );
        assert_eq!(counts(&net, "10.0.2.2"), (1, 1), "{case}");
        survived(&sp, &net, case);
        // Savin logs it once, naming the attribute.
        let said = format!(" attribute={code} ");
        let lines = withdrawals(&net);
        assert_eq!(lines.len(), seen + 1, "{case}: {lines:#?}");
        assert!(lines[seen].contains(&said), "{case}: {}", lines[seen]);
        seen += 1;
    }

    // Attribute-discard (§7.6): ATOMIC_AGGREGATE with a value; the route stands.
    sp.send(&update(
        &[],
        &[
            origin(0),
            as_path_65002(),
            nh(),
            attribute(WELL_KNOWN, 6, &[1]),
        ],
        &nlri([192, 0, 2, 0], 24),
    ));
    assert!(
        wait_until(Duration::from_secs(10), || route(&net, "192.0.2.0/24")
            .contains("*[BGP/170]")),
        "{}",
        route(&net, "192.0.2.0/24")
    );
    assert_eq!(counts(&net, "10.0.2.2"), (2, 2));
    survived(&sp, &net, "ATOMIC_AGGREGATE of 1 octet");
    let log = net.log();
    let discards: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("malformed attribute discarded"))
        .collect();
    assert!(
        discards.len() == 1 && discards[0].contains(" attribute=6 "),
        "{discards:#?}"
    );
    assert_eq!(withdrawals(&net).len(), seen);

    // Real speakers' UPDATEs. FRR's, its next hop made h2: both its prefixes installed.
    let frr = hex(&FRR_UPDATE_V4.replace("400304c0000201", "4003040a000202"));
    assert_ne!(frr, hex(FRR_UPDATE_V4));
    sp.send(&frr);
    assert!(
        wait_until(Duration::from_secs(10), || route(&net, "198.18.0.0/15")
            .contains("*[BGP/")
            && has(&net, "203.0.113.0/24")),
        "{}",
        route(&net, "198.18.0.0/15")
    );
    let out = route(&net, "198.18.0.0/15");
    assert!(
        out.contains("*[BGP/170]") && out.contains("to 10.0.2.2 via eth2.0"),
        "{out}"
    );
    assert_eq!(counts(&net, "10.0.2.2"), (4, 4));
    // BIRD's, from AS 65001: Savin's own AS is in the path, so its prefixes are dropped, and
    // the path we had for 192.0.2.0/24 is replaced by nothing (an implicit withdrawal).
    sp.send(&hex(BIRD_UPDATE_V4));
    assert!(
        wait_until(Duration::from_secs(10), || !has(&net, "192.0.2.0/24")),
        "{}",
        route(&net, "192.0.2.0/24")
    );
    assert!(!has(&net, "198.51.100.0/25") && !has(&net, "10.0.0.0/8"));
    assert_eq!(counts(&net, "10.0.2.2"), (3, 3));
    survived(&sp, &net, "replayed UPDATEs");

    // An unrecognised well-known attribute (flags 0x40, type 99) resets the session: RFC 4271
    // §6.3, 3/2 Unrecognized Well-known Attribute with the attribute as data.
    let unknown = attribute(WELL_KNOWN, 99, &[0]);
    sp.send(&update(
        &[],
        &[origin(0), as_path_65002(), nh(), unknown.clone()],
        &target,
    ));
    assert!(
        wait_until(Duration::from_secs(10), || sp.is_closed()),
        "the session was not closed: {:?}",
        sp.notifications()
    );
    assert_eq!(sp.notifications(), vec![(3, 2, unknown)]);
    // Its routes go with it.
    assert!(
        wait_until(Duration::from_secs(10), || !has(&net, "198.51.100.0/24")),
        "{}",
        route(&net, "198.51.100.0/24")
    );
    let (_, out) = net.cli("show bgp neighbor 10.0.2.2");
    assert!(
        out.contains("Number of flaps: 1")
            && out.contains("Last Error:")
            && out.contains("Unrecognized Well-known Attribute"),
        "{out}"
    );
    drop(sp);

    // The session comes back.
    sp = Speaker::connect(&net);
    assert!(
        wait_until(Duration::from_secs(5), || established(&net)),
        "{}",
        net.cli("show bgp neighbor 10.0.2.2").1
    );
    sp.send(&good(&anchor));
    assert!(
        wait_until(Duration::from_secs(10), || has(&net, "198.51.100.0/24")),
        "{}",
        route(&net, "198.51.100.0/24")
    );
    assert_eq!(counts(&net, "10.0.2.2"), (1, 1));
    // And a plain withdrawal (the Withdrawn Routes field) takes it away.
    sp.send(&update(&anchor, &[], &[]));
    assert!(
        wait_until(Duration::from_secs(10), || !has(&net, "198.51.100.0/24")),
        "{}",
        route(&net, "198.51.100.0/24")
    );
    assert_eq!(counts(&net, "10.0.2.2"), (0, 0));
    let (_, out) = net.cli("show bgp neighbor 10.0.2.2");
    assert!(
        out.contains("State: Established") && out.contains("Number of flaps: 1"),
        "{out}"
    );
    assert!(sp.notifications().is_empty() && !sp.is_closed());
}
