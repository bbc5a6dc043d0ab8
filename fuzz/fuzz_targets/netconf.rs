//! Arbitrary bytes into a NETCONF session's reading side: the deframer (the first byte picks
//! end-of-message or chunked framing; the rest arrives in uneven pieces), then each message
//! read as a hello or an rpc. Nothing panics, and the reply that echoes a request's
//! attributes (or reports an error) is always well-formed XML that keeps its message-id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use savin_netconf::framing::{Deframer, Framing};
use savin_netconf::reply::{rpc_reply, RpcError};
use savin_netconf::rpc::{read, Message};
use savin_netconf::xml;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut d = Deframer::new(1 << 16);
    if first & 1 == 1 {
        d.set_framing(Framing::Chunked);
    }
    let step = usize::from(first >> 1).max(1);
    for piece in rest.chunks(step) {
        d.push(piece);
        loop {
            match d.next_message() {
                Ok(Some(m)) => {
                    let Ok(text) = std::str::from_utf8(&m) else {
                        continue;
                    };
                    if let Ok(Message::Rpc(rpc)) = read(text) {
                        let reply = rpc_reply(&rpc.attrs, &RpcError::unknown_rpc("x").xml());
                        let back = xml::parse(&reply, 1 << 16).expect("our reply parses");
                        // The unqualified attribute, as `message_id` reads it (a prefixed
                        // `x:message-id` is another attribute, echoed as it came).
                        let echoed = back
                            .attrs
                            .iter()
                            .find(|(k, _)| k == "message-id")
                            .map(|(_, v)| v.as_str());
                        assert_eq!(echoed, rpc.message_id());
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
