//! RFC 6242 message framing: the end-of-message marker `]]>]]>` (NETCONF 1.0, what Junos uses
//! unless told otherwise) and chunked framing (1.1). Input from the network is hostile: a
//! message has a size limit, chunk headers are checked to the byte, and a framing error
//! ends the session (RFC 6242 §4.2 leaves no way to find the next message after one).

/// The end-of-message marker of NETCONF 1.0.
pub const EOM: &[u8] = b"]]>]]>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `]]>]]>` after each message.
    EndOfMessage,
    /// `\n#LEN\n` chunks, `\n##\n` at the end.
    Chunked,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
    #[error("bad chunk header at byte {0}")]
    BadChunk(usize),
}

/// Splits a byte stream into messages.
#[derive(Debug)]
pub struct Deframer {
    framing: Framing,
    buf: Vec<u8>,
    /// Where the next search for the marker starts (`]]>]]>` can straddle reads).
    scanned: usize,
    /// Chunked: the message assembled from the chunks read so far.
    message: Vec<u8>,
    max: usize,
    /// Bytes consumed before `buf`, for error positions.
    consumed: usize,
}

impl Deframer {
    /// `max`: the largest message accepted, in bytes.
    pub fn new(max: usize) -> Deframer {
        Deframer {
            framing: Framing::EndOfMessage,
            buf: Vec::new(),
            scanned: 0,
            message: Vec::new(),
            max,
            consumed: 0,
        }
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Switches framing (after the hellos, when both sides offered base:1.1). Bytes already
    /// buffered are read in the new framing.
    pub fn set_framing(&mut self, framing: Framing) {
        self.framing = framing;
        self.scanned = 0;
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete message, if one is buffered.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        match self.framing {
            Framing::EndOfMessage => self.next_eom(),
            Framing::Chunked => self.next_chunked(),
        }
    }

    fn take(&mut self, n: usize) {
        self.buf.drain(..n);
        self.consumed += n;
        self.scanned = 0;
    }

    fn next_eom(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let from = self.scanned.saturating_sub(EOM.len() - 1);
        match self.buf[from..].windows(EOM.len()).position(|w| w == EOM) {
            Some(i) => {
                let end = from + i;
                if end > self.max {
                    return Err(FrameError::TooLarge(self.max));
                }
                let msg = self.buf[..end].to_vec();
                self.take(end + EOM.len());
                Ok(Some(msg))
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max + EOM.len() {
                    return Err(FrameError::TooLarge(self.max));
                }
                Ok(None)
            }
        }
    }

    fn next_chunked(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        loop {
            // A header: "\n#" then "#\n" (end of message) or 1-10 digits and "\n".
            let b = &self.buf;
            if b.len() < 3 {
                return Ok(None);
            }
            if b[0] != b'\n' || b[1] != b'#' {
                return Err(FrameError::BadChunk(self.consumed));
            }
            if b[2] == b'#' {
                if b.len() < 4 {
                    return Ok(None);
                }
                if b[3] != b'\n' || self.message.is_empty() {
                    return Err(FrameError::BadChunk(self.consumed));
                }
                self.take(4);
                return Ok(Some(std::mem::take(&mut self.message)));
            }
            let digits = b[2..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits > 10 || b[2] == b'0' {
                return Err(FrameError::BadChunk(self.consumed));
            }
            if 2 + digits == b.len() {
                return Ok(None);
            }
            if digits == 0 || b[2 + digits] != b'\n' {
                return Err(FrameError::BadChunk(self.consumed));
            }
            let len: u64 = std::str::from_utf8(&b[2..2 + digits])
                .ok()
                .and_then(|s| s.parse().ok())
                .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
                .ok_or(FrameError::BadChunk(self.consumed))?;
            if self.message.len() as u64 + len > self.max as u64 {
                return Err(FrameError::TooLarge(self.max));
            }
            let head = 3 + digits;
            let len = len as usize;
            if b.len() < head + len {
                return Ok(None);
            }
            self.message.extend_from_slice(&b[head..head + len]);
            self.take(head + len);
        }
    }
}

/// One message framed for sending.
pub fn frame(framing: Framing, msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 16);
    match framing {
        Framing::EndOfMessage => {
            out.extend_from_slice(msg);
            out.extend_from_slice(b"\n");
            out.extend_from_slice(EOM);
            out.extend_from_slice(b"\n");
        }
        Framing::Chunked => {
            if !msg.is_empty() {
                out.extend_from_slice(format!("\n#{}\n", msg.len()).as_bytes());
                out.extend_from_slice(msg);
            }
            out.extend_from_slice(b"\n##\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Deframer) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut v = Vec::new();
        while let Some(m) = d.next_message()? {
            v.push(m);
        }
        Ok(v)
    }

    #[test]
    fn end_of_message_framing_splits_at_the_marker_even_across_reads() {
        let mut d = Deframer::new(1000);
        d.push(b"<a/>]]>]");
        assert_eq!(all(&mut d).unwrap(), Vec::<Vec<u8>>::new());
        d.push(b"]><b/>]]>]]><c");
        assert_eq!(
            all(&mut d).unwrap(),
            vec![b"<a/>".to_vec(), b"<b/>".to_vec()]
        );
        d.push(b"/>]]>]]>");
        assert_eq!(all(&mut d).unwrap(), vec![b"<c/>".to_vec()]);
    }

    #[test]
    fn chunked_framing_joins_chunks_and_checks_every_header() {
        let mut d = Deframer::new(1000);
        d.set_framing(Framing::Chunked);
        d.push(b"\n#4\n<rpc\n#2\n/>\n##\n\n#3\n<a/");
        assert_eq!(all(&mut d).unwrap(), vec![b"<rpc/>".to_vec()]);
        d.push(b"\n#1\n>\n##\n");
        assert_eq!(all(&mut d).unwrap(), vec![b"<a/>".to_vec()]);
        for bad in [
            &b"\n#0\n"[..],
            b"#4\n",
            b"\n#x\n",
            b"\n#4 \n",
            b"\n##\n",
            b"\n#12345678901\n",
        ] {
            let mut d = Deframer::new(1000);
            d.set_framing(Framing::Chunked);
            d.push(bad);
            assert!(
                d.next_message().is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_message_over_the_limit_is_refused_in_either_framing() {
        let mut d = Deframer::new(8);
        d.push(&[b'x'; 20]);
        assert_eq!(d.next_message(), Err(FrameError::TooLarge(8)));
        let mut d = Deframer::new(8);
        d.set_framing(Framing::Chunked);
        d.push(b"\n#5\nxxxxx\n#5\n");
        assert_eq!(d.next_message(), Err(FrameError::TooLarge(8)));
        let mut d = Deframer::new(8);
        d.set_framing(Framing::Chunked);
        d.push(b"\n#4294967295\n");
        assert_eq!(d.next_message(), Err(FrameError::TooLarge(8)));
    }

    #[test]
    fn what_we_frame_we_read_back() {
        for framing in [Framing::EndOfMessage, Framing::Chunked] {
            let mut d = Deframer::new(1000);
            d.set_framing(framing);
            d.push(&frame(framing, b"<rpc-reply/>"));
            let m = d.next_message().unwrap().unwrap();
            // EOM framing adds a newline before the marker, as Junos does; XML ignores it.
            assert_eq!(String::from_utf8(m).unwrap().trim(), "<rpc-reply/>");
        }
    }
}
