//! `savin cli`: the client side of the CLI. It reads files and terminal text for `load` itself,
//! so the daemon never opens a file on a client's behalf.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{
    Cmd, ConditionalEventHandler, Event, EventContext, EventHandler, KeyEvent, RepeatCount,
};
use savin_mgmt::proto::{Attachment, Client, Reply, Request};

/// Splits `a; b "x;y"; c` at semicolons outside quotes.
pub fn split_commands(s: &str) -> Vec<String> {
    let out = savin_config::parse::split_unquoted(s, ';');
    out.into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The text a `load ... FILE|terminal` command needs, read here with the user's permissions.
fn attachment(line: &str, interactive: bool) -> anyhow::Result<Option<Attachment>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.len() < 3 || !"load".starts_with(words[0]) || words[0].len() < 2 {
        return Ok(None);
    }
    let src = words[2];
    if src == "terminal" {
        if interactive {
            println!("[Type ^D at a new line to end input]");
        }
        let mut text = String::new();
        std::io::stdin()
            .take(savin_config::parse::MAX_TEXT as u64 + 1)
            .read_to_string(&mut text)
            .context("reading the terminal")?;
        return Ok(Some(Attachment {
            name: "terminal".into(),
            text,
        }));
    }
    let meta = std::fs::metadata(src).with_context(|| format!("error: {src}"))?;
    if meta.len() > savin_config::parse::MAX_TEXT as u64 {
        anyhow::bail!(
            "error: {src}: file is {} bytes; the limit is {} bytes",
            meta.len(),
            savin_config::parse::MAX_TEXT
        );
    }
    let bytes = std::fs::read(src).with_context(|| format!("error: {src}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "error: {src}: not a text file (invalid UTF-8 at byte {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    Ok(Some(Attachment {
        name: src.into(),
        text,
    }))
}

fn connect(socket: &Path) -> anyhow::Result<Client> {
    Client::connect(socket)
        .with_context(|| format!("cannot connect to the Savin daemon at {}", socket.display()))
}

fn print_reply(r: &Reply) {
    print!("{}", r.output);
    let _ = std::io::stdout().flush();
}

/// `savin cli -c 'CMD; CMD'`.
pub fn run_commands(socket: &Path, commands: &str) -> anyhow::Result<ExitCode> {
    let mut client = connect(socket)?;
    let mut failed = false;
    for line in split_commands(commands) {
        let data = match attachment(&line, false) {
            Ok(d) => d,
            Err(e) => {
                println!("{e:#}");
                failed = true;
                continue;
            }
        };
        let reply = client.request(&Request::Exec { line, data })?;
        print_reply(&reply);
        failed |= !reply.ok;
        if reply.exit {
            break;
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

struct CliHelper {
    client: Arc<Mutex<Client>>,
}

fn candidates(client: &Mutex<Client>, line: &str) -> Vec<savin_config::complete::Candidate> {
    let mut c = client.lock().unwrap_or_else(|e| e.into_inner());
    c.request(&Request::Complete { line: line.into() })
        .map(|r| r.completions)
        .unwrap_or_default()
}

impl Completer for CliHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let list = candidates(&self.client, before)
            .into_iter()
            .filter(|c| !c.placeholder)
            .map(|c| Pair {
                display: c.word.clone(),
                replacement: format!("{} ", c.word),
            })
            .collect();
        Ok((start, list))
    }
}

impl Hinter for CliHelper {
    type Hint = String;
}
impl Highlighter for CliHelper {}
impl Validator for CliHelper {}
impl rustyline::Helper for CliHelper {}

/// `?`: prints the possible completions, Junos style, and keeps the line.
struct HelpKey {
    client: Arc<Mutex<Client>>,
}

impl ConditionalEventHandler for HelpKey {
    fn handle(&self, _: &Event, _: RepeatCount, _: bool, ctx: &EventContext) -> Option<Cmd> {
        let line = &ctx.line()[..ctx.pos()];
        if line.matches('"').count() % 2 == 1 {
            return None; // inside a quoted string `?` is just a character
        }
        let list = candidates(&self.client, line);
        let mut out = String::from("\nPossible completions:\n");
        for c in &list {
            out.push_str(&format!("  {:<24} {}\n", c.word, c.help));
        }
        if list.is_empty() {
            out.push_str("  <[Enter]>                Execute this command\n");
        }
        print!("{out}");
        let _ = std::io::stdout().flush();
        Some(Cmd::Repaint)
    }
}

/// The interactive CLI.
pub fn interactive(socket: &Path) -> anyhow::Result<ExitCode> {
    let client = Arc::new(Mutex::new(connect(socket)?));
    if !std::io::stdin().is_terminal() {
        // Piped input: one command a line, as `-c` does.
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        let joined = text.lines().collect::<Vec<_>>().join(";");
        return run_commands(socket, &joined);
    }
    let mut rl: rustyline::Editor<CliHelper, rustyline::history::DefaultHistory> =
        rustyline::Editor::new()?;
    rl.set_helper(Some(CliHelper {
        client: client.clone(),
    }));
    rl.bind_sequence(
        KeyEvent::from('?'),
        EventHandler::Conditional(Box::new(HelpKey {
            client: client.clone(),
        })),
    );
    let history = std::env::var_os("HOME").map(|h| Path::new(&h).join(".savin_history"));
    if let Some(h) = &history {
        let _ = rl.load_history(h);
    }
    let mut reply = client.lock().expect("client").exec("")?;
    loop {
        if !reply.banner.is_empty() {
            println!("\n{}", reply.banner);
        }
        let line = match rl.readline(&reply.prompt) {
            Ok(l) => l,
            Err(rustyline::error::ReadlineError::Interrupted) => continue,
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let _ = rl.add_history_entry(line.as_str());
        let data = match attachment(&line, true) {
            Ok(d) => d,
            Err(e) => {
                println!("{e:#}");
                continue;
            }
        };
        reply = client
            .lock()
            .expect("client")
            .request(&Request::Exec { line, data })?;
        print_reply(&reply);
        if reply.exit {
            break;
        }
    }
    if let Some(h) = &history {
        let _ = rl.save_history(h);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_inside_quotes_do_not_split() {
        assert_eq!(
            split_commands("configure; commit comment \"a; b\" ; exit"),
            ["configure", "commit comment \"a; b\"", "exit"]
        );
    }
}
