//! Arbitrary bytes as a SIP message (and its SDP): an answer or an error, never a panic;
//! what is read stays within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_monitor::sip::{parse, MAX_FORMATS, MAX_MEDIA};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = parse(data) {
        assert!(!m.call_id.is_empty());
        if let Some(sdp) = m.sdp {
            assert!(sdp.media.len() <= MAX_MEDIA);
            for media in &sdp.media {
                assert!(media.formats.len() <= MAX_FORMATS && media.rtpmap.len() <= MAX_FORMATS);
                assert!(media.formats.iter().all(|f| *f < 128));
            }
        }
    }
});
