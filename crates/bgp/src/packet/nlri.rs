//! Prefixes as NLRI encodes them (RFC 4271 §4.3): a length in bits, then as few octets as
//! hold it.

use savin_rib::{IpPrefix, Prefix};

use super::Family;

/// A prefix longer than its family, or octets running out (RFC 7606 §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadNlri;

/// Appends the prefixes of `family` encoded in `buf` to `out`. Host bits past the length are
/// cleared (RFC 4271: they are irrelevant).
pub(crate) fn read(buf: &[u8], family: Family, out: &mut Vec<IpPrefix>) -> Result<(), BadNlri> {
    let mut rest = buf;
    while let Some((&len, tail)) = rest.split_first() {
        let octets = usize::from(len).div_ceil(8);
        let (addr, tail) = tail.split_at_checked(octets).ok_or(BadNlri)?;
        rest = tail;
        let prefix = match family {
            Family::Ipv4Unicast => {
                if len > 32 {
                    return Err(BadNlri);
                }
                let mut a = [0u8; 4];
                a.get_mut(..octets).ok_or(BadNlri)?.copy_from_slice(addr);
                IpPrefix::V4(Prefix::new(u32::from_be_bytes(a), len))
            }
            Family::Ipv6Unicast => {
                if len > 128 {
                    return Err(BadNlri);
                }
                let mut a = [0u8; 16];
                a.get_mut(..octets).ok_or(BadNlri)?.copy_from_slice(addr);
                IpPrefix::V6(Prefix::new(u128::from_be_bytes(a), len))
            }
        };
        out.push(prefix);
    }
    Ok(())
}

/// The family a prefix belongs to.
pub(crate) fn family_of(p: &IpPrefix) -> Family {
    match p {
        IpPrefix::V4(_) => Family::Ipv4Unicast,
        IpPrefix::V6(_) => Family::Ipv6Unicast,
    }
}

/// Octets `p` takes on the wire.
pub(crate) fn wire_len(p: &IpPrefix) -> usize {
    1 + usize::from(p.length()).div_ceil(8)
}

/// Appends `p` as NLRI.
pub(crate) fn write(p: &IpPrefix, out: &mut Vec<u8>) {
    let len = p.length();
    let octets = usize::from(len).div_ceil(8);
    out.push(len);
    match p {
        IpPrefix::V4(v) => out.extend_from_slice(&v.addr().to_be_bytes()[..octets.min(4)]),
        IpPrefix::V6(v) => out.extend_from_slice(&v.addr().to_be_bytes()[..octets.min(16)]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn p(s: &str, len: u8) -> IpPrefix {
        IpPrefix::new(s.parse::<IpAddr>().unwrap(), len)
    }

    #[test]
    fn reads_and_masks() {
        let mut out = Vec::new();
        read(
            &[16, 10, 1, 24, 192, 0, 2, 0],
            Family::Ipv4Unicast,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![p("10.1.0.0", 16), p("192.0.2.0", 24), p("0.0.0.0", 0)]
        );
        // 192.0.2.255/25 arrives with host bits set; 0.0.0.0/0 has no octets.
        let mut out = Vec::new();
        read(
            &[16, 10, 1, 0, 25, 192, 0, 2, 255],
            Family::Ipv4Unicast,
            &mut out,
        )
        .unwrap();
        assert_eq!(
            out,
            vec![p("10.1.0.0", 16), p("0.0.0.0", 0), p("192.0.2.128", 25)]
        );
    }

    #[test]
    fn refuses_bad() {
        let mut out = Vec::new();
        assert_eq!(
            read(&[33, 1, 2, 3, 4, 5], Family::Ipv4Unicast, &mut out),
            Err(BadNlri)
        );
        assert_eq!(
            read(&[24, 1, 2], Family::Ipv4Unicast, &mut out),
            Err(BadNlri)
        );
        assert_eq!(read(&[129], Family::Ipv6Unicast, &mut out), Err(BadNlri));
        read(&[128; 17], Family::Ipv6Unicast, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn writes() {
        for (s, len) in [
            ("10.1.0.0", 16),
            ("0.0.0.0", 0),
            ("2001:db8::", 33),
            ("::1", 128),
        ] {
            let prefix = p(s, len);
            let mut buf = Vec::new();
            write(&prefix, &mut buf);
            assert_eq!(buf.len(), wire_len(&prefix));
            let mut out = Vec::new();
            read(&buf, family_of(&prefix), &mut out).unwrap();
            assert_eq!(out, vec![prefix]);
        }
    }
}
