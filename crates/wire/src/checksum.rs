//! The Internet checksum (RFC 1071) in one place: sums, folding, the incremental update of
//! RFC 1624 for rewritten fields, and the completion of transport checksums that a sending
//! kernel left to "hardware" (a frame from a local stack over a veth arrives with its TCP/UDP
//! checksum not computed; a router that forwards it must fill it, or the receiver drops it).
//! Small functions are `#[inline]`: the data plane calls them per packet from another crate.

/// The one's-complement sum of `data` folded to 16 bits (not inverted).
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let mut s: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        s += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        s += u32::from(*last) << 8;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// The checksum field value for `data` whose checksum field is zero.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word changes from `old` to `new`.
#[inline]
pub fn update(check: u16, old: u16, new: u16) -> u16 {
    let mut s = u32::from(!check) + u32::from(!old) + u32::from(new);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// Adds `data` as big-endian 16-bit words (odd byte padded) to `acc`, unfolded.
#[inline]
pub fn add(mut acc: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

/// Folds a sum to 16 bits and complements it: the Internet checksum (RFC 1071).
#[inline]
pub fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Computes and writes the TCP or UDP checksum of an Ethernet frame (IPv4 or IPv6, behind
/// any 802.1Q tags). Frames of other protocols, fragments and malformed frames are left as
/// they are.
pub fn complete_l4_checksum(frame: &mut [u8]) {
    let mut l3 = 12;
    let mut ethertype = match frame.get(12..14) {
        Some(t) => u16::from_be_bytes([t[0], t[1]]),
        None => return,
    };
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        l3 += 4;
        ethertype = match frame.get(l3..l3 + 2) {
            Some(t) => u16::from_be_bytes([t[0], t[1]]),
            None => return,
        };
    }
    l3 += 2;
    let (proto, l4, end, pseudo) = match ethertype {
        0x0800 => {
            let Some(ip) = frame.get(l3..l3 + 20) else {
                return;
            };
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 || ihl < 20 || total < ihl {
                return;
            }
            let end = l3 + total;
            if end > frame.len() {
                return;
            }
            let l4_len = (total - ihl) as u32;
            let pseudo = add(0, &frame[l3 + 12..l3 + 20]) + u32::from(ip[9]) + l4_len;
            (frame[l3 + 9], l3 + ihl, end, pseudo)
        }
        0x86dd => {
            let Some(ip) = frame.get(l3..l3 + 40) else {
                return;
            };
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            let end = l3 + 40 + plen;
            if end > frame.len() {
                return;
            }
            let pseudo = add(0, &frame[l3 + 8..l3 + 40]) + u32::from(ip[6]) + plen as u32;
            (frame[l3 + 6], l3 + 40, end, pseudo)
        }
        _ => return,
    };
    let at = match proto {
        6 if end >= l4 + 20 => l4 + 16,
        17 if end >= l4 + 8 => l4 + 6,
        _ => return,
    };
    frame[at..at + 2].copy_from_slice(&[0, 0]);
    let mut c = fold(add(pseudo, &frame[l4..end]));
    if proto == 17 && c == 0 {
        c = 0xffff; // UDP: zero means "no checksum"
    }
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod rfc_tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 0001 f203 f4f5 f6f7 sums to ddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    proptest! {
        #[test]
        fn incremental_update_equals_recomputing(mut hdr in prop::array::uniform20(any::<u8>()), word in 0usize..10, new in any::<u16>()) {
            hdr[10] = 0;
            hdr[11] = 0;
            let c = checksum(&hdr);
            hdr[10..12].copy_from_slice(&c.to_be_bytes());
            if word == 5 { return Ok(()); } // the checksum field itself
            let old = u16::from_be_bytes([hdr[2 * word], hdr[2 * word + 1]]);
            hdr[2 * word..2 * word + 2].copy_from_slice(&new.to_be_bytes());
            let inc = update(c, old, new);
            hdr[10] = 0;
            hdr[11] = 0;
            let full = checksum(&hdr);
            // 0x0000 and 0xffff are the same value in one's complement.
            prop_assert!(inc == full || (inc == 0xffff && full == 0) || (inc == 0 && full == 0xffff), "{inc:#x} vs {full:#x}");
        }
    }
}

#[cfg(test)]
mod completion_tests {
    use super::*;

    /// Sum over pseudo header and segment of a correct packet folds to zero.
    fn verify_v4(f: &[u8]) -> bool {
        let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
        let pseudo = add(0, &f[26..34]) + u32::from(f[23]) + (total - 20) as u32;
        fold(add(pseudo, &f[34..14 + total])) == 0
    }

    fn udp_v4(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        let total = (28 + payload.len()) as u16;
        f[16..18].copy_from_slice(&total.to_be_bytes());
        f[22] = 64;
        f[23] = 17;
        f[26..30].copy_from_slice(&[10, 0, 1, 2]);
        f[30..34].copy_from_slice(&[10, 0, 2, 2]);
        f[34..36].copy_from_slice(&1000u16.to_be_bytes());
        f[36..38].copy_from_slice(&2000u16.to_be_bytes());
        f[38..40].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f[40..42].copy_from_slice(&[0x12, 0x34]); // a partial (pseudo-header) sum, say
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn udp_and_tcp_over_ipv4_get_valid_checksums() {
        for payload in [&b"hello"[..], &b"even"[..], &[0xff; 1001][..]] {
            let mut f = udp_v4(payload);
            assert!(!verify_v4(&f));
            complete_l4_checksum(&mut f);
            assert!(verify_v4(&f), "UDP {} bytes", payload.len());
            let mut t = udp_v4(payload);
            t[23] = 6;
            t.splice(42..42, [0u8; 12]);
            let total = u16::from_be_bytes([t[16], t[17]]) + 12;
            t[16..18].copy_from_slice(&total.to_be_bytes());
            complete_l4_checksum(&mut t);
            assert!(verify_v4(&t), "TCP {} bytes", payload.len());
        }
    }

    #[test]
    fn fragments_other_protocols_and_junk_are_left_alone() {
        let mut f = udp_v4(b"x");
        f[20] = 0x20; // MF
        let before = f.clone();
        complete_l4_checksum(&mut f);
        assert_eq!(f, before);
        for n in 0..before.len() {
            let mut short = before[..n].to_vec();
            complete_l4_checksum(&mut short); // never panics
        }
        let mut arp = vec![0u8; 60];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let before = arp.clone();
        complete_l4_checksum(&mut arp);
        assert_eq!(arp, before);
    }
}
