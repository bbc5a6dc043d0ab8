//! Link events from the kernel (rtnetlink, RTMGRP_LINK): a netdev added, removed, or its
//! carrier changed. Only "something changed" is taken from them; what changed is then read
//! from sysfs, so a message we cannot parse costs nothing but a look.

use std::os::fd::{AsFd, OwnedFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, recv, socket, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType,
};

/// The rtnetlink multicast group of link messages.
const RTMGRP_LINK: u32 = 1;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;

pub(crate) struct LinkEvents {
    fd: OwnedFd,
}

impl LinkEvents {
    /// A socket subscribed to link events; None where netlink is not available.
    pub fn open() -> Option<LinkEvents> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkRoute,
        )
        .ok()?;
        bind(
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            &NetlinkAddr::new(0, RTMGRP_LINK),
        )
        .ok()?;
        Some(LinkEvents { fd })
    }

    /// Waits up to `timeout_ms` for link events and reads all that are queued; true if one
    /// of them was a link added, changed or removed.
    pub fn wait(&self, timeout_ms: u16) -> bool {
        let mut fds = [PollFd::new(self.fd.as_fd(), PollFlags::POLLIN)];
        if timeout_ms > 0
            && !matches!(poll(&mut fds, PollTimeout::from(timeout_ms)), Ok(n) if n > 0)
        {
            return false;
        }
        let mut buf = [0u8; 8192];
        let mut seen = false;
        let raw = std::os::fd::AsRawFd::as_raw_fd(&self.fd);
        // Bounded: a storm of events is drained a few hundred messages at a time.
        for _ in 0..256 {
            match recv(raw, &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) if n > 0 => seen |= has_link_message(&buf[..n]),
                // Overrun (ENOBUFS) lost events: say something changed, sysfs tells what.
                Err(nix::errno::Errno::ENOBUFS) => seen = true,
                _ => break,
            }
        }
        seen
    }
}

/// Whether a datagram holds an RTM_NEWLINK or RTM_DELLINK message (walks the headers,
/// stops at anything malformed).
fn has_link_message(mut b: &[u8]) -> bool {
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        let ty = u16::from_ne_bytes([b[4], b[5]]);
        if ty == RTM_NEWLINK || ty == RTM_DELLINK {
            return true;
        }
        // Messages are 4-byte aligned.
        let step = (len + 3) & !3;
        if len < 16 || step > b.len() {
            return false;
        }
        b = &b[step..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of `size` bytes whose header says `len` (they differ for malformed ones).
    fn msg_sized(ty: u16, len: u32, size: usize) -> Vec<u8> {
        let mut m = vec![0u8; size];
        m[..4].copy_from_slice(&len.to_ne_bytes());
        m[4..6].copy_from_slice(&ty.to_ne_bytes());
        m
    }

    fn msg(ty: u16, len: u32) -> Vec<u8> {
        msg_sized(ty, len, len as usize)
    }

    #[test]
    fn link_messages_are_found_after_others_and_malformed_headers_stop_the_walk() {
        assert!(has_link_message(&msg(RTM_NEWLINK, 32)));
        let two = [msg(20, 18), vec![0, 0], msg(RTM_DELLINK, 16)].concat();
        assert!(has_link_message(&two), "the second, after padding");
        assert!(!has_link_message(&msg(20, 16)), "an address message");
        // A length shorter than a header, or past the end: stop, no panic.
        assert!(!has_link_message(
            &[msg_sized(20, 3, 16), msg(RTM_NEWLINK, 16)].concat()
        ));
        assert!(!has_link_message(
            &[msg_sized(20, 4000, 16), msg(RTM_NEWLINK, 16)].concat()
        ));
        assert!(!has_link_message(&[1, 2, 3]));
    }
}
