//! MPEG-2 transport stream packets (ISO/IEC 13818-1 §2.4.3.2): the 4-byte header and the
//! adaptation field's flags, read from the 188-byte packets a UDP or RTP (RFC 2250) payload
//! carries. Only what a monitor needs (PID, continuity counter, whether the packet carries a
//! payload, the discontinuity indicator, the transport error indicator); the sections and
//! PES packets inside are the decoder's business.

/// A transport stream packet's length.
pub const PACKET_LEN: usize = 188;
/// The first byte of every packet.
pub const SYNC_BYTE: u8 = 0x47;
/// Stuffing: its continuity counter means nothing (§2.4.3.3).
pub const NULL_PID: u16 = 0x1FFF;

/// Whether a datagram's payload is transport stream packets (a whole number of them, the
/// first starting with the sync byte), as MPEG-TS over UDP sends 7 a datagram.
pub fn is_transport_stream(payload: &[u8]) -> bool {
    !payload.is_empty() && payload.len().is_multiple_of(PACKET_LEN) && payload[0] == SYNC_BYTE
}

/// Why 188 bytes are not a transport stream packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsError {
    /// Fewer than 188 bytes.
    Truncated,
    /// The first byte is not 0x47: the stream lost its alignment.
    Sync,
    /// The adaptation field's length runs past the packet (more than 183 bytes with a
    /// payload after it, or 184 without).
    AdaptationLength,
}

impl std::fmt::Display for TsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TsError::Truncated => f.write_str("transport stream packet shorter than 188 bytes"),
            TsError::Sync => f.write_str("transport stream packet without its sync byte"),
            TsError::AdaptationLength => f.write_str("adaptation field longer than the packet"),
        }
    }
}

impl std::error::Error for TsError {}

/// A transport stream packet's header, read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsHeader {
    /// The transport error indicator: a demodulator upstream found the packet damaged.
    pub transport_error: bool,
    pub payload_unit_start: bool,
    pub pid: u16,
    /// 0: not scrambled.
    pub scrambling: u8,
    /// Adaptation field control (`01` payload only, `10` adaptation field only, `11` both,
    /// `00` reserved: the packet is to be discarded).
    pub adaptation_control: u8,
    pub continuity_counter: u8,
    /// The adaptation field says the counter (or the time base) is discontinuous here.
    pub discontinuity: bool,
    /// The adaptation field carries a PCR.
    pub pcr: bool,
}

impl TsHeader {
    /// Reads the packet at the start of `b` (its first 188 bytes).
    pub fn parse(b: &[u8]) -> Result<TsHeader, TsError> {
        if b.len() < PACKET_LEN {
            return Err(TsError::Truncated);
        }
        if b[0] != SYNC_BYTE {
            return Err(TsError::Sync);
        }
        let adaptation_control = (b[3] >> 4) & 0b11;
        let (mut discontinuity, mut pcr) = (false, false);
        if adaptation_control & 0b10 != 0 {
            let len = usize::from(b[4]);
            // With a payload after it the field leaves room for at least one byte of it.
            let max = if adaptation_control == 0b11 { 182 } else { 183 };
            if len > max {
                return Err(TsError::AdaptationLength);
            }
            if len > 0 {
                discontinuity = b[5] & 0x80 != 0;
                pcr = b[5] & 0x10 != 0;
            }
        }
        Ok(TsHeader {
            transport_error: b[1] & 0x80 != 0,
            payload_unit_start: b[1] & 0x40 != 0,
            pid: u16::from_be_bytes([b[1] & 0x1f, b[2]]),
            scrambling: b[3] >> 6,
            adaptation_control,
            continuity_counter: b[3] & 0x0f,
            discontinuity,
            pcr,
        })
    }

    /// Whether the packet carries a payload: only those advance the continuity counter.
    pub fn has_payload(&self) -> bool {
        self.adaptation_control & 0b01 != 0
    }
}

/// Writes a 188-byte packet: `pid` with payload unit start set, adaptation field control
/// `afc` (0b01 payload, 0b10 adaptation field only, 0b11 both), continuity counter `cc`,
/// then `adaptation` (the field with its length byte, if any) and 0xff stuffing to the end
/// (for tests and the probes that send a transport stream).
pub fn put_packet(out: &mut Vec<u8>, pid: u16, afc: u8, cc: u8, adaptation: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&[
        SYNC_BYTE,
        0x40 | (pid >> 8) as u8 & 0x1f,
        pid as u8,
        (afc & 0b11) << 4 | (cc & 0x0f),
    ]);
    out.extend_from_slice(&adaptation[..adaptation.len().min(PACKET_LEN - 4)]);
    out.resize(start + PACKET_LEN, 0xff);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(pid: u16, afc: u8, cc: u8, af: &[u8]) -> Vec<u8> {
        let mut p = Vec::new();
        put_packet(&mut p, pid, afc, cc, af);
        p
    }

    #[test]
    fn a_header_reads_its_fields() {
        let h = TsHeader::parse(&packet(0x100, 0b01, 7, &[])).unwrap();
        assert_eq!(h.pid, 0x100);
        assert_eq!(h.continuity_counter, 7);
        assert!(h.payload_unit_start && h.has_payload() && !h.transport_error);
        assert!(!h.discontinuity && !h.pcr);
        // Adaptation field of 7 bytes with the discontinuity indicator and a PCR.
        let h = TsHeader::parse(&packet(0x1ff, 0b11, 2, &[7, 0x90])).unwrap();
        assert!(h.discontinuity && h.pcr && h.has_payload());
        let h = TsHeader::parse(&packet(0x1ff, 0b10, 2, &[183, 0x00])).unwrap();
        assert!(!h.has_payload());
    }

    #[test]
    fn broken_packets_are_refused() {
        assert_eq!(TsHeader::parse(&[0x47; 100]), Err(TsError::Truncated));
        let mut p = packet(1, 1, 0, &[]);
        p[0] = 0x46;
        assert_eq!(TsHeader::parse(&p), Err(TsError::Sync));
        assert_eq!(
            TsHeader::parse(&packet(1, 0b11, 0, &[183, 0])),
            Err(TsError::AdaptationLength)
        );
        assert_eq!(
            TsHeader::parse(&packet(1, 0b10, 0, &[184, 0])),
            Err(TsError::AdaptationLength)
        );
    }

    #[test]
    fn a_transport_stream_payload_is_told_from_others() {
        let p = packet(1, 1, 0, &[]);
        let seven: Vec<u8> = p.iter().copied().cycle().take(7 * PACKET_LEN).collect();
        assert!(is_transport_stream(&seven));
        assert!(!is_transport_stream(&seven[..7 * PACKET_LEN - 1]));
        assert!(!is_transport_stream(&[]));
        assert!(!is_transport_stream(&[0x80; PACKET_LEN]));
    }
}
