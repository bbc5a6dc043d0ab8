//! Address and port translation of IPv4 frames: the rewrite a session's keys call for, with
//! checksums updated incrementally (RFC 1624), and ICMP errors translated inside too.

use savin_session::FlowKey;

use savin_wire::checksum::{self, update};
use savin_wire::ethernet::HEADER_LEN as ETH_HDR;

/// ICMP types that quote the packet they are about.
#[inline]
pub fn is_icmp_error(t: u8) -> bool {
    matches!(t, 3 | 4 | 5 | 11 | 12)
}

/// One's-complement add of a 16-bit change to a checksum field that holds a non-inverted
/// partial sum (a frame whose transport checksum the sender left to offload: the field holds
/// the pseudo-header sum, as Linux's `inet_proto_csum_replace4` treats CHECKSUM_PARTIAL).
#[inline]
fn update_partial(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = u32::from(sum) + u32::from(!old) + u32::from(new);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

#[inline]
fn get16(f: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([f[at], f[at + 1]])
}

#[inline]
fn put16(f: &mut [u8], at: usize, v: u16) {
    f[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Updates the checksum at `at` (if the frame holds it) for a 32-bit value changing.
fn fix32(f: &mut [u8], at: Option<usize>, old: u32, new: u32, partial: bool) {
    let Some(at) = at.filter(|a| a + 2 <= f.len()) else {
        return;
    };
    let mut c = get16(f, at);
    for (o, n) in [(old >> 16, new >> 16), (old & 0xffff, new & 0xffff)] {
        c = if partial {
            update_partial(c, o as u16, n as u16)
        } else {
            update(c, o as u16, n as u16)
        };
    }
    put16(f, at, c);
}

/// Where the transport checksum of the IPv4 packet at `l3` lies, if it has one to keep
/// right: None for non-first fragments and UDP sent without a checksum.
fn l4_checksum_at(f: &[u8], l3: usize, proto: u8, l4: usize) -> Option<usize> {
    if get16(f, l3 + 6) & 0x1fff != 0 {
        return None;
    }
    match proto {
        6 => Some(l4 + 16),
        17 if f.len() >= l4 + 8 && get16(f, l4 + 6) != 0 => Some(l4 + 6),
        1 => Some(l4 + 2),
        _ => None,
    }
}

/// The one's-complement difference of a 32-bit value changing (RFC 1624: `~m + m'` per
/// 16-bit word), unfolded.
#[inline(always)]
fn diff32(old: u32, new: u32) -> u32 {
    u32::from(!(old >> 16) as u16) + (new >> 16) + u32::from(!(old as u16)) + (new & 0xffff)
}

#[inline(always)]
fn diff16(old: u16, new: u16) -> u32 {
    u32::from(!old) + u32::from(new)
}

#[inline(always)]
fn fold(mut s: u32) -> u16 {
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Applies a summed difference to the checksum at `at` (RFC 1624 eqn. 3, once for all the
/// words that changed). `partial`: the field holds a non-inverted pseudo-header sum.
#[inline(always)]
fn apply(f: &mut [u8], at: usize, diff: u32, partial: bool, udp: bool) {
    let c = get16(f, at);
    let n = if partial {
        fold(u32::from(c) + diff)
    } else {
        let n = !fold(u32::from(!c) + diff);
        // UDP sends a computed zero as all ones (RFC 768): zero means "no checksum".
        if udp && n == 0 {
            0xffff
        } else {
            n
        }
    };
    put16(f, at, n);
}

/// Rewrites the IPv4 packet at `l3` from the addresses and ports of `from` to those of `to`
/// (for ICMP echo, the identifier is the port). `partial`: the transport checksum holds a
/// pseudo-header sum for offload (ports are then not in it yet). Each checksum is updated
/// once with the summed difference of every word that changed.
#[inline]
pub fn rewrite_at(f: &mut [u8], l3: usize, from: &FlowKey, to: &FlowKey, partial: bool) {
    let ihl = usize::from(f[l3] & 0x0f) * 4;
    let l4 = l3 + ihl;
    let proto = f[l3 + 9];
    let l4sum = l4_checksum_at(f, l3, proto, l4).filter(|a| a + 2 <= f.len());
    let first = get16(f, l3 + 6) & 0x1fff == 0;
    let mut addrs = 0u32;
    if from.src != to.src {
        f[l3 + 12..l3 + 16].copy_from_slice(&to.src.to_be_bytes());
        addrs += diff32(from.src, to.src);
    }
    if from.dst != to.dst {
        f[l3 + 16..l3 + 20].copy_from_slice(&to.dst.to_be_bytes());
        addrs += diff32(from.dst, to.dst);
    }
    if addrs != 0 {
        apply(f, l3 + 10, addrs, false, false);
    }
    if !first {
        return;
    }
    match proto {
        6 | 17 => {
            let mut l4diff = addrs;
            for (off, old, new) in [(0, from.sport, to.sport), (2, from.dport, to.dport)] {
                if old != new && l4 + off + 2 <= f.len() {
                    put16(f, l4 + off, new);
                    // With offload the ports are summed later, by whoever completes it.
                    if !partial {
                        l4diff += diff16(old, new);
                    }
                }
            }
            if let (Some(at), true) = (l4sum, l4diff != 0) {
                apply(f, at, l4diff, partial, proto == 17);
            }
        }
        // ICMP has no pseudo header: only the echo identifier is in its checksum.
        1 if l4 + 8 <= f.len() && matches!(f[l4], 0 | 8) && from.sport != to.sport => {
            put16(f, l4 + 4, to.sport);
            if let Some(at) = l4sum {
                apply(f, at, diff16(from.sport, to.sport), false, false);
            }
        }
        _ => {}
    }
}

/// [`rewrite_at`] for a frame's own IPv4 header: every packet of a translated session
/// comes here, so the common case (no IP options, not a fragment, TCP or UDP with a
/// checksum, no offload) takes a straight path over a fixed-size view of the headers:
/// about a third of the instructions of the general one, which handles the rest.
#[inline]
pub fn rewrite(f: &mut [u8], from: &FlowKey, to: &FlowKey, partial: bool) {
    if partial || !rewrite_plain(f, from, to) {
        rewrite_at(f, ETH_HDR, from, to, partial)
    }
}

/// The common case of [`rewrite`]; false (nothing written) when the frame is not that case.
#[inline(always)]
fn rewrite_plain(f: &mut [u8], from: &FlowKey, to: &FlowKey) -> bool {
    // IPv4 header and the first 8 bytes of the transport header (the UDP header whole).
    let Some(h) = f.get_mut(ETH_HDR..ETH_HDR + 28) else {
        return false;
    };
    let h: &mut [u8; 28] = h.try_into().expect("28 bytes");
    // No options; fragment offset zero (a first fragment carries the ports, as in
    // rewrite_at).
    if h[0] != 0x45 || h[6] & 0x1f != 0 || h[7] != 0 {
        return false;
    }
    let at = match h[9] {
        6 => ETH_HDR + 20 + 16,
        17 if h[26..28] != [0, 0] => ETH_HDR + 20 + 6,
        _ => return false,
    };
    if at + 2 > f.len() {
        return false;
    }
    let udp = at == ETH_HDR + 26;
    let h: &mut [u8; 28] = (&mut f[ETH_HDR..ETH_HDR + 28])
        .try_into()
        .expect("28 bytes");
    // Only what changed is summed: an unchanged word would add a negative zero, which can
    // flip a checksum between its two encodings (the general path never does).
    let mut addrs = 0u32;
    if from.src != to.src {
        h[12..16].copy_from_slice(&to.src.to_be_bytes());
        addrs += diff32(from.src, to.src);
    }
    if from.dst != to.dst {
        h[16..20].copy_from_slice(&to.dst.to_be_bytes());
        addrs += diff32(from.dst, to.dst);
    }
    if addrs != 0 {
        let ip = u16::from_be_bytes([h[10], h[11]]);
        h[10..12].copy_from_slice(&(!fold(u32::from(!ip) + addrs)).to_be_bytes());
    }
    let mut l4 = addrs;
    if from.sport != to.sport {
        h[20..22].copy_from_slice(&to.sport.to_be_bytes());
        l4 += diff16(from.sport, to.sport);
    }
    if from.dport != to.dport {
        h[22..24].copy_from_slice(&to.dport.to_be_bytes());
        l4 += diff16(from.dport, to.dport);
    }
    if l4 != 0 {
        apply(f, at, l4, false, udp);
    }
    true
}

/// The flow key of the packet an ICMP error quotes (as that packet was sent), if the error
/// quotes enough of it: the IP header and the first 8 bytes after it.
pub fn quoted_key(f: &[u8]) -> Option<FlowKey> {
    let l3 = ETH_HDR;
    let l4 = l3 + usize::from(f[l3] & 0x0f) * 4;
    let inner = l4 + 8;
    let b = f.get(inner..)?;
    if b.len() < 20 || b[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    let q = b.get(ihl..ihl + 8)?;
    let proto = b[9];
    let (sport, dport) = match proto {
        6 | 17 | 132 => (get16(q, 0), get16(q, 2)),
        1 if matches!(q[0], 0 | 8) => (get16(q, 4), get16(q, 4)),
        _ => (0, 0),
    };
    Some(FlowKey {
        src: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
        dst: u32::from_be_bytes([b[16], b[17], b[18], b[19]]),
        sport,
        dport,
        proto,
    })
}

/// Translates an ICMP error: the quoted packet from `quoted` to `to` (its checksums fixed),
/// the outer destination to `dst` and, when the error comes from the quoted packet's
/// destination itself, the outer source to `to.dst`. The ICMP checksum is recomputed
/// (errors are rare and short).
pub fn translate_error(f: &mut [u8], quoted: &FlowKey, to: &FlowKey) {
    let l3 = ETH_HDR;
    let l4 = l3 + usize::from(f[l3] & 0x0f) * 4;
    let inner = l4 + 8;
    let total = (l3 + usize::from(get16(f, l3 + 2))).min(f.len());
    let outer_src = u32::from_be_bytes([f[l3 + 12], f[l3 + 13], f[l3 + 14], f[l3 + 15]]);
    let outer_dst = u32::from_be_bytes([f[l3 + 16], f[l3 + 17], f[l3 + 18], f[l3 + 19]]);
    // The quoted packet was sent from the error's destination.
    let new_src = if outer_src == quoted.dst {
        to.dst
    } else {
        outer_src
    };
    rewrite_at(f, inner, quoted, to, false);
    let outer_from = FlowKey {
        src: outer_src,
        dst: outer_dst,
        ..*quoted
    };
    let outer_to = FlowKey {
        src: new_src,
        dst: to.src,
        ..*quoted
    };
    // Addresses only (and the IP checksum); the ICMP checksum is redone below.
    for (off, old, new) in [
        (12, outer_from.src, outer_to.src),
        (16, outer_from.dst, outer_to.dst),
    ] {
        if old != new {
            f[l3 + off..l3 + off + 4].copy_from_slice(&new.to_be_bytes());
            fix32(f, Some(l3 + 10), old, new, false);
        }
    }
    if l4 + 4 <= total {
        put16(f, l4 + 2, 0);
        let c = checksum::checksum(&f[l4..total]);
        put16(f, l4 + 2, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet + IPv4 + UDP/TCP frame with correct checksums.
    fn frame(k: &FlowKey, payload: &[u8]) -> Vec<u8> {
        let l4len = if k.proto == 6 { 20 } else { 8 } + payload.len();
        let mut f = vec![0u8; 14];
        f[12] = 8;
        let total = 20 + l4len;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            k.proto,
            0,
            0,
        ]);
        f.extend_from_slice(&k.src.to_be_bytes());
        f.extend_from_slice(&k.dst.to_be_bytes());
        let c = checksum::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        let mut l4 = Vec::new();
        l4.extend_from_slice(&k.sport.to_be_bytes());
        l4.extend_from_slice(&k.dport.to_be_bytes());
        if k.proto == 6 {
            l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
        } else {
            l4.extend_from_slice(&(l4len as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        }
        l4.extend_from_slice(payload);
        let at = if k.proto == 6 { 16 } else { 6 };
        let c = l4_sum(k, &l4);
        l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&l4);
        f
    }

    fn l4_sum(k: &FlowKey, l4: &[u8]) -> u16 {
        let mut p = Vec::new();
        p.extend_from_slice(&k.src.to_be_bytes());
        p.extend_from_slice(&k.dst.to_be_bytes());
        p.extend_from_slice(&[0, k.proto]);
        p.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        p.extend_from_slice(l4);
        checksum::checksum(&p)
    }

    fn valid(f: &[u8], k: &FlowKey) -> bool {
        let ip_ok = checksum::sum(&f[14..34]) == 0xffff;
        let mut p = Vec::new();
        p.extend_from_slice(&k.src.to_be_bytes());
        p.extend_from_slice(&k.dst.to_be_bytes());
        p.extend_from_slice(&[0, k.proto]);
        p.extend_from_slice(&((f.len() - 34) as u16).to_be_bytes());
        p.extend_from_slice(&f[34..]);
        ip_ok && checksum::sum(&p) == 0xffff
    }

    proptest::proptest! {
        #[test]
        fn rewriting_keeps_every_checksum_valid(
            a in proptest::array::uniform5(proptest::prelude::any::<u32>()),
            b in proptest::array::uniform5(proptest::prelude::any::<u32>()),
            tcp in proptest::prelude::any::<bool>(),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        ) {
            let proto = if tcp { 6 } else { 17 };
            let from = FlowKey { src: a[0], dst: a[1], sport: a[2] as u16, dport: a[3] as u16, proto };
            let to = FlowKey { src: b[0], dst: b[1], sport: b[2] as u16, dport: b[3] as u16, proto };
            let mut f = frame(&from, &payload);
            proptest::prop_assume!(f[40..42] != [0, 0] || tcp);
            rewrite(&mut f, &from, &to, false);
            proptest::prop_assert!(valid(&f, &to));
            proptest::prop_assert_eq!(&f[34 + 4..], &frame(&to, &payload)[34 + 4..]);
        }
    }

    proptest::proptest! {
        /// The straight path writes exactly what the general one does, and declines what it
        /// does not handle (options, fragments, UDP without a checksum, short frames).
        #[test]
        fn the_common_case_path_matches_the_general_one(
            a in proptest::array::uniform5(proptest::prelude::any::<u32>()),
            b in proptest::array::uniform5(proptest::prelude::any::<u32>()),
            same in proptest::array::uniform4(proptest::prelude::any::<bool>()),
            proto in proptest::sample::select(vec![6u8, 17, 1]),
            payload in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            frag in proptest::sample::select(vec![0u16, 0x2000, 0x0001, 0x4000]),
            udp_zero in proptest::prelude::any::<bool>(),
            cut in 0usize..60,
        ) {
            let from = FlowKey { src: a[0], dst: a[1], sport: a[2] as u16, dport: a[3] as u16, proto };
            let pick = |s: bool, x: u32, y: u32| if s { x } else { y };
            let to = FlowKey {
                src: pick(same[0], a[0], b[0]),
                dst: pick(same[1], a[1], b[1]),
                sport: pick(same[2], a[2], b[2]) as u16,
                dport: pick(same[3], a[3], b[3]) as u16,
                proto,
            };
            let mut f = frame(&FlowKey { proto: if proto == 1 { 17 } else { proto }, ..from }, &payload);
            f[23] = proto;
            f[20..22].copy_from_slice(&frag.to_be_bytes());
            if proto == 17 && udp_zero {
                f[40..42].copy_from_slice(&[0, 0]);
            }
            let c = checksum::checksum(&{ let mut h = f[14..34].to_vec(); h[10] = 0; h[11] = 0; h });
            f[24..26].copy_from_slice(&c.to_be_bytes());
            f.truncate(f.len().saturating_sub(cut).max(14 + 20));
            let mut general = f.clone();
            rewrite_at(&mut general, ETH_HDR, &from, &to, false);
            let mut g = f.clone();
            rewrite(&mut g, &from, &to, false);
            proptest::prop_assert_eq!(&g, &general);
            let mut plain = f.clone();
            if rewrite_plain(&mut plain, &from, &to) {
                proptest::prop_assert_eq!(&plain, &general);
            } else {
                proptest::prop_assert_eq!(&plain, &f, "declined but wrote");
            }
        }
    }

    /// The pseudo-header sum a sender leaves in the checksum field for offload.
    fn partial(k: &FlowKey, l4len: u16) -> u16 {
        let mut p = Vec::new();
        p.extend_from_slice(&k.src.to_be_bytes());
        p.extend_from_slice(&k.dst.to_be_bytes());
        p.extend_from_slice(&[0, k.proto]);
        p.extend_from_slice(&l4len.to_be_bytes());
        checksum::sum(&p)
    }

    proptest::proptest! {
        #[test]
        fn with_offload_the_pseudo_header_sum_follows_the_addresses(
            a in proptest::array::uniform4(proptest::prelude::any::<u32>()),
            b in proptest::array::uniform4(proptest::prelude::any::<u32>()),
        ) {
            let from = FlowKey { src: a[0], dst: a[1], sport: a[2] as u16, dport: a[3] as u16, proto: 6 };
            let to = FlowKey { src: b[0], dst: b[1], sport: b[2] as u16, dport: b[3] as u16, proto: 6 };
            let mut f = frame(&from, b"data");
            let at = 34 + 16;
            f[at..at + 2].copy_from_slice(&partial(&from, 24).to_be_bytes());
            rewrite(&mut f, &from, &to, true);
            let got = u16::from_be_bytes([f[at], f[at + 1]]);
            let want = partial(&to, 24);
            proptest::prop_assert!(got == want || (got == 0xffff && want == 0) || (got == 0 && want == 0xffff));
            proptest::prop_assert_eq!(checksum::sum(&f[14..34]), 0xffff);
        }
    }

    #[test]
    fn an_icmp_echo_identifier_is_translated_with_its_checksum() {
        let mut f = vec![0u8; 14];
        f[12] = 8;
        f.extend_from_slice(&[
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 9,
        ]);
        let c = checksum::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&[8, 0, 0, 0, 0x12, 0x34, 0, 1]);
        let c = checksum::checksum(&f[34..]);
        f[36..38].copy_from_slice(&c.to_be_bytes());
        let from = FlowKey {
            src: 0x0a00_0002,
            dst: 0x0a00_0009,
            sport: 0x1234,
            dport: 0x1234,
            proto: 1,
        };
        let to = FlowKey {
            src: 0xcb00_710a,
            sport: 20000,
            dport: 20000,
            ..from
        };
        rewrite(&mut f, &from, &to, false);
        assert_eq!(u16::from_be_bytes([f[38], f[39]]), 20000);
        assert_eq!(checksum::sum(&f[14..34]), 0xffff);
        assert_eq!(checksum::sum(&f[34..]), 0xffff);
    }

    #[test]
    fn an_icmp_error_is_translated_inside_and_out() {
        // The packet as it left the NAT: 203.0.113.10:2000 -> 198.51.100.2:33434 (UDP).
        let sent = FlowKey {
            src: 0xcb00_710a,
            dst: 0xc633_6402,
            sport: 2000,
            dport: 33434,
            proto: 17,
        };
        let quoted = frame(&sent, b"traceroute");
        // Time exceeded from a router 192.0.2.1 to the NAT address, quoting it.
        let mut f = vec![0u8; 14];
        f[12] = 8;
        let body_len = 8 + quoted.len() - 14;
        let total = 20 + body_len;
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0,
            0,
            64,
            1,
            0,
            0,
        ]);
        f.extend_from_slice(&0xc000_0201u32.to_be_bytes());
        f.extend_from_slice(&sent.src.to_be_bytes());
        let c = checksum::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&[11, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&quoted[14..]);
        let c = checksum::checksum(&f[34..]);
        f[36..38].copy_from_slice(&c.to_be_bytes());
        assert_eq!(quoted_key(&f), Some(sent));
        // Back to what the client sent: 10.0.1.2:40000 -> 198.51.100.2:33434.
        let orig = FlowKey {
            src: 0x0a00_0102,
            sport: 40000,
            ..sent
        };
        translate_error(&mut f, &sent, &orig);
        assert_eq!(quoted_key(&f), Some(orig));
        assert_eq!(
            &f[30..34],
            &orig.src.to_be_bytes(),
            "outer destination is the client"
        );
        assert_eq!(
            &f[26..30],
            &0xc000_0201u32.to_be_bytes(),
            "the router stays the source"
        );
        assert_eq!(checksum::sum(&f[14..34]), 0xffff, "outer IP checksum");
        assert_eq!(checksum::sum(&f[34..]), 0xffff, "ICMP checksum");
        assert_eq!(checksum::sum(&f[42..62]), 0xffff, "quoted IP checksum");
        assert!(
            valid(&[&f[..14], &f[42..]].concat(), &orig),
            "quoted UDP checksum"
        );
    }
}
