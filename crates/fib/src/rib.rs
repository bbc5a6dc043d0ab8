//! The writer's copy of the prefixes: a binary trie, from which the lookup structure is built
//! and rebuilt. Only the writer touches it.

use crate::key::Key;
use crate::MISS;

/// One binary-trie node packed in eight bytes: two 24-bit child indices and a 16-bit next
/// hop (the lookup structure's leaves are 16 bits, so no next hop needs more). A full IPv4
/// table makes two million of these: 12-byte nodes cost 8 MB more.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TrieNode(u64);

/// Child indices are 24 bits: 16.7M nodes, room for several full tables.
pub(crate) const MAX_NODES: usize = 1 << 24;

impl TrieNode {
    /// Child by next bit; 0 means none (the root, index 0, is nobody's child).
    #[inline]
    pub fn child(self, b: usize) -> u32 {
        ((self.0 >> (40 - 24 * b as u32)) & 0xff_ffff) as u32
    }

    #[inline]
    fn set_child(&mut self, b: usize, c: u32) {
        let shift = 40 - 24 * b as u32;
        self.0 = (self.0 & !(0xff_ffff << shift)) | (u64::from(c) << shift);
    }

    /// The next hop of the prefix ending here, or MISS.
    #[inline]
    pub fn nh(self) -> u32 {
        (self.0 & 0xffff) as u32
    }

    #[inline]
    fn set_nh(&mut self, nh: u32) -> u32 {
        let old = self.nh();
        self.0 = (self.0 & !0xffff) | u64::from(nh as u16);
        old
    }

    #[inline]
    pub fn is_leaf(self) -> bool {
        self.0 >> 16 == 0
    }
}

pub(crate) struct Trie<K: Key> {
    pub nodes: Vec<TrieNode>,
    free: Vec<u32>,
    pub prefixes: usize,
    /// [`MAX_NODES`]; smaller in tests, to reach it.
    max_nodes: usize,
    _k: std::marker::PhantomData<K>,
}

impl<K: Key> Trie<K> {
    pub fn new() -> Self {
        Trie {
            nodes: vec![TrieNode::default()],
            free: Vec::new(),
            prefixes: 0,
            max_nodes: MAX_NODES,
            _k: std::marker::PhantomData,
        }
    }

    #[cfg(test)]
    pub fn with_max_nodes(max_nodes: usize) -> Self {
        Trie {
            max_nodes,
            ..Trie::new()
        }
    }

    /// Sets the next hop of `addr/len` (at most 16 bits); returns the previous one, or None
    /// when the trie has no room for the nodes it needs (nothing changed then).
    pub fn insert(&mut self, addr: K, len: u8, nh: u32) -> Option<u32> {
        debug_assert!(nh <= u32::from(u16::MAX));
        // Room first, so a refusal leaves no half-built branch behind (near the limit, only a
        // prefix whose branch exists already is taken).
        if self.nodes.len() + usize::from(len) > self.max_nodes
            && self.free.len() < usize::from(len)
        {
            let mut n = 0usize;
            for i in 0..len {
                n = self.nodes[n].child(addr.bit(i)) as usize;
                if n == 0 {
                    return None;
                }
            }
        }
        let mut n = 0usize;
        for i in 0..len {
            let b = addr.bit(i);
            let c = self.nodes[n].child(b);
            n = if c != 0 {
                c as usize
            } else {
                let new = match self.free.pop() {
                    Some(f) => {
                        self.nodes[f as usize] = TrieNode::default();
                        f as usize
                    }
                    None => {
                        self.nodes.push(TrieNode::default());
                        self.nodes.len() - 1
                    }
                };
                self.nodes[n].set_child(b, new as u32);
                new
            };
        }
        let old = self.nodes[n].set_nh(nh);
        if old == MISS {
            self.prefixes += 1;
        }
        Some(old)
    }

    /// Removes `addr/len`, pruning nodes left without prefix or children. Returns the old
    /// next hop (MISS if there was none).
    pub fn remove(&mut self, addr: K, len: u8) -> u32 {
        let mut path = Vec::with_capacity(len as usize + 1);
        let mut n = 0usize;
        path.push(0usize);
        for i in 0..len {
            let c = self.nodes[n].child(addr.bit(i));
            if c == 0 {
                return MISS;
            }
            n = c as usize;
            path.push(n);
        }
        let old = self.nodes[n].set_nh(MISS);
        if old == MISS {
            return MISS;
        }
        self.prefixes -= 1;
        // Prune upwards.
        for i in (1..path.len()).rev() {
            let node = self.nodes[path[i]];
            if node != TrieNode::default() {
                break;
            }
            let parent = path[i - 1];
            let b = addr.bit((i - 1) as u8);
            self.nodes[parent].set_child(b, 0);
            self.free.push(path[i] as u32);
        }
        old
    }

    /// Bytes of the nodes written (in use or on the free list) and of the free list: what is
    /// resident; the vector's unwritten capacity is not.
    pub fn bytes(&self) -> usize {
        self.nodes.len() * std::mem::size_of::<TrieNode>() + self.free.len() * 4
    }

    pub fn has_children(&self, n: u32) -> bool {
        !self.nodes[n as usize].is_leaf()
    }

    /// Walks `depth` bits of `addr` from the root: the node there (if any) and the longest
    /// match among prefixes of length <= depth on the way (including that node's own).
    pub fn walk(&self, addr: K, depth: u8) -> (Option<u32>, u32) {
        let mut n = 0usize;
        let mut best = self.nodes[0].nh();
        for i in 0..depth {
            let c = self.nodes[n].child(addr.bit(i));
            if c == 0 {
                return (None, best);
            }
            n = c as usize;
            if self.nodes[n].nh() != MISS {
                best = self.nodes[n].nh();
            }
        }
        (Some(n as u32), best)
    }

    /// The next hop of exactly `addr/len` (`addr` masked), or MISS.
    pub fn get(&self, addr: K, len: u8) -> u32 {
        match self.walk(addr, len) {
            (Some(n), _) => self.nodes[n as usize].nh(),
            (None, _) => MISS,
        }
    }

    /// Every prefix and its next hop, in address order (shorter first at one address).
    pub fn entries(&self) -> Vec<(K, u8, u32)> {
        let mut out = Vec::with_capacity(self.prefixes);
        // (node, its address, its depth): children pushed right first, so left comes out
        // first.
        let mut stack: Vec<(u32, K, u8)> = vec![(0, K::from_top(0, 1), 0)];
        while let Some((n, addr, depth)) = stack.pop() {
            let node = self.nodes[n as usize];
            if node.nh() != MISS {
                out.push((addr, depth, node.nh()));
            }
            for b in [1usize, 0] {
                let c = node.child(b);
                if c != 0 {
                    let a = if b == 1 { addr.with_bit(depth) } else { addr };
                    stack.push((c, a, depth + 1));
                }
            }
        }
        out
    }

    /// Longest match by walking the trie (the reference the fast structure is tested against).
    pub fn lookup(&self, addr: K) -> u32 {
        self.walk(addr, K::BITS).1
    }
}
