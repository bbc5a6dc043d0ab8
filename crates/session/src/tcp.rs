//! What TCP tracking needs from a segment, and the sequence-window check.
//!
//! The window check follows Guido van Rooij's "Real Stateful TCP Packet Filtering in IP
//! Filter" (2000), as Linux conntrack and pf implement it: data must lie within what the
//! receiver has advertised, must not be older than the receiver's largest window behind what
//! the sender has sent, and acknowledgements must not run ahead of what the other side sent.

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const ACK: u8 = 0x10;

/// The fields of a TCP segment that tracking reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpSeg {
    pub flags: u8,
    pub seq: u32,
    pub ack: u32,
    /// The window field as sent (unscaled).
    pub win: u16,
    /// The window-scale option, on SYN segments that carry it.
    pub wscale: Option<u8>,
    /// Payload bytes.
    pub len: u32,
}

impl TcpSeg {
    /// Reads a TCP header (`l4` starts at it; `payload` is the payload length the IP header
    /// gives). None if it is too short or its data offset is impossible. Inlined: called once
    /// per packet, and a segment returned through memory was read back in wider pieces than
    /// it was written (a store-forwarding stall per packet, seen in profiles).
    #[inline]
    pub fn parse(l4: &[u8], payload: u32) -> Option<TcpSeg> {
        if l4.len() < 20 {
            return None;
        }
        let hlen = usize::from(l4[12] >> 4) * 4;
        if hlen < 20 || hlen > l4.len() {
            return None;
        }
        let u32_at = |i: usize| u32::from_be_bytes([l4[i], l4[i + 1], l4[i + 2], l4[i + 3]]);
        let flags = l4[13];
        let mut wscale = None;
        if flags & SYN != 0 {
            let mut o = &l4[20..hlen];
            while let Some(&kind) = o.first() {
                match kind {
                    0 => break,
                    1 => o = &o[1..],
                    _ => {
                        let Some(&len) = o.get(1) else { break };
                        let len = usize::from(len);
                        if len < 2 || len > o.len() {
                            break;
                        }
                        if kind == 3 && len == 3 {
                            wscale = Some(o[2].min(14));
                        }
                        o = &o[len..];
                    }
                }
            }
        }
        Some(TcpSeg {
            flags,
            seq: u32_at(4),
            ack: u32_at(8),
            win: u16::from_be_bytes([l4[14], l4[15]]),
            wscale,
            len: payload.saturating_sub(hlen as u32),
        })
    }

    /// Sequence space the segment takes: payload, plus one each for SYN and FIN.
    pub fn end(&self) -> u32 {
        self.seq
            .wrapping_add(self.len)
            .wrapping_add(u32::from(self.flags & SYN != 0))
            .wrapping_add(u32::from(self.flags & FIN != 0))
    }
}

#[inline]
pub(crate) fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[inline]
pub(crate) fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// One direction's view: what it has sent and what the other side let it send.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Peer {
    /// Highest sequence number sent, plus one.
    pub end: u32,
    /// Highest sequence number the other side has allowed (its ack plus its window).
    pub maxend: u32,
    /// Largest window this side has advertised (scaled).
    pub maxwin: u32,
    pub scale: u8,
    /// Seen a packet from this side.
    pub seen: bool,
    /// Sent the window-scale option on its SYN.
    pub wscale_ok: bool,
    /// Its first segment was a SYN.
    pub syn: bool,
}

/// Checks `s` from `sender` to `receiver` against the window and updates both. False: the
/// segment lies outside the window and must be dropped (nothing is updated then, not even
/// by a side's first segment: see [`first_segment`]).
#[inline(always)]
pub(crate) fn in_window(sender: &mut Peer, receiver: &mut Peer, s: &TcpSeg) -> bool {
    if !sender.seen {
        return first_segment(sender, receiver, s);
    }
    let win = if s.flags & SYN != 0 {
        u32::from(s.win)
    } else {
        u32::from(s.win) << sender.scale
    };
    check_and_update(sender, receiver, s, win)
}

/// A side's first segment: it sets that side's view, so it is checked on copies and kept
/// only if it passes. The answer to a SYN is a SYN-ACK, or a RST refusing it; anything else
/// is not this connection's (a server's late FIN of the previous connection on a reused
/// tuple, say) and, taken as the responder's first view, would leave every SYN-ACK after it
/// out of window.
#[cold]
#[inline(never)]
fn first_segment(sender: &mut Peer, receiver: &mut Peer, s: &TcpSeg) -> bool {
    let (mut snd, mut rcv) = (*sender, *receiver);
    let syn = s.flags & SYN != 0;
    if rcv.syn && s.flags & (SYN | RST) == 0 {
        return false;
    }
    let win = u32::from(s.win); // a SYN's window is never scaled; before one, no scale is known
    let end = s.end();
    snd.seen = true;
    snd.end = end;
    snd.maxend = end;
    snd.maxwin = win.max(1);
    if syn {
        snd.syn = true;
        snd.wscale_ok = s.wscale.is_some();
        snd.scale = s.wscale.unwrap_or(0);
    }
    if syn && s.flags & ACK != 0 {
        // The SYN-ACK settles scaling: both sides must have offered it.
        if !(snd.wscale_ok && rcv.wscale_ok) {
            snd.scale = 0;
            rcv.scale = 0;
        }
    }
    if !check_and_update(&mut snd, &mut rcv, s, win) {
        return false;
    }
    *sender = snd;
    *receiver = rcv;
    true
}

/// The window check proper, for a side already seen; updates both views when it passes.
#[inline(always)]
fn check_and_update(sender: &mut Peer, receiver: &mut Peer, s: &TcpSeg, win: u32) -> bool {
    let end = s.end();
    let ack = if s.flags & ACK != 0 {
        s.ack
    } else {
        receiver.end
    };
    let max_ack_window = if sender.maxwin == 0 {
        66_000
    } else {
        sender.maxwin
    };
    let acked_ok = !receiver.seen
        || s.flags & ACK == 0
        || (before(ack, receiver.end.wrapping_add(1))
            && after(
                ack,
                receiver.end.wrapping_sub(max_ack_window).wrapping_sub(1),
            ));
    let ok = before(s.seq, sender.maxend.wrapping_add(1))
        && after(
            end,
            sender.end.wrapping_sub(receiver.maxwin).wrapping_sub(1),
        )
        && acked_ok;
    if !ok {
        return false;
    }
    if after(end, sender.end) {
        sender.end = end;
    }
    if sender.maxwin < win {
        sender.maxwin = win;
    }
    let edge = ack.wrapping_add(win.max(1));
    if after(edge, receiver.maxend.wrapping_sub(1)) || !receiver.seen {
        receiver.maxend = edge;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_linux_syn_with_its_window_scale_and_refuses_bad_offsets() {
        // 40-byte header: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
        let mut h = vec![
            0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0, 0, 0, 0, 0xa0, 0x02, 0xfa, 0xf0, 0,
            0, 0, 0,
        ];
        h.extend([
            2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ]);
        let s = TcpSeg::parse(&h, 40).unwrap();
        assert_eq!(
            (s.flags, s.seq, s.win, s.wscale, s.len),
            (SYN, 1000, 64240, Some(7), 0)
        );
        assert_eq!(s.end(), 1001);
        assert_eq!(TcpSeg::parse(&h, 140).unwrap().len, 100);
        h[12] = 0xf0; // 60-byte header in 40 bytes
        assert_eq!(TcpSeg::parse(&h, 40), None);
        h[12] = 0x40; // 16 bytes: impossible
        assert_eq!(TcpSeg::parse(&h, 40), None);
        assert_eq!(TcpSeg::parse(&h[..19], 19), None);
        // A truncated option list ends the walk without a panic.
        h[12] = 0x60;
        h[20..24].copy_from_slice(&[3, 9, 7, 1]);
        assert_eq!(TcpSeg::parse(&h, 40).unwrap().wscale, None);
    }
}
