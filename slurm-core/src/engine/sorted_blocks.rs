//! An ordered set kept as a list of sorted blocks, for a pass's frontiers: a few thousand keys
//! that move later one at a time (a removal and an insertion each) and are read in order from
//! the least. A `BTreeSet` did the same with a pointer chase per level and rebalancing per
//! removal, and those were a fifth of a pass at 6,000 nodes; here a key is found by a binary
//! search over the blocks' last keys (one small contiguous list) and then within one block,
//! and a block of at most [`BLOCK`] keys shifts in one `memmove`.

/// The most keys a block holds before it is split in two.
const BLOCK: usize = 128;

/// A set of `K`s in ascending order.
#[derive(Debug)]
pub struct SortedBlocks<K> {
    /// Non-empty, sorted, each block's keys less than the next block's.
    blocks: Vec<Vec<K>>,
    /// Each block's greatest key.
    lasts: Vec<K>,
    len: usize,
}

/// An empty block with room for every key it will hold: a block filling up one key at a
/// time would otherwise be copied as it grew.
fn new_block<K>() -> Vec<K> {
    Vec::with_capacity(BLOCK + 1)
}

/// Reads one key of every cache line of `keys`, all at once. A key moving later usually
/// goes to a block no search has read lately, and a binary search over it would wait for
/// one line after another; read independently first, the waits overlap.
#[inline]
fn read_every_line<K: Copy>(keys: &[K]) {
    let per_line = (64 / std::mem::size_of::<K>().max(1)).max(1);
    for key in keys.iter().step_by(per_line) {
        std::hint::black_box(*key);
    }
}

impl<K> Default for SortedBlocks<K> {
    fn default() -> Self {
        Self {
            blocks: Vec::new(),
            lasts: Vec::new(),
            len: 0,
        }
    }
}

impl<K: Copy + Ord> SortedBlocks<K> {
    /// The set of `keys` (in any order; repeats kept once).
    pub fn from_keys(mut keys: Vec<K>) -> Self {
        keys.sort_unstable();
        keys.dedup();
        let mut set = Self {
            len: keys.len(),
            ..Self::default()
        };
        for chunk in keys.chunks(BLOCK / 2) {
            let mut block = new_block();
            block.extend_from_slice(chunk);
            set.blocks.push(block);
            set.lasts.extend(chunk.last().copied());
        }
        set
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The block that holds `key` if the set does, else the one it would go in.
    #[inline]
    fn block_of(&self, key: K) -> usize {
        self.lasts
            .partition_point(|last| *last < key)
            .min(self.blocks.len().saturating_sub(1))
    }

    /// Adds `key`; says whether it was not there.
    pub fn insert(&mut self, key: K) -> bool {
        if self.blocks.is_empty() {
            let mut block = new_block();
            block.push(key);
            self.blocks.push(block);
            self.lasts.push(key);
            self.len = 1;
            return true;
        }
        let b = self.block_of(key);
        let block = &mut self.blocks[b];
        read_every_line(block);
        let Err(at) = block.binary_search(&key) else {
            return false;
        };
        block.insert(at, key);
        self.len += 1;
        if at + 1 == block.len() {
            self.lasts[b] = key;
        }
        if block.len() > BLOCK {
            let mut upper = new_block();
            upper.extend(block.drain(BLOCK / 2..));
            self.lasts[b] = block[BLOCK / 2 - 1];
            self.lasts.insert(b + 1, upper[upper.len() - 1]);
            self.blocks.insert(b + 1, upper);
        }
        true
    }

    /// Takes `key` out; says whether it was there.
    pub fn remove(&mut self, key: K) -> bool {
        if self.blocks.is_empty() {
            return false;
        }
        let b = self.block_of(key);
        let block = &mut self.blocks[b];
        let Ok(at) = block.binary_search(&key) else {
            return false;
        };
        block.remove(at);
        self.len -= 1;
        match block.last() {
            None => {
                self.blocks.remove(b);
                self.lasts.remove(b);
            }
            Some(&last) => self.lasts[b] = last,
        }
        true
    }

    /// Every key in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = K> + '_ {
        self.blocks.iter().flatten().copied()
    }

    /// Every key after `key` (exclusive), in ascending order.
    pub fn after(&self, key: K) -> impl Iterator<Item = K> + '_ {
        let b = self.lasts.partition_point(|last| *last <= key);
        let first = self.blocks.get(b).map_or(&[][..], |block| {
            let at = block.partition_point(|k| *k <= key);
            &block[at..]
        });
        let rest = self.blocks.get(b + 1..).unwrap_or_default();
        first.iter().chain(rest.iter().flatten()).copied()
    }

    /// Every key up to `limit` (inclusive), in ascending order.
    pub fn up_to(&self, limit: K) -> impl Iterator<Item = K> + '_ {
        self.iter().take_while(move |k| *k <= limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u16),
        Remove(u16),
        Move(u16, u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // A narrow key range makes repeats and removals of present keys common.
        let key = prop_oneof![0u16..600, 0u16..40];
        prop_oneof![
            key.clone().prop_map(Op::Insert),
            key.clone().prop_map(Op::Remove),
            (key.clone(), key).prop_map(|(a, b)| Op::Move(a, b)),
        ]
    }

    proptest! {
        /// Inserts, removals and reads answer as a `BTreeSet` does, through block splits and
        /// emptied blocks.
        #[test]
        fn blocks_answer_like_a_btree_set(
            initial in proptest::collection::vec(0u16..600, 0..400),
            ops in proptest::collection::vec(op(), 0..600),
            probe in 0u16..700,
        ) {
            let mut set = SortedBlocks::from_keys(initial.clone());
            let mut reference: BTreeSet<u16> = initial.into_iter().collect();
            for op in ops {
                match op {
                    Op::Insert(k) => prop_assert_eq!(set.insert(k), reference.insert(k)),
                    Op::Remove(k) => prop_assert_eq!(set.remove(k), reference.remove(&k)),
                    Op::Move(a, b) => {
                        prop_assert_eq!(set.remove(a), reference.remove(&a));
                        prop_assert_eq!(set.insert(b), reference.insert(b));
                    }
                }
                prop_assert_eq!(set.len(), reference.len());
            }
            prop_assert!(set.iter().eq(reference.iter().copied()));
            prop_assert!(set.after(probe).eq(reference.range(probe + 1..).copied()));
            prop_assert!(set.up_to(probe).eq(reference.range(..=probe).copied()));
            prop_assert!(set.blocks.iter().all(|b| !b.is_empty() && b.len() <= BLOCK));
        }
    }
}
