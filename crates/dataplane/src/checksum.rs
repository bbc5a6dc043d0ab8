//! The Internet checksum: `savin_wire::checksum`, re-exported where the data plane and its
//! tests have always found it.

pub use savin_wire::checksum::*;
