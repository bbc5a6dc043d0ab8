//! Reading configuration text: the lexer, the curly-brace parser, and the `set`-form command
//! editor shared by `load set` and the CLI's configuration mode.

use crate::error::{ConfigError, Pos};
use crate::schema::{self, Node};
use crate::tree::{self, node_at, resolve, resolve_all, Block, End, Meta, Step, Target, Word};

/// The largest configuration text accepted, so a runaway client cannot exhaust memory.
pub const MAX_TEXT: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Word(String),
    Quoted(String),
    LBrace,
    RBrace,
    Semi,
    LBracket,
    RBracket,
    /// A `/* ... */` annotation.
    Comment(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// Splits text into tokens. `#` starts a comment to the end of the line; binary data is refused.
pub fn lex(text: &str) -> Result<Vec<Token>, ConfigError> {
    if text.len() > MAX_TEXT {
        return Err(ConfigError::new(format!(
            "input is {} bytes; the limit is {} bytes",
            text.len(),
            MAX_TEXT
        )));
    }
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut col) = (1u32, 1u32);
    let mut cur = String::new();
    let mut cur_pos = Pos::default();
    macro_rules! flush {
        () => {
            if !cur.is_empty() {
                out.push(Token {
                    tok: Tok::Word(std::mem::take(&mut cur)),
                    pos: cur_pos,
                });
            }
        };
    }
    while let Some(c) = chars.next() {
        let pos = Pos { line, col };
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
        if c.is_control() && !matches!(c, '\n' | '\t' | '\r') {
            return Err(ConfigError::at(
                pos,
                format!(
                    "binary data in configuration text (byte 0x{:02x})",
                    c as u32
                ),
            ));
        }
        match c {
            c if c.is_whitespace() => flush!(),
            '{' | '}' | ';' | '[' | ']' => {
                flush!();
                let tok = match c {
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    ';' => Tok::Semi,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                };
                out.push(Token { tok, pos });
            }
            '#' if cur.is_empty() => {
                while let Some(&n) = chars.peek() {
                    if n == '\n' {
                        break;
                    }
                    chars.next();
                    col += 1;
                }
            }
            '/' if cur.is_empty() && chars.peek() == Some(&'*') => {
                chars.next();
                col += 1;
                let mut body = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(ConfigError::at(pos, "unterminated comment: missing '*/'"))
                        }
                        Some('*') if chars.peek() == Some(&'/') => {
                            chars.next();
                            col += 2;
                            break;
                        }
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                                col = 1;
                            } else {
                                col += 1;
                            }
                            body.push(ch);
                        }
                    }
                }
                out.push(Token {
                    tok: Tok::Comment(body.trim().to_string()),
                    pos,
                });
            }
            '"' => {
                flush!();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(ConfigError::at(pos, "unterminated quoted string")),
                        Some('"') => {
                            col += 1;
                            break;
                        }
                        Some('\\') => {
                            col += 1;
                            match chars.next() {
                                None => {
                                    return Err(ConfigError::at(pos, "unterminated quoted string"))
                                }
                                // `\"` and `\\` stand for the character; any other
                                // escape (`\n` in a login message or a certificate) is
                                // kept as written, as Junos keeps it.
                                Some(e) => {
                                    col += 1;
                                    if e != '"' && e != '\\' {
                                        s.push('\\');
                                    }
                                    s.push(e);
                                }
                            }
                        }
                        Some(ch) => {
                            if ch == '\n' {
                                line += 1;
                                col = 1;
                            } else {
                                col += 1;
                            }
                            s.push(ch);
                        }
                    }
                }
                out.push(Token {
                    tok: Tok::Quoted(s),
                    pos,
                });
            }
            c => {
                if cur.is_empty() {
                    cur_pos = pos;
                }
                cur.push(c);
            }
        }
    }
    flush!();
    Ok(out)
}

fn word(t: &Token) -> Option<Word> {
    let (text, quoted) = match &t.tok {
        Tok::Word(w) => (w.clone(), false),
        Tok::Quoted(q) => (q.clone(), true),
        Tok::LBracket => ("[".into(), false),
        Tok::RBracket => ("]".into(), false),
        _ => return None,
    };
    Some(Word {
        text,
        pos: t.pos,
        quoted,
    })
}

/// Parses the curly-brace form into a tree rooted at the schema root.
pub fn parse_curly(text: &str, file: Option<&str>) -> Result<Block, ConfigError> {
    parse_curly_inner(text).map_err(|e| e.in_file(file))
}

fn parse_curly_inner(text: &str) -> Result<Block, ConfigError> {
    let root_node = schema::root();
    let tokens = lex(text)?;
    let mut root = Block::default();
    // Each open block: its path, where it opened, and (for a value block such as
    // `pool { http-in; }`) the words each statement inside continues.
    let mut stack: Vec<(Vec<Step>, Pos, Vec<Word>)> =
        vec![(Vec::new(), Pos::default(), Vec::new())];
    let mut words: Vec<Word> = Vec::new();
    let mut meta = Meta::default();
    let mut last_pos = Pos::default();
    for t in &tokens {
        last_pos = t.pos;
        match &t.tok {
            Tok::Word(w) if words.is_empty() && w == "inactive:" => meta.inactive = true,
            Tok::Word(w) if words.is_empty() && w == "replace:" => meta.replace = true,
            Tok::Word(w) if words.is_empty() && w == "protect:" => meta.protect = true,
            Tok::Comment(c) => {
                if words.is_empty() {
                    meta.comment = Some(c.clone());
                }
            }
            Tok::Semi | Tok::LBrace => {
                let Some(first) = words.first() else {
                    let what = if t.tok == Tok::Semi { ";" } else { "{" };
                    return Err(ConfigError::at(
                        t.pos,
                        format!("syntax error: unexpected '{what}'"),
                    ));
                };
                let first_pos = first.pos;
                let (base, _, lead) = stack.last().expect("stack never empty");
                let ctx = node_at(root_node, base);
                if !lead.is_empty() {
                    let mut full = lead.clone();
                    full.append(&mut words);
                    words = full;
                }
                let mut rels = resolve_all(ctx, &words, false)?;
                // Siblings on one line (`archive size 1m files 5;`): all but the last are
                // set here; the last is the statement the line stands for.
                let rel = rels.pop().expect("at least one statement");
                for extra in rels {
                    let mut steps = base.clone();
                    steps.extend(extra.steps);
                    let t = Target {
                        steps,
                        end: extra.end,
                    };
                    tree::set(&mut root, root_node, &t, None)
                        .map_err(|e| ConfigError::at(first_pos, e))?;
                }
                let mut steps = base.clone();
                steps.extend(rel.steps);
                let target = Target {
                    steps,
                    end: rel.end,
                };
                // `KEYWORD { VALUE; }` for a leaf or a keyword list (Junos prints a NAT
                // `pool { http-in; }` and `destination-port { 80; }` so): a value block.
                let value_block =
                    t.tok == Tok::LBrace && matches!(target.end, End::Leaf(_, None) | End::List(_));
                if value_block {
                    let lead = words.clone();
                    stack.push((base.clone(), t.pos, lead));
                    words.clear();
                    continue;
                }
                if t.tok == Tok::LBrace
                    && (target.end != End::Here || target.steps.len() == base.len())
                {
                    return Err(ConfigError::at(
                        first_pos,
                        format!(
                            "syntax error: '{}' does not take a block; expected ';'",
                            words_text(&words)
                        ),
                    ));
                }
                let m = std::mem::take(&mut meta);
                tree::set(&mut root, root_node, &target, None)
                    .map_err(|e| ConfigError::at(first_pos, e))?;
                if !m.is_default() {
                    // `inactive:` and annotations belong to the first statement the line names
                    // (`inactive: route 192.0.2.0/24 discard;` deactivates the route).
                    let meta_target = first_statement(root_node, &target, base.len());
                    if meta_target.end == End::Here {
                        tree::ensure(&mut root, root_node, &meta_target.steps);
                    }
                    *tree::meta_mut(&mut root, root_node, &meta_target)
                        .map_err(|e| ConfigError::at(first_pos, e))? = m;
                }
                if t.tok == Tok::LBrace {
                    stack.push((target.steps, t.pos, Vec::new()));
                }
                words.clear();
            }
            Tok::RBrace => {
                if let Some(w) = words.first() {
                    return Err(ConfigError::at(
                        w.pos,
                        format!(
                            "syntax error: expected ';' or '{{' after '{}'",
                            words_text(&words)
                        ),
                    ));
                }
                if stack.len() == 1 {
                    return Err(ConfigError::at(t.pos, "syntax error: unexpected '}'"));
                }
                stack.pop();
            }
            _ => words.push(word(t).expect("word token")),
        }
    }
    if let Some(w) = words.first() {
        return Err(ConfigError::at(
            w.pos,
            format!(
                "syntax error: expected ';' or '{{' after '{}'",
                words_text(&words)
            ),
        ));
    }
    if stack.len() > 1 {
        let (_, open, _) = stack.last().expect("non-empty");
        return Err(ConfigError::at(
            last_pos,
            format!(
                "syntax error: missing '}}' for the block opened at {}:{}",
                open.line, open.col
            ),
        ));
    }
    tree::prune(&mut root, root_node);
    Ok(root)
}

/// The target naming the first non-flattened statement below `base_len` steps.
fn first_statement(root_node: &'static Node, t: &Target, base_len: usize) -> Target {
    for n in base_len..t.steps.len() {
        if !node_at(root_node, &t.steps[..=n]).is_flatten() {
            return Target {
                steps: t.steps[..=n].to_vec(),
                end: End::Here,
            };
        }
    }
    t.clone()
}

fn words_text(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Splits `text` at `sep` where it is not inside a quoted string (`a; b "x;y"` at `;`, or
/// `show | match "a|b"` at `|`). The parts are not trimmed.
pub fn split_unquoted(text: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push(c);
    }
    parts.push(cur);
    parts
}

/// Splits one command line into words. Braces and semicolons are not part of a command.
pub fn command_words(line: &str) -> Result<Vec<Word>, ConfigError> {
    let mut out = Vec::new();
    for t in lex(line)? {
        match word(&t) {
            Some(w) => out.push(w),
            None if matches!(t.tok, Tok::Comment(_)) => {
                return Err(ConfigError::at(t.pos, "syntax error: unexpected comment"));
            }
            None => {
                return Err(ConfigError::at(
                    t.pos,
                    "syntax error: unexpected punctuation",
                ))
            }
        }
    }
    Ok(out)
}

/// The configuration-mode editor: the current `[edit ...]` level and the commands that change
/// the tree (`set`, `delete`, `activate`, `deactivate`, `annotate`) or the level (`edit`, `up`,
/// `top`). Used by the CLI and by `load set`.
#[derive(Debug, Clone, Default)]
pub struct Editor {
    pub level: Vec<Step>,
    /// Accept unique keyword prefixes (interactive use).
    pub abbrev: bool,
    /// Whether the tree has protected statements, once known. Kept between commands only when
    /// this editor alone changes the tree (`load set`); an interactive session looks again,
    /// since a `load` may have changed the candidate in between.
    protected: Option<bool>,
    cache_protected: bool,
}

/// Whether a command word is one the editor handles.
pub fn is_edit_command(cmd: &str) -> bool {
    matches!(
        cmd,
        "set"
            | "delete"
            | "activate"
            | "deactivate"
            | "annotate"
            | "insert"
            | "protect"
            | "unprotect"
            | "edit"
            | "up"
            | "top"
    )
}

impl Editor {
    pub fn new(abbrev: bool) -> Editor {
        Editor {
            level: Vec::new(),
            abbrev,
            protected: None,
            cache_protected: false,
        }
    }

    /// The `[edit ...]` banner for the current level.
    pub fn banner(&self) -> String {
        let words = tree::path_words(schema::root(), &self.level);
        if words.is_empty() {
            "[edit]".into()
        } else {
            format!("[edit {}]", words.join(" "))
        }
    }

    fn resolve_here(&self, words: &[Word]) -> Result<Target, ConfigError> {
        let ctx = node_at(schema::root(), &self.level);
        let rel = resolve(ctx, words, self.abbrev)?;
        let mut steps = self.level.clone();
        steps.extend(rel.steps);
        Ok(Target {
            steps,
            end: rel.end,
        })
    }

    /// Runs one editing command. Returns a warning to show, if any. A command that would
    /// change a protected statement (or anything below one) is refused and changes nothing.
    pub fn exec(
        &mut self,
        root: &mut Block,
        words: &[Word],
    ) -> Result<Option<String>, ConfigError> {
        let Some(cmd) = words.first() else {
            return Ok(None);
        };
        let changes = matches!(
            cmd.text.as_str(),
            "set" | "delete" | "activate" | "deactivate" | "annotate" | "insert"
        );
        if !changes {
            if matches!(cmd.text.as_str(), "protect" | "unprotect") {
                self.protected = None;
            }
            return self.exec_inner(root, words);
        }
        let guarded = match self.protected {
            Some(known) if self.cache_protected => known,
            _ => tree::has_protected(root),
        };
        self.protected = Some(guarded);
        if !guarded {
            return self.exec_inner(root, words);
        }
        let before = root.clone();
        let out = self.exec_inner(root, words);
        if let Some(path) = tree::protected_change(&before, Some(root), schema::root()) {
            *root = before;
            return Err(ConfigError::at(cmd.pos, tree::protected_error(&path)));
        }
        out
    }

    fn exec_inner(
        &mut self,
        root: &mut Block,
        words: &[Word],
    ) -> Result<Option<String>, ConfigError> {
        let Some((cmd, args)) = words.split_first() else {
            return Ok(None);
        };
        let root_node = schema::root();
        let at = |e: String| ConfigError::at(cmd.pos, e);
        match cmd.text.as_str() {
            "set" => {
                if args.is_empty() {
                    return Err(at("missing statement after 'set'".into()));
                }
                let ctx = node_at(root_node, &self.level);
                for rel in resolve_all(ctx, args, self.abbrev)? {
                    let mut steps = self.level.clone();
                    steps.extend(rel.steps);
                    let t = Target {
                        steps,
                        end: rel.end,
                    };
                    tree::set(root, root_node, &t, None).map_err(at)?;
                }
                Ok(None)
            }
            "delete" => {
                let t = self.resolve_here(args)?;
                if tree::delete(root, root_node, &t) {
                    Ok(None)
                } else {
                    Ok(Some("warning: statement not found".into()))
                }
            }
            "activate" | "deactivate" => {
                if args.is_empty() {
                    return Err(at(format!("missing statement after '{}'", cmd.text)));
                }
                let t = self.resolve_here(args)?;
                let m = tree::meta_mut(root, root_node, &t).map_err(at)?;
                m.inactive = cmd.text == "deactivate";
                Ok(None)
            }
            "insert" => {
                // insert PATH-TO-ENTRY (before|after) [LIST-KEYWORD] KEY (no keyword for lists
                // printed without one, such as interfaces).
                let usage = || at("usage: insert STATEMENT (before|after) NAME KEY".into());
                let is_rel = |w: &Word| matches!(w.text.as_str(), "before" | "after");
                let n = args.len();
                let rel_at = if n >= 3 && is_rel(&args[n - 2]) {
                    n - 2
                } else if n >= 4 && is_rel(&args[n - 3]) {
                    n - 3
                } else {
                    return Err(usage());
                };
                let (path, rest) = args.split_at(rel_at);
                let after = rest[0].text == "after";
                let t = self.resolve_here(path)?;
                let Some(tree::Step::Entry(idx, _)) = t.steps.last() else {
                    return Err(usage());
                };
                let list = &node_at(root_node, &t.steps[..t.steps.len() - 1]).children()[*idx];
                let key_word = match (rest.len(), list.is_bare_list()) {
                    (2, true) => &rest[1],
                    (3, false) if rest[1].text == list.name => &rest[2],
                    (3, false) => {
                        return Err(ConfigError::at(
                            rest[1].pos,
                            format!("expected '{}' after '{}'", list.name, rest[0].text),
                        ))
                    }
                    _ => return Err(usage()),
                };
                let crate::schema::Kind::List { key, .. } = &list.kind else {
                    return Err(usage());
                };
                let other = key
                    .parse(&key_word.text)
                    .map_err(|e| ConfigError::at(key_word.pos, e))?;
                tree::insert_entry(root, root_node, &t, after, &other).map_err(at)?;
                Ok(None)
            }
            "annotate" => {
                let Some((comment, path)) = args.split_last() else {
                    return Err(at("usage: annotate STATEMENT \"comment\"".into()));
                };
                if path.is_empty() {
                    return Err(at("usage: annotate STATEMENT \"comment\"".into()));
                }
                if comment.text.contains("*/") {
                    return Err(ConfigError::at(
                        comment.pos,
                        "a comment cannot contain '*/'",
                    ));
                }
                let t = self.resolve_here(path)?;
                let m = tree::meta_mut(root, root_node, &t).map_err(at)?;
                m.comment = (!comment.text.is_empty()).then(|| comment.text.clone());
                Ok(None)
            }
            "protect" | "unprotect" => {
                if args.is_empty() {
                    return Err(at(format!("missing statement after '{}'", cmd.text)));
                }
                let t = self.resolve_here(args)?;
                if cmd.text == "protect" {
                    // Junos creates a hierarchy it is asked to protect.
                    if t.end == End::Here {
                        tree::ensure(root, root_node, &t.steps);
                    }
                    tree::meta_mut(root, root_node, &t).map_err(at)?.protect = true;
                } else if let Ok(m) = tree::meta_mut(root, root_node, &t) {
                    // Unprotecting what is not protected (or not there) does nothing.
                    m.protect = false;
                }
                Ok(None)
            }
            "edit" => {
                let t = self.resolve_here(args)?;
                if t.end != End::Here {
                    return Err(at(
                        "edit: the path must name a container or a list entry".into()
                    ));
                }
                self.level = t.steps;
                Ok(None)
            }
            "up" => {
                let n = match args.first() {
                    None => 1,
                    Some(w) => w
                        .text
                        .parse::<usize>()
                        .map_err(|_| ConfigError::at(w.pos, "up: expected a number of levels"))?,
                };
                for _ in 0..n {
                    if self.level.pop().is_none() {
                        break;
                    }
                    // Flattened containers are not levels an operator sees (`family`).
                    while !self.level.is_empty() && node_at(root_node, &self.level).is_flatten() {
                        self.level.pop();
                    }
                }
                Ok(None)
            }
            "top" => {
                self.level.clear();
                Ok(None)
            }
            other => Err(at(format!("unknown command '{other}'"))),
        }
    }
}

/// The text with the Junos CLI's banner lines (`{master:0}`, `{primary:node0}`: the line a
/// Junos CLI prints above its prompt, which comes along when `show | display set` output is
/// copied) blanked, so line numbers stay those of the file.
fn without_banners(text: &str) -> std::borrow::Cow<'_, str> {
    let banner = |line: &str| {
        let Some(inner) = line
            .trim()
            .strip_prefix('{')
            .and_then(|l| l.strip_suffix('}'))
        else {
            return false;
        };
        let (role, rest) = inner.split_once(':').unwrap_or((inner, "x"));
        let roles = [
            "master",
            "backup",
            "primary",
            "secondary",
            "linecard",
            "hold",
        ];
        roles.contains(&role) && !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
    };
    if !text.lines().any(banner) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    // A line inside a quoted value that spans lines (a certificate) is the value's, whatever
    // it looks like.
    let mut quoted = false;
    for line in text.split_inclusive('\n') {
        if !quoted && banner(line) {
            out.push_str(if line.ends_with('\n') { "\n" } else { "" });
            continue;
        }
        out.push_str(line);
        if !quoted && line.trim_start().starts_with('#') {
            continue;
        }
        let mut escaped = false;
        for c in line.chars() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                _ => {}
            }
        }
    }
    out.into()
}

/// Applies `set`-form text (`load set`): every line runs at the top level, and either all
/// lines apply or none does.
pub fn apply_set_text(root: &mut Block, text: &str, file: Option<&str>) -> Result<(), ConfigError> {
    let text = without_banners(text);
    let tokens = lex(&text).map_err(|e| e.in_file(file))?;
    let mut work = root.clone();
    let mut editor = Editor::new(false);
    editor.cache_protected = true;
    let mut i = 0;
    while i < tokens.len() {
        let line = tokens[i].pos.line;
        let mut words = Vec::new();
        while i < tokens.len() && tokens[i].pos.line == line {
            let t = &tokens[i];
            i += 1;
            match word(t) {
                Some(w) => words.push(w),
                None if matches!(t.tok, Tok::Comment(_)) => {}
                None => {
                    return Err(ConfigError::at(
                        t.pos,
                        "syntax error: braces and ';' are not set-form text; use 'load merge'",
                    )
                    .in_file(file))
                }
            }
        }
        let Some(first) = words.first() else { continue };
        if !is_edit_command(&first.text) {
            return Err(ConfigError::at(
                first.pos,
                format!(
                    "syntax error: unknown command '{}'; expected set, delete, activate, deactivate, annotate, insert, protect, unprotect, edit, up or top",
                    first.text
                ),
            )
            .in_file(file));
        }
        editor
            .exec(&mut work, &words)
            .map_err(|e| e.in_file(file))?;
    }
    tree::prune(&mut work, schema::root());
    *root = work;
    Ok(())
}
