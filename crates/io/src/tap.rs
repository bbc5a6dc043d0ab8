//! TAP devices: the kernel's side of a port. Savin gives each routed interface a TAP carrying
//! the same MAC and addresses, so kernel sockets (BGP, SSH, NETCONF) on the box work as they
//! would on the interface itself; the data plane hands the box's traffic to the TAP and sends
//! what the kernel writes to it out of the port.
//!
//! One `read`/`write` per frame: host traffic is the slow path, and a TAP has no rings.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;

use crate::{FrameBatch, IoError, PacketIo};

const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
/// `_IOW('T', 202, int)`.
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// A TAP device, opened (and created if it does not exist) by name, non-blocking.
pub struct TapPort {
    file: File,
    name: String,
}

impl TapPort {
    pub fn open(name: &str) -> Result<TapPort, IoError> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(IoError::NoInterface(name.into()));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")
            .map_err(|e| IoError::Os {
                what: "/dev/net/tun".into(),
                source: e,
            })?;
        let mut req = IfReq {
            name: [0; libc::IFNAMSIZ],
            flags: IFF_TAP | IFF_NO_PI,
            _pad: [0; 22],
        };
        for (d, s) in req.name.iter_mut().zip(name.bytes()) {
            *d = s as libc::c_char;
        }
        // SAFETY: TUNSETIFF reads a `struct ifreq`, which `IfReq` lays out (name, then the
        // flags union member, padded to the union's size); `req` outlives the call.
        let r = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, &mut req as *mut IfReq) };
        if r < 0 {
            return Err(IoError::last(format!("TUNSETIFF {name}")));
        }
        // SAFETY: plain fcntl on a descriptor we own.
        let r = unsafe {
            let fl = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK)
        };
        if r < 0 {
            return Err(IoError::last(format!("O_NONBLOCK on {name}")));
        }
        Ok(TapPort {
            file,
            name: name.into(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl PacketIo for TapPort {
    fn readiness_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        Some(std::os::fd::AsFd::as_fd(&self.file))
    }

    fn rx(&mut self, batch: &mut FrameBatch) -> Result<usize, IoError> {
        let mut n = 0;
        while !batch.is_full() {
            let mut res = Ok(0);
            batch.push_with(|buf| {
                res = self.file.read(buf);
                *res.as_ref().unwrap_or(&0)
            });
            match res {
                Ok(0) => {
                    // Nothing read: take the empty slot back.
                    batch.truncate(batch.len() - 1);
                    break;
                }
                Ok(_) => n += 1,
                Err(e) => {
                    batch.truncate(batch.len() - 1);
                    if e.kind() == ErrorKind::WouldBlock {
                        break;
                    }
                    return Err(IoError::Os {
                        what: format!("read {}", self.name),
                        source: e,
                    });
                }
            }
        }
        Ok(n)
    }

    fn tx(&mut self, batch: &FrameBatch, which: &[u16]) -> Result<usize, IoError> {
        let mut sent = 0;
        for &i in which {
            // A TAP takes a frame whole or not at all. Refused (the TAP is down, or its queue
            // full): dropped, and the caller counts it.
            let frame = batch.frame(usize::from(i));
            if self.file.write(frame).is_ok_and(|n| n == frame.len()) {
                sent += 1;
            }
        }
        Ok(sent)
    }
}
