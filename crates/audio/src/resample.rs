//! Sample-rate conversion with rubato's synchronous FFT resampler.
//!
//! Why `Fft` and not `Async::new_sinc`: the ratio between a file's rate and 16 kHz is fixed, and
//! rubato's FFT resampler is its highest-quality mode (band-limited, the same quality as the
//! cubic sinc mode) while being much cheaper — it matters in wasm. Its delay is a whole number of
//! output frames (half the output FFT block), which `process_all` trims exactly, so output sample
//! `i` sits at input time `i / to_hz`: a fractional delay would shift every model frame.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::AudioError;

/// Lowest sample rate [`resample`](crate::resample) accepts. Below this there is no speech band
/// left to score; the bound also keeps rubato's block sizes sane.
pub const MIN_SAMPLE_RATE: u32 = 1_000;
/// Highest sample rate accepted (the highest rate browsers' `AudioContext` allows). With
/// coprime rates the FFT block is the whole input rate, so this bounds memory as well.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

/// Minimum FFT block on the smaller side. rubato derives the anti-aliasing cutoff from the block
/// length: at 1024 points (Blackman-Harris²) it sits at ≈98 % of the lower Nyquist frequency,
/// so speech up to ~7.8 kHz survives a 44.1 kHz → 16 kHz conversion intact.
const MIN_BLOCK: usize = 1024;

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Number of minimal blocks (`rate / gcd` frames each) per FFT block. Always even: rubato's
/// filter is centred on sample `len / 2` (integer division), so both block sizes must be even
/// for the delay to be a whole number of frames on both sides.
pub(crate) fn fft_chunks(from_hz: usize, to_hz: usize) -> usize {
    let g = gcd(from_hz, to_hz);
    let min_block = (from_hz / g).min(to_hz / g);
    let n = MIN_BLOCK.div_ceil(min_block).max(1);
    n + (n & 1)
}

/// `round(n * to / from)` in integers (half rounds up), without overflow.
pub(crate) fn output_len(n: usize, from_hz: u32, to_hz: u32) -> usize {
    let num = n as u128 * u128::from(to_hz) + u128::from(from_hz) / 2;
    (num / u128::from(from_hz)) as usize
}

/// See [`crate::resample`].
pub(crate) fn resample(mono: &[f32], from_hz: u32, to_hz: u32) -> Result<Vec<f32>, AudioError> {
    for hz in [from_hz, to_hz] {
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&hz) {
            return Err(AudioError::UnsupportedSampleRate(hz));
        }
    }
    if from_hz == to_hz {
        return Ok(mono.to_vec());
    }
    let wanted = output_len(mono.len(), from_hz, to_hz);
    if mono.is_empty() || wanted == 0 {
        return Ok(Vec::new());
    }

    let (from, to) = (from_hz as usize, to_hz as usize);
    let chunks = fft_chunks(from, to);
    // With `FixedSync::Both` rubato uses ceil(chunk_size / (from / gcd)) minimal blocks; passing
    // exactly `chunks` of them makes that our even count.
    let chunk_size = chunks * (from / gcd(from, to));
    let err = |e: &dyn std::fmt::Display| AudioError::Resample(e.to_string());
    let mut resampler = Fft::<f32>::new(from, to, chunk_size, 1, FixedSync::Both).map_err(|e| err(&e))?;
    let input = InterleavedSlice::new(mono, 1, mono.len()).map_err(|e| err(&e))?;
    // `process_all` feeds the whole clip, pads the tail with zeros, and trims the startup delay;
    // it returns ceil(n * to / from) frames, of which we keep round(n * to / from).
    let output = resampler.process_all(&input, mono.len(), None).map_err(|e| err(&e))?;
    let mut out = output.take_data();
    out.truncate(wanted);
    // ceil >= round, so this only pads if rubato ever returned less than it documents.
    out.resize(wanted, 0.0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_blocks_are_even_and_long_enough() {
        for (from, to) in [(44_100, 16_000), (48_000, 16_000), (8_000, 16_000), (22_050, 16_000), (16_000, 44_100), (44_101, 16_000)] {
            let g = gcd(from, to);
            let c = fft_chunks(from, to);
            let (bin, bout) = (c * from / g, c * to / g);
            assert_eq!(bin % 2, 0, "{from}->{to}: input block {bin}");
            assert_eq!(bout % 2, 0, "{from}->{to}: output block {bout}");
            assert!(bin.min(bout) >= MIN_BLOCK, "{from}->{to}: {bin}/{bout}");
        }
        // 44.1k -> 16k: minimal blocks 441/160, 7 needed for 1024 output points, rounded to 8.
        assert_eq!(fft_chunks(44_100, 16_000), 8);
    }

    #[test]
    fn output_len_rounds_to_nearest() {
        // 3 samples at 44.1 kHz -> 1.088 at 16 kHz -> 1; 5 -> 1.81 -> 2; 441 -> 160 exactly.
        assert_eq!(output_len(3, 44_100, 16_000), 1);
        assert_eq!(output_len(5, 44_100, 16_000), 2);
        assert_eq!(output_len(441, 44_100, 16_000), 160);
        // Exactly half rounds up: 1 sample at 32 kHz is 0.5 samples at 16 kHz -> 1.
        assert_eq!(output_len(1, 32_000, 16_000), 1);
        assert_eq!(output_len(usize::MAX / 2, 8_000, 16_000), usize::MAX - 1);
    }
}
