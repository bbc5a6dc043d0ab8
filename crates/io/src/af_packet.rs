//! AF_PACKET with memory-mapped rings.
//!
//! Receive uses a TPACKET_V3 ring: the kernel fills blocks of frames and hands over a whole
//! block at once, so receiving costs no system call per frame. Transmit uses a TX ring: we fill
//! frame slots, mark them for sending, and kick the kernel once per batch.
//!
//! On veth and most NICs the kernel strips a received 802.1Q tag into packet metadata
//! (`tp_vlan_tci`); this driver puts it back into the frame so the pipeline sees wire format.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::{FrameBatch, IoError, Offload, PacketIo};

const TPACKET_V2: libc::c_int = 1;
const TPACKET_V3: libc::c_int = 2;
/// TX data offset with TPACKET_V2: TPACKET2_HDRLEN minus the sockaddr_ll.
const TPACKET2_HDR: usize = 32;
// Offsets in `struct tpacket2_hdr`.
const H2_STATUS: usize = 0;
const H2_LEN: usize = 4;
const H2_SNAPLEN: usize = 8;
const H2_MAC: usize = 12;
const H2_SEC: usize = 16;
const H2_NSEC: usize = 20;
const H2_VLAN_TCI: usize = 24;
const H2_VLAN_TPID: usize = 26;
/// A V2 receive slot: header and a frame of up to 1,978 bytes (an MTU of 1500 and tags fit).
const RX_FRAME: u32 = 2048;
/// A slot for a GSO super-frame: 17 pages hold the ring header, the virtio header and a
/// 65,535-byte IP packet with its Ethernet header.
const GSO_SLOT: u32 = 17 * 4096;
const PACKET_VNET_HDR: libc::c_int = 15;
/// Frames longer than this (GSO super-frames) are sent with sendmsg on a second socket
/// instead of through the TX ring: the ring costs a copy into its slot and, on a veth whose
/// peer delivers to a local socket, the kernel copies the slot's pages again
/// (`skb_copy_ubufs`, zero-copy undone); sendmsg copies once. Small frames stay on the ring,
/// where one system call sends a batch.
const DIRECT_MIN: usize = 4096;
/// Size of `struct tpacket3_hdr`, already TPACKET_ALIGNed; TX data starts right after it.
const TPACKET3_HDR: usize = 48;
// Offsets in `struct tpacket_block_desc` (version, offset_to_priv, then tpacket_hdr_v1).
const BD_STATUS: usize = 8;
const BD_NUM_PKTS: usize = 12;
const BD_FIRST: usize = 16;
// Offsets in `struct tpacket3_hdr`.
const H_NEXT: usize = 0;
const H_SEC: usize = 4;
const H_NSEC: usize = 8;
const H_SNAPLEN: usize = 12;
const H_LEN: usize = 16;
const H_STATUS: usize = 20;
const H_MAC: usize = 24;
const H_VLAN_TCI: usize = 32;
const H_VLAN_TPID: usize = 36;

/// The ring format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingVersion {
    /// One frame per slot, handed over as soon as it is written: microseconds of latency.
    V2,
    /// Blocks of frames, handed over when full or after `rx_block_timeout_ms`: fewer wakeups
    /// at high rates, a millisecond of latency at low ones.
    V3,
}

/// Ring geometry.
#[derive(Debug, Clone, Copy)]
pub struct RingConfig {
    pub version: RingVersion,
    /// RX block size in bytes (a multiple of the page size).
    pub rx_block_size: u32,
    pub rx_blocks: u32,
    /// How long the kernel may hold a partly filled block, in milliseconds.
    pub rx_block_timeout_ms: u32,
    /// TX slot size: frames up to this minus 48 bytes can be sent.
    pub tx_frame_size: u32,
    pub tx_frames: u32,
    /// PACKET_VNET_HDR: frames come and go with a `virtio_net_hdr`, so a peer that offloads
    /// segmentation (a veth whose other end has TSO on, GRO on a NIC) hands over 64 KB
    /// super-frames that are forwarded whole, and checksums left to offload stay so. Costs
    /// 64 KiB+ slots: `rx_gso_frames` of them to receive, `tx_frames` to send.
    pub vnet_hdr: bool,
    pub rx_gso_frames: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        // 8 MiB of receive ring in 128 blocks of 64 KiB: a block is handed over when full
        // or after the 1 ms timeout, so at low rates each block holds little, and the number
        // of blocks is what bounds how long the worker may be descheduled (128 ms here)
        // before the kernel drops.
        //
        // TPACKET_V2 by default: with V3's block timeout (1 ms at least) every hop through
        // Savin cost a millisecond, which TCP feels; V2 hands over each frame at once and the
        // worker still takes them in batches.
        RingConfig {
            version: RingVersion::V2,
            rx_block_size: 1 << 16,
            rx_blocks: 128,
            rx_block_timeout_ms: 1,
            tx_frame_size: 16384,
            tx_frames: 256,
            vnet_hdr: true,
            rx_gso_frames: 256,
        }
    }
}

/// An AF_PACKET port bound to one interface.
pub struct AfPacket {
    fd: OwnedFd,
    map: *mut u8,
    map_len: usize,
    cfg: RingConfig,
    rx_len: usize,
    rx_block: usize,
    /// Offset of the next frame in the current block (0: block not started).
    rx_next: usize,
    rx_left: u32,
    tx_next: usize,
    /// Size of a V2 receive slot.
    rx_frame: usize,
    /// Frames too large for a TX slot, dropped.
    pub tx_oversize: u64,
    /// Received frames larger than a batch slot (jumbo, or GSO super-frames), dropped.
    pub oversize: u64,
    /// Frames the kernel dropped with the receive ring full.
    ring_drops: u64,
    /// A send-only socket on the same interface (bound to no protocol, it receives nothing)
    /// for super-frames: see [`DIRECT_MIN`]. A socket with a TX ring sends only from the ring.
    direct: Option<OwnedFd>,
    /// Frames sent on `direct`.
    pub tx_direct: u64,
}

// SAFETY: the mapping belongs to this value alone and is only touched through `&mut self`; the
// kernel side synchronises through the status words, which we access atomically.
unsafe impl Send for AfPacket {}

fn setsockopt<T>(fd: &OwnedFd, opt: libc::c_int, val: &T, what: &str) -> Result<(), IoError> {
    // SAFETY: `val` points to a live `T` of the size we pass; the kernel copies it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            opt,
            (val as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(IoError::last(what));
    }
    Ok(())
}

impl AfPacket {
    /// Opens `ifname` in the calling thread's network namespace.
    pub fn open(ifname: &str, cfg: RingConfig) -> Result<AfPacket, IoError> {
        let cname = CString::new(ifname).map_err(|_| IoError::NoInterface(ifname.into()))?;
        // SAFETY: `cname` is a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if ifindex == 0 {
            return Err(IoError::NoInterface(ifname.into()));
        }
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain system call; the result is checked and owned below.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::c_int::from(proto),
            )
        };
        if raw < 0 {
            return Err(IoError::last("socket(AF_PACKET)"));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let v2 = cfg.version == RingVersion::V2;
        let version = if v2 { TPACKET_V2 } else { TPACKET_V3 };
        setsockopt(&fd, libc::PACKET_VERSION, &version, "PACKET_VERSION")?;
        let mut cfg = cfg;
        if cfg.vnet_hdr {
            // Before the rings: the kernel refuses it once they exist.
            setsockopt(&fd, PACKET_VNET_HDR, &1i32, "PACKET_VNET_HDR")?;
            cfg.tx_frame_size = cfg.tx_frame_size.max(GSO_SLOT);
            if v2 {
                cfg.rx_block_size = GSO_SLOT;
                cfg.rx_blocks = cfg.rx_gso_frames;
            } else {
                cfg.rx_block_size = cfg.rx_block_size.max(2 * GSO_SLOT);
            }
        }
        let rx_frame = if v2 && cfg.vnet_hdr {
            GSO_SLOT
        } else {
            RX_FRAME
        };
        let rx = libc::tpacket_req3 {
            tp_block_size: cfg.rx_block_size,
            tp_block_nr: cfg.rx_blocks,
            tp_frame_size: rx_frame,
            tp_frame_nr: cfg.rx_block_size / rx_frame * cfg.rx_blocks,
            tp_retire_blk_tov: if v2 { 0 } else { cfg.rx_block_timeout_ms },
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(&fd, libc::PACKET_RX_RING, &rx, "PACKET_RX_RING")?;
        let per_block = if cfg.vnet_hdr { 1 } else { 4u32 };
        let tx = libc::tpacket_req3 {
            tp_block_size: cfg.tx_frame_size * per_block,
            tp_block_nr: cfg.tx_frames.div_ceil(per_block),
            tp_frame_size: cfg.tx_frame_size,
            tp_frame_nr: cfg.tx_frames.div_ceil(per_block) * per_block,
            tp_retire_blk_tov: 0,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(&fd, libc::PACKET_TX_RING, &tx, "PACKET_TX_RING")?;
        // Do not receive our own transmissions (kernels before 4.20 lack it: not fatal).
        let _ = setsockopt(
            &fd,
            libc::PACKET_IGNORE_OUTGOING,
            &1i32,
            "PACKET_IGNORE_OUTGOING",
        );
        let rx_len = (cfg.rx_block_size * cfg.rx_blocks) as usize;
        let tx_len = (tx.tp_block_size * tx.tp_block_nr) as usize;
        let map_len = rx_len + tx_len;
        // SAFETY: mapping the rings the kernel just allocated for this socket; checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(IoError::last("mmap packet rings"));
        }
        let port = AfPacket {
            fd,
            map: map.cast(),
            map_len,
            cfg: RingConfig {
                tx_frames: tx.tp_frame_nr,
                ..cfg
            },
            rx_len,
            rx_block: 0,
            rx_next: 0,
            rx_left: 0,
            tx_next: 0,
            rx_frame: rx_frame as usize,
            tx_oversize: 0,
            oversize: 0,
            ring_drops: 0,
            direct: if cfg.vnet_hdr {
                send_only_socket(ifindex)
            } else {
                None
            },
            tx_direct: 0,
        };
        // SAFETY: an all-zero sockaddr_ll is valid; we fill the fields bind needs.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = proto;
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
        let r = unsafe {
            libc::bind(
                port.fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(IoError::last(format!("bind to {ifname}")));
        }
        Ok(port)
    }

    /// Joins fanout group `group` (PACKET_FANOUT_HASH): the kernel spreads the interface's
    /// received frames over the group's sockets by flow hash, one socket per worker, each
    /// flow always to the same one. The group ignores outgoing frames as our sockets do: it
    /// listens with a hook of its own, which skips what its members send from their rings
    /// but not the super-frames sent by the send-only socket, so without the flag those came
    /// back to the group and were forwarded again (a two-thread relay looped TCP down to 3%
    /// of its rate). Older kernels without the flag refuse it, and the join fails.
    pub fn join_fanout(&self, group: u16) -> Result<(), IoError> {
        const PACKET_FANOUT: libc::c_int = 18;
        const PACKET_FANOUT_HASH: u32 = 0;
        const PACKET_FANOUT_FLAG_IGNORE_OUTGOING: u32 = 0x4000;
        let arg =
            u32::from(group) | (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_IGNORE_OUTGOING) << 16;
        setsockopt(&self.fd, PACKET_FANOUT, &arg, "PACKET_FANOUT")
    }

    fn status(&self, off: usize) -> &AtomicU32 {
        assert!(
            off.is_multiple_of(4) && off + 4 <= self.map_len,
            "ring offset {off} out of bounds"
        );
        // SAFETY: in bounds and 4-aligned (checked above; the mapping is page-aligned); the
        // word is shared with the kernel, so it is only accessed atomically.
        unsafe { AtomicU32::from_ptr(self.map.add(off).cast()) }
    }

    fn read_u32(&self, off: usize) -> u32 {
        self.status(off).load(Ordering::Relaxed)
    }

    fn read_u16(&self, off: usize) -> u16 {
        let word = self.read_u32(off & !3);
        if off & 2 == 0 {
            word as u16
        } else {
            (word >> 16) as u16
        }
    }

    fn bytes(&self, off: usize, len: usize) -> &[u8] {
        assert!(off + len <= self.map_len, "ring range out of bounds");
        // SAFETY: in bounds; the kernel does not write a block or slot while we own it
        // (status says so), so the bytes are stable while borrowed.
        unsafe { std::slice::from_raw_parts(self.map.add(off), len) }
    }

    fn bytes_mut(&mut self, off: usize, len: usize) -> &mut [u8] {
        assert!(off + len <= self.map_len, "ring range out of bounds");
        // SAFETY: as in `bytes`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.map.add(off), len) }
    }
}

impl AfPacket {
    /// Receive with TPACKET_V2: slot by slot, each handed back at once.
    fn rx_v2(&mut self, batch: &mut FrameBatch) -> usize {
        let fs = self.rx_frame;
        let slots = self.rx_len / fs;
        let mut n = 0;
        while !batch.is_full() {
            let h = self.rx_next * fs;
            let status = self.status(h + H2_STATUS).load(Ordering::Acquire);
            if status & libc::TP_STATUS_USER == 0 {
                break;
            }
            let snap = self.read_u32(h + H2_SNAPLEN) as usize;
            let whole = self.read_u32(h + H2_LEN) as usize;
            let mac = self.read_u16(h + H2_MAC) as usize;
            let start = h + mac.min(fs);
            let len = snap.min(h + fs - start).min(batch.max_frame() - 4);
            if whole > len {
                self.oversize += 1;
            } else {
                let vlan = (status & libc::TP_STATUS_VLAN_VALID != 0 && len >= 12).then(|| {
                    let tpid = match self.read_u16(h + H2_VLAN_TPID) {
                        0 => 0x8100,
                        t => t,
                    };
                    (tpid, self.read_u16(h + H2_VLAN_TCI))
                });
                let at = self.stamp(h + H2_SEC, h + H2_NSEC);
                self.push_frame(batch, start, len, vlan, status, at);
                n += 1;
            }
            self.status(h + H2_STATUS).store(0, Ordering::Release); // TP_STATUS_KERNEL
            self.rx_next = (self.rx_next + 1) % slots;
        }
        n
    }

    /// The receive stamp the kernel wrote in a frame's header (`tp_sec`, `tp_nsec`: the
    /// skb's software stamp, or the time the packet socket took it), in nanoseconds.
    fn stamp(&self, sec: usize, nsec: usize) -> u64 {
        u64::from(self.read_u32(sec)) * 1_000_000_000 + u64::from(self.read_u32(nsec))
    }

    /// Copies a received frame into `batch` with its receive stamp `at`: the VLAN tag the
    /// kernel took out put back, the offload state (virtio header, just before the frame)
    /// kept with it, or, without virtio headers, the transport checksum completed if the
    /// sender left it to offload.
    fn push_frame(
        &self,
        batch: &mut FrameBatch,
        start: usize,
        len: usize,
        vlan: Option<(u16, u16)>,
        status: u32,
        at: u64,
    ) {
        let frame = self.bytes(start, len);
        let pushed = match vlan {
            Some((tpid, tci)) => batch.push_with(|buf| {
                buf[..12].copy_from_slice(&frame[..12]);
                buf[12..14].copy_from_slice(&tpid.to_be_bytes());
                buf[14..16].copy_from_slice(&tci.to_be_bytes());
                buf[16..len + 4].copy_from_slice(&frame[12..]);
                len + 4
            }),
            None => batch.push(frame),
        };
        if !pushed {
            return;
        }
        let last = batch.len() - 1;
        batch.set_rx_time(last, at);
        if self.cfg.vnet_hdr && start >= Offload::LEN {
            let raw: [u8; Offload::LEN] = self
                .bytes(start - Offload::LEN, Offload::LEN)
                .try_into()
                .expect("10 bytes");
            let mut o = Offload::from_bytes(&raw);
            if vlan.is_some() {
                // The kernel's offsets count from the frame without its tag.
                if o.needs_csum() {
                    o.csum_start = o.csum_start.saturating_add(4);
                }
                if o.hdr_len != 0 {
                    o.hdr_len = o.hdr_len.saturating_add(4);
                }
            }
            batch.set_offload(last, o);
        } else if status & libc::TP_STATUS_CSUMNOTREADY != 0 {
            crate::csum::complete_l4_checksum(batch.frame_mut(last));
        }
    }
}

impl PacketIo for AfPacket {
    fn readiness_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        // The kernel reports POLLIN once the frame it last filled is the user's.
        Some(std::os::fd::AsFd::as_fd(&self.fd))
    }

    fn giants(&self) -> u64 {
        self.oversize
    }

    fn ring_drops(&mut self) -> u64 {
        // tpacket_stats_v3: packets, drops, freeze_q_cnt. Reading resets the kernel's count.
        let mut st = [0u32; 3];
        let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
        // SAFETY: `st` has room for the `len` bytes the kernel writes; both outlive the call.
        let r = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                6, // PACKET_STATISTICS
                st.as_mut_ptr().cast(),
                &mut len,
            )
        };
        if r == 0 {
            self.ring_drops += u64::from(st[1]);
        }
        self.ring_drops
    }

    fn rx(&mut self, batch: &mut FrameBatch) -> Result<usize, IoError> {
        if self.cfg.version == RingVersion::V2 {
            return Ok(self.rx_v2(batch));
        }
        let bs = self.cfg.rx_block_size as usize;
        let mut n = 0;
        while !batch.is_full() {
            let bd = self.rx_block * bs;
            if self.status(bd + BD_STATUS).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
                break;
            }
            if self.rx_next == 0 {
                self.rx_left = self.read_u32(bd + BD_NUM_PKTS);
                self.rx_next = self.read_u32(bd + BD_FIRST) as usize;
            }
            while self.rx_left > 0 && !batch.is_full() {
                let h = bd + self.rx_next;
                if self.rx_next + TPACKET3_HDR > bs {
                    self.rx_left = 0; // malformed block: give it back
                    break;
                }
                let snap = self.read_u32(h + H_SNAPLEN) as usize;
                let mac = self.read_u16(h + H_MAC) as usize;
                let status = self.read_u32(h + H_STATUS);
                let start = (h + mac).min(bd + bs);
                let len = snap.min(bd + bs - start).min(batch.max_frame() - 4);
                let whole = self.read_u32(h + H_LEN) as usize;
                if whole > len {
                    // Larger than a batch slot (or a GSO super-frame): forwarding a cut
                    // frame would corrupt it, so it is dropped and counted.
                    self.oversize += 1;
                } else {
                    let vlan = (status & libc::TP_STATUS_VLAN_VALID != 0 && len >= 12).then(|| {
                        let tpid = match self.read_u16(h + H_VLAN_TPID) {
                            0 => 0x8100,
                            t => t,
                        };
                        (tpid, self.read_u32(h + H_VLAN_TCI) as u16)
                    });
                    let at = self.stamp(h + H_SEC, h + H_NSEC);
                    self.push_frame(batch, start, len, vlan, status, at);
                    n += 1;
                }
                self.rx_left -= 1;
                self.rx_next += self.read_u32(h + H_NEXT) as usize;
            }
            if self.rx_left == 0 {
                self.status(bd + BD_STATUS).store(0, Ordering::Release); // TP_STATUS_KERNEL
                self.rx_block = (self.rx_block + 1) % self.cfg.rx_blocks as usize;
                self.rx_next = 0;
            }
        }
        Ok(n)
    }

    fn tx(&mut self, batch: &FrameBatch, which: &[u16]) -> Result<usize, IoError> {
        let fs = self.cfg.tx_frame_size as usize;
        let (hdr, h_status, h_len, h_snap) = match self.cfg.version {
            RingVersion::V2 => (TPACKET2_HDR, H2_STATUS, H2_LEN, H2_SNAPLEN),
            RingVersion::V3 => (TPACKET3_HDR, H_STATUS, H_LEN, H_SNAPLEN),
        };
        let vnet = if self.cfg.vnet_hdr { Offload::LEN } else { 0 };
        let mut queued = 0;
        // Frames in the ring not yet handed to the kernel.
        let mut in_ring = 0;
        for &i in which {
            let frame = batch.frame(i as usize);
            if frame.len() > DIRECT_MIN && self.direct.is_some() {
                // In order: what the ring holds goes first.
                if in_ring > 0 {
                    self.kick()?;
                    in_ring = 0;
                }
                if !self.send_direct(&batch.offload(i as usize).to_bytes(), frame)? {
                    break;
                }
                self.tx_direct += 1;
                queued += 1;
                continue;
            }
            if frame.len() + vnet > fs - hdr {
                self.tx_oversize += 1;
                continue;
            }
            let slot = self.rx_len + self.tx_next * fs;
            let status = self.status(slot + h_status).load(Ordering::Acquire);
            if status != libc::TP_STATUS_AVAILABLE && status & libc::TP_STATUS_WRONG_FORMAT == 0 {
                break; // ring full: the kernel has not sent this slot yet
            }
            if vnet > 0 {
                self.bytes_mut(slot + hdr, vnet)
                    .copy_from_slice(&batch.offload(i as usize).to_bytes());
            }
            self.bytes_mut(slot + hdr + vnet, frame.len())
                .copy_from_slice(frame);
            let tp_len = (vnet + frame.len()) as u32;
            self.status(slot + h_len).store(tp_len, Ordering::Relaxed);
            self.status(slot + h_snap).store(tp_len, Ordering::Relaxed);
            self.status(slot + h_status)
                .store(libc::TP_STATUS_SEND_REQUEST, Ordering::Release);
            self.tx_next = (self.tx_next + 1) % self.cfg.tx_frames as usize;
            queued += 1;
            in_ring += 1;
        }
        if in_ring > 0 {
            self.kick()?;
        }
        Ok(queued)
    }
}

impl AfPacket {
    /// Asks the kernel to send what the TX ring holds.
    fn kick(&self) -> Result<(), IoError> {
        // SAFETY: a zero-length send on our socket only asks the kernel to walk the ring.
        let r = unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if !matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::ENOBUFS)) {
                return Err(IoError::Os {
                    what: "send (TX ring)".into(),
                    source: e,
                });
            }
        }
        Ok(())
    }

    /// Sends one frame (after its virtio-net header) on the send-only socket; false when the
    /// kernel has no room now (the frame is dropped, as with a full ring).
    fn send_direct(&self, vnet: &[u8], frame: &[u8]) -> Result<bool, IoError> {
        let Some(fd) = &self.direct else {
            return Ok(false);
        };
        let iov = [
            libc::iovec {
                iov_base: vnet.as_ptr() as *mut libc::c_void,
                iov_len: vnet.len(),
            },
            libc::iovec {
                iov_base: frame.as_ptr() as *mut libc::c_void,
                iov_len: frame.len(),
            },
        ];
        // SAFETY: an all-zero msghdr is valid; we set the two fields sendmsg reads here.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = iov.len();
        // SAFETY: `msg` points at two iovecs over live buffers the kernel only reads; the
        // socket is bound to the interface, so no address is needed.
        let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::ENOBUFS)) {
                return Ok(false);
            }
            return Err(IoError::Os {
                what: "sendmsg (super-frame)".into(),
                source: e,
            });
        }
        Ok(true)
    }
}

/// A socket that sends on `ifindex` with virtio-net headers and receives nothing (bound to
/// protocol 0); None if the kernel refuses any step (the TX ring then sends everything).
fn send_only_socket(ifindex: u32) -> Option<OwnedFd> {
    // SAFETY: plain system call; the result is checked and owned below.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if raw < 0 {
        return None;
    }
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    setsockopt(&fd, PACKET_VNET_HDR, &1i32, "PACKET_VNET_HDR").ok()?;
    // SAFETY: an all-zero sockaddr_ll is valid; we fill the fields bind needs.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = 0;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the size passed.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    (r == 0).then_some(fd)
}

impl Drop for AfPacket {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the mapping made in `open`; no references outlive `self`.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
        }
    }
}

/// Turns off generic receive offload on `ifname`, as a data plane that owns the interface
/// needs: with GRO the kernel merges received segments into super-frames before AF_PACKET
/// sees them, and those cannot be forwarded as they are. Best effort (a device without GRO
/// refuses, which is fine); returns whether the device took it.
pub fn disable_gro(ifname: &str) -> bool {
    const SIOCETHTOOL: libc::c_ulong = 0x8946;
    const ETHTOOL_SGRO: u32 = 0x2c;
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    #[repr(C)]
    struct IfReq {
        name: [libc::c_char; libc::IFNAMSIZ],
        data: *mut EthtoolValue,
        _pad: [u8; 16],
    }
    if ifname.len() >= libc::IFNAMSIZ {
        return false;
    }
    let mut value = EthtoolValue {
        cmd: ETHTOOL_SGRO,
        data: 0,
    };
    let mut req = IfReq {
        name: [0; libc::IFNAMSIZ],
        data: &mut value,
        _pad: [0; 16],
    };
    for (d, s) in req.name.iter_mut().zip(ifname.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: a datagram socket only to carry the ioctl; closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: SIOCETHTOOL reads a `struct ifreq` whose data member points at an
    // `ethtool_value`; both live until the call returns.
    let r = unsafe { libc::ioctl(fd, SIOCETHTOOL, &mut req as *mut IfReq) };
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    r == 0
}

/// Sets `ifname` administratively up (IFF_UP), as Junos brings up the interfaces it is
/// configured with. Returns whether it is up.
pub fn set_up(ifname: &str) -> bool {
    #[repr(C)]
    struct IfReqFlags {
        name: [libc::c_char; libc::IFNAMSIZ],
        flags: libc::c_short,
        _pad: [u8; 22],
    }
    if ifname.len() >= libc::IFNAMSIZ {
        return false;
    }
    let mut req = IfReqFlags {
        name: [0; libc::IFNAMSIZ],
        flags: 0,
        _pad: [0; 22],
    };
    for (d, s) in req.name.iter_mut().zip(ifname.bytes()) {
        *d = s as libc::c_char;
    }
    // SAFETY: a datagram socket only to carry the ioctls; closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return false;
    }
    // SAFETY: SIOCGIFFLAGS and SIOCSIFFLAGS read and write the flags of a `struct ifreq`,
    // which `IfReqFlags` lays out; `req` lives until the calls return.
    let ok = unsafe {
        libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req as *mut IfReqFlags) == 0 && {
            req.flags |= libc::IFF_UP as libc::c_short;
            libc::ioctl(fd, libc::SIOCSIFFLAGS, &mut req as *mut IfReqFlags) == 0
        }
    };
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    ok
}
