//! Arbitrary bytes into the BGP codec under several negotiated contexts: framing and decoding
//! never panic, and the routes of any UPDATE that decodes, written again by the speaker's
//! encoder, decode back to the same prefixes.
//!
//! Input starting with 0xff is a byte stream (framed with `frame`, as a session reads it);
//! otherwise the first byte picks a message type and the rest is the message body, so the
//! fuzzer need not find the marker to reach the UPDATE parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_bgp::packet::{
    decode, encode_announce, encode_withdraw, frame, DecodeCtx, EncodeCtx, Family, Message, Update,
    HEADER_LEN, MAX_LEN,
};
use savin_rib::IpPrefix;

const BOTH: [Family; 2] = [Family::Ipv4Unicast, Family::Ipv6Unicast];

fn contexts() -> [DecodeCtx; 4] {
    [
        DecodeCtx {
            four_octet_as: true,
            ebgp: true,
            families: BOTH.to_vec(),
        },
        DecodeCtx {
            four_octet_as: false,
            ebgp: false,
            families: BOTH.to_vec(),
        },
        DecodeCtx {
            four_octet_as: true,
            ebgp: false,
            families: vec![Family::Ipv4Unicast],
        },
        DecodeCtx {
            four_octet_as: false,
            ebgp: true,
            families: vec![Family::Ipv6Unicast],
        },
    ]
}

fn family_of(p: &IpPrefix) -> Family {
    match p {
        IpPrefix::V4(_) => Family::Ipv4Unicast,
        IpPrefix::V6(_) => Family::Ipv6Unicast,
    }
}

/// Decodes a stream our encoder wrote: every message frames, fits, and is an UPDATE.
fn decode_ours(mut buf: &[u8], ctx: &DecodeCtx) -> Vec<Update> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let len = frame(buf).expect("our message frames").expect("whole");
        assert!(len <= MAX_LEN);
        let (msg, rest) = buf.split_at(len);
        match decode(msg, ctx) {
            Ok(Message::Update(u)) => out.push(u),
            other => panic!("our UPDATE decoded as {other:?}"),
        }
        buf = rest;
    }
    out
}

/// The speaker's path: re-announce and re-withdraw what `u` carried.
fn reencode(u: &Update, ctx: &DecodeCtx) {
    let attrs = u.attrs.clone().unwrap_or_default();
    let ectx = EncodeCtx {
        four_octet_as: ctx.four_octet_as,
    };
    let dctx = DecodeCtx {
        families: BOTH.to_vec(),
        ..ctx.clone()
    };
    for family in BOTH {
        let want: Vec<IpPrefix> = u
            .announced
            .iter()
            .filter(|p| family_of(p) == family)
            .copied()
            .collect();
        let mut out = Vec::new();
        let n = encode_announce(family, &attrs, &u.announced, &ectx, &mut out);
        assert!(n <= want.len());
        let got: Vec<IpPrefix> = decode_ours(&out, &dctx)
            .into_iter()
            .flat_map(|d| d.announced)
            .collect();
        assert_eq!(got, want[..n]);

        let want: Vec<IpPrefix> = u
            .withdrawn
            .iter()
            .filter(|p| family_of(p) == family)
            .copied()
            .collect();
        out.clear();
        encode_withdraw(family, &u.withdrawn, &mut out);
        let got: Vec<IpPrefix> = decode_ours(&out, &dctx)
            .into_iter()
            .flat_map(|d| d.withdrawn)
            .collect();
        assert_eq!(got, want);
    }
}

fn decode_all(msg: &[u8], ctxs: &[DecodeCtx]) {
    for ctx in ctxs {
        if let Ok(Message::Update(u)) = decode(msg, ctx) {
            reencode(&u, ctx);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let ctxs = contexts();
    match data.split_first() {
        Some((&0xff, _)) => {
            let mut buf = data;
            loop {
                match frame(buf) {
                    Ok(Some(len)) => {
                        assert!((HEADER_LEN..=MAX_LEN).contains(&len) && len <= buf.len());
                        let (msg, rest) = buf.split_at(len);
                        decode_all(msg, &ctxs);
                        buf = rest;
                    }
                    // A partial or bad message: decode must refuse it without panicking.
                    Ok(None) | Err(_) => {
                        if !buf.is_empty() {
                            assert!(decode(buf, &ctxs[0]).is_err());
                        }
                        break;
                    }
                }
            }
        }
        Some((&sel, body)) => {
            let body = body.get(..MAX_LEN - HEADER_LEN).unwrap_or(body);
            let mut msg = vec![0xff; 16];
            msg.extend_from_slice(&((HEADER_LEN + body.len()) as u16).to_be_bytes());
            msg.push(sel % 5 + 1);
            msg.extend_from_slice(body);
            decode_all(&msg, &ctxs);
        }
        None => {}
    }
});
