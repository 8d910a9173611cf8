//! The web format (`.sslpron`): one file holding a model's `config.json`, its preprocessing and its
//! weights, so the browser fetches, verifies and caches a single object. Specified in docs/WEB_FORMAT.md.
//!
//! ```text
//! bytes 0..8    magic "SSLPRON\0"
//! bytes 8..12   format version, u32 little-endian (1)
//! bytes 12..16  header length H, u32 little-endian
//! bytes 16..    header: UTF-8 JSON (see [`Header`])
//! then          zero padding to a multiple of 16, then the data section; every tensor starts at a
//!               multiple of 16 from the data section's start (`offset`) and is `bytes` long
//! ```
//!
//! Tensors keep their checkpoint names and PyTorch shapes (the seed's layout), so decoding gives back
//! exactly what a `model.safetensors` would hold, rounded to the stored precision. Storage types:
//! `f32` (exact), `f16` (IEEE half, nearest-even), `i8` (symmetric per output row: `value = q · scale[row]`,
//! for weight matrices and conv kernels; their small vectors stay `f16`).
//!
//! wasm-safe: bytes in, bytes out, no I/O.

pub mod half;

use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"SSLPRON\0";
pub const VERSION: u32 = 1;
const ALIGN: usize = 16;
/// `i8` storage is used for tensors with at least this many elements and two or more dimensions:
/// below that, the scales would cost as much as they save.
const INT8_MIN_ELEMENTS: usize = 1024;

/// How weights are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    F32,
    F16,
    /// Weight matrices and kernels as `i8` with per-row scales, everything else `f16`.
    Int8,
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Precision::F32),
            "f16" => Ok(Precision::F16),
            "int8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision `{other}` (f32, f16, int8)")),
        }
    }
}

/// Storage type of one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Storage {
    F32,
    F16,
    I8,
}

/// One tensor's entry in the header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorEntry {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: Storage,
    /// From the start of the data section; a multiple of 16.
    pub offset: usize,
    pub bytes: usize,
    /// `i8` only: one scale per row (`shape[0]` of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scales: Vec<f32>,
}

/// The JSON header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// What the file was converted to (per-tensor types are in `tensors`).
    pub precision: Precision,
    /// The checkpoint's `config.json`, verbatim.
    pub config: serde_json::Value,
    /// Its `preprocessor_config.json`, if it had one.
    pub preprocessor: Option<serde_json::Value>,
    /// Free text shown to users (e.g. "untrained demo model").
    #[serde(default)]
    pub description: String,
    pub tensors: Vec<TensorEntry>,
}

/// A named f32 tensor in PyTorch's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// What a bundle holds, decoded.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub header: Header,
    pub tensors: Vec<Tensor>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BundleError {
    #[error("not an sslpron web model (the file does not start with \"SSLPRON\"); convert a checkpoint with `sslpron convert`")]
    NotABundle,
    #[error("web model format version {0} is not supported (this build reads version {VERSION}); convert the checkpoint again")]
    Version(u32),
    #[error("the web model is truncated ({0})")]
    Truncated(String),
    #[error("the web model's header is not valid: {0}")]
    Header(String),
    #[error("tensor `{name}`: {problem}")]
    Tensor { name: String, problem: String },
}

/// Writes `tensors` with `config` / `preprocessor` as a bundle of the given precision.
pub fn encode(
    tensors: &[Tensor],
    config: serde_json::Value,
    preprocessor: Option<serde_json::Value>,
    description: &str,
    precision: Precision,
) -> Vec<u8> {
    let mut data = Vec::new();
    let mut entries = Vec::with_capacity(tensors.len());
    for t in tensors {
        data.resize(data.len().next_multiple_of(ALIGN), 0);
        let offset = data.len();
        let storage = match precision {
            Precision::F32 => Storage::F32,
            Precision::F16 => Storage::F16,
            Precision::Int8 if t.shape.len() >= 2 && t.values.len() >= INT8_MIN_ELEMENTS => Storage::I8,
            Precision::Int8 => Storage::F16,
        };
        let mut scales = Vec::new();
        match storage {
            Storage::F32 => data.extend(t.values.iter().flat_map(|v| v.to_le_bytes())),
            Storage::F16 => data.extend(t.values.iter().flat_map(|&v| half::f32_to_f16(v).to_le_bytes())),
            Storage::I8 => {
                let row = t.values.len() / t.shape[0];
                for chunk in t.values.chunks(row) {
                    let peak = chunk.iter().fold(0f32, |m, v| m.max(v.abs()));
                    let scale = if peak > 0.0 { peak / 127.0 } else { 1.0 };
                    scales.push(scale);
                    data.extend(chunk.iter().map(|&v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8));
                }
            }
        }
        entries.push(TensorEntry { name: t.name.clone(), shape: t.shape.clone(), dtype: storage, offset, bytes: data.len() - offset, scales });
    }
    let header = Header { precision, config, preprocessor, description: description.to_string(), tensors: entries };
    let json = serde_json::to_vec(&header).expect("the header serialises");
    let mut out = Vec::with_capacity(16 + json.len() + ALIGN + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.resize(out.len().next_multiple_of(ALIGN), 0);
    out.extend_from_slice(&data);
    out
}

/// Reads only the header (cheap: for showing a model's description before decoding its weights).
pub fn read_header(bytes: &[u8]) -> Result<(Header, usize), BundleError> {
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(BundleError::NotABundle);
    }
    if bytes.len() < 16 {
        return Err(BundleError::Truncated(format!("{} bytes, shorter than the 16-byte preamble", bytes.len())));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(BundleError::Version(version));
    }
    let length = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
    let end = 16usize
        .checked_add(length)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(|| BundleError::Truncated(format!("the header claims {length} bytes, the file has {} after the preamble", bytes.len() - 16)))?;
    let header: Header = serde_json::from_slice(&bytes[16..end]).map_err(|e| BundleError::Header(e.to_string()))?;
    Ok((header, end.next_multiple_of(ALIGN)))
}

/// Decodes every tensor to f32, checking each entry against the data it points at.
pub fn decode(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let (header, data_start) = read_header(bytes)?;
    let data = bytes.get(data_start..).unwrap_or(&[]);
    let mut tensors = Vec::with_capacity(header.tensors.len());
    for entry in &header.tensors {
        let bad = |problem: String| BundleError::Tensor { name: entry.name.clone(), problem };
        let count = entry.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or_else(|| bad("its shape overflows".into()))?;
        let width = match entry.dtype {
            Storage::F32 => 4,
            Storage::F16 => 2,
            Storage::I8 => 1,
        };
        // checked: a header may claim 2^62 elements, whose byte count overflows (a panic in debug builds,
        // a wrapped and wrongly accepted size in release; tests/hostile.rs).
        if count.checked_mul(width) != Some(entry.bytes) {
            return Err(bad(format!("{} bytes stored for {count} {:?} values", entry.bytes, entry.dtype)));
        }
        let raw = entry
            .offset
            .checked_add(entry.bytes)
            .and_then(|end| data.get(entry.offset..end))
            .ok_or_else(|| BundleError::Truncated(format!("tensor `{}` ends past the end of the file", entry.name)))?;
        let values: Vec<f32> = match entry.dtype {
            Storage::F32 => raw.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect(),
            Storage::F16 => raw.chunks_exact(2).map(|b| half::f16_to_f32(u16::from_le_bytes([b[0], b[1]]))).collect(),
            Storage::I8 => {
                let rows = entry.shape.first().copied().unwrap_or(0);
                if rows == 0 || entry.scales.len() != rows {
                    return Err(bad(format!("{} scales for {rows} rows", entry.scales.len())));
                }
                let row = count / rows;
                raw.iter().enumerate().map(|(i, &q)| q as i8 as f32 * entry.scales[i / row]).collect()
            }
        };
        tensors.push(Tensor { name: entry.name.clone(), shape: entry.shape.clone(), values });
    }
    Ok(Bundle { header, tensors })
}
