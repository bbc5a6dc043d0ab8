//! Real Junos configurations written by other people (tests/data/junos, sources and licences
//! in its README): which load as written, and, with the hierarchies Savin does not have yet
//! left out, the first statement refused inside one it has.
//!
//! A hierarchy Savin does not have is left out at the top level, as a protocol under
//! `protocols` (`protocols ospf`), and the same inside `groups NAME` (a group's
//! `snmp { ... }` is the snmp hierarchy).
//!
//! The results are kept in tests/data/junos/RESULTS.md and this test fails when they change,
//! so a change that loads more (or fewer) of them says so. After such a change, write the
//! file anew with `SAVIN_BLESS=1 cargo test -p savin-config --test corpus` and read the diff.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use savin_config::parse::{lex, Tok};
use savin_config::{schema, Configuration};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/junos")
}

/// Whether `node` has the statement `word`.
fn has(node: &schema::Node, word: &str) -> bool {
    node.children()
        .iter()
        .any(|c| c.name == word && c.unsupported.is_none())
}

/// Whether Savin's schema has the hierarchy that the statement `word` at `path` (keywords
/// from the top, `groups NAME` taken off) begins. The hierarchies are the top-level
/// statements and the protocols (`protocols ospf`); anything deeper belongs to one.
fn supported_at(path: &[&str], word: &str) -> bool {
    match path {
        [] => has(schema::root(), word),
        ["protocols"] => schema::lookup(&["protocols"]).is_some_and(|p| has(p, word)),
        _ => true,
    }
}

/// The curly text with each hierarchy Savin does not have blanked out (newlines
/// kept, so positions in errors stay those of the file).
fn supported_curly(text: &str) -> Result<String, String> {
    let tokens = lex(text).map_err(|e| e.to_string())?;
    // Byte offsets of each line start, to turn token positions into offsets.
    let mut line_start = vec![0usize];
    line_start.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    let offset = |line: u32, col: u32| -> usize {
        let start = line_start[(line as usize).saturating_sub(1)];
        // Columns count characters.
        text[start..]
            .char_indices()
            .nth((col as usize).saturating_sub(1))
            .map_or(text.len(), |(i, _)| start + i)
    };
    let mut out: Vec<u8> = text.as_bytes().to_vec();
    let mut i = 0usize;
    // Whether the next word begins a statement (the words after it are its values).
    let mut starts = true;
    // The first word of each block the tokens are in, and of the statement being read.
    let mut stack: Vec<String> = Vec::new();
    let mut current = String::new();
    const TAGS: [&str; 3] = ["inactive:", "replace:", "protect:"];
    while i < tokens.len() {
        let t = &tokens[i];
        // Whether this word begins a hierarchy Savin does not have.
        let skip = match &t.tok {
            Tok::Word(w) if starts && !TAGS.contains(&w.as_str()) => {
                current = w.clone();
                // Inside `groups NAME`, the hierarchies again.
                let rel: Vec<&str> = match stack.first().map(String::as_str) {
                    Some("groups") if stack.len() >= 2 => {
                        stack[2..].iter().map(String::as_str).collect()
                    }
                    Some("groups") => vec!["groups"],
                    _ => stack.iter().map(String::as_str).collect(),
                };
                !supported_at(&rel, w)
            }
            _ => false,
        };
        starts = match &t.tok {
            Tok::Semi | Tok::LBrace | Tok::RBrace | Tok::Comment(_) => true,
            Tok::Word(w) => starts && TAGS.contains(&w.as_str()),
            _ => false,
        };
        match &t.tok {
            Tok::LBrace => stack.push(std::mem::take(&mut current)),
            Tok::RBrace => {
                stack.pop();
            }
            _ => {}
        }
        if skip {
            // Skip to the end of this statement: its `;` at depth 0, or its block's `}`.
            let mut j = i;
            let mut d = 0usize;
            while j < tokens.len() {
                match tokens[j].tok {
                    Tok::LBrace => d += 1,
                    Tok::RBrace => {
                        d = d.saturating_sub(1);
                        if d == 0 {
                            break;
                        }
                    }
                    Tok::Semi if d == 0 => break,
                    _ => {}
                }
                j += 1;
            }
            let from = offset(t.pos.line, t.pos.col);
            let to = tokens
                .get(j)
                .map_or(text.len(), |e| offset(e.pos.line, e.pos.col) + 1);
            for b in &mut out[from..to.min(text.len())] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
            // An `inactive:` tag before it goes with it.
            if i > 0 {
                if let Tok::Word(p) = &tokens[i - 1].tok {
                    if TAGS.contains(&p.as_str()) {
                        let f = offset(tokens[i - 1].pos.line, tokens[i - 1].pos.col);
                        for b in &mut out[f..f + p.len()] {
                            *b = b' ';
                        }
                    }
                }
            }
            i = j + 1;
            starts = true;
            continue;
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// The set text with each command on a hierarchy Savin does not have blanked out.
fn supported_set(text: &str) -> String {
    text.lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            let verb = w.next().unwrap_or("");
            let mut top = w.next().unwrap_or("");
            if top == "groups" {
                top = w.nth(1).unwrap_or("");
            }
            let second = w.next().unwrap_or("");
            let command = ["set", "delete", "deactivate", "activate", "protect"].contains(&verb);
            let known =
                supported_at(&[], top) && (second.is_empty() || supported_at(&[top], second));
            if command && !known {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn load(name: &str, text: &str, set: bool) -> Result<(), String> {
    let c = if set {
        Configuration::parse_set(text, Some(name))
    } else {
        Configuration::parse(text, Some(name))
    }
    .map_err(|e| e.to_string())?;
    c.check().map(|_| ()).map_err(|errs| {
        let e = &errs[0];
        format!("{name}: commit: {}", e.to_string().replace('\n', " "))
    })
}

fn one_line(s: &str) -> String {
    let s = s.replace('|', "\\|");
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 160 {
        format!("{}...", s.chars().take(160).collect::<String>())
    } else {
        s
    }
}

#[test]
fn the_corpus_loads_as_its_results_say() {
    let dir = corpus_dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".conf") || n.ends_with(".set"))
        .collect();
    files.sort();
    assert!(files.len() >= 50, "the corpus has {} files", files.len());
    // SAVIN_CORPUS_ONLY=TEXT: only the files whose names hold TEXT, printed, not compared
    // (for working on one file).
    let only = std::env::var("SAVIN_CORPUS_ONLY").ok();
    if let Some(o) = &only {
        files.retain(|f| f.contains(o.as_str()));
    }
    let (mut as_written, mut supported_ok) = (0, 0);
    let mut rows = String::new();
    for f in &files {
        let bytes = std::fs::read(dir.join(f)).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        let set = f.ends_with(".set");
        let whole = load(f, &text, set);
        let part = if set {
            Ok(supported_set(&text))
        } else {
            supported_curly(&text)
        }
        .and_then(|t| load(f, &t, set));
        as_written += usize::from(whole.is_ok());
        supported_ok += usize::from(part.is_ok());
        let show = |r: &Result<(), String>| match r {
            Ok(()) => "loads".to_string(),
            Err(e) => one_line(e),
        };
        let _ = writeln!(rows, "| {f} | {} | {} |", show(&whole), show(&part));
    }
    let report = format!(
        "# Results: the corpus as Savin loads it\n\n\
         Written by `cargo test -p savin-config --test corpus` (SAVIN_BLESS=1 writes it anew).\n\
         \"As written\": the file loaded whole, parsed and checked as `commit check` does.\n\
         \"Supported\": the same with the hierarchies Savin does not have yet (top-level ones, and\n\
         protocols other than BGP) left out;\n\
         an error there is a refusal inside a hierarchy Savin supports.\n\n\
         Files: {}. Load as written: {as_written}. Load with unsupported hierarchies left out: {supported_ok}.\n\n\
         | file | as written | supported hierarchies |\n|---|---|---|\n{rows}",
        files.len()
    );
    if only.is_some() {
        println!("{rows}");
        return;
    }
    let path = dir.join("RESULTS.md");
    if std::env::var_os("SAVIN_BLESS").is_some() {
        std::fs::write(&path, &report).expect("write RESULTS.md");
        return;
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    if kept != report {
        let diff: Vec<String> = report
            .lines()
            .filter(|l| !kept.lines().any(|k| k == *l))
            .map(|l| format!("+ {l}"))
            .chain(
                kept.lines()
                    .filter(|k| !report.lines().any(|l| l == *k))
                    .map(|k| format!("- {k}")),
            )
            .collect();
        panic!(
            "the corpus results changed (SAVIN_BLESS=1 writes them anew):\n{}",
            diff.join("\n")
        );
    }
}
