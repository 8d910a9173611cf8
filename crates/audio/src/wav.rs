//! A small RIFF/WAVE reader.
//!
//! Written here rather than pulled in (hound, symphonia) because it is small, it has to run in
//! wasm32 on bytes the browser hands us, and we want every malformed-file case to become an
//! [`AudioError`] a user can read, never a panic. All reads go through `get`, so no slice index
//! is ever unchecked.
//!
//! Sample scaling matches soundfile/librosa (what the Python reference used to load audio):
//! integers are divided by 2^(bits-1) of their container, 8-bit is unsigned around 128.

use crate::{Audio, AudioError};

/// `WAVE_FORMAT_PCM`.
const TAG_PCM: u16 = 0x0001;
/// `WAVE_FORMAT_IEEE_FLOAT`.
const TAG_FLOAT: u16 = 0x0003;
/// `WAVE_FORMAT_EXTENSIBLE`: the real encoding is in the sub-format GUID.
const TAG_EXTENSIBLE: u16 = 0xFFFE;

/// The last 14 bytes shared by every `KSDATAFORMAT_SUBTYPE_*` GUID that wraps a classic format
/// tag (`XXXXXXXX-0000-0010-8000-00AA00389B71`, the first two bytes being the tag).
const GUID_TAIL: [u8; 14] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];

/// How samples are stored, after resolving WAVE_FORMAT_EXTENSIBLE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// Unsigned 8-bit, offset 128.
    U8,
    /// Signed little-endian integer in a container of 2, 3 or 4 bytes.
    Int(usize),
    F32,
    F64,
}

impl Encoding {
    fn bytes(self) -> usize {
        match self {
            Encoding::U8 => 1,
            Encoding::Int(n) => n,
            Encoding::F32 => 4,
            Encoding::F64 => 8,
        }
    }
}

/// What the `fmt ` chunk tells us.
#[derive(Debug, Clone, Copy)]
struct Format {
    encoding: Encoding,
    channels: u16,
    sample_rate: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Human name of a format tag, for the "unsupported encoding" message.
fn tag_name(tag: u16) -> &'static str {
    match tag {
        0x0002 => "Microsoft ADPCM",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG",
        0x0055 => "MPEG Layer 3",
        0x00FF => "AAC",
        0x1610 => "HE-AAC",
        0x674F | 0x6750 | 0x6751 | 0x676F | 0x6770 | 0x6771 => "Ogg Vorbis",
        0xF1AC => "FLAC",
        _ => "unknown",
    }
}

/// Parse the `fmt ` chunk body into an encoding we can decode, or say why not.
fn parse_fmt(body: &[u8]) -> Result<Format, AudioError> {
    // The 16-byte WAVEFORMAT core is mandatory; the chunk-size check already guaranteed that the
    // body is as long as declared, so a short body means the chunk itself is too small.
    let (Some(tag), Some(channels), Some(sample_rate), Some(block_align), Some(bits)) =
        (u16_at(body, 0), u16_at(body, 2), u32_at(body, 4), u16_at(body, 12), u16_at(body, 14))
    else {
        return Err(AudioError::InvalidHeader(format!("fmt chunk is {} bytes, needs at least 16", body.len())));
    };

    // Resolve WAVE_FORMAT_EXTENSIBLE to the classic tag its GUID wraps.
    let effective_tag = if tag == TAG_EXTENSIBLE {
        let guid = body
            .get(24..40)
            .ok_or_else(|| AudioError::InvalidHeader(format!("WAVE_FORMAT_EXTENSIBLE fmt chunk is {} bytes, needs 40", body.len())))?;
        if guid[2..] != GUID_TAIL {
            return Err(AudioError::UnsupportedSubFormat(format_guid(guid)));
        }
        u16::from_le_bytes([guid[0], guid[1]])
    } else {
        tag
    };

    let encoding = match effective_tag {
        // PCM: `bits` may be a non-multiple of 8 (e.g. 12 or 20 bits); samples are then
        // left-justified in a container of ceil(bits/8) bytes, so dividing by the container's
        // full scale gives the right value. For EXTENSIBLE, `bits` is the container size itself.
        TAG_PCM => match bits {
            1..=8 => Encoding::U8,
            9..=32 => Encoding::Int(usize::from(bits).div_ceil(8)),
            _ => {
                return Err(AudioError::UnsupportedBitDepth { encoding: "integer PCM", bits });
            }
        },
        TAG_FLOAT => match bits {
            32 => Encoding::F32,
            64 => Encoding::F64,
            _ => {
                return Err(AudioError::UnsupportedBitDepth { encoding: "float", bits });
            }
        },
        other => {
            return Err(AudioError::UnsupportedFormat { tag: other, name: tag_name(other) });
        }
    };

    if channels == 0 {
        return Err(AudioError::InvalidHeader("0 channels".into()));
    }
    if sample_rate == 0 {
        return Err(AudioError::InvalidHeader("sample rate is 0 Hz".into()));
    }
    let frame_bytes = usize::from(channels) * encoding.bytes();
    if usize::from(block_align) != frame_bytes {
        return Err(AudioError::InvalidHeader(format!(
            "block align is {block_align} bytes, but {channels} channel(s) of {bits}-bit samples \
             need {frame_bytes}"
        )));
    }
    Ok(Format { encoding, channels, sample_rate })
}

/// GUID in its usual textual form, for the error message.
fn format_guid(g: &[u8]) -> String {
    let mut s = String::new();
    // Data1..Data3 are little-endian, Data4 is a byte string.
    for i in [3, 2, 1, 0] {
        s.push_str(&format!("{:02X}", g[i]));
    }
    s.push('-');
    for i in [5, 4] {
        s.push_str(&format!("{:02X}", g[i]));
    }
    s.push('-');
    for i in [7, 6] {
        s.push_str(&format!("{:02X}", g[i]));
    }
    s.push('-');
    for b in &g[8..10] {
        s.push_str(&format!("{b:02X}"));
    }
    s.push('-');
    for b in &g[10..16] {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

fn chunk_name(id: &[u8]) -> String {
    id.escape_ascii().to_string().trim_end().to_string()
}

/// Decode a complete WAV file held in memory. See [`crate::decode_wav`].
pub(crate) fn decode(bytes: &[u8]) -> Result<Audio, AudioError> {
    let (format, data) = chunks(bytes)?;
    decode_samples(format, data)
}

/// The duration of a WAV file from its header alone, in seconds: nothing is decoded, so a caller can
/// refuse an over-long recording before it allocates anything for its samples.
pub(crate) fn duration_secs(bytes: &[u8]) -> Result<f64, AudioError> {
    let (format, data) = chunks(bytes)?;
    let frame_bytes = format.encoding.bytes() * usize::from(format.channels);
    Ok((data.len() / frame_bytes) as f64 / f64::from(format.sample_rate))
}

/// The `fmt ` chunk, parsed, and the `data` chunk's bytes.
fn chunks(bytes: &[u8]) -> Result<(Format, &[u8]), AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    let riff = bytes.get(0..4);
    if riff == Some(b"RIFX") {
        return Err(AudioError::BigEndian);
    }
    let is_rf64 = riff == Some(b"RF64");
    if !(riff == Some(b"RIFF") || is_rf64) {
        return Err(AudioError::NotWav);
    }
    match bytes.get(8..12) {
        Some(b"WAVE") => {}
        Some(_) => return Err(AudioError::NotWav),
        None => return Err(AudioError::TruncatedHeader("RIFF header")),
    }
    // The RIFF size field is ignored on purpose: many writers (streaming recorders, some
    // editors) leave it wrong, and the chunk sizes below are what actually matters.

    let mut pos = 12usize;
    let mut format: Option<Format> = None;
    let mut data: Option<&[u8]> = None;
    // RF64: the real data size lives in the `ds64` chunk, `data` says 0xFFFFFFFF.
    let mut ds64_data_size: Option<u64> = None;

    while format.is_none() || data.is_none() {
        let remaining = bytes.len() - pos;
        if remaining == 0 {
            break;
        }
        let (Some(id), Some(size)) = (bytes.get(pos..pos + 4), u32_at(bytes, pos + 4)) else {
            // A few stray bytes after the last complete chunk: harmless once we have what we
            // need, otherwise the file stopped in the middle of a chunk header.
            if format.is_some() && data.is_some() {
                break;
            }
            return Err(AudioError::TruncatedHeader("chunk header"));
        };
        let body_start = pos + 8;
        let present = bytes.len() - body_start;

        if id == b"data" {
            let to_end = size == 0 || size == u32::MAX;
            let declared = match (to_end, ds64_data_size) {
                (true, Some(n)) if is_rf64 && size == u32::MAX => n,
                (true, _) => present as u64,
                (false, _) => u64::from(size),
            };
            if declared > present as u64 {
                return Err(AudioError::TruncatedChunk { chunk: "data".into(), declared, present: present as u64 });
            }
            // `declared <= present`, which is a usize, so the cast is lossless.
            let len = declared as usize;
            data = Some(&bytes[body_start..body_start + len]);
            if to_end && ds64_data_size.is_none() {
                break; // nothing can follow a chunk that runs to the end of the file
            }
            pos = skip(body_start, len, bytes.len());
            continue;
        }

        let len = size as usize;
        let Some(body) = bytes.get(body_start..body_start.saturating_add(len)) else {
            // A truncated chunk after the audio (e.g. a cut-off LIST tag) loses nothing.
            if format.is_some() && data.is_some() {
                break;
            }
            return Err(AudioError::TruncatedChunk { chunk: chunk_name(id), declared: u64::from(size), present: present as u64 });
        };
        match id {
            b"fmt " => format = Some(parse_fmt(body)?),
            b"ds64" if is_rf64 => ds64_data_size = u64_at(body, 8),
            _ => {} // LIST, fact, cue , bext, JUNK, …: not ours to interpret
        }
        pos = skip(body_start, len, bytes.len());
    }

    let format = format.ok_or(AudioError::MissingChunk("fmt "))?;
    let data = data.ok_or(AudioError::MissingChunk("data"))?;
    Ok((format, data))
}

/// Position of the next chunk: past the body and its pad byte (chunks are word-aligned).
fn skip(body_start: usize, len: usize, total: usize) -> usize {
    let padded = len.saturating_add(len & 1);
    body_start.saturating_add(padded).min(total)
}

fn decode_samples(format: Format, data: &[u8]) -> Result<Audio, AudioError> {
    let width = format.encoding.bytes();
    let frame_bytes = width * usize::from(format.channels);
    let extra = data.len() % frame_bytes;
    if extra != 0 {
        return Err(AudioError::PartialFrame { extra, frame_bytes });
    }
    if data.is_empty() {
        return Err(AudioError::NoSamples);
    }
    let samples: Vec<f32> = match format.encoding {
        Encoding::U8 => data.iter().map(|&b| (f32::from(b) - 128.0) / 128.0).collect(),
        Encoding::Int(2) => data.chunks_exact(2).map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32_768.0).collect(),
        Encoding::Int(3) => data
            .chunks_exact(3)
            // Place the 3 bytes in the top of an i32, then shift back: sign-extends for free.
            .map(|c| (i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) as f32 / 8_388_608.0)
            .collect(),
        Encoding::Int(_) => data.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32 / 2_147_483_648.0).collect(),
        Encoding::F32 => data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        Encoding::F64 => data
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a) as f32
            })
            .collect(),
    };
    Ok(Audio { sample_rate: format.sample_rate, channels: format.channels, samples })
}
