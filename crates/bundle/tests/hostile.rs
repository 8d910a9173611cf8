//! Web-format files from anywhere (a teacher's `model` attribute points at any URL): cut at any byte,
//! with bytes flipped, or with a header that lies about sizes, `decode` answers with an error or a
//! bundle, never a panic, and quickly. A structured sweep on stable Rust (the coverage-guided fuzzing of
//! issue #20 comes on top of it).

use std::time::Instant;

use sslpron_bundle::{BundleError, Precision, Tensor, decode, encode};

fn sample(precision: Precision) -> Vec<u8> {
    let tensors = vec![
        Tensor { name: "a.weight".into(), shape: vec![40, 32], values: (0..1280).map(|i| (i as f32 * 0.37).sin()).collect() },
        Tensor { name: "a.bias".into(), shape: vec![40], values: (0..40).map(|i| i as f32 / 40.0).collect() },
    ];
    encode(&tensors, serde_json::json!({"model_type": "wav2vec2"}), None, "hostile-input test", precision)
}

/// Small xorshift: reproducible positions and bytes without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn a_file_cut_at_any_byte_is_refused() {
    for precision in [Precision::F32, Precision::F16, Precision::Int8] {
        let whole = sample(precision);
        decode(&whole).expect("the uncut file decodes");
        let started = Instant::now();
        for cut in 0..whole.len() {
            // Every shorter file is an error (which one depends on where the cut falls), never a panic.
            assert!(decode(&whole[..cut]).is_err(), "{precision:?}: cut at {cut} of {} decoded", whole.len());
        }
        assert!(started.elapsed().as_secs_f64() < 5.0, "{:?}", started.elapsed());
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let whole = sample(Precision::Int8);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        let mut bytes = whole.clone();
        for _ in 0..1 + next(&mut state) % 4 {
            let at = (next(&mut state) % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (next(&mut state) % 8);
        }
        let _ = decode(&bytes); // Ok (a flipped weight) or Err: both fine, as long as it returns
    }
}

/// Headers whose numbers lie: each refused with the tensor named, without allocating what they claim.
#[test]
fn a_header_that_lies_about_sizes_is_refused() {
    let header = |entry: &str| -> Vec<u8> {
        let json = format!(r#"{{"precision":"f32","config":{{}},"preprocessor":null,"description":"","tensors":[{entry}]}}"#);
        let mut out = b"SSLPRON\0".to_vec();
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(json.as_bytes());
        out.resize(out.len().next_multiple_of(16) + 64, 0);
        out
    };
    let cases = [
        // 2^62 elements of 4 bytes: the byte count overflows usize.
        (r#"{"name":"w","shape":[4611686018427387904],"dtype":"f32","offset":0,"bytes":0,"scales":[]}"#, "w"),
        // A shape whose product overflows.
        (r#"{"name":"w","shape":[4294967296,4294967296,16],"dtype":"f32","offset":0,"bytes":0,"scales":[]}"#, "w"),
        // Plausible shape, data claimed far past the end of the file.
        (r#"{"name":"w","shape":[1000000,1000],"dtype":"f32","offset":0,"bytes":4000000000,"scales":[]}"#, "w"),
        // An offset at the end of the address space.
        (r#"{"name":"w","shape":[4],"dtype":"f32","offset":18446744073709551615,"bytes":16,"scales":[]}"#, "w"),
        // int8 rows without their scales.
        (r#"{"name":"w","shape":[4,4],"dtype":"i8","offset":0,"bytes":16,"scales":[1.0]}"#, "w"),
    ];
    for (entry, name) in cases {
        let started = Instant::now();
        let err = decode(&header(entry)).expect_err(entry);
        let named = match &err {
            BundleError::Tensor { name: n, .. } => n == name,
            BundleError::Truncated(message) => message.contains(&format!("`{name}`")),
            _ => false,
        };
        assert!(named, "{entry}: {err}");
        assert!(started.elapsed().as_millis() < 100, "{entry}: {:?}", started.elapsed());
    }
}
