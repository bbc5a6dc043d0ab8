//! The service monitor: voice and video quality measured where the traffic is. The analysis
//! is sans-IO (RTP stream statistics as tshark reports them, RFC 3611 loss patterns, the
//! G.107 E-model and the codecs it rates, SIP/SDP call discovery, a worker's bounded
//! tables); [`stage`] puts it on the data plane's output arc. Probes and exporters come next.

pub mod burst;
pub mod codec;
pub mod emodel;
mod index;
pub mod sip;
pub mod stage;
pub mod stream;
pub mod table;
pub mod ts;
