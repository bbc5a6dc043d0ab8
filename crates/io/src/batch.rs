//! Preallocated frame buffers, reused batch after batch.

/// The largest frame any batch can hold (a 9216-byte jumbo frame plus a VLAN tag fits).
pub const MAX_FRAME: usize = 9232;
/// The largest GSO super-frame: a 65,535-byte IP packet, an Ethernet header and a tag.
pub const MAX_GSO_FRAME: usize = 65_535 + 18;

/// What the sender's kernel left for "hardware" to do on a frame, as `struct virtio_net_hdr`
/// carries it (AF_PACKET with PACKET_VNET_HDR): a transport checksum to fill in, and for a
/// super-frame the segment size to cut it into. Offsets are from the start of the frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offload {
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM` (1), `VIRTIO_NET_HDR_F_DATA_VALID` (2).
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*`: 0 none, 1 TCPv4, 3 UDP, 4 TCPv6, 5 UDP_L4; 0x80 ECN.
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl Offload {
    pub const NEEDS_CSUM: u8 = 1;
    /// The size of `struct virtio_net_hdr` on the wire to and from the kernel.
    pub const LEN: usize = 10;

    pub fn needs_csum(&self) -> bool {
        self.flags & Self::NEEDS_CSUM != 0
    }

    /// Whether this is a super-frame to be cut into segments of `gso_size`.
    pub fn is_gso(&self) -> bool {
        self.gso_type & 0x7f != 0
    }

    /// Reads the kernel's header (host byte order, as a little-endian host's legacy virtio).
    pub fn from_bytes(b: &[u8; 10]) -> Offload {
        let u = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        Offload {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        }
    }

    pub fn to_bytes(self) -> [u8; 10] {
        let mut b = [0u8; 10];
        b[0] = self.flags;
        b[1] = self.gso_type;
        for (i, v) in [
            self.hdr_len,
            self.gso_size,
            self.csum_start,
            self.csum_offset,
        ]
        .into_iter()
        .enumerate()
        {
            b[2 + 2 * i..4 + 2 * i].copy_from_slice(&v.to_ne_bytes());
        }
        b
    }

    /// The frame grew (`by` > 0) or shrank in front of its L3 header (a tag pushed or popped).
    fn shift(&mut self, by: i16) {
        if self.flags & Self::NEEDS_CSUM != 0 {
            self.csum_start = self.csum_start.wrapping_add_signed(by);
        }
        if self.hdr_len != 0 {
            self.hdr_len = self.hdr_len.wrapping_add_signed(by);
        }
    }
}
/// Room in front of each frame, so a stage can push a header without moving the frame.
const HEADROOM: usize = 64;
/// The default buffer: 2 KiB slots hold a 1518-byte frame with tags and headroom. Small slots
/// matter: 256 jumbo-sized slots (2.4 MB) made the pipeline miss the cache on every packet.
const DEFAULT_SLOT: usize = 2048;

/// A batch of frames. Allocated once per port and worker; `clear` makes it reusable.
pub struct FrameBatch {
    data: Box<[u8]>,
    slot: usize,
    /// Offset of each frame in its slot (HEADROOM unless a header was pushed).
    start: Box<[u16]>,
    len: Box<[u32]>,
    offload: Box<[Offload]>,
    /// When each frame arrived: the kernel's receive stamp, nanoseconds since the Unix epoch
    /// (0: the port gave none).
    rx_ns: Box<[u64]>,
    count: usize,
}

impl FrameBatch {
    /// `n` buffers of the default size (frames up to 1984 bytes).
    pub fn with_capacity(n: usize) -> FrameBatch {
        FrameBatch::with_frame_size(n, DEFAULT_SLOT - HEADROOM)
    }

    /// `n` buffers for frames up to `max_frame` bytes (at most `MAX_GSO_FRAME`): jumbo MTUs,
    /// or super-frames from ports with segmentation offload.
    pub fn with_frame_size(n: usize, max_frame: usize) -> FrameBatch {
        let mut slot = (HEADROOM + max_frame.min(MAX_GSO_FRAME)).next_multiple_of(64);
        if slot.is_multiple_of(4096) {
            // Slots a multiple of the page apart would put every frame's headers in the same
            // cache set; one line more spreads them.
            slot += 64;
        }
        FrameBatch {
            slot,
            // Zeroed memory from the allocator is untouched until written: a batch of large
            // slots costs only the pages that frames actually fill.
            data: vec![0u8; n * slot].into_boxed_slice(),
            start: vec![HEADROOM as u16; n].into_boxed_slice(),
            len: vec![0u32; n].into_boxed_slice(),
            offload: vec![Offload::default(); n].into_boxed_slice(),
            rx_ns: vec![0; n].into_boxed_slice(),
            count: 0,
        }
    }

    /// What is left to do on frame `i` (a checksum, segmentation), if the port told us.
    #[inline]
    pub fn offload(&self, i: usize) -> Offload {
        self.offload[i]
    }

    #[inline]
    pub fn set_offload(&mut self, i: usize, o: Offload) {
        self.offload[i] = o;
    }

    /// When frame `i` arrived, as the kernel stamped it on receive: nanoseconds since the
    /// Unix epoch, or 0 when the port gave no stamp. The stamp of the moment the frame came
    /// in rather than of when a worker took the batch: what jitter is measured on.
    #[inline(always)]
    pub fn rx_time(&self, i: usize) -> u64 {
        self.rx_ns[i]
    }

    #[inline]
    pub fn set_rx_time(&mut self, i: usize, ns: u64) {
        self.rx_ns[i] = ns;
    }

    /// Copies frame `i` of `from`, with its offload state and receive time, into the next buffer. False if the
    /// batch is full or the frame does not fit a buffer.
    pub fn push_from(&mut self, from: &FrameBatch, i: usize) -> bool {
        if !self.push(from.frame(i)) {
            return false;
        }
        let last = self.count - 1;
        self.offload[last] = from.offload[i];
        self.rx_ns[last] = from.rx_ns[i];
        true
    }

    /// The largest frame a buffer of this batch holds.
    #[inline]
    pub fn max_frame(&self) -> usize {
        self.slot - HEADROOM
    }

    #[inline]
    pub fn capacity(&self) -> usize {
        self.len.len()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.count
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.count == self.capacity()
    }

    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// Keeps the first `n` frames.
    pub fn truncate(&mut self, n: usize) {
        self.count = self.count.min(n);
    }

    /// Reserves the next buffer and lets `fill` write up to `MAX_FRAME` bytes into it;
    /// `fill` returns the frame length. Returns false when the batch is full.
    #[inline]
    pub fn push_with(&mut self, fill: impl FnOnce(&mut [u8]) -> usize) -> bool {
        if self.is_full() {
            return false;
        }
        let i = self.count;
        let slot = &mut self.data[i * self.slot + HEADROOM..(i + 1) * self.slot];
        let n = fill(slot).min(self.slot - HEADROOM);
        self.start[i] = HEADROOM as u16;
        self.len[i] = n as u32;
        self.offload[i] = Offload::default();
        self.rx_ns[i] = 0;
        self.count += 1;
        true
    }

    /// Copies `frame` into the next buffer. False if the batch is full or the frame is larger
    /// than a buffer (never truncated: a cut frame would be forwarded corrupt).
    #[inline]
    pub fn push(&mut self, frame: &[u8]) -> bool {
        if frame.len() > self.max_frame() {
            return false;
        }
        self.push_with(|buf| {
            let n = frame.len().min(buf.len());
            buf[..n].copy_from_slice(&frame[..n]);
            n
        })
    }

    // Always inlined: called several times per packet in the data plane's stages, where a
    // call costs more than the slice it computes (seen in profiles as a function of its own).
    #[inline(always)]
    pub fn frame(&self, i: usize) -> &[u8] {
        let s = i * self.slot + self.start[i] as usize;
        &self.data[s..s + self.len[i] as usize]
    }

    #[inline(always)]
    pub fn frame_mut(&mut self, i: usize) -> &mut [u8] {
        let s = i * self.slot + self.start[i] as usize;
        &mut self.data[s..s + self.len[i] as usize]
    }

    /// Inserts an 802.1Q tag (TPID 0x8100, `tci`) after the MAC addresses of frame `i`, into
    /// the headroom: 12 bytes move, the payload does not. False if there is no room.
    #[inline(always)]
    pub fn push_vlan(&mut self, i: usize, tci: u16) -> bool {
        let start = self.start[i] as usize;
        if start < 4 || self.len[i] < 12 {
            return false;
        }
        let s = i * self.slot + start;
        // A fixed-size copy: inlined, where copy_within would call memmove for 12 bytes.
        let macs: [u8; 12] = self.data[s..s + 12].try_into().expect("12 bytes");
        self.data[s - 4..s + 8].copy_from_slice(&macs);
        self.data[s + 8..s + 10].copy_from_slice(&0x8100u16.to_be_bytes());
        self.data[s + 10..s + 12].copy_from_slice(&tci.to_be_bytes());
        self.start[i] -= 4;
        self.len[i] += 4;
        self.offload[i].shift(4);
        true
    }

    /// Removes the 802.1Q tag after the MAC addresses of frame `i`. False if it has none.
    #[inline(always)]
    pub fn pop_vlan(&mut self, i: usize) -> bool {
        let s = i * self.slot + self.start[i] as usize;
        if self.len[i] < 18
            || savin_wire::ethernet::ethertype(&self.data[s..]) != Some(savin_wire::ethernet::VLAN)
        {
            return false;
        }
        let macs: [u8; 12] = self.data[s..s + 12].try_into().expect("12 bytes");
        self.data[s + 4..s + 16].copy_from_slice(&macs);
        self.start[i] += 4;
        self.len[i] -= 4;
        self.offload[i].shift(-4);
        true
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.count).map(|i| self.frame(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_kept_apart_and_the_batch_fills_up() {
        let mut b = FrameBatch::with_capacity(2);
        assert!(b.push(&[1, 2, 3]));
        assert!(b.push(&[4; 100]));
        assert!(!b.push(&[5]));
        assert_eq!(b.frame(0), &[1, 2, 3]);
        assert_eq!(b.frame(1).len(), 100);
        b.frame_mut(0)[0] = 9;
        assert_eq!(b.iter().next().unwrap(), &[9, 2, 3]);
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn vlan_tags_go_in_and_out_without_touching_the_payload() {
        let mut b = FrameBatch::with_capacity(1);
        let mut f: Vec<u8> = (0..60).collect();
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        b.push(&f);
        assert!(!b.pop_vlan(0), "untagged");
        assert!(b.push_vlan(0, 100));
        let t = b.frame(0).to_vec();
        assert_eq!(t.len(), 64);
        assert_eq!(t[..12], f[..12]);
        assert_eq!(t[12..16], [0x81, 0x00, 0, 100]);
        assert_eq!(t[16..], f[12..]);
        assert!(b.pop_vlan(0));
        assert_eq!(b.frame(0), &f[..]);
    }
}
