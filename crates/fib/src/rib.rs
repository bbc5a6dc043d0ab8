//! The writer's copy of the prefixes: a binary trie, from which the lookup structure is built
//! and rebuilt. Only the writer touches it.

use crate::key::Key;
use crate::MISS;

#[derive(Clone, Copy, Default)]
pub(crate) struct TrieNode {
    /// Children by next bit; 0 means none (the root, index 0, is nobody's child).
    pub child: [u32; 2],
    /// The next hop of the prefix ending here, or MISS.
    pub nh: u32,
}

pub(crate) struct Trie<K: Key> {
    pub nodes: Vec<TrieNode>,
    free: Vec<u32>,
    pub prefixes: usize,
    _k: std::marker::PhantomData<K>,
}

impl<K: Key> Trie<K> {
    pub fn new() -> Self {
        Trie {
            nodes: vec![TrieNode::default()],
            free: Vec::new(),
            prefixes: 0,
            _k: std::marker::PhantomData,
        }
    }

    /// Sets the next hop of `addr/len`; returns the previous one.
    pub fn insert(&mut self, addr: K, len: u8, nh: u32) -> u32 {
        let mut n = 0usize;
        for i in 0..len {
            let b = addr.bit(i);
            let c = self.nodes[n].child[b];
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
                self.nodes[n].child[b] = new as u32;
                new
            };
        }
        let old = std::mem::replace(&mut self.nodes[n].nh, nh);
        if old == MISS {
            self.prefixes += 1;
        }
        old
    }

    /// Removes `addr/len`, pruning nodes left without prefix or children. Returns the old
    /// next hop (MISS if there was none).
    pub fn remove(&mut self, addr: K, len: u8) -> u32 {
        let mut path = Vec::with_capacity(len as usize + 1);
        let mut n = 0usize;
        path.push(0usize);
        for i in 0..len {
            let c = self.nodes[n].child[addr.bit(i)];
            if c == 0 {
                return MISS;
            }
            n = c as usize;
            path.push(n);
        }
        let old = std::mem::replace(&mut self.nodes[n].nh, MISS);
        if old == MISS {
            return MISS;
        }
        self.prefixes -= 1;
        // Prune upwards.
        for i in (1..path.len()).rev() {
            let node = self.nodes[path[i]];
            if node.nh != MISS || node.child != [0, 0] {
                break;
            }
            let parent = path[i - 1];
            let b = addr.bit((i - 1) as u8);
            self.nodes[parent].child[b] = 0;
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
        self.nodes[n as usize].child != [0, 0]
    }

    /// Walks `depth` bits of `addr` from the root: the node there (if any) and the longest
    /// match among prefixes of length <= depth on the way (including that node's own).
    pub fn walk(&self, addr: K, depth: u8) -> (Option<u32>, u32) {
        let mut n = 0usize;
        let mut best = self.nodes[0].nh;
        for i in 0..depth {
            let c = self.nodes[n].child[addr.bit(i)];
            if c == 0 {
                return (None, best);
            }
            n = c as usize;
            if self.nodes[n].nh != MISS {
                best = self.nodes[n].nh;
            }
        }
        (Some(n as u32), best)
    }

    /// The next hop of exactly `addr/len` (`addr` masked), or MISS.
    pub fn get(&self, addr: K, len: u8) -> u32 {
        match self.walk(addr, len) {
            (Some(n), _) => self.nodes[n as usize].nh,
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
            if node.nh != MISS {
                out.push((addr, depth, node.nh));
            }
            for b in [1usize, 0] {
                let c = node.child[b];
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
