//! SIP (RFC 3261) as far as the monitor needs it: which call a message belongs to, and the
//! SDP offer or answer (RFC 4566, RFC 3264) it carries, which names the addresses, ports and
//! codecs of the call's RTP streams. Messages seen on the wire are hostile: sizes are
//! bounded, anything malformed is an error (counted by the caller), nothing panics.

use std::net::IpAddr;

/// Larger than any SIP message over UDP (RFC 3261 §18.1.1 keeps them under the path MTU).
pub const MAX_MESSAGE: usize = 16 << 10;
/// Media lines taken from one SDP body, and formats from one media line.
pub const MAX_MEDIA: usize = 8;
pub const MAX_FORMATS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipError {
    TooLarge,
    /// Not UTF-8, no start line, or a start line that is not SIP/2.0.
    NotSip,
    /// A header line with no colon, or no blank line after the headers.
    BadHeader,
    /// No Call-ID (every request and response has one).
    NoCallId,
    /// The body is shorter than Content-Length.
    Truncated,
}

impl std::fmt::Display for SipError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SipError::TooLarge => "SIP message too large",
            SipError::NotSip => "not a SIP message",
            SipError::BadHeader => "malformed SIP header",
            SipError::NoCallId => "SIP message without Call-ID",
            SipError::Truncated => "SIP body shorter than its Content-Length",
        })
    }
}

impl std::error::Error for SipError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String },
    Response { code: u16 },
}

/// A SIP message, reduced to what tells a call's media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub call_id: String,
    /// CSeq's method (a response answers it).
    pub cseq_method: Option<String>,
    pub sdp: Option<Sdp>,
}

impl Message {
    /// Whether this message ends the call (BYE, or a final error answer to the INVITE).
    pub fn ends_call(&self) -> bool {
        match &self.start {
            StartLine::Request { method } => method == "BYE" || method == "CANCEL",
            StartLine::Response { code } => {
                *code >= 300 && self.cseq_method.as_deref() == Some("INVITE")
            }
        }
    }
}

/// Compact header names (RFC 3261 §7.3.3) to their full names.
fn header_name(n: &str) -> String {
    let full = match n.to_ascii_lowercase().as_str() {
        "i" => "call-id",
        "c" => "content-type",
        "l" => "content-length",
        other => return other.to_string(),
    };
    full.into()
}

/// Reads one SIP message (a UDP payload).
pub fn parse(b: &[u8]) -> Result<Message, SipError> {
    if b.len() > MAX_MESSAGE {
        return Err(SipError::TooLarge);
    }
    let text = std::str::from_utf8(b).map_err(|_| SipError::NotSip)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .ok_or(SipError::BadHeader)?;
    let mut lines = head.lines();
    let first = lines.next().ok_or(SipError::NotSip)?;
    let start = start_line(first)?;
    let (mut call_id, mut cseq_method, mut content_type, mut length) = (None, None, None, None);
    for line in lines {
        // A folded continuation line (obsolete, still legal) adds nothing we read.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(SipError::BadHeader)?;
        let value = value.trim();
        match header_name(name.trim()).as_str() {
            "call-id" => call_id = Some(value.to_string()),
            "cseq" => cseq_method = value.split_whitespace().nth(1).map(str::to_string),
            "content-type" => content_type = Some(value.to_ascii_lowercase()),
            "content-length" => {
                length = Some(value.parse::<usize>().map_err(|_| SipError::BadHeader)?)
            }
            _ => {}
        }
    }
    let call_id = call_id
        .filter(|c| !c.is_empty())
        .ok_or(SipError::NoCallId)?;
    let body = match length {
        Some(n) if n > body.len() => return Err(SipError::Truncated),
        Some(n) => body.get(..n).ok_or(SipError::BadHeader)?,
        None => body,
    };
    let sdp = match content_type {
        Some(t) if t.starts_with("application/sdp") && !body.is_empty() => Some(Sdp::parse(body)),
        _ => None,
    };
    Ok(Message {
        start,
        call_id,
        cseq_method,
        sdp,
    })
}

fn start_line(l: &str) -> Result<StartLine, SipError> {
    let mut w = l.split_whitespace();
    let (a, b, c) = (w.next(), w.next(), w.next());
    match (a, b, c) {
        (Some("SIP/2.0"), Some(code), _) => {
            let code = code.parse::<u16>().map_err(|_| SipError::NotSip)?;
            if !(100..700).contains(&code) {
                return Err(SipError::NotSip);
            }
            Ok(StartLine::Response { code })
        }
        (Some(method), Some(_uri), Some("SIP/2.0"))
            if method.bytes().all(|c| c.is_ascii_uppercase()) && !method.is_empty() =>
        {
            Ok(StartLine::Request {
                method: method.to_string(),
            })
        }
        _ => Err(SipError::NotSip),
    }
}

/// One `m=` line of an SDP body with what applies to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, ...
    pub kind: String,
    /// Where this side wants the media sent (0: the stream is refused, RFC 3264 §6).
    pub address: Option<IpAddr>,
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, ...
    pub proto: String,
    pub formats: Vec<u8>,
    /// `a=rtpmap:PT NAME/RATE` for the formats that have one.
    pub rtpmap: Vec<(u8, String, u32)>,
}

/// An SDP body: the media it offers or accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sdp {
    pub media: Vec<Media>,
}

impl Sdp {
    /// Reads what it can: lines it does not understand are skipped (an SDP extension is not
    /// an error), and media past the limits are left out.
    pub fn parse(body: &str) -> Sdp {
        let mut session_addr = None;
        let mut media: Vec<Media> = Vec::new();
        let mut skipping = false;
        for line in body.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            match k.trim() {
                "c" => {
                    // c=IN IP4 192.0.2.1 (a multicast TTL after a slash is dropped).
                    let addr = v
                        .split_whitespace()
                        .nth(2)
                        .and_then(|a| a.split('/').next())
                        .and_then(|a| a.parse::<IpAddr>().ok());
                    match media.last_mut() {
                        Some(m) if !skipping => m.address = addr.or(m.address),
                        Some(_) => {}
                        None => session_addr = addr,
                    }
                }
                "m" => {
                    if media.len() == MAX_MEDIA {
                        skipping = true;
                        continue;
                    }
                    let mut w = v.split_whitespace();
                    let kind = w.next().unwrap_or("").to_string();
                    // m=audio 49170/2 RTP/AVP 0: a port count after a slash is dropped.
                    let port = w
                        .next()
                        .and_then(|p| p.split('/').next())
                        .and_then(|p| p.parse::<u16>().ok());
                    let proto = w.next().unwrap_or("").to_string();
                    let formats = w
                        .filter_map(|f| f.parse::<u8>().ok().filter(|f| *f < 128))
                        .take(MAX_FORMATS)
                        .collect();
                    match port {
                        Some(port) => {
                            skipping = false;
                            media.push(Media {
                                kind,
                                address: session_addr,
                                port,
                                proto,
                                formats,
                                rtpmap: Vec::new(),
                            });
                        }
                        None => skipping = true,
                    }
                }
                "a" if !skipping => {
                    let Some(m) = media.last_mut() else { continue };
                    let Some(map) = v.strip_prefix("rtpmap:") else {
                        continue;
                    };
                    // a=rtpmap:96 opus/48000/2
                    let mut w = map.split_whitespace();
                    let pt = w.next().and_then(|p| p.parse::<u8>().ok());
                    let mut enc = w.next().unwrap_or("").split('/');
                    let name = enc.next().unwrap_or("");
                    let rate = enc.next().and_then(|r| r.parse::<u32>().ok());
                    if let (Some(pt), Some(rate)) = (pt, rate) {
                        if pt < 128
                            && !name.is_empty()
                            && name.len() <= 32
                            && m.rtpmap.len() < MAX_FORMATS
                        {
                            m.rtpmap.push((pt, name.to_string(), rate));
                        }
                    }
                }
                _ => {}
            }
        }
        Sdp { media }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@192.0.2.20 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n\
From: Alice <sip:alice@192.0.2.10>;tag=1928301774\r\n\
To: Bob <sip:bob@192.0.2.20>\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 201\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
m=video 51372 RTP/AVP 96\r\n";

    #[test]
    fn an_invite_gives_the_call_and_its_media() {
        let m = parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.call_id, "a84b4c76e66710@192.0.2.10");
        assert_eq!(
            m.start,
            StartLine::Request {
                method: "INVITE".into()
            }
        );
        let sdp = m.sdp.clone().unwrap();
        assert_eq!(sdp.media.len(), 2);
        let a = &sdp.media[0];
        assert_eq!(a.kind, "audio");
        assert_eq!(a.address, Some("192.0.2.10".parse().unwrap()));
        assert_eq!((a.port, a.formats.as_slice()), (49170, &[0u8, 8, 101][..]));
        assert_eq!(a.rtpmap[1], (101, "telephone-event".into(), 8000));
        assert_eq!(sdp.media[1].port, 51372);
        assert!(!m.ends_call());
    }

    #[test]
    fn compact_headers_media_addresses_and_call_ends() {
        let ok = "SIP/2.0 200 OK\r\ni: x1\r\nCSeq: 1 INVITE\r\nc: application/sdp\r\n\r\nv=0\r\nc=IN IP4 198.51.100.1\r\nm=audio 4000 RTP/AVP 18\r\nc=IN IP6 2001:db8::7\r\n";
        let m = parse(ok.as_bytes()).unwrap();
        assert_eq!(m.start, StartLine::Response { code: 200 });
        assert_eq!(
            m.sdp.unwrap().media[0].address,
            Some("2001:db8::7".parse().unwrap())
        );
        let bye = parse(b"BYE sip:a@b SIP/2.0\r\nCall-ID: x1\r\nCSeq: 2 BYE\r\n\r\n").unwrap();
        assert!(bye.ends_call() && bye.sdp.is_none());
        let busy =
            parse(b"SIP/2.0 486 Busy Here\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\n\r\n").unwrap();
        assert!(busy.ends_call());
        let ringing =
            parse(b"SIP/2.0 180 Ringing\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\n\r\n").unwrap();
        assert!(!ringing.ends_call());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(parse(b"\xff\xfe"), Err(SipError::NotSip));
        assert_eq!(parse(b"HELLO\r\n\r\n"), Err(SipError::NotSip));
        assert_eq!(
            parse(b"SIP/2.0 999 X\r\nCall-ID: a\r\n\r\n"),
            Err(SipError::NotSip)
        );
        assert_eq!(
            parse(b"INVITE sip:a SIP/2.0\r\nCall-ID: a\r\n"),
            Err(SipError::BadHeader)
        );
        assert_eq!(
            parse(b"INVITE sip:a SIP/2.0\r\nnocolon\r\n\r\n"),
            Err(SipError::BadHeader)
        );
        assert_eq!(
            parse(b"INVITE sip:a SIP/2.0\r\nTo: x\r\n\r\n"),
            Err(SipError::NoCallId)
        );
        assert_eq!(
            parse(b"INVITE sip:a SIP/2.0\r\nCall-ID: a\r\nContent-Length: 50\r\n\r\nv=0"),
            Err(SipError::Truncated)
        );
        assert_eq!(parse(&vec![b'a'; MAX_MESSAGE + 1]), Err(SipError::TooLarge));
        // SDP lines that make no sense are skipped; limits hold.
        let sdp = Sdp::parse(
            &"m=audio 1 RTP/AVP 0\r\nm=audio x RTP/AVP\r\na=rtpmap:999 X/1\r\nc=IN IP4 nope\r\n"
                .repeat(20),
        );
        assert_eq!(sdp.media.len(), MAX_MEDIA);
        assert!(sdp
            .media
            .iter()
            .all(|m| m.rtpmap.is_empty() && m.address.is_none()));
    }
}
