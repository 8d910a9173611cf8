//! Padding a batch of waveforms, and where the real frames end after the CNN feature encoder.
//!
//! Padding is not harmless for these encoders: with `feat_extract_norm = "group"`
//! (base models) conv layer 0 GroupNorms each channel over *all* time steps, padded zeros
//! included, so one long neighbour changes a short utterance's features everywhere; and the
//! seed's `last_hidden_state.mean(time)` averages padded frames into the score. The data layer
//! therefore always reports the true lengths (in samples, and in frames via [`frame_lengths`]) so
//! the model can restrict both statistics to real samples/frames. The seed did neither: it
//! zero-padded and passed no mask. [`Padding::SeedCompat`] reproduces that.

/// What the model is told about padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Padding {
    /// Zero padding plus the true lengths: GroupNorm statistics, attention and mean pooling use
    /// real samples and frames only.
    #[default]
    Masked,
    /// The seed's behaviour (`pad_sequence(..., padding_value=0.0)`, no attention mask): the
    /// model sees the zero-padded batch as if it were real audio. For `--seed-compat`.
    SeedCompat,
}

/// A batch of waveforms in one row-major `[batch, max_len]` buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct PaddedBatch {
    /// `batch * max_len` values; row `b` holds utterance `b`, then zeros up to `max_len`.
    pub values: Vec<f32>,
    /// Each utterance's real length in samples.
    pub lengths: Vec<usize>,
    /// The longest length: the row width.
    pub max_len: usize,
}

impl PaddedBatch {
    /// Number of utterances.
    pub fn batch_size(&self) -> usize {
        self.lengths.len()
    }

    /// The lengths the model should mask with: `Some(lengths)` for [`Padding::Masked`], `None`
    /// for [`Padding::SeedCompat`]. The one place where the switch changes the data handed on.
    pub fn mask_lengths(&self, padding: Padding) -> Option<&[usize]> {
        match padding {
            Padding::Masked => Some(&self.lengths),
            Padding::SeedCompat => None,
        }
    }

    /// transformers' `attention_mask` over samples: `[batch * max_len]`, 1.0 on real samples,
    /// 0.0 on padding.
    pub fn attention_mask(&self) -> Vec<f32> {
        length_mask(&self.lengths, self.max_len)
    }
}

/// Zero-pad waveforms to the longest one. Any per-utterance normalisation must happen before
/// (the audio front end does it per file), as in transformers' feature extractor: normalising the
/// padded row would mix the zeros into the mean and variance.
pub fn pad_batch<S: AsRef<[f32]>>(samples: &[S]) -> PaddedBatch {
    let lengths: Vec<usize> = samples.iter().map(|s| s.as_ref().len()).collect();
    let max_len = lengths.iter().copied().max().unwrap_or(0);
    let mut values = vec![0.0f32; samples.len() * max_len];
    for (row, s) in values.chunks_mut(max_len.max(1)).zip(samples) {
        row[..s.as_ref().len()].copy_from_slice(s.as_ref());
    }
    PaddedBatch { values, lengths, max_len }
}

/// Frames after the CNN feature encoder for inputs of `sample_lengths` samples: transformers'
/// `_get_feat_extract_output_lengths`, `L = floor((L - kernel) / stride) + 1` per conv layer, with
/// inputs shorter than a kernel giving 0 frames (where the formula would go negative). Applied to
/// the padded width it gives the frame count of the whole padded batch, since the conv stack
/// computes exactly this.
///
/// # Panics
/// If `conv_kernel` and `conv_stride` differ in length or a stride is 0.
pub fn frame_lengths(sample_lengths: &[usize], conv_kernel: &[usize], conv_stride: &[usize]) -> Vec<usize> {
    assert_eq!(conv_kernel.len(), conv_stride.len(), "one stride per conv kernel");
    assert!(conv_stride.iter().all(|&s| s > 0), "conv strides must be positive");
    sample_lengths.iter().map(|&len| conv_kernel.iter().zip(conv_stride).fold(len, |l, (&k, &s)| if l < k { 0 } else { (l - k) / s + 1 })).collect()
}

/// A `[batch * max_len]` mask, 1.0 where `position < lengths[b]`: over frames (with
/// [`frame_lengths`]) it is the weight of a masked mean pool.
pub fn length_mask(lengths: &[usize], max_len: usize) -> Vec<f32> {
    lengths.iter().flat_map(|&len| (0..max_len).map(move |t| if t < len { 1.0 } else { 0.0 })).collect()
}
