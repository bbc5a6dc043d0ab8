//! The transport-checksum completion lives in `savin_wire::checksum`, with the rest of the
//! Internet checksum; re-exported here for the I/O paths that complete offloaded frames.

pub use savin_wire::checksum::{add, complete_l4_checksum, fold};
