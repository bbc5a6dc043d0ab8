//! The stream index: a stream's hash to its slot, open addressing with linear probing in
//! one vector of 8-byte buckets. Written here rather than taken from std's map because the
//! stage looks a whole batch up in steps, as VPP's nodes do: every packet's bucket is
//! prefetched as the packet is classified, then every entry is prefetched, then the entries
//! are updated; with ten thousand streams neither the buckets nor the entries stay in the
//! cache between two packets of a stream, and a miss per step per packet in turn is what
//! made the monitor cost four times the forwarding. A map that hides its buckets cannot be
//! prefetched.
//!
//! A bucket holds the upper 32 bits of the hash (the tag) and the slot plus one (0: empty).
//! The bucket's position is the tag's top bits, so the table grows from the tags alone.
//! The hash is keyed and randomly seeded (ahash): keys come from the network.

#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    buckets: Vec<u64>,
    /// log2 of the number of buckets (0: none yet).
    bits: u32,
    len: usize,
}

#[inline(always)]
fn tag(h: u64) -> u32 {
    (h >> 32) as u32
}

impl Index {
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    fn pos(&self, tag: u32) -> usize {
        if self.bits == 0 {
            0
        } else {
            (tag >> (32 - self.bits)) as usize
        }
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// Prefetches the bucket where the search for `h` starts.
    #[inline(always)]
    pub fn prefetch(&self, h: u64) {
        if let Some(b) = self.buckets.get(self.pos(tag(h))) {
            savin_fib::prefetch(b);
        }
    }

    /// The slots whose tag is `h`'s, in probe order, for `eq` to tell which holds the key.
    #[inline]
    pub fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.buckets.is_empty() {
            return None;
        }
        let t = tag(h);
        let mask = self.mask();
        let mut i = self.pos(t);
        loop {
            let b = self.buckets[i];
            if b == 0 {
                return None;
            }
            if (b >> 32) as u32 == t {
                let slot = (b as u32).wrapping_sub(1);
                if eq(slot) {
                    return Some(slot);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// The first slot whose tag is `h`'s (the likely one, to prefetch).
    #[inline]
    pub fn first(&self, h: u64) -> Option<u32> {
        self.find(h, |_| true)
    }

    /// Adds `slot` under `h` (the caller knows the key is not there). Grows at half full.
    pub fn insert(&mut self, h: u64, slot: u32) {
        if (self.len + 1) * 2 > self.buckets.len() {
            self.grow();
        }
        self.put(((h >> 32) << 32) | u64::from(slot.wrapping_add(1)));
        self.len += 1;
    }

    fn put(&mut self, b: u64) {
        let mask = self.mask();
        let mut i = self.pos((b >> 32) as u32);
        while self.buckets[i] != 0 {
            i = (i + 1) & mask;
        }
        self.buckets[i] = b;
    }

    fn grow(&mut self) {
        let bits = (self.bits + 1).max(4);
        let old = std::mem::replace(&mut self.buckets, vec![0; 1 << bits]);
        self.bits = bits;
        for b in old.into_iter().filter(|&b| b != 0) {
            self.put(b);
        }
    }

    /// Takes `slot` (stored under `h`) out; the buckets after it move back so that every
    /// search still finds its key (backward-shift deletion: no tombstones to age).
    pub fn remove(&mut self, h: u64, slot: u32) {
        if self.buckets.is_empty() {
            return;
        }
        let want = ((h >> 32) << 32) | u64::from(slot.wrapping_add(1));
        let mask = self.mask();
        let mut i = self.pos(tag(h));
        loop {
            match self.buckets[i] {
                0 => return,
                b if b == want => break,
                _ => i = (i + 1) & mask,
            }
        }
        self.len -= 1;
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let b = self.buckets[j];
            if b == 0 {
                break;
            }
            let home = self.pos((b >> 32) as u32);
            // `b` may fill the hole if its home is not cyclically in (hole, j].
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.buckets[hole] = b;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.buckets[hole] = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A hash that crowds 64 keys into three positions and fifteen tags: long runs, wraps
    /// and shared tags.
    fn crowded(key: u64) -> u64 {
        ((key % 3) << 62) | ((key % 5) << 32) | key
    }

    proptest! {
        /// Any sequence of inserts and removes: the index finds exactly what a map holds.
        #[test]
        fn the_index_agrees_with_a_map(ops in proptest::collection::vec((any::<bool>(), 0u64..64), 1..400)) {
            let mut ix = Index::default();
            let mut map: HashMap<u64, u32> = HashMap::new();
            let mut next = 0u32;
            for (add, key) in ops {
                if add && !map.contains_key(&key) {
                    ix.insert(crowded(key), next);
                    map.insert(key, next);
                    next += 1;
                } else if !add {
                    if let Some(s) = map.remove(&key) {
                        ix.remove(crowded(key), s);
                    }
                }
                prop_assert_eq!(ix.len(), map.len());
                // Slot s holds key k: what the table's entries would say.
                let holds: HashMap<u32, u64> = map.iter().map(|(&k, &s)| (s, k)).collect();
                for k in 0..64u64 {
                    let found = ix.find(crowded(k), |s| holds.get(&s) == Some(&k));
                    prop_assert_eq!(found, map.get(&k).copied());
                }
            }
        }
    }
}
