//! A request read into a small element tree. Names are kept without their namespace prefix:
//! clients send the same operation bare (`<get-software-information/>`) or prefixed
//! (`<nc:get-configuration>`), and Junos answers both. The input is hostile, so the tree has
//! limits on depth and size, and a document that is not well-formed is an error, not a
//! guess.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Deeper than any configuration (Junos's deepest statements are about 15 levels).
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("malformed XML at byte {pos}: {message}")]
    Malformed { pos: u64, message: String },
    #[error("XML nested deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("more than {0} XML elements")]
    TooMany(usize),
    #[error("no element in the message")]
    Empty,
}

/// One element: its local name, attributes (local names), children and text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    /// The name as written (`nc:rpc`), for replies that echo it.
    pub qname: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// The element's own text (the pieces between its children, joined).
    pub text: String,
}

impl Element {
    pub fn new(name: &str) -> Element {
        Element {
            name: name.into(),
            qname: name.into(),
            ..Default::default()
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| local(n) == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.child(name).is_some()
    }

    /// The trimmed text of a child, if the child is there.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Writes the element back as XML (for a subtree filter or a configuration in XML).
    pub fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            if k == "xmlns" || k.starts_with("xmlns:") {
                continue;
            }
            out.push(' ');
            out.push_str(local(k));
            out.push_str("=\"");
            escape_into(v, out);
            out.push('"');
        }
        if self.children.is_empty() && self.text.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        escape_into(&self.text, out);
        for c in &self.children {
            c.write(out);
        }
        out.push_str("</");
        out.push_str(&self.name);
        out.push('>');
    }
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// Escapes text for an element's content or an attribute value.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(s, &mut out);
    out
}

pub fn escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

fn start(e: &BytesStart<'_>, pos: u64) -> Result<Element, XmlError> {
    let malformed = |m: String| XmlError::Malformed { pos, message: m };
    let qname = e.name().as_ref().to_string();
    if !is_name(&qname) {
        return Err(malformed(format!("invalid element name {qname:?}")));
    }
    let mut el = Element {
        name: local(&qname).to_string(),
        qname,
        ..Default::default()
    };
    for a in e.attributes() {
        let a = a.map_err(|e| malformed(e.to_string()))?;
        let key = a.key.as_ref().to_string();
        if !is_name(&key) {
            return Err(malformed(format!("invalid attribute name {key:?}")));
        }
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| malformed(e.to_string()))?
            .into_owned();
        if !is_xml_text(&value) {
            return Err(malformed(format!(
                "a character not allowed in XML in attribute {key}"
            )));
        }
        el.attrs.push((key, value));
    }
    Ok(el)
}

/// XML 1.0's `Name` production (ASCII exactly; any non-ASCII letter or digit accepted).
/// quick-xml reads whatever sits before `=` as an attribute name, quotes included, and an
/// echoed attribute (an rpc's) must not break the reply.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let start = |c: char| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (!c.is_ascii() && c.is_alphanumeric())
    };
    start(first) && chars.all(|c| start(c) || c.is_ascii_digit() || c == '-' || c == '.')
}

/// XML 1.0's `Char` production: no control characters but tab, newline and return, no
/// U+FFFE/U+FFFF. Text with them could not be written back as XML.
fn is_xml_text(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
    })
}

/// Reads one document's root element (declaration, comments and processing instructions
/// around it are skipped). `max_elements` bounds the tree.
pub fn parse(text: &str, max_elements: usize) -> Result<Element, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| XmlError::Malformed {
            pos: reader.error_position(),
            message: e.to_string(),
        })?;
        let malformed = |m: &str| XmlError::Malformed {
            pos,
            message: m.into(),
        };
        match ev {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(malformed("content after the root element"));
            }
            Event::Start(e) => {
                count += 1;
                if count > max_elements {
                    return Err(XmlError::TooMany(max_elements));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep);
                }
                stack.push(start(&e, pos)?);
            }
            Event::Empty(e) => {
                count += 1;
                if count > max_elements {
                    return Err(XmlError::TooMany(max_elements));
                }
                let el = start(&e, pos)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| malformed("unexpected end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content();
                if !is_xml_text(&s) {
                    return Err(malformed("a character not allowed in XML"));
                }
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(t) => {
                let s = t.into_inner();
                if !is_xml_text(&s) {
                    return Err(malformed("a character not allowed in XML"));
                }
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None => return Err(malformed("CDATA outside the root element")),
                }
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err(malformed("unknown entity")),
                    },
                    Err(e) => return Err(malformed(&e.to_string())),
                };
                if !is_xml_text(c.encode_utf8(&mut [0; 4])) {
                    return Err(malformed("a reference to a character not allowed in XML"));
                }
                match stack.last_mut() {
                    Some(el) => el.text.push(c),
                    None => return Err(malformed("a reference outside the root element")),
                }
            }
            // External entities are never fetched (no DTD processing at all).
            Event::DocType(_) => return Err(malformed("DOCTYPE is not accepted")),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => {
                if !stack.is_empty() {
                    return Err(malformed("the document ends inside an element"));
                }
                return root.ok_or(XmlError::Empty);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_prefix_and_text_is_unescaped() {
        let e = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?><nc:rpc xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="urn:uuid:1"><nc:command format="text">show route &amp; more &#x41;<![CDATA[<x>]]></nc:command></nc:rpc>"#,
            100,
        )
        .unwrap();
        assert_eq!(e.name, "rpc");
        assert_eq!(e.qname, "nc:rpc");
        assert_eq!(e.attr("message-id"), Some("urn:uuid:1"));
        let c = e.child("command").unwrap();
        assert_eq!(c.attr("format"), Some("text"));
        assert_eq!(c.text, "show route & more A<x>");
    }

    #[test]
    fn broken_deep_large_and_dtd_documents_are_refused() {
        for bad in [
            "<rpc><a></rpc>",
            "<rpc>",
            "<rpc/><rpc/>",
            "text",
            "<rpc>&xxe;</rpc>",
            "<!DOCTYPE rpc [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><rpc>&x;</rpc>",
            "<rpc a='1' a='2'/>",
            "",
            // quick-xml takes anything before `=` as an attribute name (found by fuzzing:
            // the name was echoed into the rpc-reply and broke it).
            "<rpc ur\"x=\"1\"/>",
            "<rpc a\u{e}\0=\"1\"/>",
            "<rpc a=\"&#1;\"/>",
            "<rpc>\u{1}</rpc>",
            "<rpc>&#0;</rpc>",
            "<rpc><![CDATA[\u{8}]]></rpc>",
            "<r\u{1}pc/>",
        ] {
            assert!(parse(bad, 100).is_err(), "{bad}");
        }
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep, 1000), Err(XmlError::TooDeep));
        let wide = format!("<a>{}</a>", "<b/>".repeat(10));
        assert_eq!(parse(&wide, 5), Err(XmlError::TooMany(5)));
    }

    #[test]
    fn an_element_written_back_parses_to_itself() {
        let src = r#"<configuration><system><host-name>r1 &lt;x&gt;</host-name></system><interfaces><interface><name>ge-0/0/0</name></interface></interfaces></configuration>"#;
        let e = parse(src, 100).unwrap();
        let mut out = String::new();
        e.write(&mut out);
        assert_eq!(out, src);
        assert_eq!(parse(&out, 100).unwrap(), e);
    }
}
