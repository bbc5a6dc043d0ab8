//! Sessions of IPv4 fragments. A fragment after the first carries no transport header, so it
//! cannot find its session by the session's key (the ports are in the first fragment only).
//! The first fragment, when it passes as a packet of a session (or starts one), leaves the
//! session here under the datagram's identity (source, destination, protocol, IP
//! identification), and the fragments after it find it by theirs: they are tracked and
//! translated (addresses only) as packets of that session, with no policy of their own.
//!
//! As an SRX without forced reassembly, fragments are not queued: one that comes before its
//! first fragment (or whose first fragment was dropped) finds nothing and is dropped and
//! counted. Bounded: a direct-mapped table whose entries live two seconds, a newer datagram
//! taking the slot of an older one.

use savin_session::Dir;

/// Where a frame's IPv4 header starts.
const L3: usize = savin_wire::ethernet::HEADER_LEN;
/// Slots of the table (a power of two).
const SLOTS: usize = 1024;
/// How long the fragments of a datagram may trail its first fragment.
const LIFETIME_MS: u64 = 2_000;

/// The identity of a fragmented datagram as its fragments arrive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Datagram {
    pub src: u32,
    pub dst: u32,
    pub proto: u8,
    pub id: u16,
}

/// What a checked IPv4 frame is as a fragment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// Not fragmented.
    Whole,
    /// The first fragment of a datagram, with more to come.
    First(Datagram),
    /// A later fragment, and its offset (in 8-byte units).
    Later(Datagram, u16),
}

/// Reads the fragment fields of the checked IPv4 frame `f`.
#[inline]
pub fn fragment_of(f: &[u8]) -> Fragment {
    let Some(h) = f.get(L3..L3 + 20) else {
        return Fragment::Whole;
    };
    let flags = u16::from_be_bytes([h[6], h[7]]);
    let offset = flags & 0x1fff;
    let more = flags & 0x2000 != 0;
    if offset == 0 && !more {
        return Fragment::Whole;
    }
    let d = Datagram {
        src: u32::from_be_bytes([h[12], h[13], h[14], h[15]]),
        dst: u32::from_be_bytes([h[16], h[17], h[18], h[19]]),
        proto: h[9],
        id: u16::from_be_bytes([h[4], h[5]]),
    };
    if offset == 0 {
        Fragment::First(d)
    } else {
        Fragment::Later(d, offset)
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    datagram: Datagram,
    session: u32,
    dir: u8,
    /// 0: empty.
    until_ms: u64,
}

/// Datagrams whose first fragment has passed, and their sessions.
pub struct FragmentMap {
    slots: Box<[Entry]>,
}

impl Default for FragmentMap {
    fn default() -> Self {
        FragmentMap {
            slots: vec![Entry::default(); SLOTS].into_boxed_slice(),
        }
    }
}

impl FragmentMap {
    fn slot(d: &Datagram) -> usize {
        let x = (u64::from(d.src) << 32 | u64::from(d.dst))
            ^ (u64::from(d.id) << 8 | u64::from(d.proto)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let x = (x ^ (x >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        (x >> 40) as usize & (SLOTS - 1)
    }

    /// Records that `d`'s first fragment passed as a packet of `session` in direction `dir`.
    pub fn insert(&mut self, d: Datagram, session: u32, dir: Dir, now_ms: u64) {
        self.slots[Self::slot(&d)] = Entry {
            datagram: d,
            session,
            dir: dir as u8,
            until_ms: now_ms + LIFETIME_MS,
        };
    }

    /// The session (and direction) of a later fragment of `d`, if its first has passed.
    pub fn get(&self, d: &Datagram, now_ms: u64) -> Option<(u32, Dir)> {
        let e = &self.slots[Self::slot(d)];
        (e.until_ms > now_ms && e.datagram == *d).then_some((
            e.session,
            if e.dir == 0 {
                Dir::Forward
            } else {
                Dir::Reverse
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(flags: u16, id: u16) -> Vec<u8> {
        let mut f = vec![0u8; L3 + 28];
        f[12] = 0x08;
        f[L3] = 0x45;
        f[L3 + 4..L3 + 6].copy_from_slice(&id.to_be_bytes());
        f[L3 + 6..L3 + 8].copy_from_slice(&flags.to_be_bytes());
        f[L3 + 9] = 17;
        f[L3 + 12..L3 + 16].copy_from_slice(&[10, 0, 1, 2]);
        f[L3 + 16..L3 + 20].copy_from_slice(&[10, 0, 2, 2]);
        f
    }

    #[test]
    fn fragments_are_told_apart() {
        assert_eq!(fragment_of(&frame(0, 7)), Fragment::Whole);
        assert_eq!(fragment_of(&frame(0x4000, 7)), Fragment::Whole, "DF alone");
        let d = Datagram {
            src: 0x0a00_0102,
            dst: 0x0a00_0202,
            proto: 17,
            id: 7,
        };
        assert_eq!(fragment_of(&frame(0x2000, 7)), Fragment::First(d));
        assert_eq!(
            fragment_of(&frame(0x2000 | 185, 7)),
            Fragment::Later(d, 185)
        );
        assert_eq!(
            fragment_of(&frame(185, 7)),
            Fragment::Later(d, 185),
            "the last one"
        );
        assert_eq!(fragment_of(&[0u8; 20]), Fragment::Whole, "too short to say");
    }

    #[test]
    fn later_fragments_find_their_session_until_it_expires() {
        let mut m = FragmentMap::default();
        let d = Datagram {
            src: 1,
            dst: 2,
            proto: 17,
            id: 9,
        };
        assert_eq!(m.get(&d, 0), None);
        m.insert(d, 42, Dir::Reverse, 1_000);
        assert_eq!(m.get(&d, 1_500), Some((42, Dir::Reverse)));
        assert_eq!(
            m.get(&Datagram { id: 10, ..d }, 1_500),
            None,
            "another datagram"
        );
        assert_eq!(m.get(&d, 1_000 + LIFETIME_MS), None, "expired");
    }
}
