//! The views check once and then never panic; the builders make what RFC 9293 and RFC 791
//! say, checked by field and by checksum.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use savin_wire::checksum::{add, fold};
use savin_wire::{ethernet, ipv4, ipv6, tcp, Truncated};

/// An Ethernet frame with an IPv4 TCP segment: `flags`, sequence 1000, acknowledgment 2000,
/// `data` bytes of payload.
fn tcp_frame(flags: u8, data: usize) -> Vec<u8> {
    let total = 20 + 20 + data;
    let mut f = vec![0u8; 14 + total];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[12..14].copy_from_slice(&ethernet::IPV4.to_be_bytes());
    let ip = &mut f[14..];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&[192, 0, 2, 1]);
    ip[16..20].copy_from_slice(&[198, 51, 100, 7]);
    let t = &mut ip[20..];
    t[0..2].copy_from_slice(&40000u16.to_be_bytes());
    t[2..4].copy_from_slice(&22u16.to_be_bytes());
    t[4..8].copy_from_slice(&1000u32.to_be_bytes());
    t[8..12].copy_from_slice(&2000u32.to_be_bytes());
    t[12] = 0x50;
    t[13] = flags;
    let mut p = ipv4::Packet::new_checked(&mut f[14..]).unwrap();
    p.fill_checksum();
    f
}

#[test]
fn an_ipv4_view_reads_the_fields_and_refuses_headers_that_lie() {
    let f = tcp_frame(tcp::SYN, 10);
    let eth = ethernet::Frame::new_checked(&f[..]).unwrap();
    assert_eq!(eth.ethertype(), ethernet::IPV4);
    assert_eq!(eth.source(), [2, 0, 0, 0, 0, 2]);
    let p = ipv4::Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(p.header_len(), 20);
    assert_eq!(p.total_len(), 50);
    assert_eq!(p.protocol(), 6);
    assert_eq!(p.ttl(), 64);
    assert_eq!(p.source(), Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(p.destination(), Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!(p.payload().len(), 30);
    assert!(p.checksum_ok());

    assert_eq!(
        ethernet::Frame::new_checked(&f[..13]).err(),
        Some(Truncated)
    );
    // A total length past the buffer: refused whole, accepted as a quote (cut to what is).
    let cut = &f[14..40];
    assert!(ipv4::Packet::new_checked(cut).is_err());
    let q = ipv4::Packet::new_quoted(cut).unwrap();
    assert_eq!((q.total_len(), q.payload().len()), (50, 6));
    // A header length below 20 or beyond the buffer, and version 6: refused.
    let mut bad = f[14..].to_vec();
    bad[0] = 0x44;
    assert!(ipv4::Packet::new_quoted(&bad[..]).is_err());
    bad[0] = 0x4f;
    assert!(ipv4::Packet::new_quoted(&bad[..40]).is_err());
    bad[0] = 0x65;
    assert!(ipv4::Packet::new_quoted(&bad[..]).is_err());
}

#[test]
fn an_ipv6_view_refuses_a_payload_length_past_the_buffer() {
    let mut p = [0u8; 48];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&8u16.to_be_bytes());
    p[6] = 58;
    p[7] = 255;
    p[23] = 1;
    p[24] = 0xff;
    p[25] = 0x02;
    p[39] = 1;
    let v = ipv6::Packet::new_checked(&p[..]).unwrap();
    assert_eq!(
        (v.next_header(), v.hop_limit(), v.payload().len()),
        (58, 255, 8)
    );
    assert_eq!(v.source().to_string(), "::1");
    assert_eq!(v.destination().to_string(), "ff02::1");
    assert!(ipv6::Packet::new_checked(&p[..47]).is_err());
    assert_eq!(
        ipv6::Packet::new_quoted(&p[..44]).unwrap().payload().len(),
        4
    );
    assert!(ipv6::Packet::new_quoted(&p[..39]).is_err());
}

fn tcp_checksum_ok(r: &[u8]) -> bool {
    let pseudo = add(add(0, &r[26..34]), &[0, 6, 0, 20]);
    fold(add(pseudo, &r[34..54])) == 0
}

#[test]
fn a_reset_answers_a_syn_with_rst_ack_and_a_segment_with_its_acknowledgment() {
    // A SYN with 10 bytes: RST+ACK, acknowledging 1000 + 10 + 1 (the SYN), sequence 0.
    let r = tcp::reset(&tcp_frame(tcp::SYN, 10)).unwrap();
    assert_eq!(r.len(), 54);
    assert_eq!(
        (&r[..6], &r[6..12]),
        (&[2, 0, 0, 0, 0, 2][..], &[2, 0, 0, 0, 0, 1][..])
    );
    let ip = ipv4::Packet::new_checked(&r[14..]).unwrap();
    assert!(ip.checksum_ok());
    assert_eq!(ip.source(), Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!(ip.destination(), Ipv4Addr::new(192, 0, 2, 1));
    let t = ip.payload();
    assert_eq!(u16::from_be_bytes([t[0], t[1]]), 22);
    assert_eq!(u16::from_be_bytes([t[2], t[3]]), 40000);
    assert_eq!(&t[4..8], &0u32.to_be_bytes());
    assert_eq!(&t[8..12], &1011u32.to_be_bytes());
    assert_eq!(t[13], tcp::RST | tcp::ACK);
    assert!(tcp_checksum_ok(&r));
    // A segment with ACK: RST with its acknowledgment as the sequence.
    let r = tcp::reset(&tcp_frame(tcp::ACK, 0)).unwrap();
    assert_eq!(&r[38..42], &2000u32.to_be_bytes());
    assert_eq!(r[47], tcp::RST);
    assert!(tcp_checksum_ok(&r));
    // From a quote cut after the TCP header: the same answer.
    let whole = tcp_frame(tcp::SYN | tcp::FIN, 500);
    assert_eq!(tcp::reset(&whole[..54]), tcp::reset(&whole));
    // Never a RST for a RST, nor for a later fragment.
    assert_eq!(tcp::reset(&tcp_frame(tcp::RST, 0)), None);
    let mut frag = tcp_frame(tcp::SYN, 0);
    frag[20..22].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(tcp::reset(&frag), None);
}

proptest! {
    /// Whatever the bytes, a view that accepted them answers every accessor without a panic,
    /// and the builders that read frames return nothing rather than panic.
    #[test]
    fn views_and_builders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(e) = ethernet::Frame::new_checked(&bytes[..]) {
            let _ = (e.destination(), e.source(), e.ethertype(), e.is_group(), e.payload().len());
        }
        for at in [0, 14] {
            let b = bytes.get(at..).unwrap_or_default();
            for v in [ipv4::Packet::new_checked(b), ipv4::Packet::new_quoted(b)].into_iter().flatten() {
                let _ = (v.header_len(), v.total_len(), v.fragment_offset(), v.ttl(), v.protocol());
                let _ = (v.source(), v.destination(), v.header().len(), v.payload().len(), v.checksum_ok());
            }
            for v in [ipv6::Packet::new_checked(b), ipv6::Packet::new_quoted(b)].into_iter().flatten() {
                let _ = (v.payload_len(), v.next_header(), v.hop_limit(), v.source(), v.destination());
                let _ = v.payload().len();
            }
        }
        let _ = tcp::reset(&bytes);
        for f in ipv4::fragment(&bytes, 68) {
            prop_assert!(f.len() <= 14 + 68);
            let p = ipv4::Packet::new_checked(&f[14..]);
            prop_assert!(p.is_ok_and(|p| p.checksum_ok()));
        }
    }
}

#[test]
fn a_fragment_is_not_cut_past_the_16_bit_offset_space() {
    // A non-final fragment claiming offset 65528 with 100 bytes: its pieces would carry into
    // the flag bits; nothing is made of it.
    let mut f = tcp_frame(tcp::ACK, 80);
    let off: u16 = 65528 / 8;
    f[20..22].copy_from_slice(&(ipv4::MORE_FRAGMENTS | off).to_be_bytes());
    let mut p = ipv4::Packet::new_checked(&mut f[14..]).unwrap();
    p.fill_checksum();
    assert!(ipv4::fragment(&f, 68).is_empty());
    // One in range is cut as usual.
    let f = tcp_frame(tcp::ACK, 80);
    assert_eq!(ipv4::fragment(&f, 68).len(), 3);
}
