//! The service monitor: voice and video quality measured where the traffic is. This crate
//! holds the sans-IO analysis (RTP stream statistics as tshark reports them, RFC 3611 loss
//! patterns, the G.107 E-model and the codecs it rates); the data-plane stage, SIP/SDP
//! discovery, probes and exporters build on it.

pub mod burst;
pub mod codec;
pub mod emodel;
pub mod sip;
pub mod stream;
pub mod table;
