//! ICMP messages checked byte for byte, and by a real parser of our own making no assumption:
//! every checksum verifies and every field is where RFC 792 puts it.

use std::net::Ipv4Addr;

use savin_dataplane::checksum;
use savin_dataplane::ipv4::{check, test_frame};
use savin_wire::icmp;

fn echo_request() -> Vec<u8> {
    let mut f = test_frame([192, 0, 2, 7], [10, 0, 0, 1], 61, 74);
    // Make it ICMP echo: protocol 1, type 8, id 0x1234, seq 1, payload, checksums.
    f[14 + 9] = 1;
    f[14 + 10] = 0;
    f[14 + 11] = 0;
    let c = checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    let l4 = 34;
    f[l4..l4 + 8].copy_from_slice(&[8, 0, 0, 0, 0x12, 0x34, 0, 1]);
    for (i, b) in f[l4 + 8..].iter_mut().enumerate() {
        *b = i as u8;
    }
    let c = checksum::checksum(&f[l4..]);
    f[l4 + 2..l4 + 4].copy_from_slice(&c.to_be_bytes());
    f
}

#[test]
fn an_echo_request_becomes_a_valid_reply_in_place() {
    let req = echo_request();
    let mut f = req.clone();
    assert!(icmp::echo_reply_in_place(&mut f));
    assert_eq!(f[..6], req[6..12]);
    assert_eq!(f[6..12], req[..6]);
    assert_eq!(f[26..30], req[30..34], "source is the old destination");
    assert_eq!(f[30..34], req[26..30]);
    assert_eq!(f[34], 0, "echo reply");
    assert_eq!(f[38..], req[38..], "id, sequence and data echoed");
    assert!(check(&f, 14).is_ok(), "IPv4 header checksum valid");
    assert_eq!(checksum::sum(&f[34..]), 0xffff, "ICMP checksum valid");
    // Not an echo request: untouched.
    let mut udp = test_frame([192, 0, 2, 7], [10, 0, 0, 1], 64, 64);
    let before = udp.clone();
    assert!(!icmp::echo_reply_in_place(&mut udp));
    assert_eq!(udp, before);
}

#[test]
fn time_exceeded_quotes_as_much_of_the_packet_as_fits_576_bytes() {
    let orig = test_frame([192, 0, 2, 7], [203, 0, 113, 9], 1, 200);
    assert!(icmp::may_send_error_about(&orig));
    let e = icmp::error(&orig, icmp::TIME_EXCEEDED, 0, Ipv4Addr::new(10, 0, 0, 1), 0);
    assert!(check(&e, 14).is_ok());
    assert_eq!(e[26..30], [10, 0, 0, 1], "from the router");
    assert_eq!(e[30..34], [192, 0, 2, 7], "to the source");
    assert_eq!(e[14 + 9], 1);
    assert_eq!((e[34], e[35]), (11, 0));
    assert_eq!(checksum::sum(&e[34..]), 0xffff);
    assert_eq!(e[42..], orig[14..], "a 186-byte packet is quoted whole");
    let big = test_frame([192, 0, 2, 7], [203, 0, 113, 9], 1, 1514);
    let e = icmp::error(&big, icmp::TIME_EXCEEDED, 0, Ipv4Addr::new(10, 0, 0, 1), 0);
    assert_eq!(
        e.len() - 14,
        576,
        "RFC 1812: the error stays within 576 bytes"
    );
    assert_eq!(e[42..], big[14..14 + 548]);
    assert!(check(&e, 14).is_ok());
    let frag = icmp::error(
        &orig,
        icmp::DEST_UNREACHABLE,
        icmp::unreachable::FRAGMENTATION_NEEDED,
        Ipv4Addr::new(10, 0, 0, 1),
        1400,
    );
    assert_eq!(frag[40..42], 1400u16.to_be_bytes(), "next-hop MTU");
}

#[test]
fn no_error_about_errors_fragments_or_broadcast_sources() {
    let orig = test_frame([192, 0, 2, 7], [203, 0, 113, 9], 1, 200);
    let e = icmp::error(&orig, icmp::TIME_EXCEEDED, 0, Ipv4Addr::new(10, 0, 0, 1), 0);
    assert!(!icmp::may_send_error_about(&e), "an ICMP error");
    let mut frag = orig.clone();
    frag[14 + 7] = 10; // fragment offset 80
    assert!(!icmp::may_send_error_about(&frag));
    let bcast = test_frame([255, 255, 255, 255], [10, 0, 0, 1], 1, 64);
    assert!(!icmp::may_send_error_about(&bcast));
    assert!(
        icmp::may_send_error_about(&echo_request()),
        "an echo request may get an error"
    );
}
