//! Junos AS-path regular expressions: the units are AS numbers, not characters (`65001 .*`,
//! `.* 65002$`, `(65001|65002) .{0,3}`), and the expression is anchored at both ends. Each is
//! turned into a regular expression over the path written as `N N N ` (every AS number with a
//! space after it), so the `regex` crate does the matching (linear time, whatever the input).

use regex::Regex;

#[derive(Debug, Clone)]
pub struct AsPathRegex(Regex);

impl AsPathRegex {
    pub fn compile(text: &str) -> Result<AsPathRegex, String> {
        let mut out = String::from("^(?:");
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                ' ' | '\t' | '^' | '$' => {}
                '0'..='9' => {
                    let mut n = String::from(c);
                    while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                        n.push(*d);
                        chars.next();
                    }
                    let n: u32 = n
                        .parse()
                        .map_err(|_| format!("AS number '{n}' is out of range"))?;
                    if chars.peek() == Some(&'-') {
                        return Err(format!("'{text}': AS number ranges are not supported yet"));
                    }
                    out.push_str(&format!("(?:{n} )"));
                }
                '.' => out.push_str("(?:[0-9]+ )"),
                '*' | '+' | '?' | '(' | ')' | '|' => out.push(c),
                '{' => {
                    let mut q = String::from("{");
                    for d in chars.by_ref() {
                        q.push(d);
                        if d == '}' {
                            break;
                        }
                    }
                    if !q.ends_with('}')
                        || !q[1..q.len() - 1]
                            .chars()
                            .all(|d| d.is_ascii_digit() || d == ',')
                    {
                        return Err(format!("'{text}': bad repetition '{q}'"));
                    }
                    out.push_str(&q);
                }
                other => {
                    return Err(format!(
                        "'{text}': '{other}' is not part of an AS path expression"
                    ))
                }
            }
        }
        out.push_str(")$");
        regex::RegexBuilder::new(&out)
            .size_limit(1 << 16)
            .build()
            .map(AsPathRegex)
            .map_err(|e| format!("'{text}': {e}"))
    }

    /// Whether `path` (nearest AS first) matches.
    pub fn matches(&self, path: &[u32]) -> bool {
        let mut s = String::with_capacity(path.len() * 7);
        for a in path {
            s.push_str(&a.to_string());
            s.push(' ');
        }
        self.0.is_match(&s)
    }
}
