//! Batch order: which utterances go together, in which order, for each epoch.
//!
//! Everything here is a pure function of `(seed, epoch)` and the lengths, driven by a
//! self-contained PRNG ([`SplitMix64`]): the order does not depend on a crate's RNG algorithm
//! (which may change between versions), on the platform, or on how many epochs ran before, so a
//! run resumed at epoch `e` sees exactly the batches an uninterrupted run would have.

/// How many batches one length bucket spans: utterances are shuffled, cut into chunks of
/// `BUCKET_BATCHES * batch_size`, and each chunk is sorted by length before it is cut into
/// batches. 50 keeps neighbours in a sorted chunk close in length (the mini corpus's clips run
/// 2.2–11.8 s) while leaving each epoch's batch composition random; sorting the whole split
/// instead would give the same batches every epoch.
pub const BUCKET_BATCHES: usize = 50;

/// SplitMix64 (Steele, Lea, Flood 2014; the seeding generator of `java.util.SplittableRandom`
/// and of xoshiro): 64 bits of state, passes BigCrush, and is a dozen lines, so the sequence is
/// defined here and nowhere else.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The generator for `(seed, epoch)`: both go through the output mix, so neighbouring seeds
    /// or epochs give unrelated streams.
    pub fn for_epoch(seed: u64, epoch: u64) -> Self {
        let a = Self::new(seed).next_u64();
        Self::new(a ^ Self::new(epoch ^ Self::GAMMA).next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`) by Lemire's multiply-shift; the bias, below `n / 2^64`, is
    /// far beneath anything a batch order could show.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// Length-bucketed batches of indices into `lengths` (one entry per utterance, in samples) for
/// one epoch.
///
/// Shuffle all indices; cut them into chunks of [`BUCKET_BATCHES`] batches; sort each chunk by
/// length (ties by index, so the result is fully determined); cut it into batches of
/// `batch_size`; shuffle the order of all batches. Every index appears exactly once; only the
/// last chunk's last batch can be short. Grouping similar lengths keeps zero padding — wasted
/// compute, and with the seed's unmasked padding a change of the inputs — small.
///
/// # Panics
/// If `batch_size` is 0.
pub fn batches(lengths: &[usize], batch_size: usize, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "batch_size must be at least 1");
    let mut rng = SplitMix64::for_epoch(seed, epoch);
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    rng.shuffle(&mut order);
    let mut out = Vec::with_capacity(lengths.len().div_ceil(batch_size));
    for chunk in order.chunks_mut(BUCKET_BATCHES * batch_size) {
        chunk.sort_by_key(|&i| (lengths[i], i));
        out.extend(chunk.chunks(batch_size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut out);
    out
}

/// Batches of `batch_size` consecutive indices of one random permutation of `0..n`, without
/// length grouping: the seed's sampling (transformers' `Trainer` draws a random permutation each
/// epoch and cuts it in order); same determinism as [`batches`]. The trainer does not use it:
/// every run, `--seed-compat` included, takes [`batches`] (that flag only feeds the padding as
/// audio); it is the reference the tests measure bucketing's padding against.
///
/// # Panics
/// If `batch_size` is 0.
pub fn shuffled_batches(n: usize, batch_size: usize, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "batch_size must be at least 1");
    let mut order: Vec<usize> = (0..n).collect();
    SplitMix64::for_epoch(seed, epoch).shuffle(&mut order);
    order.chunks(batch_size).map(<[usize]>::to_vec).collect()
}
