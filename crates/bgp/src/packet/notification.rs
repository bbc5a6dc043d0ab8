//! NOTIFICATION (RFC 4271 §4.5) and the names of its codes, as Junos and FRR print them.

use std::fmt;

/// A NOTIFICATION: what is sent before a session is closed, and why a decode failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub fn new(code: u8, subcode: u8, data: Vec<u8>) -> Self {
        Notification {
            code,
            subcode,
            data,
        }
    }

    /// The error code's name (IANA "BGP Error (Notification) Codes").
    pub fn code_name(&self) -> Option<&'static str> {
        Some(match self.code {
            1 => "Message Header Error",
            2 => "OPEN Message Error",
            3 => "UPDATE Message Error",
            4 => "Hold Timer Expired",
            5 => "Finite State Machine Error",
            6 => "Cease",
            7 => "ROUTE-REFRESH Message Error",
            8 => "Send Hold Timer Expired",
            _ => return None,
        })
    }

    /// The subcode's name; `None` for 0 (unspecific) and for subcodes not assigned.
    pub fn subcode_name(&self) -> Option<&'static str> {
        Some(match (self.code, self.subcode) {
            (1, 1) => "Connection Not Synchronized",
            (1, 2) => "Bad Message Length",
            (1, 3) => "Bad Message Type",
            (2, 1) => "Unsupported Version Number",
            (2, 2) => "Bad Peer AS",
            (2, 3) => "Bad BGP Identifier",
            (2, 4) => "Unsupported Optional Parameter",
            (2, 6) => "Unacceptable Hold Time",
            (2, 7) => "Unsupported Capability",
            (2, 11) => "Role Mismatch",
            (3, 1) => "Malformed Attribute List",
            (3, 2) => "Unrecognized Well-known Attribute",
            (3, 3) => "Missing Well-known Attribute",
            (3, 4) => "Attribute Flags Error",
            (3, 5) => "Attribute Length Error",
            (3, 6) => "Invalid ORIGIN Attribute",
            (3, 8) => "Invalid NEXT_HOP Attribute",
            (3, 9) => "Optional Attribute Error",
            (3, 10) => "Invalid Network Field",
            (3, 11) => "Malformed AS_PATH",
            (5, 1) => "Receive Unexpected Message in OpenSent State",
            (5, 2) => "Receive Unexpected Message in OpenConfirm State",
            (5, 3) => "Receive Unexpected Message in Established State",
            (6, 1) => "Maximum Number of Prefixes Reached",
            (6, 2) => "Administrative Shutdown",
            (6, 3) => "Peer De-configured",
            (6, 4) => "Administrative Reset",
            (6, 5) => "Connection Rejected",
            (6, 6) => "Other Configuration Change",
            (6, 7) => "Connection Collision Resolution",
            (6, 8) => "Out of Resources",
            (6, 9) => "Hard Reset",
            (6, 10) => "BFD Down",
            (7, 1) => "Invalid Message Length",
            _ => return None,
        })
    }

    /// The operator's message of an Administrative Shutdown or Reset (RFC 9003): a length
    /// octet and UTF-8 text.
    pub fn shutdown_message(&self) -> Option<&str> {
        if self.code != 6 || !matches!(self.subcode, 2 | 4) {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        let text = rest.get(..usize::from(len))?;
        std::str::from_utf8(text).ok().filter(|s| !s.is_empty())
    }
}

/// "Hold Timer Expired", "UPDATE Message Error: Malformed AS_PATH",
/// "Cease: Administrative Reset (\"maintenance\")".
impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(code) = self.code_name() else {
            return write!(
                f,
                "Unknown error code {} subcode {}",
                self.code, self.subcode
            );
        };
        f.write_str(code)?;
        match self.subcode_name() {
            Some(sub) => write!(f, ": {sub}")?,
            None if self.subcode != 0 => write!(f, ": subcode {}", self.subcode)?,
            None => {}
        }
        if let Some(msg) = self.shutdown_message() {
            write!(f, " ({msg:?})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Notification {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = |c, s| Notification::new(c, s, vec![]).to_string();
        assert_eq!(n(4, 0), "Hold Timer Expired");
        assert_eq!(n(3, 11), "UPDATE Message Error: Malformed AS_PATH");
        assert_eq!(n(6, 4), "Cease: Administrative Reset");
        assert_eq!(n(6, 0), "Cease");
        assert_eq!(n(2, 99), "OPEN Message Error: subcode 99");
        assert_eq!(n(42, 1), "Unknown error code 42 subcode 1");
        let shut = Notification::new(6, 2, b"\x0bmaintenance".to_vec());
        assert_eq!(
            shut.to_string(),
            "Cease: Administrative Shutdown (\"maintenance\")"
        );
        // A length running past the data is no message.
        assert_eq!(
            Notification::new(6, 2, vec![9, b'a']).shutdown_message(),
            None
        );
    }
}
