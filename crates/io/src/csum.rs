//! Completing transport checksums that the sending kernel left to "hardware".
//!
//! A frame that a local stack sent over a veth (or any virtual device) may arrive with its
//! TCP/UDP checksum not yet computed (AF_PACKET flags it `TP_STATUS_CSUMNOTREADY`): on the wire
//! the NIC would have filled it. A router that forwards such a frame must fill it, or the
//! receiver drops it. Only such frames pay for this; frames from real NICs never do.

/// Adds `data` as big-endian 16-bit words (odd byte padded) to `acc`, unfolded.
pub fn sum(mut acc: u32, data: &[u8]) -> u32 {
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
            let pseudo = sum(0, &frame[l3 + 12..l3 + 20]) + u32::from(ip[9]) + l4_len;
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
            let pseudo = sum(0, &frame[l3 + 8..l3 + 40]) + u32::from(ip[6]) + plen as u32;
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
    let mut c = fold(sum(pseudo, &frame[l4..end]));
    if proto == 17 && c == 0 {
        c = 0xffff; // UDP: zero means "no checksum"
    }
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sum over pseudo header and segment of a correct packet folds to zero.
    fn verify_v4(f: &[u8]) -> bool {
        let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
        let pseudo = sum(0, &f[26..34]) + u32::from(f[23]) + (total - 20) as u32;
        fold(sum(pseudo, &f[34..14 + total])) == 0
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
