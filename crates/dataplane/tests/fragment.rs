//! IPv4 fragmentation (RFC 791): fragments fit the MTU, carry the right offsets and flags,
//! have valid checksums, and reassemble to the original.

use proptest::prelude::*;
use savin_dataplane::ipv4::{check, test_frame, ETH_HDR};
use savin_wire::ipv4::fragment;

/// Reassembles fragments (in any order) into the original IP payload.
fn reassemble(frags: &[Vec<u8>]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut parts: Vec<(usize, &[u8], bool)> = frags
        .iter()
        .map(|f| {
            let ip = &f[ETH_HDR..];
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let fo = u16::from_be_bytes([ip[6], ip[7]]);
            (
                usize::from(fo & 0x1fff) * 8,
                &ip[ihl..total],
                fo & 0x2000 != 0,
            )
        })
        .collect();
    parts.sort_by_key(|p| p.0);
    for (off, d, _) in &parts {
        assert_eq!(*off, data.len(), "fragments are contiguous");
        data.extend_from_slice(d);
    }
    assert!(!parts.last().unwrap().2, "the last fragment has MF clear");
    assert!(
        parts[..parts.len() - 1].iter().all(|p| p.2),
        "the others MF set"
    );
    data
}

#[test]
fn a_1500_byte_packet_splits_for_a_1280_mtu() {
    let f = test_frame([10, 0, 1, 2], [10, 0, 2, 2], 63, ETH_HDR + 1500);
    let frags = fragment(&f, 1280);
    assert_eq!(frags.len(), 2);
    assert_eq!(
        frags[0].len() - ETH_HDR,
        20 + 1256,
        "data a multiple of 8 within 1280"
    );
    assert_eq!(frags[1].len() - ETH_HDR, 20 + (1480 - 1256));
    for fr in &frags {
        assert!(check(fr, ETH_HDR).is_ok(), "valid header checksum");
        assert_eq!(fr[..14], f[..14], "Ethernet header kept");
        assert_eq!(
            fr[ETH_HDR + 4..ETH_HDR + 6],
            f[ETH_HDR + 4..ETH_HDR + 6],
            "same ID"
        );
    }
    assert_eq!(reassemble(&frags), f[ETH_HDR + 20..]);
}

#[test]
fn only_copied_options_repeat_and_headers_stay_aligned() {
    // A header with a record-route option (not copied, 7 bytes) and a copied option (type
    // 0x94 router alert, 4 bytes), plus end-of-list padding: IHL 8.
    let mut f = test_frame([10, 0, 1, 2], [10, 0, 2, 2], 63, ETH_HDR + 20 + 1000);
    let opts = [7u8, 7, 4, 0, 0, 0, 0, 0x94, 4, 0, 0, 0];
    f.splice(ETH_HDR + 20..ETH_HDR + 20, opts);
    f[ETH_HDR] = 0x48;
    let total = (f.len() - ETH_HDR) as u16;
    f[ETH_HDR + 2..ETH_HDR + 4].copy_from_slice(&total.to_be_bytes());
    f[ETH_HDR + 10..ETH_HDR + 12].copy_from_slice(&[0, 0]);
    let c = savin_dataplane::checksum::checksum(&f[ETH_HDR..ETH_HDR + 32]);
    f[ETH_HDR + 10..ETH_HDR + 12].copy_from_slice(&c.to_be_bytes());
    assert!(check(&f, ETH_HDR).is_ok());
    let frags = fragment(&f, 576);
    assert!(frags.len() >= 2);
    assert_eq!(
        frags[0][ETH_HDR] & 0x0f,
        8,
        "first fragment keeps every option"
    );
    for fr in &frags[1..] {
        assert_eq!(fr[ETH_HDR] & 0x0f, 6, "later ones: 20 + router alert 4");
        assert_eq!(fr[ETH_HDR + 20..ETH_HDR + 24], [0x94, 4, 0, 0]);
    }
    for fr in &frags {
        assert!(check(fr, ETH_HDR).is_ok());
        assert!(fr.len() - ETH_HDR <= 576);
    }
    assert_eq!(reassemble(&frags), f[ETH_HDR + 32..]);
}

#[test]
fn an_mtu_without_room_for_data_gives_nothing() {
    let f = test_frame([10, 0, 1, 2], [10, 0, 2, 2], 63, 200);
    assert!(fragment(&f, 27).is_empty());
    assert!(fragment(&f[..20], 1280).is_empty(), "truncated input");
}

proptest! {
    #[test]
    fn fragments_always_fit_and_reassemble(len in 48usize..4000, mtu in 68u16..2000) {
        let f = test_frame([10, 0, 1, 2], [10, 0, 2, 2], 63, ETH_HDR + len);
        let frags = fragment(&f, mtu);
        prop_assert!(!frags.is_empty());
        for fr in &frags {
            prop_assert!(fr.len() - ETH_HDR <= usize::from(mtu));
            prop_assert!(check(fr, ETH_HDR).is_ok());
        }
        prop_assert_eq!(reassemble(&frags), f[ETH_HDR + 20..].to_vec());
    }
}
