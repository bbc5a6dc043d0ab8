//! The line editor of the CLI over SSH, as a terminal user expects it of Junos: arrows move
//! the cursor and walk the command history, Emacs keys (Ctrl-A, E, B, F, K, U, W, D, P, N,
//! L) edit, and UTF-8 text (a description in another script) is taken whole. It turns input
//! bytes into terminal output and the actions the shell must take; it does no I/O, so it is
//! tested byte by byte.

/// Commands kept for the arrows (Junos keeps about as many).
pub const HISTORY: usize = 100;

/// What the shell must do after a byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Enter: the line to run (already echoed with CR LF, and kept in the history).
    Line(String),
    /// Ctrl-C: the line is dropped; the shell shows a new prompt.
    Interrupt,
    /// Ctrl-D on an empty line: the session ends.
    Eof,
    /// TAB (`help` false) or `?` (`help` true) with the cursor at the end of the line.
    Complete { help: bool },
}

/// Where a terminal escape sequence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// ESC seen.
    Start,
    /// ESC [ or ESC O seen, with a numeric parameter so far.
    Sequence(u16),
}

#[derive(Debug, Default)]
pub struct Editor {
    line: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// The history entry shown (None: the line being written).
    shown: Option<usize>,
    /// The line being written while the history is shown.
    draft: Vec<char>,
    escape: Option<Escape>,
    /// The bytes of a UTF-8 character still arriving.
    partial: Vec<u8>,
    /// The prompt's last line, for redrawing the line in place.
    prompt: String,
    max: usize,
}

impl Editor {
    /// An editor for lines of at most `max` characters.
    pub fn new(max: usize) -> Editor {
        Editor {
            max,
            ..Default::default()
        }
    }

    /// The prompt the line follows (its last line is redrawn with the line).
    pub fn set_prompt(&mut self, prompt: &str) {
        self.prompt = prompt.rsplit('\n').next().unwrap_or("").to_string();
    }

    pub fn line(&self) -> String {
        self.line.iter().collect()
    }

    pub fn at_end(&self) -> bool {
        self.cursor == self.line.len()
    }

    /// Inserts text at the cursor (a completion), echoing it.
    pub fn insert(&mut self, s: &str, out: &mut String) {
        for c in s.chars() {
            self.insert_char(c, out);
        }
    }

    /// The prompt's last line and the line, with the cursor where it stands.
    pub fn redraw(&self, out: &mut String) {
        out.push('\r');
        out.push_str(&self.prompt);
        out.extend(self.line.iter());
        out.push_str("\x1b[K");
        self.back(self.line.len() - self.cursor, out);
    }

    fn back(&self, n: usize, out: &mut String) {
        if n > 0 {
            out.push_str(&format!("\x1b[{n}D"));
        }
    }

    fn insert_char(&mut self, c: char, out: &mut String) {
        if self.line.len() >= self.max {
            out.push('\x07');
            return;
        }
        self.line.insert(self.cursor, c);
        self.cursor += 1;
        if self.at_end() {
            out.push(c);
        } else {
            // The rest of the line moves right.
            out.extend(self.line[self.cursor - 1..].iter());
            self.back(self.line.len() - self.cursor, out);
        }
    }

    /// Replaces the whole line (a history entry), cursor at its end.
    fn replace(&mut self, line: Vec<char>, out: &mut String) {
        self.line = line;
        self.cursor = self.line.len();
        self.redraw(out);
    }

    fn history_step(&mut self, older: bool, out: &mut String) {
        let next = match (self.shown, older) {
            (None, true) if !self.history.is_empty() => Some(self.history.len() - 1),
            (Some(i), true) if i > 0 => Some(i - 1),
            (Some(i), false) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), false) => None,
            _ => {
                out.push('\x07');
                return;
            }
        };
        if self.shown.is_none() {
            self.draft = std::mem::take(&mut self.line);
        }
        self.shown = next;
        let line = match next {
            Some(i) => self.history[i].chars().collect(),
            None => std::mem::take(&mut self.draft),
        };
        self.replace(line, out);
    }

    fn delete_range(&mut self, from: usize, to: usize, out: &mut String) {
        if from >= to {
            return;
        }
        self.line.drain(from..to);
        self.cursor = from;
        self.redraw(out);
    }

    /// Feeds one input byte: terminal output goes to `out`.
    pub fn feed(&mut self, b: u8, out: &mut String) -> Option<Action> {
        if let Some(esc) = self.escape {
            return self.escape_byte(esc, b, out);
        }
        // A character cut short by a byte that cannot continue it: dropped, and the byte is
        // read afresh.
        if !self.partial.is_empty() && b & 0xc0 != 0x80 {
            self.partial.clear();
        }
        if !self.partial.is_empty() || b >= 0x80 {
            self.partial.push(b);
            match std::str::from_utf8(&self.partial) {
                Ok(s) => {
                    let c = s.chars().next();
                    self.partial.clear();
                    if let Some(c) = c.filter(|c| !c.is_control()) {
                        self.insert_char(c, out);
                    }
                }
                // Not yet whole (at most 4 bytes), or never will be: dropped.
                Err(e) if e.error_len().is_none() && self.partial.len() < 4 => {}
                Err(_) => self.partial.clear(),
            }
            return None;
        }
        match b {
            0x1b => self.escape = Some(Escape::Start),
            b'\r' | b'\n' => {
                out.push_str("\r\n");
                let line = self.line();
                self.line.clear();
                self.cursor = 0;
                self.shown = None;
                self.draft.clear();
                let kept = line.trim();
                if !kept.is_empty() && self.history.last().map(String::as_str) != Some(kept) {
                    if self.history.len() == HISTORY {
                        self.history.remove(0);
                    }
                    self.history.push(kept.to_string());
                }
                return Some(Action::Line(line));
            }
            0x03 => {
                self.line.clear();
                self.cursor = 0;
                self.shown = None;
                out.push_str("^C\r\n");
                return Some(Action::Interrupt);
            }
            0x04 if self.line.is_empty() => return Some(Action::Eof),
            // Ctrl-D on a character: delete it.
            0x04 => self.delete_range(self.cursor, (self.cursor + 1).min(self.line.len()), out),
            0x7f | 0x08 if self.cursor > 0 => self.delete_range(self.cursor - 1, self.cursor, out),
            0x01 => {
                self.back(self.cursor, out);
                self.cursor = 0;
            }
            0x05 => self.move_to(self.line.len(), out),
            0x02 if self.cursor > 0 => self.move_to(self.cursor - 1, out),
            0x06 => self.move_to((self.cursor + 1).min(self.line.len()), out),
            0x0b => self.delete_range(self.cursor, self.line.len(), out),
            0x15 => self.delete_range(0, self.cursor, out),
            0x17 => {
                let mut from = self.cursor;
                while from > 0 && self.line[from - 1] == ' ' {
                    from -= 1;
                }
                while from > 0 && self.line[from - 1] != ' ' {
                    from -= 1;
                }
                self.delete_range(from, self.cursor, out);
            }
            0x0c => {
                out.push_str("\x1b[H\x1b[2J");
                self.redraw(out);
            }
            0x10 => self.history_step(true, out),
            0x0e => self.history_step(false, out),
            b'\t' | b'?' => {
                self.move_to(self.line.len(), out);
                return Some(Action::Complete { help: b == b'?' });
            }
            b if (0x20..0x7f).contains(&b) => self.insert_char(char::from(b), out),
            _ => {}
        }
        None
    }

    fn move_to(&mut self, to: usize, out: &mut String) {
        if to < self.cursor {
            self.back(self.cursor - to, out);
        } else if to > self.cursor {
            out.push_str(&format!("\x1b[{}C", to - self.cursor));
        }
        self.cursor = to;
    }

    fn escape_byte(&mut self, esc: Escape, b: u8, out: &mut String) -> Option<Action> {
        self.escape = match (esc, b) {
            (Escape::Start, b'[' | b'O') => Some(Escape::Sequence(0)),
            (Escape::Start, _) => None,
            (Escape::Sequence(n), b'0'..=b'9') => Some(Escape::Sequence(
                n.saturating_mul(10).saturating_add(u16::from(b - b'0')),
            )),
            // Parameters we do not use (modifiers: ESC [ 1 ; 5 C).
            (Escape::Sequence(_), b';') => Some(Escape::Sequence(0)),
            (Escape::Sequence(n), _) => {
                match (b, n) {
                    (b'A', _) => self.history_step(true, out),
                    (b'B', _) => self.history_step(false, out),
                    (b'C', _) => self.move_to((self.cursor + 1).min(self.line.len()), out),
                    (b'D', _) if self.cursor > 0 => self.move_to(self.cursor - 1, out),
                    (b'H', _) | (b'~', 1 | 7) => self.move_to(0, out),
                    (b'F', _) | (b'~', 4 | 8) => self.move_to(self.line.len(), out),
                    (b'~', 3) => {
                        self.delete_range(self.cursor, (self.cursor + 1).min(self.line.len()), out)
                    }
                    _ => {}
                }
                None
            }
        };
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(e: &mut Editor, bytes: &[u8]) -> (Vec<Action>, String) {
        let mut out = String::new();
        let acts = bytes.iter().filter_map(|&b| e.feed(b, &mut out)).collect();
        (acts, out)
    }

    fn line(e: &mut Editor, bytes: &[u8]) -> String {
        let (acts, _) = feed(e, bytes);
        match acts.last() {
            Some(Action::Line(l)) => l.clone(),
            other => panic!("no line: {other:?}"),
        }
    }

    #[test]
    fn arrows_and_emacs_keys_edit_in_the_middle() {
        let mut e = Editor::new(100);
        // "show rote", left x3, insert 'u' -> "show route".
        assert_eq!(
            line(&mut e, b"show rote\x1b[D\x1b[D\x1bOD\x1b[Cu\r"),
            "show route"
        );
        assert_eq!(line(&mut e, b"route\x01show \r"), "show route");
        assert_eq!(
            line(&mut e, b"show interfaces terse\x17\x17arp\r"),
            "show arp"
        );
        assert_eq!(
            line(&mut e, b"xx show arp\x01\x04\x04\x04\x05\r"),
            "show arp"
        );
        assert_eq!(
            line(&mut e, b"show arp\x01\x0bshow version\r"),
            "show version"
        );
        assert_eq!(
            line(&mut e, b"junk\x15show bgp\x02\x02\x06\x7f\r"),
            "show bp"
        );
        // Home, End, Home, Delete: "ab" -> "xab" -> "xaby" -> "zxaby" -> "zaby".
        assert_eq!(line(&mut e, b"ab\x1b[1~x\x1b[4~y\x1b[Hz\x1b[3~\r"), "zaby");
    }

    #[test]
    fn up_and_down_walk_the_history_and_keep_the_draft() {
        let mut e = Editor::new(100);
        for l in ["show route\r", "show arp\r", "show arp\r", "show version\r"] {
            line(&mut e, l.as_bytes());
        }
        // Repeats are kept once.
        assert_eq!(e.history, ["show route", "show arp", "show version"]);
        assert_eq!(line(&mut e, b"\x1b[A\x1b[A\r"), "show arp");
        assert_eq!(line(&mut e, b"\x10\x10\x10\x10\r"), "show route");
        // Down past the newest gives back what was being written.
        assert_eq!(line(&mut e, b"show bgp\x1b[A\x1b[B\r"), "show bgp");
        // An entry taken from the history is edited like any line.
        assert_eq!(line(&mut e, b"\x1b[A\x7f\x7f\x7fsummary\r"), "show summary");
        let mut full = Editor::new(100);
        for i in 0..HISTORY + 20 {
            line(&mut full, format!("show {i}\r").as_bytes());
        }
        assert_eq!(full.history.len(), HISTORY);
        assert_eq!(full.history[0], "show 20");
    }

    #[test]
    fn utf8_is_taken_whole_and_broken_bytes_are_dropped() {
        let mut e = Editor::new(100);
        let text = "set interfaces ge-0/0/0 description \"Zürich → 東京\"\r";
        assert_eq!(line(&mut e, text.as_bytes()), text.trim_end_matches('\r'));
        assert_eq!(line(&mut e, b"a\xff\xc3b\r"), "ab");
        // A character deleted is the whole character.
        assert_eq!(line(&mut e, "é\x7fe\r".as_bytes()), "e");
    }

    #[test]
    fn control_keys_and_limits() {
        let mut e = Editor::new(5);
        let (acts, _) = feed(&mut e, b"abc\x03");
        assert_eq!(acts, [Action::Interrupt]);
        assert_eq!(e.line(), "");
        assert_eq!(feed(&mut e, b"\x04").0, [Action::Eof]);
        let (acts, out) = feed(&mut e, b"123456789");
        assert!(acts.is_empty() && out.contains('\x07'));
        assert_eq!(e.line(), "12345");
        let (acts, _) = feed(&mut e, b"\x01?");
        assert_eq!(acts, [Action::Complete { help: true }]);
        assert!(e.at_end());
        // Unknown and unfinished escape sequences do nothing.
        let (acts, _) = feed(&mut e, b"\x15\x1b[99;5Zq\x1bxq\x1b[");
        assert!(acts.is_empty());
        assert_eq!(e.line(), "qq");
    }
}
