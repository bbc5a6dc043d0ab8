//! The Poptrie lookup structure, its builder and its incremental updates.

use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::key::Key;
use crate::rib::Trie;
use crate::MISS;

/// The largest next-hop index a table holds (indices into the next-hop table): leaves are
/// 16 bits, as in the Poptrie paper, half the cache footprint of 32.
pub const MAX_NEXT_HOP: u32 = u16::MAX as u32;

/// Why a table refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FibError {
    #[error("next hop {0} out of range (1..={MAX_NEXT_HOP})")]
    NextHopOutOfRange(u32),
    /// The writer's trie has no room for another prefix's nodes (millions of prefixes).
    #[error("forwarding table full: no room for another prefix")]
    Full,
}

fn check_next_hop(nh: u32) -> Result<(), FibError> {
    if nh == MISS || nh > MAX_NEXT_HOP {
        return Err(FibError::NextHopOutOfRange(nh));
    }
    Ok(())
}

/// Direct-pointing entries with this bit hold a next hop; others hold a node index. (Which
/// entry a key reads, and how many of its bits that resolves, is the address family's choice:
/// [`Key::slot`].)
const LEAF: u32 = 1 << 31;
/// 32-byte aligned (8 bytes of padding): a 24-byte node at an arbitrary index straddles two
/// cache lines one time in four, and a lookup would wait on both. (Using the padding for up
/// to four inline leaf runs saved a load for 40% of IPv6 lookups but cost more in the
/// unpredictable branch it needs: measured slower, not kept.)
#[derive(Default)]
#[repr(C, align(32))]
struct Node {
    /// Bit i set: child i is a node.
    vector: AtomicU64,
    /// Bit i set: child i is a leaf that starts a new run of equal leaves.
    leafvec: AtomicU64,
    /// base0 (first leaf) in the low half, base1 (first child node) in the high half.
    bases: AtomicU64,
}

/// A node's contents, as the builder writes them and an update copies them.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
struct NodeVal {
    vector: u64,
    leafvec: u64,
    bases: u64,
}

impl NodeVal {
    fn base1(&self) -> usize {
        (self.bases >> 32) as usize
    }
}

/// One published version of the lookup structure. Readers use it through [`Fib::reader`].
pub struct Table<K: Key> {
    direct: Box<[AtomicU32]>,
    nodes: Box<[Node]>,
    /// Next hops, 16 bits each as in the Poptrie paper: half the cache footprint of u32.
    leaves: Box<[AtomicU16]>,
    _k: std::marker::PhantomData<K>,
}

/// Asks the CPU to bring `p`'s cache line in; a hint, it neither waits nor faults.
#[inline(always)]
pub fn prefetch<T>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 only hints the cache; it never faults, reads nothing into a register
    // and writes nothing. The pointer comes from a live reference. (The intrinsic is unsafe only
    // because it takes a raw pointer; there is no safe wrapper in std.)
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
            (p as *const T).cast::<i8>(),
        )
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] for an address that may lie outside the table: a prefetch never faults, so
/// the bounds check a reference needs is not worth its instructions in the lookup loop.
#[inline(always)]
pub fn prefetch_ptr<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 only hints the cache; it never faults, even on an invalid address,
    // reads nothing into a register and writes nothing.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>())
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Brings in the cache lines of the first `bytes` at `p` (which need not be valid: see
/// [`prefetch_ptr`]).
#[inline(always)]
pub fn prefetch_lines<T>(p: *const T, bytes: usize) {
    let p = p.cast::<u8>();
    let mut off = 0;
    while off < bytes {
        prefetch_ptr(p.wrapping_add(off));
        off += 64;
    }
}

/// One step through a node: `Ok(child index)` or `Err(next hop)` when the key ends in a leaf.
enum Step {
    Child(usize),
    Leaf(u32),
}

impl<K: Key> Table<K> {
    #[inline(always)]
    fn step(&self, idx: usize, key: K, off: u8) -> Step {
        let n = &self.nodes[idx];
        let vector = n.vector.load(Ordering::Relaxed);
        let bases = n.bases.load(Ordering::Relaxed);
        let bit = 1u64 << key.six(off);
        if vector & bit != 0 {
            Step::Child((bases >> 32) as usize + (vector & (bit - 1)).count_ones() as usize)
        } else {
            let leafvec = n.leafvec.load(Ordering::Relaxed);
            let bc = (leafvec & (bit | (bit - 1))).count_ones() as usize;
            Step::Leaf(u32::from(
                self.leaves[(bases as u32) as usize + bc - 1].load(Ordering::Relaxed),
            ))
        }
    }

    /// The next hop for `key`, or MISS.
    #[inline]
    pub fn lookup(&self, key: K) -> u32 {
        let (slot, off) = key.slot();
        let d = self.direct[slot].load(Ordering::Acquire);
        if d & LEAF != 0 {
            return d & !LEAF;
        }
        self.finish(d as usize, key, off)
    }

    /// Looks up a batch: `out[i]` = next hop of `keys[i]`.
    ///
    /// Group prefetching: keys advance one level at a time in groups of 32, and each key
    /// prefetches the node (or leaf) it needs next before any of them is read, so the cache
    /// misses of the whole group overlap instead of the out-of-order window's few. Measured
    /// 1.5-1.7x the one-after-another lookup on the full table (the structure is larger than
    /// L2, every level is a miss). Each key's strides are read from a 64-bit window taken
    /// once where the nodes start ([`Key::window`]; a u128 shift per level was a third of an
    /// IPv6 step), and prefetches take unchecked addresses: in-process A/B on the full IPv6
    /// table 1.16-1.4x. Keys whose direct entries resolve different depths (IPv6 global
    /// unicast and the rest) step together: each window starts at its own depth.
    ///
    /// Which keys end in the direct array is data: on uniformly random addresses half of
    /// them do, and a branch on it mispredicts for every other key. So the direct step comes
    /// in two forms, chosen per group by how many keys of the previous group ended there:
    /// with a branch when few did (random prefixes: 13% of IPv4 keys, predicted well and
    /// the cheaper form), branch-free when many did (every key writes its result, node and
    /// window; the ones that ended point at node 0, a line that stays in L1, and leave the
    /// pending mask). In-process A/B on the full tables: branch-free alone against the
    /// branch, random addresses 1.3-1.56x, random prefixes 0.87-1.0x; both forms against
    /// branch-free alone, random prefixes 1.04-1.11x, random addresses 0.95-1.03x.
    #[inline]
    pub fn lookup_batch(&self, keys: &[K], out: &mut [u32]) {
        const G: usize = 32;
        let nodes = &*self.nodes;
        let leaves = &*self.leaves;
        let direct = &*self.direct;
        // Keys of the previous group that ended in the direct array.
        let mut ended_direct = 0u32;
        for (kc, oc) in keys.chunks(G).zip(out.chunks_mut(G)) {
            let mut idx = [0u32; G];
            let mut win = [0u64; G];
            for k in kc {
                prefetch_ptr(direct.as_ptr().wrapping_add(k.slot().0));
            }
            let mut pending = 0u64;
            let each = kc
                .iter()
                .zip(oc.iter_mut())
                .zip(idx.iter_mut().zip(win.iter_mut()))
                .enumerate();
            if ended_direct < (G / 4) as u32 {
                for (i, ((k, o), (x, w))) in each {
                    let (slot, bits) = k.slot();
                    let d = direct[slot].load(Ordering::Relaxed);
                    if d & LEAF != 0 {
                        *o = d & !LEAF;
                    } else {
                        *x = d;
                        *w = k.window(bits);
                        prefetch_ptr(nodes.as_ptr().wrapping_add(d as usize));
                        pending |= 1 << i;
                    }
                }
            } else {
                for (i, ((k, o), (x, w))) in each {
                    let (slot, bits) = k.slot();
                    let d = direct[slot].load(Ordering::Relaxed);
                    let is_node = (d >> 31) ^ 1;
                    let n = d & 0u32.wrapping_sub(is_node);
                    *o = d & !LEAF;
                    *x = n;
                    *w = k.window(bits);
                    prefetch_ptr(nodes.as_ptr().wrapping_add(n as usize));
                    pending |= u64::from(is_node) << i;
                }
            }
            ended_direct = kc.len() as u32 - pending.count_ones();
            let mut depth = 0u8;
            let mut ended = 0u64;
            while pending != 0 {
                if depth > 58 {
                    // Deeper than the window reaches (prefixes longer than /82 in IPv6):
                    // finish these one by one.
                    let mut p = pending;
                    while p != 0 {
                        let i = p.trailing_zeros() as usize & (G - 1);
                        p &= p - 1;
                        oc[i] = self.finish(idx[i] as usize, kc[i], kc[i].slot().1 + depth);
                    }
                    break;
                }
                let mut next = 0u64;
                let mut p = pending;
                while p != 0 {
                    let i = p.trailing_zeros() as usize & (G - 1);
                    p &= p - 1;
                    let n = &nodes[idx[i] as usize];
                    let vector = n.vector.load(Ordering::Relaxed);
                    let bases = n.bases.load(Ordering::Relaxed);
                    let w = win[i];
                    let b = (w >> 58) as u32;
                    if (vector >> b) & 1 != 0 {
                        // Children below b: `vector << (64 - b)`, in two shifts for b = 0.
                        let c = (bases >> 32) as u32 + ((vector << 1) << (63 - b)).count_ones();
                        idx[i] = c;
                        win[i] = w << 6;
                        prefetch_ptr(nodes.as_ptr().wrapping_add(c as usize));
                        next |= 1 << i;
                    } else {
                        // Runs starting at or below b; the first leaf always starts one.
                        let leafvec = n.leafvec.load(Ordering::Relaxed);
                        let l = (bases as u32) + (leafvec << (63 - b)).count_ones() - 1;
                        idx[i] = l;
                        prefetch_ptr(leaves.as_ptr().wrapping_add(l as usize));
                        ended |= 1 << i;
                    }
                }
                pending = next;
                depth += 6;
            }
            while ended != 0 {
                let i = ended.trailing_zeros() as usize & (G - 1);
                ended &= ended - 1;
                oc[i] = u32::from(leaves[idx[i] as usize].load(Ordering::Relaxed));
            }
        }
    }

    /// The rest of a lookup from node `idx`, whose stride starts at bit `off`.
    #[inline(always)]
    fn finish(&self, mut idx: usize, key: K, mut off: u8) -> u32 {
        loop {
            match self.step(idx, key, off) {
                Step::Child(c) => {
                    idx = c;
                    off += 6;
                }
                Step::Leaf(nh) => return nh,
            }
        }
    }
}

/// Sizes of a table, for `show route forwarding-table summary` style reports and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibStats {
    pub prefixes: usize,
    pub nodes: usize,
    pub leaves: usize,
    /// Bytes of the lookup structure in use (direct array, nodes, leaves).
    pub bytes: usize,
    /// Bytes allocated, including room for incremental updates.
    pub bytes_allocated: usize,
    /// Nodes and leaves left behind by updates, reclaimed at the next compaction.
    pub garbage_nodes: usize,
    /// Bytes of the writer's binary trie (the prefixes the lookup structure is built from).
    pub writer_bytes: usize,
}

enum Child {
    Leaf(u32),
    Node(u32, u32),
}

/// Where a build writes: a fresh table (growable) or the live one (bounded, never moving).
trait Sink {
    fn alloc_nodes(&mut self, n: usize) -> Option<usize>;
    fn alloc_leaves(&mut self, n: usize) -> Option<usize>;
    fn node(&mut self, i: usize, val: NodeVal);
    fn leaf(&mut self, i: usize, nh: u32);
}

#[derive(Default)]
struct VecSink {
    nodes: Vec<NodeVal>,
    leaves: Vec<u16>,
}

impl Sink for VecSink {
    fn alloc_nodes(&mut self, n: usize) -> Option<usize> {
        let at = self.nodes.len();
        self.nodes.resize(at + n, NodeVal::default());
        Some(at)
    }
    fn alloc_leaves(&mut self, n: usize) -> Option<usize> {
        let at = self.leaves.len();
        self.leaves.resize(at + n, 0);
        Some(at)
    }
    fn node(&mut self, i: usize, val: NodeVal) {
        self.nodes[i] = val;
    }
    fn leaf(&mut self, i: usize, nh: u32) {
        self.leaves[i] = nh as u16;
    }
}

/// Appends to the live table past what readers can reach; bounded by its capacity.
struct LiveSink<'a, K: Key> {
    table: &'a Table<K>,
    nodes_used: usize,
    leaves_used: usize,
}

impl<K: Key> Sink for LiveSink<'_, K> {
    fn alloc_nodes(&mut self, n: usize) -> Option<usize> {
        let at = self.nodes_used;
        (at + n <= self.table.nodes.len()).then(|| {
            self.nodes_used += n;
            at
        })
    }
    fn alloc_leaves(&mut self, n: usize) -> Option<usize> {
        let at = self.leaves_used;
        (at + n <= self.table.leaves.len()).then(|| {
            self.leaves_used += n;
            at
        })
    }
    fn node(&mut self, i: usize, val: NodeVal) {
        self.write(i, val);
    }
    fn leaf(&mut self, i: usize, nh: u32) {
        self.table.leaves[i].store(nh as u16, Ordering::Relaxed);
    }
}

impl<K: Key> LiveSink<'_, K> {
    fn read(&self, i: usize) -> NodeVal {
        let n = &self.table.nodes[i];
        NodeVal {
            vector: n.vector.load(Ordering::Relaxed),
            leafvec: n.leafvec.load(Ordering::Relaxed),
            bases: n.bases.load(Ordering::Relaxed),
        }
    }

    fn write(&mut self, i: usize, val: NodeVal) {
        let n = &self.table.nodes[i];
        n.vector.store(val.vector, Ordering::Relaxed);
        n.leafvec.store(val.leafvec, Ordering::Relaxed);
        n.bases.store(val.bases, Ordering::Relaxed);
    }
}

/// Whether child `i` of a node at bit offset `off` meets the prefix `addr/len` (`len > off`).
fn child_meets<K: Key>(i: usize, off: u8, addr: K, len: u8) -> bool {
    let k = (len.min(off + 6) - off) as u32;
    (i as u32 >> (6 - k)) == (addr.six(off) >> (6 - k))
}

/// Rebuilds the node for trie node `n` at offset `off` into `at`, copying unchanged internal
/// children (those that do not meet `addr/len`) from the old node `old` instead of rebuilding
/// their subtrees.
#[allow(clippy::too_many_arguments)]
fn rewrite_node<K: Key>(
    trie: &Trie<K>,
    sink: &mut LiveSink<'_, K>,
    at: usize,
    n: u32,
    best: u32,
    off: u8,
    old: NodeVal,
    addr: K,
    len: u8,
) -> Option<()> {
    let (base1, internal) = place(trie, sink, at, n, best)?;
    for (j, (i, c, b)) in internal.into_iter().enumerate() {
        let bit = 1u64 << i;
        if old.vector & bit != 0 && !child_meets(i, off, addr, len) {
            let old_child = old.base1() + (old.vector & (bit - 1)).count_ones() as usize;
            let content = sink.read(old_child);
            sink.write(base1 + j, content);
        } else {
            write_node(trie, sink, base1 + j, c, b)?;
        }
    }
    Some(())
}

/// Fills `out[idx .. idx + 2^depth_left]` with what lies `depth_left` bits below trie node `n`.
fn expand<K: Key>(
    trie: &Trie<K>,
    n: u32,
    depth_left: u8,
    idx: usize,
    best: u32,
    out: &mut [Child],
) {
    let node = trie.nodes[n as usize];
    let best = if node.nh() != MISS { node.nh() } else { best };
    if depth_left == 0 {
        out[idx] = if !node.is_leaf() {
            Child::Node(n, best)
        } else {
            Child::Leaf(best)
        };
        return;
    }
    let span = 1usize << (depth_left - 1);
    for b in 0..2 {
        let at = idx + b * span;
        match node.child(b) {
            0 => out[at..at + span]
                .iter_mut()
                .for_each(|c| *c = Child::Leaf(best)),
            c => expand(trie, c, depth_left - 1, at, best, out),
        }
    }
}

/// An internal child to fill: its index among the 64, its trie node, its inherited next hop.
type InternalChild = (usize, u32, u32);

/// Writes the node for trie node `n` at `at`: its leaves (runs of equal next hops stored
/// once) and an allocated block for its internal children, which are returned (child index,
/// trie node, inherited next hop) with the block's base for the caller to fill.
fn place<K: Key, S: Sink>(
    trie: &Trie<K>,
    sink: &mut S,
    at: usize,
    n: u32,
    best: u32,
) -> Option<(usize, Vec<InternalChild>)> {
    let mut kids: [Child; 64] = std::array::from_fn(|_| Child::Leaf(MISS));
    expand(trie, n, 6, 0, best, &mut kids);
    let (mut vector, mut leafvec) = (0u64, 0u64);
    let mut runs: Vec<u32> = Vec::new();
    let mut internal: Vec<InternalChild> = Vec::new();
    for (i, k) in kids.iter().enumerate() {
        match *k {
            Child::Node(c, b) => {
                vector |= 1 << i;
                internal.push((i, c, b));
            }
            Child::Leaf(nh) => {
                if runs.last() != Some(&nh) || leafvec == 0 {
                    leafvec |= 1 << i;
                    runs.push(nh);
                }
            }
        }
    }
    let base0 = sink.alloc_leaves(runs.len())?;
    for (j, nh) in runs.iter().enumerate() {
        sink.leaf(base0 + j, *nh);
    }
    let base1 = sink.alloc_nodes(internal.len())?;
    sink.node(
        at,
        NodeVal {
            vector,
            leafvec,
            bases: ((base1 as u64) << 32) | base0 as u64,
        },
    );
    Some((base1, internal))
}

/// Writes the Poptrie node for trie node `n` at index `at`, and its subtree.
fn write_node<K: Key, S: Sink>(
    trie: &Trie<K>,
    sink: &mut S,
    at: usize,
    n: u32,
    best: u32,
) -> Option<usize> {
    let (base1, internal) = place(trie, sink, at, n, best)?;
    let mut count = 1;
    for (j, (_, c, b)) in internal.into_iter().enumerate() {
        count += write_node(trie, sink, base1 + j, c, b)?;
    }
    Some(count)
}

/// The direct-pointing value for one slot, building its subtree if it has one.
fn build_slot<K: Key, S: Sink>(trie: &Trie<K>, sink: &mut S, slot: usize) -> Option<(u32, usize)> {
    let Some((prefix, bits)) = K::slot_prefix(slot) else {
        return Some((LEAF | MISS, 0));
    };
    let (node, best) = trie.walk(prefix, bits);
    match node {
        Some(n) if trie.has_children(n) => {
            let at = sink.alloc_nodes(1)?;
            let count = write_node(trie, sink, at, n, best)?;
            Some((at as u32, count))
        }
        _ => Some((LEAF | best, 0)),
    }
}

/// A forwarding table: the writer side. Share [`Fib::reader`] with the data-plane workers.
pub struct Fib<K: Key> {
    rib: Trie<K>,
    table: Arc<ArcSwap<Table<K>>>,
    nodes_used: usize,
    leaves_used: usize,
    /// Nodes each slot's subtree occupies, to count garbage when it is replaced.
    slot_nodes: Vec<u32>,
    garbage: usize,
}

/// The reader side: cheap to clone; `load` once per batch.
#[derive(Clone)]
pub struct FibReader<K: Key>(Arc<ArcSwap<Table<K>>>);

impl<K: Key> FibReader<K> {
    pub fn load(&self) -> Guard<Arc<Table<K>>> {
        self.0.load()
    }
}

impl<K: Key> Default for Fib<K> {
    fn default() -> Self {
        Fib::new()
    }
}

impl<K: Key> Fib<K> {
    pub fn new() -> Fib<K> {
        let rib = Trie::new();
        let (table, nodes_used, leaves_used, slot_nodes) = Self::build_table(&rib);
        Fib {
            rib,
            table: Arc::new(ArcSwap::from_pointee(table)),
            nodes_used,
            leaves_used,
            slot_nodes,
            garbage: 0,
        }
    }

    /// Builds a table holding `routes` (prefix address, length, next hop) in one go.
    pub fn from_routes(routes: impl IntoIterator<Item = (K, u8, u32)>) -> Result<Fib<K>, FibError> {
        let mut fib = Fib::new();
        for (a, l, nh) in routes {
            check_next_hop(nh)?;
            fib.rib.insert(a.masked(l), l, nh).ok_or(FibError::Full)?;
        }
        fib.rebuild();
        Ok(fib)
    }

    pub fn reader(&self) -> FibReader<K> {
        FibReader(self.table.clone())
    }

    /// A lookup through the current table (for the control plane; workers use a reader).
    pub fn lookup(&self, key: K) -> u32 {
        self.table.load().lookup(key)
    }

    /// The longest match computed on the writer's trie: the reference for tests.
    pub fn lookup_reference(&self, key: K) -> u32 {
        self.rib.lookup(key)
    }

    fn build_table(rib: &Trie<K>) -> (Table<K>, usize, usize, Vec<u32>) {
        let mut sink = VecSink::default();
        let slots = K::SLOTS;
        let mut direct = Vec::with_capacity(slots);
        let mut slot_nodes = vec![0u32; slots];
        for (slot, sn) in slot_nodes.iter_mut().enumerate() {
            let (v, count) = build_slot(rib, &mut sink, slot).expect("a growable sink never fills");
            *sn = count as u32;
            direct.push(AtomicU32::new(v));
        }
        let (nodes_used, leaves_used) = (sink.nodes.len(), sink.leaves.len());
        // Room for updates: a quarter more, and at least 64k of each.
        let node_cap = nodes_used + nodes_used / 4 + 65_536;
        let leaf_cap = leaves_used + leaves_used / 4 + 65_536;
        let mut nodes: Vec<Node> = sink
            .nodes
            .into_iter()
            .map(|v| Node {
                vector: AtomicU64::new(v.vector),
                leafvec: AtomicU64::new(v.leafvec),
                bases: AtomicU64::new(v.bases),
            })
            .collect();
        nodes.resize_with(node_cap, Node::default);
        let mut leaves: Vec<AtomicU16> = sink.leaves.into_iter().map(AtomicU16::new).collect();
        leaves.resize_with(leaf_cap, || AtomicU16::new(MISS as u16));
        let table = Table {
            direct: direct.into_boxed_slice(),
            nodes: nodes.into_boxed_slice(),
            leaves: leaves.into_boxed_slice(),
            _k: std::marker::PhantomData,
        };
        (table, nodes_used, leaves_used, slot_nodes)
    }

    /// Rebuilds the whole table from the trie and publishes it (also reclaims garbage).
    pub fn rebuild(&mut self) {
        let (table, n, l, slot_nodes) = Self::build_table(&self.rib);
        self.table.store(Arc::new(table));
        self.nodes_used = n;
        self.leaves_used = l;
        self.slot_nodes = slot_nodes;
        self.garbage = 0;
    }

    /// The next hop installed for exactly `addr/len`, if any.
    pub fn get(&self, addr: K, len: u8) -> Option<u32> {
        Some(self.rib.get(addr.masked(len), len)).filter(|nh| *nh != MISS)
    }

    /// Every installed prefix and its next hop, in address order.
    pub fn entries(&self) -> Vec<(K, u8, u32)> {
        self.rib.entries()
    }

    /// Adds or replaces `addr/len` → `nh`. A next hop outside 1..=[`MAX_NEXT_HOP`] is refused
    /// and the table left as it was.
    pub fn insert(&mut self, addr: K, len: u8, nh: u32) -> Result<(), FibError> {
        check_next_hop(nh)?;
        let addr = addr.masked(len);
        if self.rib.insert(addr, len, nh).ok_or(FibError::Full)? != nh {
            self.refresh(addr, len);
        }
        Ok(())
    }

    /// Applies many changes (`Some(nh)`: add or replace, `None`: remove) and publishes each
    /// direct slot they touch once: a link that carries 100k routes going down rewrites each
    /// slot once instead of once per route, and the garbage of a hundred thousand path copies
    /// (and the full rebuilds it forces) is never made. A slot with one change is patched as
    /// [`Fib::insert`] does; a slot with several is rebuilt; when the changes reach a quarter
    /// of the table, the whole table is rebuilt and published at once. Every next hop is
    /// checked first: one out of range refuses the whole batch and leaves the table as it was.
    /// When the writer's trie is full, the changes that fit are published and the others
    /// refused ([`FibError::Full`]). Returns how many prefixes changed.
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = (K, u8, Option<u32>)>,
    ) -> Result<usize, FibError> {
        let changes: Vec<(K, u8, Option<u32>)> = changes.into_iter().collect();
        for (_, _, nh) in &changes {
            if let Some(nh) = nh {
                check_next_hop(*nh)?;
            }
        }
        let mut touched: Vec<(K, u8)> = Vec::with_capacity(changes.len());
        let mut full = false;
        for (addr, len, nh) in changes {
            let addr = addr.masked(len);
            let changed = match nh {
                Some(nh) => match self.rib.insert(addr, len, nh) {
                    Some(old) => old != nh,
                    None => {
                        full = true;
                        false
                    }
                },
                None => self.rib.remove(addr, len) != MISS,
            };
            if changed {
                touched.push((addr, len));
            }
        }
        let n = touched.len();
        if full {
            // What did fit is published; the rest is refused, and said so.
            self.rebuild();
            return Err(FibError::Full);
        }
        if n == 0 {
            return Ok(0);
        }
        if n >= self.rib.prefixes / 4 + 1024 {
            self.rebuild();
            return Ok(n);
        }
        // Per direct slot, its changes (a short prefix counts in every slot it covers).
        let mut by_slot: Vec<(usize, (K, u8))> = Vec::with_capacity(n);
        for (addr, len) in touched {
            for slot in addr.slots_of(len).into_iter().flatten() {
                by_slot.push((slot, (addr, len)));
            }
        }
        by_slot.sort_unstable_by_key(|(slot, _)| *slot);
        let mut i = 0;
        while i < by_slot.len() {
            let slot = by_slot[i].0;
            let j = i + by_slot[i..].iter().take_while(|(s, _)| *s == slot).count();
            let (addr, len) = by_slot[i].1;
            let alone = j - i == 1 && addr.slots_of(len).into_iter().flatten().count() == 1;
            i = j;
            if alone {
                self.refresh(addr, len);
                continue;
            }
            if !self.rebuild_slot(slot) {
                return Ok(n);
            }
        }
        if self.garbage > self.nodes_used / 2 + 65_536 {
            self.rebuild();
        }
        Ok(n)
    }

    /// Builds one direct slot's subtree again from the trie and publishes it; false when a
    /// full rebuild was needed (and done) instead.
    fn rebuild_slot(&mut self, slot: usize) -> bool {
        let table = self.table.load_full();
        let mut sink = LiveSink {
            table: &table,
            nodes_used: self.nodes_used,
            leaves_used: self.leaves_used,
        };
        let Some((value, nodes)) = build_slot(&self.rib, &mut sink, slot) else {
            self.rebuild();
            return false;
        };
        self.nodes_used = sink.nodes_used;
        self.leaves_used = sink.leaves_used;
        // Everything the new subtree needs is written; now readers may see it.
        table.direct[slot].store(value, Ordering::Release);
        self.garbage += self.slot_nodes[slot] as usize;
        self.slot_nodes[slot] = nodes as u32;
        true
    }

    /// Removes `addr/len`; returns whether it was there.
    pub fn remove(&mut self, addr: K, len: u8) -> bool {
        let addr = addr.masked(len);
        let found = self.rib.remove(addr, len) != MISS;
        if found {
            self.refresh(addr, len);
        }
        found
    }

    /// Replaces only the part of a slot's subtree that a change to `addr/len` touches (the
    /// node whose stride holds the end of the prefix, reusing its unaffected children) and
    /// copies the path above it, so an update costs a few nodes even in the few IPv6 slots
    /// that hold most of the table. `Some(false)`: the slot must be rebuilt whole; `None`: no
    /// room left.
    fn patch(&mut self, table: &Table<K>, addr: K, len: u8) -> Option<bool> {
        let (slot, bits) = addr.slot();
        let d = table.direct[slot].load(Ordering::Relaxed);
        if d & LEAF != 0 || len <= bits {
            return Some(false);
        }
        let mut chain: Vec<(usize, u8)> = vec![(d as usize, bits)];
        loop {
            let (idx, off) = *chain.last().expect("non-empty");
            if len <= off + 6 {
                break;
            }
            let n = &table.nodes[idx];
            let vector = n.vector.load(Ordering::Relaxed);
            let bit = 1u64 << addr.six(off);
            if vector & bit == 0 {
                break;
            }
            let base1 = (n.bases.load(Ordering::Relaxed) >> 32) as usize;
            chain.push((base1 + (vector & (bit - 1)).count_ones() as usize, off + 6));
        }
        // The node to rebuild must still be a node; if the change made it a leaf, rebuild
        // its parent instead.
        let (tnode, best) = loop {
            let (_, off) = *chain.last()?;
            match self.rib.walk(addr, off) {
                (Some(t), best) if self.rib.has_children(t) => break (t, best),
                _ => {
                    chain.pop();
                    if chain.is_empty() {
                        return Some(false);
                    }
                }
            }
        };
        let mut sink = LiveSink {
            table,
            nodes_used: self.nodes_used,
            leaves_used: self.leaves_used,
        };
        let start = sink.nodes_used;
        let (x_idx, x_off) = *chain.last().expect("non-empty");
        let old = sink.read(x_idx);
        let scratch = sink.alloc_nodes(1)?;
        rewrite_node(
            &self.rib, &mut sink, scratch, tnode, best, x_off, old, addr, len,
        )?;
        let mut content = sink.read(scratch);
        for &(p_idx, p_off) in chain[..chain.len() - 1].iter().rev() {
            let parent = sink.read(p_idx);
            let count = parent.vector.count_ones() as usize;
            let old_base1 = parent.base1();
            let new_base1 = sink.alloc_nodes(count)?;
            let replaced = (parent.vector & ((1u64 << addr.six(p_off)) - 1)).count_ones() as usize;
            for j in 0..count {
                let c = if j == replaced {
                    content
                } else {
                    sink.read(old_base1 + j)
                };
                sink.write(new_base1 + j, c);
            }
            content = NodeVal {
                bases: (parent.bases & 0xffff_ffff) | ((new_base1 as u64) << 32),
                ..parent
            };
        }
        let root = sink.alloc_nodes(1)?;
        sink.write(root, content);
        self.garbage += sink.nodes_used - start;
        self.nodes_used = sink.nodes_used;
        self.leaves_used = sink.leaves_used;
        // Everything below `root` is written; now readers may see it.
        table.direct[slot].store(root as u32, Ordering::Release);
        Some(true)
    }

    /// Republishes what a change to `addr/len` can affect.
    fn refresh(&mut self, addr: K, len: u8) {
        if len > addr.slot().1 {
            let table = self.table.load_full();
            match self.patch(&table, addr, len) {
                Some(true) => {
                    if self.garbage > self.nodes_used / 2 + 65_536 {
                        self.rebuild();
                    }
                    return;
                }
                Some(false) => {}
                None => {
                    self.rebuild();
                    return;
                }
            }
        }
        for slot in addr.slots_of(len).into_iter().flatten() {
            // Out of room: a full rebuild published everything at once.
            if !self.rebuild_slot(slot) {
                return;
            }
        }
        if self.garbage > self.nodes_used / 2 + 65_536 {
            self.rebuild();
        }
    }

    pub fn len(&self) -> usize {
        self.rib.prefixes
    }

    pub fn is_empty(&self) -> bool {
        self.rib.prefixes == 0
    }

    pub fn stats(&self) -> FibStats {
        let t = self.table.load();
        FibStats {
            prefixes: self.rib.prefixes,
            nodes: self.nodes_used - self.garbage.min(self.nodes_used),
            leaves: self.leaves_used,
            bytes: t.direct.len() * 4
                + self.nodes_used * std::mem::size_of::<Node>()
                + self.leaves_used * 2,
            bytes_allocated: t.direct.len() * 4
                + t.nodes.len() * std::mem::size_of::<Node>()
                + t.leaves.len() * 2,
            garbage_nodes: self.garbage,
            writer_bytes: self.rib.bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_writer_trie_refuses_what_does_not_fit_and_keeps_the_rest_right() {
        let mut fib: Fib<u32> = Fib::new();
        // Room for the root and 70 more nodes: two /32s that differ in the first bit (32
        // nodes each) fit, a third does not.
        fib.rib = Trie::with_max_nodes(71);
        let a = 0x0a00_0001u32;
        let b = 0xc000_0201u32;
        let c = 0x6400_0001u32;
        assert_eq!(fib.insert(a, 32, 1), Ok(()));
        assert_eq!(
            fib.apply([(b, 32, Some(2)), (c, 32, Some(3))]),
            Err(FibError::Full)
        );
        assert_eq!(fib.lookup(a), 1);
        assert_eq!(fib.lookup(b), 2, "what fits is published");
        assert_eq!(fib.lookup(c), MISS, "what does not is not half-there");
        assert_eq!(fib.len(), 2);
        assert_eq!(fib.insert(c, 32, 3), Err(FibError::Full));
        // A prefix on an existing branch needs no node: still taken; and a removal makes room.
        assert_eq!(fib.insert(a, 24, 4), Ok(()));
        assert_eq!(fib.lookup(a | 0xff), 4);
        assert!(fib.remove(b, 32));
        assert_eq!(fib.insert(c, 32, 3), Ok(()));
        for k in [a, a | 0xff, b, c] {
            assert_eq!(fib.lookup(k), fib.lookup_reference(k), "{k:#x}");
        }
    }

    #[test]
    fn a_trie_node_is_eight_bytes() {
        assert_eq!(std::mem::size_of::<crate::rib::TrieNode>(), 8);
    }
}
