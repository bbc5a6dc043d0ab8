//! NETCONF as Junos speaks it, without I/O: the two framings of RFC 6242 ([`framing`]), the
//! requests clients send, read into a small element tree and then into typed operations
//! ([`xml`], [`rpc`]), and the replies in the shape PyEZ, NAPALM, Ansible and ncclient parse
//! ([`reply`]). The daemon's SSH server moves the bytes; the management crate answers the
//! operations from the datastore.

pub mod framing;
pub mod reply;
pub mod rpc;
pub mod xml;

/// The NETCONF base namespace: replies' default namespace, where clients look for `<ok/>`,
/// `<rpc-error>` and `<data>`.
pub const NS_BASE: &str = "urn:ietf:params:xml:ns:netconf:base:1.0";
