//! The CLI over SSH: a line editor on the channel ([`Editor`]: echo, cursor keys, history,
//! Ctrl-C, Ctrl-D, TAB completion, `?` help) in front of a management session, so an SSH login lands in the
//! same CLI as `savin cli`, with its prompt, never in a Linux shell.

use std::sync::Arc;

use savin_mgmt::netconf::Permission;
use savin_mgmt::server::{now_ms, Server};
use savin_mgmt::session::Session;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::editor::{Action, Editor};

/// The longest command line taken (a line past it is cut, as a terminal would be flooded).
const MAX_LINE: usize = 64 << 10;

pub use savin_mgmt::netconf::allowed;

/// Output lines end in CR LF on a terminal.
fn crlf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\n', "\r\n")
}

struct Shell {
    server: Arc<Server>,
    session: Option<Session>,
    perm: Permission,
    prompt: String,
}

impl Shell {
    /// Runs one line; Some(output) with the prompt to show next, or None when the session ends.
    async fn run(&mut self, line: String) -> Option<(String, bool)> {
        if !allowed(self.perm, &line) {
            return Some(("error: permission denied\n".into(), false));
        }
        let s = self.session.take()?;
        let (s, reply) = self
            .server
            .with_shared(move |sh| {
                let mut s = s;
                let r = s.exec(sh, &line, None, now_ms());
                (s, r)
            })
            .await?;
        self.session = Some(s);
        self.prompt = if reply.banner.is_empty() {
            reply.prompt.clone()
        } else {
            format!("\n{}\n{}", reply.banner, reply.prompt)
        };
        Some((reply.output, reply.exit))
    }

    async fn complete(&mut self, line: String) -> Vec<savin_config::complete::Candidate> {
        let Some(s) = self.session.take() else {
            return Vec::new();
        };
        let Some((s, c)) = self
            .server
            .with_shared(move |sh| {
                let c = s.complete(sh, &line);
                (s, c)
            })
            .await
        else {
            return Vec::new();
        };
        self.session = Some(s);
        c
    }
}

/// Serves the CLI on a channel until `exit`, Ctrl-D or the client's end.
pub async fn serve<R, W>(server: Arc<Server>, mut rd: R, mut wr: W, user: String, perm: Permission)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let id = server.next_session_id();
    let session = Session::new(id, user.clone());
    let prompt = {
        let probe = Session::new(id, user);
        server
            .with_shared(move |sh| probe.prompt(sh).0)
            .await
            .unwrap_or_else(|| "> ".into())
    };
    let mut shell = Shell {
        server: server.clone(),
        session: Some(session),
        perm,
        prompt,
    };
    let mut editor = Editor::new(MAX_LINE);
    editor.set_prompt(&shell.prompt);
    let mut buf = [0u8; 4096];
    if wr
        .write_all(crlf(&format!("\n{}", shell.prompt)).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    let _ = wr.flush().await;
    // A client that sends CR LF: the LF after a CR ends nothing new.
    let mut after_cr = false;
    'conn: loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut out = String::new();
        for &b in &buf[..n] {
            let lf_of_crlf = b == b'\n' && after_cr;
            after_cr = b == b'\r';
            if lf_of_crlf {
                continue;
            }
            let Some(action) = editor.feed(b, &mut out) else {
                continue;
            };
            match action {
                Action::Line(cmd) => {
                    if cmd.trim().is_empty() {
                        out.push_str(&crlf(&shell.prompt));
                        continue;
                    }
                    if wr.write_all(out.as_bytes()).await.is_err() {
                        break 'conn;
                    }
                    out.clear();
                    let Some((text, exit)) = shell.run(cmd).await else {
                        break 'conn;
                    };
                    out.push_str(&crlf(&text));
                    if exit {
                        let _ = wr.write_all(out.as_bytes()).await;
                        break 'conn;
                    }
                    out.push_str(&crlf(&shell.prompt));
                    editor.set_prompt(&shell.prompt);
                }
                Action::Interrupt => out.push_str(&crlf(&shell.prompt)),
                Action::Eof => break 'conn,
                Action::Complete { help } => {
                    let line = editor.line();
                    let cands = shell.complete(line.clone()).await;
                    let word_start = line.rfind(' ').map_or(0, |i| i + 1);
                    let typed = &line[word_start..];
                    let words: Vec<&savin_config::complete::Candidate> =
                        cands.iter().filter(|c| !c.placeholder).collect();
                    if !help && words.len() == 1 {
                        let rest = words[0].word.get(typed.len()..).unwrap_or("");
                        editor.insert(&format!("{rest} "), &mut out);
                    } else {
                        out.push_str("\r\nPossible completions:\r\n");
                        for c in &cands {
                            out.push_str(&format!("  {:<22} {}\r\n", c.word, c.help));
                        }
                        out.push_str(&crlf(&shell.prompt));
                        out.push_str(&line);
                    }
                }
            }
        }
        if !out.is_empty() && wr.write_all(out.as_bytes()).await.is_err() {
            break;
        }
        let _ = wr.flush().await;
    }
    if let Some(mut s) = shell.session.take() {
        server.with_shared(move |sh| s.close(sh)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_users_look_and_do_not_touch() {
        for ok in ["show route", "sh route", "ping 192.0.2.1", "exit", ""] {
            assert!(allowed(Permission::View, ok), "{ok}");
        }
        for no in [
            "configure",
            "conf",
            "edit",
            "request system reboot",
            "clear bgp neighbor",
            "s",
        ] {
            assert!(!allowed(Permission::View, no), "{no}");
        }
        assert!(allowed(Permission::Configure, "configure"));
    }
}
