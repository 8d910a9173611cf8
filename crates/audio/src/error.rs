//! The one error type of this crate.
//!
//! Messages are written for the person who gave us the audio, and never name a file: the caller
//! (CLI, trainer, web page) knows where the bytes came from and prefixes that itself.

use crate::MODEL_SAMPLE_RATE;

/// Everything that can go wrong between audio bytes and a model-ready waveform.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AudioError {
    /// Zero input bytes (most often a failed download or an unfinished recording).
    #[error("file is empty")]
    Empty,

    /// The bytes do not start with a RIFF (or RF64) / WAVE header.
    #[error("not a WAV file (no RIFF/WAVE header)")]
    NotWav,

    /// The file ends inside the RIFF header or a chunk header.
    #[error("WAV is truncated: the file ends inside the {0}")]
    TruncatedHeader(&'static str),

    /// A chunk (usually `data`) declares more bytes than the file holds.
    #[error("WAV is truncated: {chunk} chunk declares {declared} bytes, only {present} present")]
    TruncatedChunk {
        /// The chunk id, ASCII-escaped (`data`, `fmt `, …).
        chunk: String,
        declared: u64,
        present: u64,
    },

    /// The sample data does not end on a frame boundary.
    #[error("WAV is truncated: the data ends with a partial frame ({extra} of {frame_bytes} bytes)")]
    PartialFrame { extra: usize, frame_bytes: usize },

    /// A chunk every WAV file needs (`fmt ` or `data`) is missing.
    #[error("WAV has no `{0}` chunk")]
    MissingChunk(&'static str),

    /// The `fmt ` chunk contradicts itself (no channels, sample rate 0, wrong block align, …).
    #[error("invalid WAV header: {0}")]
    InvalidHeader(String),

    /// A compressed or otherwise unsupported encoding (ADPCM, A-law, MP3-in-WAV, …).
    #[error("unsupported WAV encoding: format tag 0x{tag:04X} ({name})")]
    UnsupportedFormat { tag: u16, name: &'static str },

    /// A supported encoding at a bit depth we do not decode (e.g. 16-bit float).
    #[error("unsupported WAV encoding: {bits}-bit {encoding}")]
    UnsupportedBitDepth { encoding: &'static str, bits: u16 },

    /// WAVE_FORMAT_EXTENSIBLE whose sub-format GUID is neither PCM nor IEEE float.
    #[error("unsupported WAV encoding: WAVE_FORMAT_EXTENSIBLE with sub-format {0}")]
    UnsupportedSubFormat(String),

    /// Big-endian RIFX files: rare enough that we say so instead of guessing.
    #[error("unsupported WAV variant: big-endian RIFX")]
    BigEndian,

    /// The audio holds no samples at all (an empty `data` chunk or an empty buffer).
    #[error("audio contains no samples")]
    NoSamples,

    /// At least one sample is NaN or ±infinity (float WAVs and browser buffers can carry them).
    #[error("audio contains NaN or infinite samples")]
    NonFinite,

    /// Peak absolute value below [`SILENCE_PEAK`](crate::SILENCE_PEAK): nothing to score, and
    /// normalisation would only amplify noise.
    #[error("audio is silent (peak below -80 dBFS)")]
    Silent,

    /// Shorter than the model can turn into even one frame, measured after resampling to 16 kHz.
    #[error(
        "audio is {} s long; the model needs at least {} s",
        secs(*samples),
        secs(*min_samples)
    )]
    TooShort {
        /// Length at 16 kHz.
        samples: usize,
        /// Required length at 16 kHz.
        min_samples: usize,
    },

    /// A sample rate the resampler refuses (0, or outside the supported range).
    #[error(
        "unsupported sample rate: {0} Hz (supported: {min} to {max} Hz)",
        min = crate::MIN_SAMPLE_RATE,
        max = crate::MAX_SAMPLE_RATE
    )]
    UnsupportedSampleRate(u32),

    /// rubato reported an error (should not happen for valid rates; kept so nothing panics).
    #[error("resampling failed: {0}")]
    Resample(String),
}

/// Seconds at 16 kHz for messages: three decimals, trailing zeros trimmed down to two
/// ("0.10", "0.025"), so short clips read naturally without hiding the difference.
fn secs(samples: usize) -> String {
    let s = format!("{:.3}", samples as f64 / f64::from(MODEL_SAMPLE_RATE));
    match s.strip_suffix('0') {
        Some(t) => t.to_string(),
        None => s,
    }
}
