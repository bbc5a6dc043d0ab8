//! The configuration system end to end: a running daemon driven through `savin cli -c`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;

use common::{eventually, Daemon};
use savin_mgmt::proto::{Attachment, Request};

const BASE: &str = r#"system {
    host-name r1;
}
interfaces {
    eth1 {
        description "uplink to core";
        unit 0 {
            family inet {
                address 10.0.0.1/24;
            }
        }
    }
    eth2 {
        unit 0 {
            family ethernet-switching {
                interface-mode access;
                vlan {
                    members v10;
                }
            }
        }
    }
    irb {
        unit 10 {
            family inet {
                address 192.168.10.1/24;
            }
        }
    }
}
vlans {
    v10 {
        vlan-id 10;
        l3-interface irb.10;
    }
}
routing-options {
    static {
        route 0.0.0.0/0 next-hop 10.0.0.254;
    }
}
"#;

fn daemon_with_base() -> (tempfile::TempDir, Daemon) {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    let file = tmp.path().join("base.conf");
    std::fs::write(&file, BASE).unwrap();
    d.ok(&format!(
        "configure; load override {}; commit comment \"base\"",
        file.display()
    ));
    (tmp, d)
}

#[test]
fn set_edit_delete_and_show_at_edit_levels() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    let out = d.ok(
        "configure; edit interfaces eth3; set description \"to server\"; set unit 0 family inet address 10.3.0.1/24; \
         show; up; show eth3 unit 0; top; set sys host-name r9; show system",
    );
    assert_eq!(
        out,
        "Entering configuration mode\n\
         description \"to server\";\nunit 0 {\n    family inet {\n        address 10.3.0.1/24;\n    }\n}\n\
         family inet {\n    address 10.3.0.1/24;\n}\n\
         host-name r9;\n"
    );
    // The shared candidate keeps uncommitted changes between sessions, as on Junos.
    let out = d.ok(
        "configure; delete interfaces eth3 description; delete system; show; delete system; commit",
    );
    assert_eq!(
        out,
        "The configuration has been changed but not committed\nEntering configuration mode\n\
         interfaces {\n    eth3 {\n        unit 0 {\n            family inet {\n                address 10.3.0.1/24;\n            }\n        }\n    }\n}\n\
         warning: statement not found\ncommit complete\n"
    );
    // Abbreviations and a typo with a suggestion.
    let (ok, out) = d.cli("configure; set interfaces eth3 mut 1500");
    assert!(!ok);
    assert!(
        out.contains("unknown statement 'mut'; did you mean 'mtu'?"),
        "{out}"
    );
    let (ok, out) = d.cli("configure; set interfaces eth3 mtu 100000");
    assert!(!ok);
    assert!(
        out.contains("value 100000 is not within range (256..9216)"),
        "{out}"
    );
}

#[test]
fn both_formats_and_json_round_trip_through_the_cli() {
    let (tmp, d) = daemon_with_base();
    let curly = d.ok("show configuration");
    assert_eq!(curly, BASE);
    let set = d.ok("show configuration | display set");
    assert!(
        set.contains("set interfaces eth1 description \"uplink to core\"\n"),
        "{set}"
    );
    assert!(set.contains("set vlans v10 l3-interface irb.10\n"), "{set}");
    // Load the set form into an empty daemon: the same configuration comes out.
    let d2 = Daemon::start(&tmp.path().join("state2"));
    let f = tmp.path().join("base.set");
    std::fs::write(&f, &set).unwrap();
    d2.ok(&format!("configure; load set {}; commit", f.display()));
    assert_eq!(d2.ok("show configuration"), curly);
    assert_eq!(d2.ok("show configuration | display set"), set);
    let json: serde_json::Value =
        serde_json::from_str(&d.ok("show configuration | display json")).unwrap();
    assert_eq!(json["configuration"]["vlans"]["vlan"][0]["vlan-id"], 10);
    let sub = d.ok("show configuration interfaces eth1 | display set");
    assert_eq!(
        sub,
        "set interfaces eth1 description \"uplink to core\"\nset interfaces eth1 unit 0 family inet address 10.0.0.1/24\n"
    );
    assert_eq!(
        d.ok("show configuration system host-name"),
        "host-name r1;\n"
    );
}

#[test]
fn compare_against_active_and_rollbacks_uses_the_junos_format() {
    let (_tmp, d) = daemon_with_base();
    let out = d.ok(
        "configure; set system host-name r2; delete interfaces eth2; \
         set interfaces eth1 unit 0 family inet6 address 2001:db8::1/64; \
         set routing-options static route 192.0.2.0/24 discard; show | compare",
    );
    let expected = "Entering configuration mode
[edit system]
-   host-name r1;
+   host-name r2;
[edit interfaces]
-   eth2 {
-       unit 0 {
-           family ethernet-switching {
-               interface-mode access;
-               vlan {
-                   members v10;
-               }
-           }
-       }
-   }
[edit interfaces eth1 unit 0]
+   family inet6 {
+       address 2001:db8::1/64;
+   }
[edit routing-options static]
+   route 192.0.2.0/24 discard;
";
    assert_eq!(out, expected);
    d.ok("configure; rollback 0; set system host-name r2; commit");
    // Operational mode compares the active configuration with a rollback.
    let out = d.ok("show configuration | compare rollback 1");
    assert_eq!(out, "[edit system]\n-   host-name r1;\n+   host-name r2;\n");
    let out = d.ok("configure; edit system; show | compare rollback 1");
    assert_eq!(
        out,
        "Entering configuration mode\n[edit system]\n-   host-name r1;\n+   host-name r2;\n"
    );
    assert_eq!(
        d.ok("configure; show | compare"),
        "Entering configuration mode\n"
    );
}

#[test]
fn deactivate_and_annotate_are_kept_but_not_applied() {
    let (_tmp, d) = daemon_with_base();
    d.ok("configure; deactivate interfaces eth1; annotate system \"managed by savin\"; commit");
    let cfg = d.ok("show configuration");
    assert!(cfg.starts_with("/* managed by savin */\nsystem {"), "{cfg}");
    assert!(cfg.contains("    inactive: eth1 {\n"), "{cfg}");
    // The inactive interface is not in the applied configuration, so its route's
    // next-hop interface reference below would fail only if it were active.
    let (ok, out) = d.cli(
        "configure; set routing-options static route 192.0.2.0/24 next-hop eth9.0; commit check",
    );
    assert!(!ok);
    assert!(out.contains("interface eth9.0 is not configured"), "{out}");
    let (ok, out) = d.cli("configure; rollback 0; set routing-options static route 192.0.2.0/24 next-hop eth1.0; commit check");
    assert!(!ok, "eth1 is inactive, so eth1.0 does not exist: {out}");
    d.ok("configure; rollback 0; activate interfaces eth1; set routing-options static route 192.0.2.0/24 next-hop eth1.0; commit check");
    let set = d.ok("show configuration | display set | match deactivate");
    assert_eq!(set, "deactivate interfaces eth1\n");
}

#[test]
fn a_failed_commit_leaves_everything_unchanged() {
    let (_tmp, d) = daemon_with_base();
    let before = d.ok("show configuration");
    let history = d.ok("show system commit");
    let files = d.commit_files();
    let (ok, out) = d.cli(
        "configure; set interfaces eth4 unit 0 family inet address 10.0.0.1/24; \
         set interfaces eth2 unit 0 family ethernet-switching vlan members v99; commit",
    );
    assert!(!ok);
    assert!(
        out.contains(
            "[edit interfaces eth4 unit 0 family inet]\n  'address 10.0.0.1/24'\n    address 10.0.0.1 is already configured on eth1.0\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "[edit interfaces eth2 unit 0 family ethernet-switching vlan]\n  'members v99'\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("error: configuration check-out failed"),
        "{out}"
    );
    assert_eq!(d.ok("show configuration"), before);
    assert_eq!(d.ok("show system commit"), history);
    assert_eq!(d.commit_files(), files);
    // commit check succeeds on a good candidate without committing it.
    let out = d.ok("configure; rollback 0; set system host-name r5; commit check");
    assert!(out.ends_with("configuration check succeeds\n"), "{out}");
    assert_eq!(d.ok("show configuration"), before);
}

#[test]
fn rollback_n_loads_an_earlier_commit_into_the_candidate() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    for n in 1..=4 {
        d.ok(&format!("configure; set system host-name r{n}; commit"));
    }
    let out = d.ok("configure; rollback 2; show | compare");
    assert_eq!(out, "Entering configuration mode\nload complete\n[edit system]\n-   host-name r4;\n+   host-name r2;\n");
    d.ok("configure; rollback 2; commit");
    assert_eq!(d.ok("show configuration system"), "host-name r2;\n");
    let (ok, out) = d.cli("configure; rollback 50");
    assert!(!ok);
    assert!(out.contains("(0..49)"), "{out}");
    let (ok, out) = d.cli("configure; rollback 9");
    assert!(!ok);
    assert!(
        out.contains("rollback 9: configuration does not exist"),
        "{out}"
    );
}

#[test]
fn commit_history_records_user_time_and_comment() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    d.ok("configure; set system host-name a; commit comment \"first change\"");
    d.ok("configure; set system host-name b; commit");
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap()
        .name;
    let out = d.ok("show system commit");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("0   20") && lines[0].ends_with(&format!("UTC by {user} via cli")),
        "{out}"
    );
    assert!(lines[1].starts_with("1   20"), "{out}");
    assert_eq!(lines[2], "    first change");
    let json: serde_json::Value =
        serde_json::from_str(&d.ok("show system commit | display json")).unwrap();
    assert_eq!(
        json["commit-information"]["commit-history"][1]["comment"],
        "first change"
    );
    assert_eq!(
        json["commit-information"]["commit-history"][0]["user"],
        user.as_str()
    );
    let out = d.ok("show system uptime");
    assert!(
        out.contains("Last configured: ") && out.contains(&format!("by {user}")),
        "{out}"
    );
    assert!(d
        .ok("show version")
        .starts_with("Hostname: b\nModel: savin\n"));
}

#[test]
fn commit_confirmed_rolls_back_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    // A "minute" of 400 ms: `commit confirmed 1` rolls back after 0.4 s.
    let d = Daemon::start_with(&tmp.path().join("state"), 400);
    d.ok("configure; set system host-name good; commit");
    let out = d.ok("configure; set system host-name risky; commit confirmed 1");
    assert!(
        out.contains("commit confirmed will be automatically rolled back in 1 minutes unless confirmed\ncommit complete"),
        "{out}"
    );
    assert_eq!(d.ok("show configuration system"), "host-name risky;\n");
    assert!(
        eventually(10, || d.ok("show configuration system")
            == "host-name good;\n"),
        "not rolled back: {}",
        d.log()
    );
    let hist = d.ok("show system commit");
    assert!(
        hist.lines()
            .next()
            .unwrap()
            .ends_with("via confirm-timeout"),
        "{hist}"
    );
    assert_eq!(hist.lines().count(), 4, "{hist}");
    // The shared candidate follows the rollback, so the next edit starts from it.
    assert_eq!(
        d.ok("configure; show | compare"),
        "Entering configuration mode\n"
    );
}

#[test]
fn a_confirming_commit_stops_the_rollback() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(&tmp.path().join("state"), 300);
    d.ok("configure; set system host-name good; commit");
    d.ok("configure; set system host-name risky; commit confirmed 1; commit");
    std::thread::sleep(std::time::Duration::from_millis(900));
    assert_eq!(d.ok("show configuration system"), "host-name risky;\n");
    assert_eq!(d.ok("show system commit").lines().count(), 3);
}

#[test]
fn commit_confirmed_still_rolls_back_across_a_daemon_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let mut d = Daemon::start_with(&tmp.path().join("state"), 1500);
    d.ok("configure; set system host-name good; commit");
    d.ok("configure; set system host-name risky; commit confirmed 1");
    assert!(d.stop(), "SIGTERM stops the daemon cleanly");
    d.start_again();
    assert_eq!(
        d.ok("show configuration system"),
        "host-name risky;\n",
        "restart applies the last commit"
    );
    assert!(
        d.ok("show system commit").contains("unconfirmed"),
        "still pending"
    );
    assert!(
        eventually(10, || d.ok("show configuration system")
            == "host-name good;\n"),
        "{}",
        d.log()
    );
    // And a pending rollback whose deadline passed while the daemon was down fires at start.
    d.ok("configure; set system host-name risky2; commit confirmed 1");
    d.kill9();
    std::thread::sleep(std::time::Duration::from_millis(1600));
    d.start_again();
    assert!(
        eventually(5, || d.ok("show configuration system")
            == "host-name good;\n"),
        "{}",
        d.log()
    );
}

#[test]
fn a_restart_applies_the_last_commit_and_discards_uncommitted_edits() {
    let (_tmp, mut d) = daemon_with_base();
    d.ok("configure; set system host-name r7; commit; set system host-name uncommitted");
    d.restart();
    assert_eq!(d.ok("show configuration system"), "host-name r7;\n");
    assert_eq!(
        d.ok("configure; show | compare"),
        "Entering configuration mode\n"
    );
    assert_eq!(
        d.ok("show system commit")
            .lines()
            .filter(|l| !l.starts_with(' '))
            .count(),
        2
    );
}

#[test]
fn load_errors_name_file_line_and_column_and_load_nothing() {
    let (tmp, d) = daemon_with_base();
    let bad = tmp.path().join("bad.conf");
    std::fs::write(
        &bad,
        "system {\n    host-name r2;\n}\ninterfaces {\n    eth1 {\n        mtu 99999;\n    }\n}\n",
    )
    .unwrap();
    let (ok, out) = d.cli(&format!(
        "configure; load merge {}; show | compare",
        bad.display()
    ));
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "{}:6:13: 'mtu 99999': value 99999 is not within range (256..9216)",
            bad.display()
        )),
        "{out}"
    );
    assert!(!out.contains("[edit"), "nothing loaded: {out}");
    let set = tmp.path().join("bad.set");
    std::fs::write(
        &set,
        "set system host-name r3\nset interfaces eth1 descripton x\n",
    )
    .unwrap();
    let (ok, out) = d.cli(&format!(
        "configure; load set {}; show | compare",
        set.display()
    ));
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "{}:2:21: syntax error: unknown statement 'descripton'; did you mean 'description'?",
            set.display()
        )),
        "{out}"
    );
    assert!(
        !out.contains("[edit system]"),
        "the first line must not be applied: {out}"
    );
    let bin = tmp.path().join("bin.conf");
    std::fs::write(&bin, b"system {\x00\x01\x02 }").unwrap();
    let (ok, out) = d.cli(&format!("configure; load merge {}", bin.display()));
    assert!(!ok);
    assert!(out.contains("binary data"), "{out}");
    let latin1 = tmp.path().join("latin1.conf");
    std::fs::write(&latin1, b"system { host-name caf\xe9; }").unwrap();
    let (ok, out) = d.cli(&format!("configure; load merge {}", latin1.display()));
    assert!(!ok);
    assert!(out.contains("not a text file"), "{out}");
    assert_eq!(d.ok("show configuration"), BASE);
}

#[test]
fn two_sessions_share_the_candidate_and_private_sessions_are_refused_while_it_is_dirty() {
    let (_tmp, d) = daemon_with_base();
    let mut a = d.client();
    let mut b = d.client();
    assert!(a.exec("configure").unwrap().ok);
    assert!(a.exec("set system host-name shared-edit").unwrap().ok);
    let r = b.exec("configure").unwrap();
    assert!(
        r.output
            .contains("Users currently editing the configuration:"),
        "{}",
        r.output
    );
    assert!(
        r.output
            .contains("The configuration has been changed but not committed"),
        "{}",
        r.output
    );
    assert_eq!(
        b.exec("show system host-name").unwrap().output,
        "host-name shared-edit;\n"
    );
    let mut c = d.client();
    let r = c.exec("configure private").unwrap();
    assert!(!r.ok);
    assert!(
        r.output
            .starts_with("error: shared configuration database modified"),
        "{}",
        r.output
    );
    // B commits what A set: the candidate is shared.
    assert!(b.exec("commit").unwrap().ok);
    assert_eq!(
        d.ok("show configuration system"),
        "host-name shared-edit;\n"
    );
    // Now a private session works on its own copy.
    let r = c.exec("configure private").unwrap();
    assert!(r.ok, "{}", r.output);
    assert!(c.exec("set system host-name private-edit").unwrap().ok);
    assert_eq!(
        a.exec("show system host-name").unwrap().output,
        "host-name shared-edit;\n"
    );
    assert!(c.exec("commit").unwrap().ok);
    assert_eq!(
        d.ok("show configuration system"),
        "host-name private-edit;\n"
    );
}

#[test]
fn concurrent_commits_are_serialised() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    let sock = d.sock.clone();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let sock = sock.clone();
            std::thread::spawn(move || {
                let mut c = savin_mgmt::proto::Client::connect(&sock).unwrap();
                assert!(c.exec("configure").unwrap().ok);
                for i in 0..10 {
                    let r = c
                        .exec(&format!(
                            "set routing-options static route 10.{t}.{i}.0/24 discard"
                        ))
                        .unwrap();
                    assert!(r.ok, "{}", r.output);
                    let r = c.exec("commit").unwrap();
                    assert!(r.ok, "{}", r.output);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let routes = d.ok("show configuration routing-options | display set | count");
    assert_eq!(routes, "Count: 40 lines\n");
    assert_eq!(d.ok("show system commit | count"), "Count: 40 lines\n");
    // Every stored commit is complete and parses.
    for e in std::fs::read_dir(d.dir.join("commits")).unwrap() {
        let p = e.unwrap().path();
        savin_config::Configuration::parse(&std::fs::read_to_string(&p).unwrap(), None).unwrap();
    }
}

#[test]
fn the_socket_is_private_and_hostile_clients_do_not_hurt_the_daemon() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    let mode = std::fs::metadata(&d.sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // Garbage that is not JSON gets an error, and the connection stays usable.
    let mut s = std::os::unix::net::UnixStream::connect(&d.sock).unwrap();
    s.write_all(b"\x00\xff\xfe garbage\n").unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.contains("malformed request"), "{line}");
    // An oversized request is refused and the connection closed.
    let big = vec![b'a'; savin_mgmt::proto::MAX_FRAME + 10];
    let writer = std::thread::spawn(move || {
        let _ = s.write_all(&big);
    });
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(line.contains("request too large"), "{line}");
    let _ = writer.join();
    // Oversized configuration text inside a valid request is refused by the parser.
    let mut c = d.client();
    assert!(c.exec("configure").unwrap().ok);
    let text = "#".repeat(savin_config::parse::MAX_TEXT + 1);
    let r = c
        .request(&Request::Exec {
            line: "load merge terminal".into(),
            data: Some(Attachment {
                name: "terminal".into(),
                text,
            }),
        })
        .unwrap();
    assert!(!r.ok && r.output.contains("the limit is"), "{}", r.output);
    // Unknown and malformed commands answer with errors; the daemon is still fine.
    for bad in [
        "frobnicate",
        "show configuration | display yaml",
        "configure; set",
        "set [ ] ;",
        "commit confirmed 0",
    ] {
        let (ok, _) = d.cli(bad);
        assert!(!ok, "{bad}");
    }
    assert!(d.ok("show version").contains("Savin"));
}

#[test]
fn completion_and_help_come_from_the_schema() {
    let (_tmp, d) = daemon_with_base();
    let mut c = d.client();
    let words = |c: &mut savin_mgmt::proto::Client, line: &str| -> Vec<String> {
        let r = c.request(&Request::Complete { line: line.into() }).unwrap();
        r.completions
            .into_iter()
            .filter(|c| !c.placeholder)
            .map(|c| c.word)
            .collect()
    };
    assert_eq!(words(&mut c, "sh"), ["show"]);
    assert_eq!(
        words(&mut c, "show "),
        ["chassis", "configuration", "log", "system", "version"]
    );
    assert_eq!(words(&mut c, "show configuration inter"), ["interfaces"]);
    assert!(c.exec("configure").unwrap().ok);
    assert_eq!(
        words(&mut c, "set interfaces eth1 unit 0 family "),
        ["ethernet-switching", "inet", "inet6", "iso", "mpls"]
    );
    assert_eq!(words(&mut c, "set interfaces e"), ["eth1", "eth2"]);
    assert_eq!(
        words(
            &mut c,
            "set interfaces eth2 unit 0 family ethernet-switching interface-mode "
        ),
        ["access", "trunk"]
    );
    assert_eq!(
        words(
            &mut c,
            "set interfaces eth2 unit 0 family ethernet-switching vlan members "
        ),
        ["v10"]
    );
    let r = c
        .request(&Request::Complete {
            line: "set interfaces eth2 mtu ".into(),
        })
        .unwrap();
    assert_eq!(r.completions.len(), 1);
    assert_eq!(
        (r.completions[0].word.as_str(), r.completions[0].placeholder),
        ("<256..9216>", true)
    );
    let r = c
        .request(&Request::Complete {
            line: "set system ".into(),
        })
        .unwrap();
    // As on Junos, `apply-groups` is offered at every level, with the level's own statements.
    assert_eq!(r.completions[0].word, "apply-groups");
    let host = r
        .completions
        .iter()
        .find(|c| c.word == "host-name")
        .expect("host-name");
    assert_eq!(host.help, "Hostname for this router");
    assert_eq!(words(&mut c, "com"), ["commit"]);
    assert_eq!(
        words(&mut c, "commit "),
        ["and-quit", "check", "comment", "confirmed"]
    );
}

#[test]
fn exit_leaves_edit_levels_then_configuration_mode() {
    let (_tmp, d) = daemon_with_base();
    let mut c = d.client();
    let r = c.exec("configure").unwrap();
    assert_eq!(
        (r.prompt.ends_with("@r1# "), r.banner.as_str()),
        (true, "[edit]")
    );
    let r = c.exec("edit interfaces eth1 unit 0 family inet").unwrap();
    assert_eq!(r.banner, "[edit interfaces eth1 unit 0 family inet]");
    let r = c.exec("up").unwrap();
    assert_eq!(
        r.banner, "[edit interfaces eth1 unit 0]",
        "up skips the flattened 'family'"
    );
    let r = c.exec("exit").unwrap();
    assert_eq!(r.banner, "[edit interfaces eth1]");
    c.exec("set description changed").unwrap();
    let r = c.exec("exit configuration-mode").unwrap();
    assert_eq!(
        r.output,
        "The configuration has been changed but not committed\nExiting configuration mode\n"
    );
    assert!(r.prompt.ends_with("@r1> "), "{}", r.prompt);
    let r = c.exec("exit").unwrap();
    assert!(r.exit);
    let out = d.ok("configure; commit and-quit; show configuration interfaces eth1 description");
    assert_eq!(out, "The configuration has been changed but not committed\nEntering configuration mode\ncommit complete\nExiting configuration mode\ndescription changed;\n");
}

#[test]
fn a_private_commit_merges_onto_changes_committed_meanwhile() {
    let (_tmp, d) = daemon_with_base();
    let mut p = d.client();
    assert!(p.exec("configure private").unwrap().ok);
    assert!(p.exec("set interfaces eth1 mtu 9000").unwrap().ok);
    assert!(
        p.exec("delete routing-options static route 0.0.0.0/0")
            .unwrap()
            .ok
    );
    // Someone else commits in between, also under routing-options static.
    d.ok("configure; rollback 0; set system host-name r2; set routing-options static route 198.51.100.0/24 reject; commit");
    let r = p.exec("commit").unwrap();
    assert!(r.ok, "{}", r.output);
    let cfg = d.ok("show configuration | display set");
    assert!(
        cfg.contains("set system host-name r2\n"),
        "the other commit is kept: {cfg}"
    );
    assert!(cfg.contains("set interfaces eth1 mtu 9000\n"), "{cfg}");
    assert!(!cfg.contains("route 0.0.0.0/0"), "{cfg}");
    assert!(
        cfg.contains("set routing-options static route 198.51.100.0/24 reject\n"),
        "{cfg}"
    );
}

#[test]
fn after_a_private_commit_an_unchanged_shared_candidate_shows_no_difference() {
    let (_tmp, d) = daemon_with_base();
    let mut p = d.client();
    assert!(p.exec("configure private").unwrap().ok);
    assert!(p.exec("set system domain-name private.example").unwrap().ok);
    let r = p.exec("commit").unwrap();
    assert!(r.ok, "{}", r.output);
    // The shared candidate had no changes of its own: it follows the commit, and a shared
    // session sees nothing to commit (it used to see the private change as a deletion).
    let out = d.ok("configure; show | compare");
    assert!(
        out.ends_with("Entering configuration mode\n") && !out.contains("domain-name"),
        "{out}"
    );
}

#[test]
fn load_merge_replace_and_override_follow_junos() {
    let (tmp, d) = daemon_with_base();
    let f = tmp.path().join("part.conf");
    std::fs::write(&f, "system { host-name r3; }\nrouting-options { replace: static { route 192.0.2.0/24 discard; } }\n").unwrap();
    // merge: the replace: tag is ignored; routes are added to the existing ones.
    let out = d.ok(&format!(
        "configure; rollback 0; load merge {}; show routing-options static",
        f.display()
    ));
    assert!(
        out.contains("route 0.0.0.0/0 next-hop 10.0.0.254;")
            && out.contains("route 192.0.2.0/24 discard;"),
        "{out}"
    );
    // replace: the tagged statement replaces what was there.
    let out = d.ok(&format!(
        "configure; rollback 0; load replace {}; show routing-options static",
        f.display()
    ));
    assert!(out.ends_with("Entering configuration mode\nload complete\nload complete\nroute 192.0.2.0/24 discard;\n"), "{out}");
    // override: the file is the whole configuration.
    let out = d.ok(&format!(
        "configure; rollback 0; load override {}; show | display set",
        f.display()
    ));
    assert!(
        out.ends_with(
            "set system host-name r3\nset routing-options static route 192.0.2.0/24 discard\n"
        ),
        "{out}"
    );
    assert!(!out.contains("interfaces"), "{out}");
    // terminal input comes from the client's stdin.
    let out = std::process::Command::new(common::SAVIN)
        .args(["cli", "--socket"])
        .arg(&d.sock)
        .args([
            "-c",
            "configure; rollback 0; load set terminal; show system",
        ])
        .stdin(
            std::fs::File::open({
                let p = tmp.path().join("stdin.set");
                std::fs::write(&p, "set system host-name from-stdin\n").unwrap();
                p
            })
            .unwrap(),
        )
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("host-name from-stdin;\n"));
}

#[test]
fn insert_reorders_policies_at_an_edit_level() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    let p = "set security policies from-zone trust to-zone untrust policy";
    d.ok(&format!(
        "configure; {p} a match source-address any; {p} a then permit; \
         {p} b match source-address any; {p} b then deny"
    ));
    let out = d.ok(
        "configure; edit security policies from-zone trust to-zone untrust; \
         insert policy b before policy a; top; show security policies | display set",
    );
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("set ")).collect();
    assert!(
        lines[0].contains("policy b ") && lines.last().unwrap().contains("policy a "),
        "{out}"
    );
    let (ok, out) = d.cli("configure; insert security policies from-zone trust to-zone untrust policy b before policy zz");
    assert!(!ok && out.contains("policy zz not found"), "{out}");
}

/// The typed requests of the management socket (what an API or NETCONF server uses): load,
/// commit with who and how, the configuration in each format, and operational queries, with
/// no CLI text and no session mode; errors name the place; nothing half-loads.
#[test]
fn typed_requests_load_commit_and_query_without_cli_text() {
    use savin_mgmt::proto::{ConfigFormat, LoadMode};
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    let mut c = d.client();
    let mut ask = |req: Request| c.request(&req).unwrap();
    let r = ask(Request::Load {
        mode: LoadMode::Set,
        text:
            "set system host-name api-r1\nset routing-options static route 192.0.2.0/24 discard\n"
                .into(),
        name: Some("api".into()),
    });
    assert!(r.ok, "{}", r.output);
    // A bad line: an error at api2:2:..., and nothing of it loaded.
    let r = ask(Request::Load {
        mode: LoadMode::Set,
        text: "set system host-name other\nset routing-options static route 300.0.0.0/8 discard\n"
            .into(),
        name: Some("api2".into()),
    });
    assert!(!r.ok && r.output.contains("api2:2:"), "{}", r.output);
    let r = ask(Request::Commit {
        check: true,
        comment: None,
        confirmed: None,
        via: None,
    });
    assert!(
        r.ok && r.output.contains("configuration check succeeds"),
        "{}",
        r.output
    );
    let r = ask(Request::Commit {
        check: false,
        comment: Some("from a program".into()),
        confirmed: None,
        via: Some("netconf".into()),
    });
    assert!(r.ok && r.output.contains("commit complete"), "{}", r.output);
    let r = ask(Request::GetConfiguration {
        format: ConfigFormat::Set,
        rollback: None,
    });
    assert!(r.ok, "{}", r.output);
    assert!(
        r.output.contains("set system host-name api-r1")
            && r.output
                .contains("set routing-options static route 192.0.2.0/24 discard"),
        "{}",
        r.output
    );
    let r = ask(Request::GetConfiguration {
        format: ConfigFormat::Json,
        rollback: None,
    });
    let v: serde_json::Value = serde_json::from_str(&r.output).unwrap();
    assert_eq!(v["configuration"]["system"]["host-name"], "api-r1");
    // The history says who and how.
    let r = ask(Request::Show {
        command: "show system commit".into(),
        json: true,
    });
    let v: serde_json::Value = serde_json::from_str(&r.output).unwrap();
    let last = &v["commit-information"]["commit-history"][0];
    assert_eq!(last["client"], "netconf", "{}", r.output);
    assert_eq!(last["comment"], "from a program", "{}", r.output);
    // (This daemon runs without a data plane: subsystem queries are the lab tests'.) A command
    // that does not exist is an error, not a crash.
    let r = ask(Request::Show {
        command: "show nonsense".into(),
        json: false,
    });
    assert!(!r.ok && r.output.contains("syntax error"), "{}", r.output);
    let r = ask(Request::Show {
        command: "configure exclusive".into(),
        json: false,
    });
    assert!(
        !r.ok && r.output.contains("operational commands"),
        "{}",
        r.output
    );
    let r = ask(Request::Commit {
        check: false,
        comment: None,
        confirmed: Some(0),
        via: None,
    });
    assert!(
        !r.ok && r.output.contains("not within range"),
        "{}",
        r.output
    );
}

/// `| display xml` prints Junos XML from the same data as `| display json`: the operational
/// replies and the configuration, inside `<rpc-reply>`.
#[test]
fn display_xml_renders_the_json_views_as_junos_xml() {
    let (_tmp, d) = daemon_with_base();
    let out = d.ok("show system commit | display xml");
    assert!(
        out.contains("<rpc-reply") && out.contains("<commit-information>"),
        "{out}"
    );
    assert!(
        out.contains("<commit-history>") && out.contains("<user>"),
        "{out}"
    );
    let out = d.ok("show configuration | display xml");
    assert!(
        out.contains("<configuration>") && out.contains("<host-name>r1</host-name>"),
        "{out}"
    );
    assert!(out.contains("<name>eth1</name>"), "{out}");
    let out = d.ok("show configuration | display xml | match host-name");
    assert_eq!(out.trim(), "<host-name>r1</host-name>", "{out}");
    // The configuration's XML is the schema's form, as NETCONF's: an inactive statement
    // says so in an attribute, and a list entry's key comes first.
    let out = d.ok(
        "configure; deactivate interfaces eth1; commit; exit; show configuration interfaces | display xml",
    );
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let at = lines
        .iter()
        .position(|l| *l == "<interface inactive=\"inactive\">")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(lines[at + 1], "<name>eth1</name>", "{out}");
    d.ok("configure; activate interfaces eth1; commit");
    // One typed reply, three views: the text's host name is the JSON's and the XML's.
    let text = d.ok("show version");
    let host = text
        .lines()
        .find_map(|l| l.strip_prefix("Hostname: "))
        .expect("a host name line")
        .to_string();
    let json: serde_json::Value =
        serde_json::from_str(&d.ok("show version | display json")).unwrap();
    assert_eq!(json["software-information"]["host-name"], host.as_str());
    let xml = d.ok("show version | display xml");
    assert!(
        xml.contains("<software-information>")
            && xml.contains(&format!("<host-name>{host}</host-name>")),
        "{xml}"
    );
}

/// The candidate lock (`configure exclusive`, a typed lock as NETCONF's `<lock>`): while one
/// session holds it, others may look but not change the candidate or commit; it goes with
/// `unlock` or with the session, and a modified candidate cannot be locked.
#[test]
fn an_exclusive_lock_keeps_other_sessions_from_changing_or_committing() {
    use savin_mgmt::proto::LoadMode;
    let tmp = tempfile::tempdir().unwrap();
    let d = Daemon::start(&tmp.path().join("state"));
    let mut a = d.client();
    let r = a.request(&Request::Lock).unwrap();
    assert!(r.ok, "{}", r.output);
    let (ok, out) = d.cli("configure; set system host-name other");
    assert!(
        !ok && out.contains("configuration database locked by"),
        "{out}"
    );
    let (ok, out) = d.cli("configure; commit");
    assert!(!ok && out.contains("locked by"), "{out}");
    let mut b = d.client();
    let r = b
        .request(&Request::Load {
            mode: LoadMode::Set,
            text: "set system host-name b".into(),
            name: None,
        })
        .unwrap();
    assert!(!r.ok && r.output.contains("locked by"), "{}", r.output);
    assert!(
        !b.request(&Request::Lock).unwrap().ok,
        "one holder at a time"
    );
    // The holder changes and commits.
    let r = a
        .request(&Request::Load {
            mode: LoadMode::Set,
            text: "set system host-name locked".into(),
            name: None,
        })
        .unwrap();
    assert!(r.ok, "{}", r.output);
    let commit = Request::Commit {
        check: false,
        comment: None,
        confirmed: None,
        via: None,
    };
    let r = a.request(&commit).unwrap();
    assert!(r.ok, "{}", r.output);
    assert!(d
        .ok("show configuration system")
        .contains("host-name locked;"));
    // Gone with the connection: another may lock and edit.
    drop(a);
    assert!(eventually(5, || b.request(&Request::Lock).unwrap().ok));
    assert!(b.request(&Request::Unlock).unwrap().ok);
    d.ok("configure; set system host-name free");
    // A modified candidate cannot be locked.
    let (ok, out) = d.cli("configure exclusive");
    assert!(
        !ok && out.contains("configuration database modified"),
        "{out}"
    );
    d.ok("configure; rollback 0");
    let (ok, out) = d.cli("configure exclusive; set system host-name ex; commit");
    assert!(ok, "{out}");
    assert!(d.ok("show configuration system").contains("host-name ex;"));
}

#[test]
fn groups_are_shown_as_written_and_applied_with_display_inheritance() {
    let (_tmp, d) = daemon_with_base();
    let out = d.ok("configure; \
         set groups site system host-name from-group; \
         set groups site interfaces <eth*> description by-group; \
         set apply-groups site; \
         delete system host-name; \
         commit and-quit");
    assert!(out.contains("commit complete"), "{out}");
    let written = d.ok("show configuration | display set");
    assert!(
        written.contains("set groups site interfaces <eth*> description by-group"),
        "{written}"
    );
    assert!(written.contains("set apply-groups site"), "{written}");
    let applied = d.ok("show configuration | display inheritance | display set");
    assert!(!applied.contains("groups"), "{applied}");
    assert!(
        applied.contains("set system host-name from-group"),
        "{applied}"
    );
    assert!(
        applied.contains("set interfaces eth2 description by-group"),
        "{applied}"
    );
    assert!(
        applied.contains("set interfaces eth1 description \"uplink to core\""),
        "its own value wins: {applied}"
    );
    // The operational side sees the inherited host name: the prompt.
    let mut c = d.client();
    let r = c.exec("show version").unwrap();
    assert!(r.output.contains("Hostname: from-group"), "{}", r.output);
    // A group that is not defined fails the commit and leaves the active configuration.
    let (ok, out) = d.cli("configure; set apply-groups missing; commit");
    assert!(
        !ok && out.contains("group 'missing' is not defined"),
        "{out}"
    );
}

#[test]
fn syslog_writes_the_configured_files_and_sends_to_the_configured_host() {
    let (_tmp, d) = daemon_with_base();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let port = udp.local_addr().unwrap().port();
    d.ok(&format!(
        "configure; \
         set system syslog file messages any notice; \
         set system syslog file errors-only any error; \
         set system syslog file commits interactive-commands any; \
         set system syslog file commits archive size 64k files 3; \
         set system syslog host 127.0.0.1 any notice; \
         set system syslog host 127.0.0.1 port {port}; \
         set system syslog host 127.0.0.1 structured-data; \
         set system syslog host 127.0.0.1 source-address 127.0.0.2; \
         commit"
    ));
    // A commit with the destinations in force: logged as a notice (UI_COMMIT's severity).
    d.ok("configure; set system host-name logger; commit comment second");
    let log = d.dir.join("log");
    let read = |n: &str| std::fs::read_to_string(log.join(n)).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !read("messages").contains("commit complete") {
        assert!(
            std::time::Instant::now() < deadline,
            "messages: {:?}",
            read("messages")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        read("messages").contains(" logger savin["),
        "{}",
        read("messages")
    );
    assert!(read("commits").contains("commit complete"));
    assert!(
        !read("errors-only").contains("commit complete"),
        "a notice is not an error"
    );
    let shown = d.ok("show log messages");
    assert!(shown.contains("commit complete"), "{shown}");
    let (ok, out) = d.cli("show log ../savin.sock");
    assert!(!ok && out.contains("could not resolve file"), "{out}");
    // The host gets RFC 5424 (structured-data), local7.notice for a commit: <189>1 ...
    let mut buf = [0u8; 2048];
    let mut got = String::new();
    let mut from = None;
    while !got.contains("commit complete") {
        let (n, src) = udp.recv_from(&mut buf).expect("a syslog datagram");
        got = String::from_utf8_lossy(&buf[..n]).to_string();
        from = Some(src.ip());
    }
    assert!(got.starts_with("<189>1 "), "{got}");
    assert_eq!(
        from,
        Some("127.0.0.2".parse().unwrap()),
        "sent from the configured source-address"
    );
    assert!(got.contains("facility=\"interactive-commands\""), "{got}");
}
