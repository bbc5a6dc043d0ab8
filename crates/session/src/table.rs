//! The table: sessions in a preallocated arena, a two-keys-per-session hash index, and a
//! timer wheel for idle timeouts.

use crate::tcp::{self, Peer, TcpSeg, ACK, FIN, RST, SYN};

const NIL: u32 = u32::MAX;
/// Timer wheel slots, one per second: a session due further ahead waits in the last slot
/// and is looked at again then.
const WHEEL: u64 = 4096;

/// A flow's 5-tuple: IPv4 (`u32` addresses, the default) or IPv6 (`u128`). For ICMP the
/// caller puts the echo identifier in the ports. The session table holds IPv4 keys today;
/// the flow monitor and IPv6 security key flows by the same type over `u128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowKey<A = u32> {
    pub src: A,
    pub dst: A,
    pub sport: u16,
    pub dport: u16,
    pub proto: u8,
}

impl FlowKey {
    /// 104 bits, and the top bit set so that no key is 0 (an empty index slot).
    #[inline(always)]
    fn pack(&self) -> u128 {
        1 << 127
            | u128::from(self.src) << 72
            | u128::from(self.dst) << 40
            | u128::from(self.sport) << 24
            | u128::from(self.dport) << 8
            | u128::from(self.proto)
    }

    fn unpack(k: u128) -> FlowKey {
        FlowKey {
            src: (k >> 72) as u32,
            dst: (k >> 40) as u32,
            sport: (k >> 24) as u16,
            dport: (k >> 8) as u16,
            proto: k as u8,
        }
    }
}

impl<A: Copy> FlowKey<A> {
    /// The key of the reply when no address is translated.
    pub fn reversed(&self) -> FlowKey<A> {
        FlowKey {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            proto: self.proto,
        }
    }
}

/// Which way a packet goes relative to the packet that created its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Forward = 0,
    Reverse = 1,
}

/// A session's state (TCP), or `Active` for protocols without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// TCP: handshake not finished.
    Init,
    Established,
    /// TCP: one side has sent FIN.
    Closing,
    /// TCP: both FINs, or a RST.
    Closed,
    Active,
}

/// Idle timeouts in seconds (the SRX defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub tcp_initial: u32,
    pub tcp_established: u32,
    /// After one FIN.
    pub tcp_closing: u32,
    /// After both FINs or a RST: the session lingers briefly for retransmissions.
    pub tcp_closed: u32,
    pub udp: u32,
    pub icmp: u32,
    pub other: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp_initial: 20,
            tcp_established: 1800,
            tcp_closing: 30,
            tcp_closed: 2,
            udp: 60,
            icmp: 4,
            other: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Sessions held at most (allocated when the table is made).
    pub capacity: usize,
    pub timeouts: Timeouts,
    /// `security flow tcp-session` checks (both on by default, as on an SRX).
    pub syn_check: bool,
    pub sequence_check: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            capacity: 1 << 16,
            timeouts: Timeouts::default(),
            syn_check: true,
            sequence_check: true,
        }
    }
}

/// Why a packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackError {
    /// A TCP segment other than a SYN would have created a session.
    NotSyn,
    /// A TCP segment outside the sequence window.
    Window,
    /// The table is full.
    Full,
    /// One of the keys belongs to another session already.
    Exists,
    /// A SYN opening a new connection on the tuple of a closed session (RFC 1122 lets a
    /// client reuse it at once, and a client that resets its connections does): the caller
    /// [retires](SessionTable::retire) the old session and takes the SYN as a first packet.
    Reopen,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub created: u64,
    pub expired: u64,
    /// Removed by `clear security flow session`.
    pub cleared: u64,
    pub full: u64,
    pub not_syn: u64,
    pub window: u64,
    /// Closed sessions replaced by a new connection on the same tuple.
    pub reopened: u64,
}

/// One session, for `show security flow session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    pub id: u32,
    pub key: FlowKey,
    pub reply: FlowKey,
    pub policy: u32,
    pub state: State,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// Idle timeout and what is left of it, in seconds.
    pub timeout: u32,
    pub remaining: u32,
    /// Ingress and egress ports of the first packet.
    pub ports: [u16; 2],
    /// Seconds since the first packet.
    pub duration: u32,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Idle timeout.
    Idle,
    /// Both FINs (then the short linger).
    Fin,
    Rst,
    /// `clear security flow session`.
    Cleared,
}

impl CloseReason {
    /// As RT_FLOW_SESSION_CLOSE words it.
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::Idle => "idle Timeout",
            CloseReason::Fin => "TCP FIN",
            CloseReason::Rst => "TCP RST",
            CloseReason::Cleared => "CLI",
        }
    }
}

/// A reported session that went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone {
    pub info: Info,
    pub limited: bool,
    pub log: bool,
    pub reason: CloseReason,
}

#[derive(Clone, Copy)]
struct Session {
    keys: [u128; 2],
    packets: [u64; 2],
    bytes: [u64; 2],
    tcp: [Peer; 2],
    policy: u32,
    /// Seconds (since the table was made) of the last packet.
    last: u32,
    /// The idle timeout while established (TCP) or active: the application's, or the default.
    idle: u32,
    prev: u32,
    next: u32,
    /// The wheel slot it is filed in (when `prev` is NIL it is that slot's head).
    slot: u32,
    state: State,
    /// Slot in use.
    live: bool,
    /// Created without a SYN (no-syn-check): the window was never learnt, so not checked.
    loose: bool,
    /// Reported when it goes ([`SessionTable::take_freed`]): counted against a session
    /// limit, and/or logged at close.
    limited: bool,
    log_close: bool,
    /// Closed by a RST (else by FINs), for the close reason.
    rst: bool,
    /// Seconds (since the table was made) of the first packet.
    start: u32,
    /// The ports (the caller's numbering) the first packet came in on and left by.
    ports: [u16; 2],
}

impl Default for Session {
    fn default() -> Self {
        Session {
            keys: [0; 2],
            packets: [0; 2],
            bytes: [0; 2],
            tcp: [Peer::default(); 2],
            policy: 0,
            last: 0,
            idle: 0,
            prev: NIL,
            next: NIL,
            slot: 0,
            state: State::Active,
            live: false,
            loose: false,
            limited: false,
            log_close: false,
            rst: false,
            start: 0,
            ports: [0; 2],
        }
    }
}

/// Asks the CPU to bring `p`'s cache line in; a hint, it neither waits nor faults.
#[inline(always)]
fn prefetch<T>(p: &T) {
    prefetch_ptr((p as *const T).cast::<u8>())
}

/// A vector of `n` copies of `value` whose memory the kernel is asked to back with huge
/// pages (before it is touched), so that a table of a million sessions, read at random,
/// costs a TLB miss per 2 MiB instead of per 4 KiB. Only a hint: without transparent huge
/// pages it is an ordinary vector.
pub(crate) fn huge_vec<T: Clone>(n: usize, value: T) -> Vec<T> {
    let mut v: Vec<T> = Vec::with_capacity(n);
    const HUGE: usize = 2 << 20;
    let bytes = n * std::mem::size_of::<T>();
    if bytes >= 2 * HUGE {
        let start = v.as_mut_ptr() as usize;
        let first = start.next_multiple_of(HUGE);
        let len = (start + bytes - first) / HUGE * HUGE;
        if len > 0 {
            // SAFETY: the range lies inside the allocation `v` owns (from its start rounded
            // up to 2 MiB, whole 2 MiB steps before its end); MADV_HUGEPAGE changes no
            // contents and no mapping, only how the kernel backs untouched pages.
            unsafe {
                libc::madvise(first as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    v.resize(n, value);
    v
}

/// [`prefetch`] for an address that may not be a live reference.
#[inline(always)]
fn prefetch_ptr(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 never faults, whatever the address; it loads nothing into a
    // register and writes nothing.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[inline(always)]
fn hash(k: u128) -> u64 {
    let x = (k as u64) ^ ((k >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let x = (x ^ (x >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^ (x >> 29)
}

/// The packed key of the reply to packed key `k` when nothing is translated: addresses and
/// ports swapped; the marker bit and the protocol stay.
#[inline(always)]
fn mirror(k: u128) -> u128 {
    let addr = |at: u32| (k >> at) & 0xffff_ffff;
    let port = |at: u32| (k >> at) & 0xffff;
    1 << 127 | addr(40) << 72 | addr(72) << 40 | port(8) << 24 | port(24) << 8 | (k & 0xff)
}

/// A key packed and hashed for the index, by [`SessionTable::prefetch_key`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Probe {
    packed: u128,
    home: usize,
}

/// The session table. One per worker: the worker owns it and needs no lock.
pub struct SessionTable {
    cfg: SessionConfig,
    sessions: Vec<Session>,
    free: Vec<u32>,
    /// The index: open addressing, linear probing, at most a quarter full; the value is the
    /// session id times two plus the direction.
    keys: Vec<u128>,
    vals: Vec<u32>,
    mask: usize,
    wheel: Vec<u32>,
    /// The next second the wheel will look at.
    wheel_at: u64,
    start_ms: u64,
    counters: Counters,
    /// Reported sessions that went, for the caller to uncount and log.
    freed: Vec<Gone>,
    /// Retired sessions: out of the index, their slots freed by
    /// [`release_retired`](Self::release_retired) once no packet of the batch can name them.
    retired: Vec<u32>,
}

impl SessionTable {
    pub fn new(cfg: SessionConfig, now_ms: u64) -> SessionTable {
        let cap = cfg.capacity.clamp(1, (NIL / 2) as usize);
        let slots = (cap * 4).next_power_of_two();
        SessionTable {
            cfg: SessionConfig {
                capacity: cap,
                ..cfg
            },
            sessions: huge_vec(cap, Session::default()),
            free: (0..cap as u32).rev().collect(),
            keys: huge_vec(slots, 0),
            vals: huge_vec(slots, 0),
            mask: slots - 1,
            wheel: vec![NIL; WHEEL as usize],
            wheel_at: 0,
            start_ms: now_ms,
            counters: Counters::default(),
            freed: Vec::new(),
            retired: Vec::new(),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// Takes new checks and timeouts (a commit); the capacity stays as it was made.
    pub fn reconfigure(&mut self, cfg: SessionConfig) {
        self.cfg = SessionConfig {
            capacity: self.cfg.capacity,
            ..cfg
        };
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn len(&self) -> usize {
        self.sessions.len() - self.free.len() - self.retired.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the table holds per session of capacity (arena, index, wheel share).
    pub fn bytes_per_session(&self) -> usize {
        let total = self.sessions.len() * std::mem::size_of::<Session>()
            + self.free.capacity() * 4
            + self.keys.len() * 20
            + self.wheel.len() * 4;
        total / self.sessions.len()
    }

    fn secs(&self, now_ms: u64) -> u32 {
        (now_ms.saturating_sub(self.start_ms) / 1000) as u32
    }

    // --- the index ---

    #[inline(always)]
    fn find(&self, k: u128) -> Option<usize> {
        self.find_from(k, hash(k) as usize & self.mask)
    }

    /// Linear probing from `i`, the key's home slot.
    #[inline(always)]
    fn find_from(&self, k: u128, mut i: usize) -> Option<usize> {
        loop {
            let s = self.keys[i];
            if s == k {
                return Some(i);
            }
            if s == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    fn index_insert(&mut self, k: u128, v: u32) {
        let mut i = hash(k) as usize & self.mask;
        while self.keys[i] != 0 {
            i = (i + 1) & self.mask;
        }
        self.keys[i] = k;
        self.vals[i] = v;
    }

    /// Removes `k`, shifting back the entries after it whose probe passed through its slot.
    fn index_remove(&mut self, k: u128) {
        let Some(i) = self.find(k) else { return };
        let empty = crate::probe::close_hole(
            self,
            self.mask,
            i,
            |t, j| (t.keys[j] != 0).then(|| hash(t.keys[j]) as usize & t.mask),
            |t, from, to| {
                t.keys[to] = t.keys[from];
                t.vals[to] = t.vals[from];
            },
        );
        self.keys[empty] = 0;
    }

    /// The session of a packet with key `k`, and which way the packet goes.
    #[inline]
    pub fn lookup(&self, k: &FlowKey) -> Option<(u32, Dir)> {
        self.find(k.pack()).map(|i| self.entry(i))
    }

    /// What index slot `i` holds: a session and the direction of its key.
    #[inline(always)]
    fn entry(&self, i: usize) -> (u32, Dir) {
        let v = self.vals[i];
        let dir = if v & 1 == 0 {
            Dir::Forward
        } else {
            Dir::Reverse
        };
        (v >> 1, dir)
    }

    /// Starts loading the index slot where `k` would be, so that a lookup a little later
    /// finds it in the cache (the data plane does this for a whole batch first). The probe
    /// it returns lets that lookup skip packing and hashing the key again.
    #[inline(always)]
    pub fn prefetch_key(&self, k: &FlowKey) -> Probe {
        let packed = k.pack();
        let i = hash(packed) as usize & self.mask;
        prefetch(&self.keys[i]);
        prefetch(&self.vals[i]);
        Probe { packed, home: i }
    }

    /// [`lookup`](Self::lookup) of the key a [`prefetch_key`](Self::prefetch_key) gave
    /// `p` for, in this table (as it is now: entries may have moved since, the probe only
    /// says where to start).
    #[inline(always)]
    pub fn lookup_probe(&self, p: &Probe) -> Option<(u32, Dir)> {
        self.find_from(p.packed, p.home & self.mask)
            .map(|i| self.entry(i))
    }

    /// Starts loading session `id`.
    #[inline(always)]
    pub fn prefetch_session(&self, id: u32) {
        if let Some(s) = self.sessions.get(id as usize) {
            // Every cache line it spans.
            let p = (s as *const Session).cast::<[u8; 64]>();
            for line in 0..std::mem::size_of::<Session>().div_ceil(64) {
                // Only an address is computed (wrapping_add never dereferences); the
                // prefetch of a line past the session is harmless.
                prefetch_ptr(p.wrapping_add(line).cast::<u8>());
            }
        }
    }

    /// Whether no session holds key `k` (a NAT mapping being chosen must not collide).
    #[inline]
    pub fn is_free(&self, k: &FlowKey) -> bool {
        self.find(k.pack()).is_none()
    }

    /// What a packet of session `id` going `dir` must look like when it leaves: the reverse
    /// of the other direction's key. Equal to the packet's own key unless NAT applies, so
    /// a session stores its translation in its two keys and nothing else.
    #[inline]
    pub fn translated(&self, id: u32, dir: Dir) -> FlowKey {
        let s = &self.sessions[id as usize];
        FlowKey::unpack(s.keys[1 - dir as usize]).reversed()
    }

    /// Whether packets of session `id` going `dir` are translated (its two keys are not
    /// each other's reverse). Compared packed, without building keys.
    #[inline]
    pub fn translates(&self, id: u32, dir: Dir) -> bool {
        let s = &self.sessions[id as usize];
        let (mine, other) = (s.keys[dir as usize], s.keys[1 - dir as usize]);
        mirror(mine) != other
    }

    /// [`translated`](Self::translated) when [`translates`](Self::translates), else None: the
    /// data plane's one question per packet, answered from one read of the two keys.
    #[inline(always)]
    pub fn translation(&self, id: u32, dir: Dir) -> Option<FlowKey> {
        let s = &self.sessions[id as usize];
        let (mine, other) = (s.keys[dir as usize], s.keys[1 - dir as usize]);
        (mirror(mine) != other).then(|| FlowKey::unpack(mirror(other)))
    }

    /// The key of session `id` in direction `dir` (as packets going that way arrive).
    pub fn key(&self, id: u32, dir: Dir) -> FlowKey {
        FlowKey::unpack(self.sessions[id as usize].keys[dir as usize])
    }

    // --- the timer wheel ---

    fn timeout_of(&self, s: &Session, proto: u8) -> u32 {
        let t = &self.cfg.timeouts;
        match (proto, s.state) {
            (6, State::Init) => t.tcp_initial,
            (6, State::Closing) => t.tcp_closing,
            (6, State::Closed) => t.tcp_closed,
            (1, _) => t.icmp,
            _ => s.idle,
        }
    }

    fn unlink(&mut self, id: u32) {
        let (prev, next, slot) = {
            let s = &self.sessions[id as usize];
            (s.prev, s.next, s.slot as usize)
        };
        if prev == NIL {
            if self.wheel[slot] == id {
                self.wheel[slot] = next;
            }
        } else {
            self.sessions[prev as usize].next = next;
        }
        if next != NIL {
            self.sessions[next as usize].prev = prev;
        }
        let s = &mut self.sessions[id as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    /// Files session `id` in the wheel slot of the second it falls due.
    fn link(&mut self, id: u32, due: u64) {
        let at = due.clamp(self.wheel_at, self.wheel_at + WHEEL - 1);
        let slot = (at % WHEEL) as usize;
        let head = self.wheel[slot];
        if head != NIL {
            self.sessions[head as usize].prev = id;
        }
        let s = &mut self.sessions[id as usize];
        s.prev = NIL;
        s.next = head;
        s.slot = slot as u32;
        self.wheel[slot] = id;
    }

    fn due(&self, id: u32) -> u64 {
        let s = &self.sessions[id as usize];
        let proto = s.keys[0] as u8;
        u64::from(s.last) + u64::from(self.timeout_of(s, proto))
    }

    /// Expires the sessions whose idle timeout has passed by `now_ms`: only those filed
    /// under the seconds passed since the last call are looked at (at most the whole wheel
    /// once, after a long pause). Returns how many expired.
    pub fn tick(&mut self, now_ms: u64) -> usize {
        self.tick_bounded(now_ms, usize::MAX)
    }

    /// As [`tick`](Self::tick), looking at `budget` sessions at most; the rest wait for the
    /// next call. The data plane calls this between batches, so that a million sessions
    /// falling due in the same second cost many short pauses instead of one long one.
    pub fn tick_bounded(&mut self, now_ms: u64, budget: usize) -> usize {
        self.release_retired();
        let now = u64::from(self.secs(now_ms));
        if now < self.wheel_at {
            return 0;
        }
        let first = self.wheel_at.max((now + 1).saturating_sub(WHEEL));
        let mut expired = 0;
        let mut looked = 0;
        for sec in first..=now {
            let slot = (sec % WHEEL) as usize;
            let mut id = std::mem::replace(&mut self.wheel[slot], NIL);
            // Re-filed sessions go at or after `now + 1`.
            self.wheel_at = now + 1;
            while id != NIL {
                if looked == budget {
                    // Out of budget: the rest of this slot stays, and the wheel resumes here.
                    self.sessions[id as usize].prev = NIL;
                    self.relink_rest(slot, id);
                    self.wheel_at = sec;
                    return expired;
                }
                looked += 1;
                let next = self.sessions[id as usize].next;
                let s = &mut self.sessions[id as usize];
                s.prev = NIL;
                s.next = NIL;
                let due = self.due(id);
                if due <= now {
                    self.free_session(id, CloseReason::Idle);
                    self.counters.expired += 1;
                    expired += 1;
                } else {
                    self.link(id, due);
                }
                id = next;
            }
        }
        self.wheel_at = now + 1;
        expired
    }

    /// Puts the list starting at `id` back in front of `slot` (re-filed entries may have
    /// gone there meanwhile).
    fn relink_rest(&mut self, slot: usize, id: u32) {
        let mut last = id;
        loop {
            self.sessions[last as usize].slot = slot as u32;
            let n = self.sessions[last as usize].next;
            if n == NIL {
                break;
            }
            last = n;
        }
        let head = self.wheel[slot];
        self.sessions[last as usize].next = head;
        if head != NIL {
            self.sessions[head as usize].prev = last;
        }
        self.wheel[slot] = id;
    }

    fn free_session(&mut self, id: u32, reason: CloseReason) {
        self.end(id, reason);
        self.sessions[id as usize] = Session::default();
        self.free.push(id);
    }

    /// Reports session `id` as gone and takes its keys out of the index (its slot is the
    /// caller's to free: now, or after the batch for a retired one).
    fn end(&mut self, id: u32, reason: CloseReason) {
        self.report(id, reason);
        for k in self.sessions[id as usize].keys {
            self.index_remove(k);
        }
    }

    /// Files session `id`'s close report when it is counted against a limit or logged.
    fn report(&mut self, id: u32, reason: CloseReason) {
        let s = &self.sessions[id as usize];
        if s.limited || s.log_close {
            let reason = match (reason, s.state) {
                (CloseReason::Idle, State::Closed) if s.rst => CloseReason::Rst,
                (CloseReason::Idle, State::Closed) => CloseReason::Fin,
                (r, _) => r,
            };
            let info = self.info_of(id, s.last);
            let (limited, log) = (s.limited, s.log_close);
            if let Some(info) = info {
                self.freed.push(Gone {
                    info,
                    limited,
                    log,
                    reason,
                });
            }
        }
    }

    /// Ends closed session `id` for a new connection on its tuple ([`TrackError::Reopen`]):
    /// reported as closed and out of the index now, so the SYN finds no session and makes a
    /// new one; its slot stays untouched until [`release_retired`](Self::release_retired),
    /// because other packets of the batch may have looked it up already (they are counted
    /// on it, as if they had come just before).
    pub fn retire(&mut self, id: u32) {
        if !self.sessions.get(id as usize).is_some_and(|s| s.live) {
            return;
        }
        self.end(id, CloseReason::Idle);
        self.sessions[id as usize].live = false;
        self.retired.push(id);
        self.counters.reopened += 1;
    }

    /// Frees the slots of retired sessions (between batches: [`tick`](Self::tick) does).
    pub fn release_retired(&mut self) {
        while let Some(id) = self.retired.pop() {
            self.unlink(id);
            self.sessions[id as usize] = Session::default();
            self.free.push(id);
        }
    }

    /// Removes session `id` now (`clear security flow session`).
    pub fn remove(&mut self, id: u32) -> bool {
        if !self.sessions.get(id as usize).is_some_and(|s| s.live) {
            return false;
        }
        self.unlink(id);
        self.free_session(id, CloseReason::Cleared);
        self.counters.cleared += 1;
        true
    }

    // --- sessions ---

    /// Creates the session of a permitted first packet: `key` as it arrived, `reply` the key
    /// its replies will carry (after NAT), `idle_timeout` the application's (None: the
    /// protocol's default). `tcp` is the segment when the protocol is TCP; `len` counts bytes.
    #[allow(clippy::too_many_arguments)]
    pub fn create(
        &mut self,
        key: FlowKey,
        reply: FlowKey,
        policy: u32,
        idle_timeout: Option<u32>,
        tcp: Option<&TcpSeg>,
        len: u32,
        now_ms: u64,
    ) -> Result<u32, TrackError> {
        let is_tcp = key.proto == 6;
        let syn_only = tcp.is_some_and(|t| t.flags & (SYN | ACK | RST) == SYN);
        if is_tcp && self.cfg.syn_check && !syn_only {
            self.counters.not_syn += 1;
            return Err(TrackError::NotSyn);
        }
        let (kf, kr) = (key.pack(), reply.pack());
        if kf == kr || self.find(kf).is_some() || self.find(kr).is_some() {
            return Err(TrackError::Exists);
        }
        let Some(id) = self.free.pop() else {
            self.counters.full += 1;
            return Err(TrackError::Full);
        };
        let t = &self.cfg.timeouts;
        let idle = idle_timeout.unwrap_or(match key.proto {
            6 => t.tcp_established,
            17 => t.udp,
            1 => t.icmp,
            _ => t.other,
        });
        self.sessions[id as usize] = Session {
            keys: [kf, kr],
            policy,
            last: self.secs(now_ms),
            start: self.secs(now_ms),
            idle,
            state: if is_tcp { State::Init } else { State::Active },
            live: true,
            loose: is_tcp && !syn_only,
            ..Session::default()
        };
        self.index_insert(kf, id << 1);
        self.index_insert(kr, id << 1 | 1);
        let due = self.due(id);
        self.link(id, due);
        // The first packet is counted and, for TCP, starts the tracking; a session whose
        // first packet is refused never existed.
        if let Err(e) = self.track(id, Dir::Forward, tcp, len, now_ms) {
            self.unlink(id);
            self.free_session(id, CloseReason::Idle);
            return Err(e);
        }
        self.counters.created += 1;
        Ok(id)
    }

    /// Checks and counts a packet of session `id` going `dir`: TCP state and window, idle
    /// time. A refused segment changes nothing. Always inlined: it is most of the
    /// established path, and the compiler's size limit kept it out of line.
    #[inline(always)]
    pub fn track(
        &mut self,
        id: u32,
        dir: Dir,
        tcp: Option<&TcpSeg>,
        len: u32,
        now_ms: u64,
    ) -> Result<(), TrackError> {
        let now = self.secs(now_ms);
        let check = self.cfg.sequence_check;
        let d = dir as usize;
        let s = &mut self.sessions[id as usize];
        let before = s.state;
        if let Some(seg) = tcp {
            if s.state == State::Closed && d == 0 && seg.flags & (SYN | ACK | RST) == SYN {
                return Err(TrackError::Reopen);
            }
            let [a, b] = &mut s.tcp;
            let (sender, receiver) = if d == 0 { (a, b) } else { (b, a) };
            let ok = tcp::in_window(sender, receiver, seg);
            if !ok && check && !s.loose {
                self.counters.window += 1;
                return Err(TrackError::Window);
            }
            if seg.flags & RST != 0 {
                s.rst = true;
            }
            s.state = match s.state {
                _ if seg.flags & RST != 0 => State::Closed,
                State::Init if s.tcp[0].seen && s.tcp[1].seen && seg.flags & (SYN | ACK) == ACK => {
                    State::Established
                }
                State::Init | State::Established if seg.flags & FIN != 0 => State::Closing,
                State::Closing if seg.flags & FIN != 0 => State::Closed,
                st => st,
            };
            if s.loose && s.state == State::Init && s.tcp[0].seen && s.tcp[1].seen {
                s.state = State::Established;
            }
        }
        s.packets[d] += 1;
        s.bytes[d] += u64::from(len);
        s.last = now;
        if s.state != before {
            // A shorter timeout (closing) must not wait for the slot of the longer one.
            self.unlink(id);
            let due = self.due(id);
            self.link(id, due);
        }
        Ok(())
    }

    /// Marks session `id` to be reported by [`take_freed`](Self::take_freed) when it goes:
    /// counted against a session limit, and/or to be logged at close.
    pub fn mark(&mut self, id: u32, limited: bool, log_close: bool) {
        if let Some(s) = self.sessions.get_mut(id as usize).filter(|s| s.live) {
            s.limited |= limited;
            s.log_close |= log_close;
        }
    }

    /// Decides again, for every live session, whether it counts against a session limit:
    /// `counted(ingress port, key)` says, and the mark follows (for a limit that has just
    /// been turned on, so that the sessions that already exist are counted, and those
    /// counted before are not subtracted from counts that never held them). A walk of the
    /// arena: for commits that change the limits, not for packets.
    pub fn recount(&mut self, mut counted: impl FnMut(u16, FlowKey) -> bool) {
        for s in self.sessions.iter_mut().filter(|s| s.live) {
            s.limited = counted(s.ports[0], FlowKey::unpack(s.keys[0]));
        }
    }

    /// Hands over the reported sessions gone since the last call.
    pub fn take_freed(&mut self, mut f: impl FnMut(Gone)) {
        for g in self.freed.drain(..) {
            f(g);
        }
    }

    /// Records where session `id`'s first packet came in and went out (for show commands).
    pub fn set_ports(&mut self, id: u32, ingress: u16, egress: u16) {
        if let Some(s) = self.sessions.get_mut(id as usize).filter(|s| s.live) {
            s.ports = [ingress, egress];
        }
    }

    pub fn info(&self, id: u32, now_ms: u64) -> Option<Info> {
        self.info_of(id, self.secs(now_ms))
    }

    fn info_of(&self, id: u32, now: u32) -> Option<Info> {
        let s = self.sessions.get(id as usize).filter(|s| s.live)?;
        let timeout = self.timeout_of(s, s.keys[0] as u8);
        let idle = now.saturating_sub(s.last);
        Some(Info {
            duration: now.saturating_sub(s.start),
            id,
            key: FlowKey::unpack(s.keys[0]),
            reply: FlowKey::unpack(s.keys[1]),
            policy: s.policy,
            state: s.state,
            packets: s.packets,
            bytes: s.bytes,
            timeout,
            remaining: timeout.saturating_sub(idle),
            ports: s.ports,
        })
    }

    /// Every live session (for show commands: a walk of the arena, off the data path).
    pub fn sessions(&self, now_ms: u64) -> Vec<Info> {
        (0..self.sessions.len() as u32)
            .filter_map(|id| self.info(id, now_ms))
            .collect()
    }
}
