//! What an RTP payload type carries: the static types of RFC 3551 and the encoding names an
//! SDP `a=rtpmap` gives dynamic ones; each with its clock rate and, for the narrowband voice
//! codecs G.113 rates, the E-model's impairment. Wideband codecs are said to be wideband
//! rather than forced into the narrowband model; video has no MOS here (MDI instead).

use crate::emodel::Impairment;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Narrowband voice (the G.107 E-model applies).
    Voice,
    /// Wideband or fullband voice (G.722, Opus, AMR-WB): no narrowband MOS.
    WidebandVoice,
    Video,
    /// Comfort noise, DTMF events and the like.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Codec {
    pub name: &'static str,
    /// RTP timestamp rate, Hz.
    pub clock_rate: u32,
    pub kind: Kind,
    /// G.113 Appendix I (Ie, Bpl) where it gives them (G.711's Bpl is with packet loss
    /// concealment: 25.1; see [`Codec::without_plc`]).
    pub impairment: Option<Impairment>,
}

const fn codec(name: &'static str, clock_rate: u32, kind: Kind, imp: Option<(f64, f64)>) -> Codec {
    Codec {
        name,
        clock_rate,
        kind,
        impairment: match imp {
            Some((ie, bpl)) => Some(Impairment { ie, bpl }),
            None => None,
        },
    }
}

const PCMU: Codec = codec("PCMU", 8000, Kind::Voice, Some((0.0, 25.1)));
const PCMA: Codec = codec("PCMA", 8000, Kind::Voice, Some((0.0, 25.1)));
const G729: Codec = codec("G729", 8000, Kind::Voice, Some((11.0, 19.0)));
const G723: Codec = codec("G723", 8000, Kind::Voice, Some((15.0, 16.1)));
const GSM_EFR: Codec = codec("GSM-EFR", 8000, Kind::Voice, Some((5.0, 10.0)));

impl Codec {
    /// G.711 without packet loss concealment (G.113: Bpl 4.3): a loss costs more.
    pub fn without_plc(mut self) -> Codec {
        if matches!(self.name, "PCMU" | "PCMA") {
            self.impairment = Some(Impairment { ie: 0.0, bpl: 4.3 });
        }
        self
    }

    /// A static payload type (RFC 3551 tables 4 and 5). None: dynamic or unassigned.
    pub fn of_static(pt: u8) -> Option<Codec> {
        Some(match pt {
            0 => PCMU,
            3 => codec("GSM", 8000, Kind::Voice, None),
            4 => G723,
            5 | 7 | 12 | 15 => codec(
                match pt {
                    5 => "DVI4",
                    7 => "LPC",
                    12 => "QCELP",
                    _ => "G728",
                },
                8000,
                Kind::Voice,
                None,
            ),
            6 => codec("DVI4", 16000, Kind::WidebandVoice, None),
            8 => PCMA,
            // G.722's RTP clock is 8000 though it samples at 16 kHz (RFC 3551 4.5.2).
            9 => codec("G722", 8000, Kind::WidebandVoice, None),
            10 | 11 => codec("L16", 44100, Kind::WidebandVoice, None),
            13 | 19 => codec("CN", 8000, Kind::Other, None),
            18 => G729,
            14 | 25 | 26 | 28 | 31 | 32 | 33 | 34 => codec(
                match pt {
                    14 => "MPA",
                    25 => "CelB",
                    26 => "JPEG",
                    28 => "nv",
                    31 => "H261",
                    32 => "MPV",
                    33 => "MP2T",
                    _ => "H263",
                },
                90000,
                if pt == 14 { Kind::Other } else { Kind::Video },
                None,
            ),
            _ => return None,
        })
    }

    /// A dynamic payload type by the encoding name and clock rate of its `a=rtpmap`.
    pub fn of_rtpmap(name: &str, clock_rate: u32) -> Codec {
        let known: &[(&str, Codec)] = &[
            ("PCMU", PCMU),
            ("PCMA", PCMA),
            ("G729", G729),
            ("G723", G723),
            ("GSM-EFR", GSM_EFR),
            ("G722", codec("G722", 8000, Kind::WidebandVoice, None)),
            ("opus", codec("opus", 48000, Kind::WidebandVoice, None)),
            ("AMR-WB", codec("AMR-WB", 16000, Kind::WidebandVoice, None)),
            ("AMR", codec("AMR", 8000, Kind::Voice, None)),
            (
                "telephone-event",
                codec("telephone-event", 8000, Kind::Other, None),
            ),
            ("H264", codec("H264", 90000, Kind::Video, None)),
            ("H265", codec("H265", 90000, Kind::Video, None)),
            ("VP8", codec("VP8", 90000, Kind::Video, None)),
            ("VP9", codec("VP9", 90000, Kind::Video, None)),
            ("MP2T", codec("MP2T", 90000, Kind::Video, None)),
        ];
        let mut c = known
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(codec("unknown", clock_rate, Kind::Other, None), |(_, c)| *c);
        // The SDP's rate is the stream's, whatever the table says.
        if clock_rate != 0 {
            c.clock_rate = clock_rate;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_and_dynamic_types() {
        assert_eq!(Codec::of_static(0).unwrap().name, "PCMU");
        assert_eq!(
            Codec::of_static(8).unwrap().impairment,
            Some(Impairment { ie: 0.0, bpl: 25.1 })
        );
        assert_eq!(
            Codec::of_static(0).unwrap().without_plc().impairment,
            Some(Impairment { ie: 0.0, bpl: 4.3 })
        );
        assert_eq!(Codec::of_static(18).unwrap().impairment.unwrap().ie, 11.0);
        assert_eq!(Codec::of_static(9).unwrap().kind, Kind::WidebandVoice);
        assert_eq!(Codec::of_static(33).unwrap().clock_rate, 90000);
        assert!(Codec::of_static(96).is_none() && Codec::of_static(2).is_none());
        let h264 = Codec::of_rtpmap("h264", 90000);
        assert_eq!((h264.name, h264.kind), ("H264", Kind::Video));
        assert_eq!(Codec::of_rtpmap("opus", 48000).kind, Kind::WidebandVoice);
        let x = Codec::of_rtpmap("x-mystery", 12000);
        assert_eq!(
            (x.name, x.clock_rate, x.impairment),
            ("unknown", 12000, None)
        );
    }
}
