//! Lower bounds on where a shape can start, one per eligible node, and the min-heaps the
//! planner keeps them in.
//!
//! A bound is a [`BoundKey`]: (time, rank of the node in the partition's allocation order)
//! packed into one integer. The planner only ever moves a bound later, and what it takes from
//! a heap is never earlier than what it took before (a monotone queue). A large partition's
//! bounds go in a radix heap, which exploits that: keys sit in buckets by the highest bit in
//! which their time differs from the latest time taken, and only the earliest keys are ever
//! sorted. A binary heap of thousands of keys per shape cost a cache miss per level at every
//! refresh, and refreshes are most of a pass; a smaller one stays in the caches and is faster.

use crate::model::Timestamp;

/// Bits of a [`BoundKey`] that hold the node's rank.
const RANK_BITS: u32 = 24;

/// Bits of a [`BoundKey`] that hold its time.
const TIME_BITS: u32 = 64 - RANK_BITS;

/// The most nodes a partition may have: every rank fits a [`BoundKey`].
pub const MAX_PARTITION_NODES: usize = 1 << RANK_BITS;

/// The latest time a [`BoundKey`] holds, in seconds after the pass's start (about 34,800
/// years); the planning window is cut there.
pub const MAX_BOUND_OFFSET: i64 = (1 << TIME_BITS) - 1;

/// One bound: (time, rank of the node in the partition's allocation order), packed into one
/// integer that orders like the pair (the time as seconds after the pass's start, which the
/// window keeps below [`MAX_BOUND_OFFSET`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BoundKey(u64);

impl BoundKey {
    #[inline]
    pub fn new(base: Timestamp, time: Timestamp, rank: usize) -> Self {
        let offset = time.saturating_sub(base).clamp(0, MAX_BOUND_OFFSET) as u64;
        Self(offset << RANK_BITS | rank as u64)
    }

    /// The greatest key at `time`: every key at or before that time is at most this.
    #[inline]
    pub fn last_at(base: Timestamp, time: Timestamp) -> Self {
        Self::new(base, time, MAX_PARTITION_NODES - 1)
    }

    #[inline]
    pub fn time(self, base: Timestamp) -> Timestamp {
        base + self.offset() as i64
    }

    #[inline]
    pub fn rank(self) -> usize {
        (self.0 & ((1 << RANK_BITS) - 1)) as usize
    }

    /// The time, in seconds after the pass's start.
    #[inline]
    fn offset(self) -> u64 {
        self.0 >> RANK_BITS
    }
}

/// A min-heap of [`BoundKey`]s. The planner's heaps are monotone (keys are taken in order,
/// and a key pushed is usually not earlier than the latest time taken), which a radix heap
/// exploits; but a binary heap of a few thousand keys stays in the caches and does less work.
/// Measured on the engine bench: the radix heap took 25% less time per pass at 10,000 nodes
/// (8,000 per partition), and 10% more at 1,000, when keys were not packed. Packed, a radix
/// heap is also the faster from 512 keys: at 1,000 nodes (800 in the CPU partition) the
/// fastest pass took 47.4-47.8 ms against 48.2-48.8 ms in six A/B rounds, though callgrind
/// counts 10% more instructions (it does not count mispredicted branches, which a binary
/// heap's sifts are full of); 128 keys was slower again.
///
/// A heap whose keys fit 32 bits (a partition's ranks and the window's seconds), binary or
/// radix, keeps them packed in a `u32` ([`Packing`]): half the memory, and so fewer cache
/// misses when a shape's heap is searched again after other shapes' searches. At 6,000 nodes
/// packed radix heaps took a third fewer misses in callgrind's model of a 32 MiB last-level
/// cache (reads 3.65 -> 2.51 million, writes 4.53 -> 2.38 million).
#[derive(Debug)]
pub enum BoundHeap {
    Binary(std::collections::BinaryHeap<std::cmp::Reverse<BoundKey>>),
    Packed(
        std::collections::BinaryHeap<std::cmp::Reverse<u32>>,
        Packing,
    ),
    Radix(Box<RadixHeap<BoundKey>>),
    PackedRadix(Box<RadixHeap<u32>>, Packing),
}

/// Heaps of at least this many keys are radix heaps.
const RADIX_FROM: usize = 512;

/// How the bounds of one partition pack into 32 bits: the rank in the low `rank_bits`, the
/// time above it. Times past `max_offset` are stored as `max_offset`, which is after the
/// planning window: such a bound only ever means "not within the window", as before packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packing {
    rank_bits: u32,
    max_offset: u64,
}

impl Packing {
    /// For a partition of `nodes` nodes and a window ending `window` seconds after the pass
    /// began, when 32 bits hold both (with a time to spare after the window).
    pub fn new(nodes: usize, window: i64) -> Option<Self> {
        let rank_bits = usize::BITS - nodes.saturating_sub(1).leading_zeros();
        let time_bits = 32u32.checked_sub(rank_bits)?;
        let max_offset = (1u64 << time_bits) - 1;
        let window = u64::try_from(window).ok()?;
        (window < max_offset).then_some(Self {
            rank_bits,
            max_offset,
        })
    }

    /// The key packed. A rank past the partition's (only a limit's: "every rank at this
    /// time") becomes the greatest rank the packing holds.
    #[inline]
    fn pack(self, key: BoundKey) -> u32 {
        let offset = key.offset().min(self.max_offset);
        let rank = (key.rank() as u64).min(self.rank_mask());
        // Both parts fit 32 bits: max_offset < 2^(32 - rank_bits), rank < 2^rank_bits.
        (offset << self.rank_bits | rank) as u32
    }

    fn rank_mask(self) -> u64 {
        (1 << self.rank_bits) - 1
    }

    #[inline]
    fn unpack(self, packed: u32) -> BoundKey {
        let packed = u64::from(packed);
        let rank = packed & self.rank_mask();
        BoundKey((packed >> self.rank_bits) << RANK_BITS | rank)
    }
}

/// Sorts bounds ascending; bounds at one time (the nodes that fit at a multi-node search's
/// candidate time) are put in order through a bitset of their ranks.
pub fn sort_bounds(keys: &mut [BoundKey]) {
    sort_keys(keys, RANK_BITS);
}

impl BoundHeap {
    /// A heap of `keys` (in any order), packed when `packing` is given (every key's rank must
    /// be below the partition size it was made for).
    pub fn from_keys(keys: Vec<BoundKey>, packing: Option<Packing>) -> Self {
        Self::with_radix_from(keys, packing, RADIX_FROM)
    }

    /// [`BoundHeap::from_keys`], a radix heap from `radix_from` keys on.
    fn with_radix_from(keys: Vec<BoundKey>, packing: Option<Packing>, radix_from: usize) -> Self {
        match packing {
            Some(p) if keys.len() >= radix_from => {
                let packed = keys.into_iter().map(|k| p.pack(k)).collect();
                Self::PackedRadix(Box::new(RadixHeap::from_keys(packed, p.rank_bits)), p)
            }
            Some(p) => {
                let packed = keys.into_iter().map(|k| std::cmp::Reverse(p.pack(k)));
                Self::Packed(packed.collect(), p)
            }
            None if keys.len() >= radix_from => {
                Self::Radix(Box::new(RadixHeap::from_keys(keys, RANK_BITS)))
            }
            None => Self::Binary(keys.into_iter().map(std::cmp::Reverse).collect()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::Binary(heap) => heap.len(),
            Self::Packed(heap, _) => heap.len(),
            Self::Radix(heap) => heap.len(),
            Self::PackedRadix(heap, _) => heap.len(),
        }
    }

    #[inline]
    pub fn push(&mut self, key: BoundKey) {
        match self {
            Self::Binary(heap) => heap.push(std::cmp::Reverse(key)),
            Self::Packed(heap, p) => heap.push(std::cmp::Reverse(p.pack(key))),
            Self::Radix(heap) => heap.push(key),
            Self::PackedRadix(heap, p) => heap.push(p.pack(key)),
        }
    }

    pub fn extend(&mut self, keys: impl IntoIterator<Item = BoundKey>) {
        match self {
            Self::Binary(heap) => heap.extend(keys.into_iter().map(std::cmp::Reverse)),
            Self::Packed(heap, p) => {
                let p = *p;
                heap.extend(keys.into_iter().map(|k| std::cmp::Reverse(p.pack(k))));
            }
            Self::Radix(heap) => heap.extend(keys),
            Self::PackedRadix(heap, p) => {
                let p = *p;
                heap.extend(keys.into_iter().map(|k| p.pack(k)));
            }
        }
    }

    /// The least key.
    #[inline]
    pub fn peek(&mut self) -> Option<BoundKey> {
        match self {
            Self::Binary(heap) => heap.peek().map(|key| key.0),
            Self::Packed(heap, p) => heap.peek().map(|key| p.unpack(key.0)),
            Self::Radix(heap) => heap.peek(),
            Self::PackedRadix(heap, p) => heap.peek().map(|k| p.unpack(k)),
        }
    }

    /// Removes and returns the least key (the planner refreshes keys in place, or takes
    /// them by time; the tests drain heaps).
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<BoundKey> {
        match self {
            Self::Binary(heap) => heap.pop().map(|key| key.0),
            Self::Packed(heap, p) => heap.pop().map(|key| p.unpack(key.0)),
            Self::Radix(heap) => heap.pop(),
            Self::PackedRadix(heap, p) => heap.pop().map(|k| p.unpack(k)),
        }
    }

    /// Replaces the least key with `key` (not less than it), or removes it (`None`).
    #[inline]
    pub fn replace_least(&mut self, key: Option<BoundKey>) {
        match self {
            Self::Binary(heap) => replace_top(heap, key),
            Self::Packed(heap, p) => replace_top(heap, key.map(|k| p.pack(k))),
            Self::Radix(heap) => {
                heap.pop();
                if let Some(key) = key {
                    heap.push(key);
                }
            }
            Self::PackedRadix(heap, p) => {
                heap.pop();
                if let Some(key) = key {
                    heap.push(p.pack(key));
                }
            }
        }
    }

    /// The time of the `n`-th least key (from 0), left in the heap; `None` when it holds
    /// `n` keys or fewer. A radix heap finds it without sorting its front.
    pub fn nth_least_time(&mut self, n: usize, base: Timestamp) -> Option<Timestamp> {
        let offset = match self {
            Self::Binary(heap) => nth_by_popping(heap, n)?.offset(),
            Self::Packed(heap, p) => p.unpack(nth_by_popping(heap, n)?).offset(),
            // Radix heaps keep times in the seconds keys hold (packed or not).
            Self::Radix(heap) => heap.nth_least_time(n)?,
            Self::PackedRadix(heap, _) => heap.nth_least_time(n)?,
        };
        Some(base + offset as i64)
    }

    /// Moves every key up to `limit` to `out`, in no particular order.
    pub fn take_until(&mut self, limit: BoundKey, out: &mut Vec<BoundKey>) {
        match self {
            Self::Binary(heap) => {
                while let Some(top) = heap.peek_mut().filter(|top| top.0 <= limit) {
                    out.push(std::collections::binary_heap::PeekMut::pop(top).0);
                }
            }
            Self::Packed(heap, p) => {
                let limit = p.pack(limit);
                while let Some(top) = heap.peek_mut().filter(|top| top.0 <= limit) {
                    out.push(p.unpack(std::collections::binary_heap::PeekMut::pop(top).0));
                }
            }
            Self::Radix(heap) => heap.take_until(limit, |k| out.push(k)),
            Self::PackedRadix(heap, p) => {
                let p = *p;
                heap.take_until(p.pack(limit), |k| out.push(p.unpack(k)));
            }
        }
    }
}

/// The `n`-th least key of a binary min-heap (from 0): popped and pushed back.
fn nth_by_popping<T: Ord + Copy>(
    heap: &mut std::collections::BinaryHeap<std::cmp::Reverse<T>>,
    n: usize,
) -> Option<T> {
    if n >= heap.len() {
        return None;
    }
    let least: Vec<_> = (0..=n).filter_map(|_| heap.pop()).collect();
    let nth = least.last().map(|key| key.0);
    heap.extend(least);
    nth
}

/// Replaces a binary min-heap's top with `key` (not less than it), or removes it (`None`).
#[inline]
fn replace_top<T: Ord>(
    heap: &mut std::collections::BinaryHeap<std::cmp::Reverse<T>>,
    key: Option<T>,
) {
    if let Some(mut top) = heap.peek_mut() {
        match key {
            Some(key) => *top = std::cmp::Reverse(key),
            None => {
                std::collections::binary_heap::PeekMut::pop(top);
            }
        }
    }
}

/// A radix heap over the keys' times, for a monotone use: keys are taken in order, and keys
/// pushed are usually not earlier than the latest time taken. Any push is accepted; one
/// earlier than that time only costs an insertion into the sorted front.
///
/// Its keys are [`BoundKey`]s or, packed, `u32`s: either holds the time above `rank_bits`
/// bits of rank.
#[derive(Debug)]
pub struct RadixHeap<K> {
    /// Bits below a key's time.
    rank_bits: u32,
    /// The time (offset) of the latest front formed: every key in the front is at or before
    /// it, every key in `buckets` after it.
    last: u64,
    /// `front[head..]`: keys at or before `last`, in ascending order when `sorted` (keys before
    /// `head` were taken).
    front: Vec<K>,
    head: usize,
    sorted: bool,
    /// No key in the front is earlier than this time: when it is `last`, every key there is
    /// at `last` (keys taken from the front may leave it lower than the least left).
    front_min: u64,
    /// `buckets[b]`: keys whose time first differs from `last` in bit `b` (counting from 0).
    buckets: [Vec<K>; TIME_BITS as usize],
    /// Bit `b` set when `buckets[b]` is not empty.
    filled: u64,
    len: usize,
}

/// A key of a [`RadixHeap`]: ordered, with its time above its rank bits.
pub trait RadixKey: Copy + Ord {
    fn bits(self) -> u64;
    /// The key of these bits (as [`RadixKey::bits`] gave them).
    fn from_bits(bits: u64) -> Self;
}

impl RadixKey for BoundKey {
    #[inline]
    fn bits(self) -> u64 {
        self.0
    }

    #[inline]
    fn from_bits(bits: u64) -> Self {
        Self(bits)
    }
}

impl RadixKey for u32 {
    #[inline]
    fn bits(self) -> u64 {
        u64::from(self)
    }

    #[inline]
    fn from_bits(bits: u64) -> Self {
        bits as u32
    }
}

/// Fronts of at least this many keys are sorted through a bitset of their ranks when they
/// can be.
const BITSET_SORT_FROM: usize = 64;

/// The most ranks a front may span to be sorted through a bitset (a bitset of 4 KiB).
const BITSET_SORT_SPAN: usize = 512 * 64;

/// Sorts `keys` ascending. A front is mostly keys at one time (a refill takes a bucket's
/// earliest), often thousands of nodes at the pass's start, and sorting them by comparison
/// was a tenth of a 10,000-node pass: those keys, at one time and with distinct ranks, are
/// put in order by setting their ranks' bits and reading the bits back.
fn sort_keys<K: RadixKey>(keys: &mut [K], rank_bits: u32) {
    if keys.len() < BITSET_SORT_FROM || !sort_by_rank_bits(keys, rank_bits) {
        keys.sort_unstable();
    }
}

/// Sorts `keys` through a bitset of their ranks, when they share one time, their ranks are
/// distinct and span at most [`BITSET_SORT_SPAN`] (and not far more than there are keys);
/// else leaves them as they are and says so.
fn sort_by_rank_bits<K: RadixKey>(keys: &mut [K], rank_bits: u32) -> bool {
    let Some(first) = keys.first() else {
        return true;
    };
    let time = first.bits() >> rank_bits;
    let mask = (1u64 << rank_bits) - 1;
    let (mut low, mut high) = (u64::MAX, 0);
    for key in keys.iter() {
        if key.bits() >> rank_bits != time {
            return false;
        }
        let rank = key.bits() & mask;
        (low, high) = (low.min(rank), high.max(rank));
    }
    let words = ((high - low) / 64 + 1) as usize;
    if words * 64 > BITSET_SORT_SPAN || words > keys.len() * 2 {
        return false;
    }
    let mut bits = [0u64; BITSET_SORT_SPAN / 64];
    for key in keys.iter() {
        let rank = (key.bits() & mask) - low;
        let (word, bit) = ((rank / 64) as usize, rank % 64);
        if bits[word] >> bit & 1 == 1 {
            // The same key twice: not for a bitset.
            return false;
        }
        bits[word] |= 1 << bit;
    }
    let mut out = keys.iter_mut();
    for (word, &set) in bits[..words].iter().enumerate() {
        let mut set = set;
        while set != 0 {
            let rank = low + word as u64 * 64 + u64::from(set.trailing_zeros());
            set &= set - 1;
            if let Some(slot) = out.next() {
                *slot = K::from_bits(time << rank_bits | rank);
            }
        }
    }
    true
}

impl<K: RadixKey> RadixHeap<K> {
    /// A heap of `keys` (in any order), whose times are above `rank_bits` bits.
    pub fn from_keys(keys: Vec<K>, rank_bits: u32) -> Self {
        let last = keys
            .iter()
            .map(|k| k.bits() >> rank_bits)
            .min()
            .unwrap_or(0);
        let mut heap = Self {
            rank_bits,
            last,
            front: Vec::new(),
            head: 0,
            sorted: true,
            front_min: last,
            buckets: std::array::from_fn(|_| Vec::new()),
            filled: 0,
            len: 0,
        };
        heap.extend(keys);
        heap
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// A key's time.
    #[inline]
    fn offset(&self, key: K) -> u64 {
        key.bits() >> self.rank_bits
    }

    #[inline]
    pub fn push(&mut self, key: K) {
        self.len += 1;
        let offset = self.offset(key);
        if offset > self.last {
            self.push_bucket(key);
            return;
        }
        self.front_min = self.front_min.min(offset);
        if self.sorted {
            let at = self.head + self.front[self.head..].partition_point(|&k| k < key);
            self.front.insert(at, key);
        } else {
            self.front.push(key);
        }
    }

    /// Pushes every key of `keys` (sorting the front once, when next needed).
    pub fn extend(&mut self, keys: impl IntoIterator<Item = K>) {
        for key in keys {
            self.len += 1;
            let offset = self.offset(key);
            if offset > self.last {
                self.push_bucket(key);
            } else {
                self.front_min = self.front_min.min(offset);
                self.front.push(key);
                self.sorted = false;
            }
        }
    }

    /// The least key.
    #[inline]
    pub fn peek(&mut self) -> Option<K> {
        if self.head == self.front.len() || !self.sorted {
            self.settle();
        }
        self.front.get(self.head).copied()
    }

    /// Removes and returns the least key.
    #[inline]
    pub fn pop(&mut self) -> Option<K> {
        let key = self.peek()?;
        self.head += 1;
        self.len -= 1;
        Some(key)
    }

    /// The time of the `n`-th least key (from 0), left in the heap, in seconds after the
    /// pass's start; `None` when it holds `n` keys or fewer. Fronts are gathered until one
    /// holds it; when every key there is at one time that is the answer, else it is selected
    /// there (the front is left unsorted, as pushes leave it).
    pub fn nth_least_time(&mut self, n: usize) -> Option<u64> {
        if n >= self.len {
            return None;
        }
        while self.front.len() - self.head <= n {
            if self.filled == 0 {
                return None;
            }
            // Every key in the front is before the next bucket's: append its earliest keys.
            self.front.drain(..self.head);
            self.head = 0;
            self.refill();
        }
        if self.front_min == self.last {
            return Some(self.last);
        }
        let front = &mut self.front[self.head..];
        let nth = if self.sorted {
            *front.get(n)?
        } else {
            *front.select_nth_unstable(n).1
        };
        Some(self.offset(nth))
    }

    /// Gives every key up to `limit` to `out`, in no particular order (and so without
    /// sorting fronts).
    pub fn take_until(&mut self, limit: K, mut out: impl FnMut(K)) {
        loop {
            if self.head == self.front.len() {
                self.front.clear();
                self.head = 0;
                self.refill();
                if self.front.is_empty() {
                    return;
                }
            }
            if self.last < self.offset(limit) {
                // The whole front is earlier than the limit; the next one may be too.
                self.len -= self.front.len() - self.head;
                self.front.drain(self.head..).for_each(&mut out);
                continue;
            }
            // Every key in a bucket is after the limit's time: only the front can hold more.
            let head = self.head;
            let mut kept = head;
            for i in head..self.front.len() {
                let key = self.front[i];
                if key <= limit {
                    out(key);
                } else {
                    self.front[kept] = key;
                    kept += 1;
                }
            }
            self.len -= self.front.len() - kept;
            self.front.truncate(kept);
            return;
        }
    }

    /// A key after `last` into its bucket: the highest bit in which their times differ.
    #[inline]
    fn push_bucket(&mut self, key: K) {
        let b = (63 - (self.offset(key) ^ self.last).leading_zeros()) as usize;
        self.buckets[b].push(key);
        self.filled |= 1 << b;
    }

    /// Makes the front's least key the heap's: refills an exhausted front from the first
    /// non-empty bucket, and sorts the front.
    #[inline(never)]
    fn settle(&mut self) {
        if self.head == self.front.len() {
            self.front.clear();
            self.head = 0;
            self.refill();
        }
        if !self.sorted {
            sort_keys(&mut self.front[self.head..], self.rank_bits);
            self.sorted = true;
        }
    }

    /// Moves the earliest keys of the first non-empty bucket to the front (after any keys
    /// it holds, which are all earlier), and redistributes the rest of that bucket below it.
    /// Every key of that bucket shares the bits above its index with `last`, and so with the
    /// new `last`: each lands in a lower bucket.
    fn refill(&mut self) {
        if self.filled == 0 {
            return;
        }
        let b = self.filled.trailing_zeros() as usize;
        self.filled &= !(1 << b);
        let mut keys = std::mem::take(&mut self.buckets[b]);
        self.last = keys
            .iter()
            .map(|&k| self.offset(k))
            .min()
            .unwrap_or(self.last);
        if self.front.len() == self.head {
            self.front_min = self.last;
        }
        for &key in &keys {
            if self.offset(key) == self.last {
                self.front.push(key);
            } else {
                self.push_bucket(key);
            }
        }
        self.sorted = self.front.len() - self.head < 2;
        keys.clear();
        self.buckets[b] = keys;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An operation on a heap: push (time offset, rank), or pop.
    #[derive(Debug, Clone)]
    enum Op {
        Push(i64, usize),
        Extend(Vec<(i64, usize)>),
        Pop,
        TakeUntil(i64, usize),
        Nth(usize),
    }

    /// A key's (time, rank): times spread out, or a few shared by many keys (fronts of
    /// many keys at one time, as at a pass's start).
    fn time_and_rank() -> impl Strategy<Value = (i64, usize)> + Clone {
        (prop_oneof![0i64..5_000, 0i64..4], 0usize..64)
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = time_and_rank();
        prop_oneof![
            key.clone().prop_map(|(t, r)| Op::Push(t, r)),
            proptest::collection::vec(key.clone(), 0..20).prop_map(Op::Extend),
            Just(Op::Pop),
            Just(Op::Pop),
            key.prop_map(|(t, r)| Op::TakeUntil(t, r)),
            (0usize..40).prop_map(Op::Nth),
        ]
    }

    proptest! {
        /// A packed bound orders like its (time, rank) pair and gives both back.
        #[test]
        fn bound_keys_order_like_their_pairs(
            base in 0i64..2_000_000_000,
            a in (0i64..MAX_BOUND_OFFSET, 0usize..MAX_PARTITION_NODES),
            b in (0i64..MAX_BOUND_OFFSET, 0usize..MAX_PARTITION_NODES),
        ) {
            let key = |(offset, rank): (i64, usize)| BoundKey::new(base, base + offset, rank);
            let (ka, kb) = (key(a), key(b));
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!((ka.time(base), ka.rank()), (base + a.0, a.1));
        }

        /// A packed heap (binary or radix) gives back the keys a binary heap of full keys
        /// does, in the same order, for keys within the window; keys past it come out after
        /// them, still past it.
        #[test]
        fn packed_heaps_pop_like_full_ones(
            radix in proptest::bool::ANY,
            nodes in 1usize..3_000,
            window in 0i64..200_000,
            keys in proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0), 0..60),
            ops in proptest::collection::vec((0u8..5, 0.0f64..1.0, 0.0f64..1.0), 0..120),
        ) {
            let packing = Packing::new(nodes, window).expect("small partitions and windows pack");
            let key = |t: f64, r: f64| {
                let offset = (t * window as f64) as i64;
                let rank = ((r * nodes as f64) as usize).min(nodes - 1);
                BoundKey::new(0, offset, rank)
            };
            let initial: Vec<BoundKey> = keys.iter().map(|&(t, r)| key(t, r)).collect();
            let radix_from = if radix { 0 } else { RADIX_FROM };
            let mut heap = BoundHeap::with_radix_from(initial.clone(), Some(packing), radix_from);
            prop_assert_eq!(matches!(heap, BoundHeap::PackedRadix(..)), radix);
            prop_assert_eq!(matches!(heap, BoundHeap::Packed(..)), !radix);
            let mut reference: std::collections::BinaryHeap<std::cmp::Reverse<BoundKey>> =
                initial.into_iter().map(std::cmp::Reverse).collect();
            for (op, t, r) in ops {
                match op {
                    0 => {
                        heap.push(key(t, r));
                        reference.push(std::cmp::Reverse(key(t, r)));
                    }
                    1 => prop_assert_eq!(heap.pop(), reference.pop().map(|k| k.0)),
                    2 => {
                        // Every rank up to the limit's time, as first_common_fit asks.
                        let limit = BoundKey::last_at(0, key(t, r).time(0));
                        let mut taken = Vec::new();
                        heap.take_until(limit, &mut taken);
                        taken.sort_unstable();
                        let mut expected = Vec::new();
                        while reference.peek().is_some_and(|k| k.0 <= limit) {
                            expected.extend(reference.pop().map(|k| k.0));
                        }
                        prop_assert_eq!(taken, expected);
                    }
                    3 => {
                        // The n-th least, as first_common_fit asks, left in the heap.
                        let n = (r * 10.0) as usize;
                        let mut sorted: Vec<BoundKey> = reference.iter().map(|k| k.0).collect();
                        sorted.sort_unstable();
                        let expected = sorted.get(n).map(|k| k.time(0));
                        prop_assert_eq!(heap.nth_least_time(n, 0), expected);
                    }
                    _ => {
                        // A refreshed top: later than it, or gone.
                        let top = reference.peek().map(|k| k.0);
                        let new = top.map(|top| key(t, r).max(top)).filter(|_| r < 0.8);
                        heap.replace_least(new);
                        if top.is_some() {
                            reference.pop();
                            reference.extend(new.map(std::cmp::Reverse));
                        }
                    }
                }
                prop_assert_eq!(heap.peek(), reference.peek().map(|k| k.0));
                prop_assert_eq!(heap.len(), reference.len());
            }
            // Past the window: after every key within it, and still past it when unpacked.
            let past = BoundKey::new(0, window + 1 + (window % 7), nodes / 2);
            heap.push(past);
            let mut last = None;
            while let Some(k) = heap.pop() {
                last = Some(k);
            }
            prop_assert!(last.is_some_and(|k| k.time(0) > window));
        }

        /// Fronts sorted through their ranks' bits come out as a comparison sort puts them:
        /// one time or several, distinct ranks or repeated, dense or sparse.
        #[test]
        fn fronts_sort_like_a_comparison_sort(
            rank_bits in 1u32..24,
            time in 0u64..1_000,
            ranks in prop_oneof![
                proptest::collection::vec(0u64..20_000, 0..400),
                proptest::collection::btree_set(0u64..20_000, 0..400)
                    .prop_map(|set| set.into_iter().collect::<Vec<_>>())
                    .prop_shuffle(),
            ],
            later in proptest::option::of(0usize..400),
        ) {
            let mask = (1u64 << rank_bits) - 1;
            let mut bits: Vec<u64> = ranks.iter().map(|r| time << rank_bits | (r & mask)).collect();
            if let Some(i) = later.filter(|&i| i < bits.len()) {
                bits[i] += 1 << rank_bits;
            }
            let mut keys: Vec<BoundKey> = bits.iter().map(|&b| BoundKey(b)).collect();
            let mut expected = keys.clone();
            expected.sort_unstable();
            sort_keys(&mut keys, rank_bits);
            prop_assert_eq!(&keys, &expected);
            if rank_bits <= 16 {
                let mut packed: Vec<u32> = bits.iter().map(|&b| b as u32).collect();
                sort_keys(&mut packed, rank_bits);
                let expected: Vec<u32> = expected.iter().map(|k| k.0 as u32).collect();
                prop_assert_eq!(packed, expected);
            }
        }

        /// The radix heap gives keys back in the order a binary heap does, whatever the pushes
        /// (earlier than what was taken or not).
        #[test]
        fn radix_heap_pops_like_a_binary_heap(
            initial in proptest::collection::vec(time_and_rank(), 0..50),
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let key = |(t, r): (i64, usize)| BoundKey::new(0, t, r);
            let mut heap = RadixHeap::from_keys(initial.iter().copied().map(key).collect(), RANK_BITS);
            let mut reference: std::collections::BinaryHeap<std::cmp::Reverse<BoundKey>> =
                initial.iter().copied().map(|k| std::cmp::Reverse(key(k))).collect();
            for op in ops {
                match op {
                    Op::Push(t, r) => {
                        heap.push(key((t, r)));
                        reference.push(std::cmp::Reverse(key((t, r))));
                    }
                    Op::Extend(keys) => {
                        heap.extend(keys.iter().copied().map(key));
                        reference.extend(keys.iter().copied().map(|k| std::cmp::Reverse(key(k))));
                    }
                    Op::Pop => {
                        prop_assert_eq!(heap.peek(), reference.peek().map(|r| r.0));
                        prop_assert_eq!(heap.pop(), reference.pop().map(|r| r.0));
                    }
                    Op::TakeUntil(t, r) => {
                        let limit = key((t, r));
                        let mut taken = Vec::new();
                        heap.take_until(limit, |k| taken.push(k));
                        taken.sort_unstable();
                        let mut expected = Vec::new();
                        while reference.peek().is_some_and(|k| k.0 <= limit) {
                            expected.extend(reference.pop().map(|k| k.0));
                        }
                        prop_assert_eq!(taken, expected);
                    }
                    Op::Nth(n) => {
                        let mut sorted: Vec<BoundKey> = reference.iter().map(|k| k.0).collect();
                        sorted.sort_unstable();
                        let expected = sorted.get(n).map(|k| k.offset());
                        prop_assert_eq!(heap.nth_least_time(n), expected);
                    }
                }
                prop_assert_eq!(heap.len(), reference.len());
            }
            while let Some(expected) = reference.pop() {
                prop_assert_eq!(heap.pop(), Some(expected.0));
            }
            prop_assert_eq!(heap.pop(), None);
        }
    }
}
