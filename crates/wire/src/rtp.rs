//! RTP (RFC 3550 §5.1): the fixed header, its CSRC list, header extension and padding, read
//! from a UDP payload. What arrives on a UDP port is not always RTP: the checks here are the
//! ones RFC 3550 Appendix A.1 lists for telling RTP from noise (version 2, a padding count
//! that fits, an extension that fits); payload-type and sequence checks belong to the stream.

/// The fixed header's length (before CSRCs).
pub const FIXED_HEADER_LEN: usize = 12;
/// Payload types 72-76 collide with RTCP packet types 200-204 (RFC 5761 §4): such a
/// "packet" is RTCP multiplexed on the RTP port, not RTP.
pub const RTCP_CONFLICT: std::ops::RangeInclusive<u8> = 72..=76;

/// Why a UDP payload is not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    /// Shorter than its fixed header, CSRC list or extension says.
    Truncated,
    /// Version field other than 2.
    Version(u8),
    /// The padding count is zero or runs past the header.
    Padding,
    /// An RTCP packet on the RTP port (payload type 72-76 with the marker bit).
    Rtcp,
}

impl std::fmt::Display for RtpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RtpError::Truncated => f.write_str("truncated RTP header"),
            RtpError::Version(v) => write!(f, "RTP version {v}"),
            RtpError::Padding => f.write_str("RTP padding longer than the packet"),
            RtpError::Rtcp => f.write_str("RTCP on the RTP port"),
        }
    }
}

impl std::error::Error for RtpError {}

/// An RTP header, read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrc_count: u8,
    /// The extension's profile-defined identifier, if there is one.
    pub extension: Option<u16>,
    /// The payload's bytes (after the CSRCs and extension, before any padding).
    pub payload_len: usize,
    /// Where the payload starts in the UDP payload.
    pub payload_offset: usize,
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

impl Header {
    /// Reads the header at the start of a UDP payload.
    pub fn parse(b: &[u8]) -> Result<Header, RtpError> {
        if b.len() < FIXED_HEADER_LEN {
            return Err(RtpError::Truncated);
        }
        let version = b[0] >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let padding = b[0] & 0x20 != 0;
        let has_extension = b[0] & 0x10 != 0;
        let csrc_count = b[0] & 0x0f;
        let marker = b[1] & 0x80 != 0;
        let payload_type = b[1] & 0x7f;
        if marker && RTCP_CONFLICT.contains(&payload_type) {
            return Err(RtpError::Rtcp);
        }
        let mut off = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        if b.len() < off {
            return Err(RtpError::Truncated);
        }
        let extension = if has_extension {
            if b.len() < off + 4 {
                return Err(RtpError::Truncated);
            }
            let id = u16_at(b, off);
            let words = usize::from(u16_at(b, off + 2));
            off += 4 + 4 * words;
            if b.len() < off {
                return Err(RtpError::Truncated);
            }
            Some(id)
        } else {
            None
        };
        let mut end = b.len();
        if padding {
            // The last byte counts the padding, itself included.
            let n = usize::from(b[b.len() - 1]);
            if n == 0 || n > end - off {
                return Err(RtpError::Padding);
            }
            end -= n;
        }
        Ok(Header {
            marker,
            payload_type,
            sequence: u16_at(b, 2),
            timestamp: u32_at(b, 4),
            ssrc: u32_at(b, 8),
            csrc_count,
            extension,
            payload_len: end - off,
            payload_offset: off,
        })
    }
}

/// Writes an RTP header (for tests and the probes that send RTP).
pub fn put_header(out: &mut Vec<u8>, marker: bool, payload_type: u8, seq: u16, ts: u32, ssrc: u32) {
    out.push(0x80);
    out.push(u8::from(marker) << 7 | (payload_type & 0x7f));
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_header_reads_back() {
        let mut p = Vec::new();
        put_header(&mut p, true, 0, 0xfffe, 160 * 7, 0xdead_beef);
        p.extend_from_slice(&[0xd5; 160]);
        let h = Header::parse(&p).unwrap();
        assert_eq!(
            (h.marker, h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (true, 0, 0xfffe, 1120, 0xdead_beef)
        );
        assert_eq!(
            (h.payload_offset, h.payload_len, h.extension),
            (12, 160, None)
        );
    }

    #[test]
    fn csrcs_extension_and_padding_are_stepped_over() {
        // Two CSRCs, a one-word extension (profile 0xbede), 3 bytes of padding.
        let mut p = vec![0x80 | 0x20 | 0x10 | 2, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        p.extend_from_slice(&[0; 8]);
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 9, 9, 9, 9]);
        p.extend_from_slice(&[0x55; 20]);
        p.extend_from_slice(&[0, 0, 3]);
        let h = Header::parse(&p).unwrap();
        assert_eq!(h.csrc_count, 2);
        assert_eq!(h.extension, Some(0xbede));
        assert_eq!(h.payload_offset, 12 + 8 + 8);
        assert_eq!(h.payload_len, 20);
    }

    #[test]
    fn noise_is_refused() {
        assert_eq!(Header::parse(&[0x80; 11]), Err(RtpError::Truncated));
        assert_eq!(Header::parse(&[0x40; 12]), Err(RtpError::Version(1)));
        // Four CSRCs announced, none there.
        assert_eq!(
            Header::parse(&[0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RtpError::Truncated)
        );
        // An extension longer than the packet.
        let mut e = vec![0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
        assert_eq!(Header::parse(&e), Err(RtpError::Truncated));
        e[14] = 0;
        e[15] = 0;
        assert!(Header::parse(&e).is_ok());
        // Padding of zero, or more than the payload.
        let mut p = vec![0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
        assert_eq!(Header::parse(&p), Err(RtpError::Padding));
        p[13] = 3;
        assert_eq!(Header::parse(&p), Err(RtpError::Padding));
        p[13] = 2;
        assert_eq!(Header::parse(&p).map(|h| h.payload_len), Ok(0));
        // RTCP sender report (200 = PT 72 with the marker) multiplexed on the port.
        assert_eq!(
            Header::parse(&[0x80, 200, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(RtpError::Rtcp)
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_within_bounds(b in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            if let Ok(h) = Header::parse(&b) {
                proptest::prop_assert!(h.payload_offset + h.payload_len <= b.len());
            }
        }
    }
}
