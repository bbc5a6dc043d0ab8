//! Preallocated frame buffers, reused batch after batch.

/// The largest frame any batch can hold (a 9216-byte jumbo frame plus a VLAN tag fits).
pub const MAX_FRAME: usize = 9232;
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
    len: Box<[u16]>,
    count: usize,
}

impl FrameBatch {
    /// `n` buffers of the default size (frames up to 1984 bytes).
    pub fn with_capacity(n: usize) -> FrameBatch {
        FrameBatch::with_frame_size(n, DEFAULT_SLOT - HEADROOM)
    }

    /// `n` buffers for frames up to `max_frame` bytes (at most `MAX_FRAME`), for jumbo MTUs.
    pub fn with_frame_size(n: usize, max_frame: usize) -> FrameBatch {
        let slot = (HEADROOM + max_frame.min(MAX_FRAME)).next_multiple_of(64);
        FrameBatch {
            slot,
            data: vec![0u8; n * slot].into_boxed_slice(),
            start: vec![HEADROOM as u16; n].into_boxed_slice(),
            len: vec![0u16; n].into_boxed_slice(),
            count: 0,
        }
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
        self.len[i] = n as u16;
        self.count += 1;
        true
    }

    /// Copies `frame` into the next buffer (truncated to `max_frame`).
    #[inline]
    pub fn push(&mut self, frame: &[u8]) -> bool {
        self.push_with(|buf| {
            let n = frame.len().min(buf.len());
            buf[..n].copy_from_slice(&frame[..n]);
            n
        })
    }

    #[inline]
    pub fn frame(&self, i: usize) -> &[u8] {
        let s = i * self.slot + self.start[i] as usize;
        &self.data[s..s + self.len[i] as usize]
    }

    #[inline]
    pub fn frame_mut(&mut self, i: usize) -> &mut [u8] {
        let s = i * self.slot + self.start[i] as usize;
        &mut self.data[s..s + self.len[i] as usize]
    }

    /// Inserts an 802.1Q tag (TPID 0x8100, `tci`) after the MAC addresses of frame `i`, into
    /// the headroom: 12 bytes move, the payload does not. False if there is no room.
    #[inline]
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
        true
    }

    /// Removes the 802.1Q tag after the MAC addresses of frame `i`. False if it has none.
    #[inline]
    pub fn pop_vlan(&mut self, i: usize) -> bool {
        let s = i * self.slot + self.start[i] as usize;
        if self.len[i] < 18 || self.data[s + 12..s + 14] != [0x81, 0x00] {
            return false;
        }
        let macs: [u8; 12] = self.data[s..s + 12].try_into().expect("12 bytes");
        self.data[s + 4..s + 16].copy_from_slice(&macs);
        self.start[i] += 4;
        self.len[i] -= 4;
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
