//! The web format: half-precision conversion against its definition, encode/decode round trips at every
//! precision, and every malformed file refused with its reason.

use sslpron_bundle::half::{f16_to_f32, f32_to_f16};
use sslpron_bundle::{BundleError, Precision, Storage, Tensor, decode, encode, read_header};

#[test]
fn every_f16_value_survives_the_round_trip() {
    for bits in 0..=u16::MAX {
        let value = f16_to_f32(bits);
        if value.is_nan() {
            assert!(f16_to_f32(f32_to_f16(value)).is_nan(), "{bits:#06x}");
        } else {
            assert_eq!(f32_to_f16(value), bits, "{bits:#06x} -> {value}");
        }
    }
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0x7bff), 65504.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
}

/// The converter picks the nearest f16, ties to even: checked against the neighbours of its answer.
#[test]
fn f32_rounds_to_the_nearest_f16_ties_to_even() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let check = |x: f32| {
        let h = f32_to_f16(x);
        let got = f16_to_f32(h) as f64;
        let err = (got - x as f64).abs();
        for n in [h.wrapping_sub(1), h.wrapping_add(1)] {
            let neighbour = f16_to_f32(n);
            if neighbour.is_finite() && (neighbour < 0.0) == (x < 0.0) && n & 0x7c00 != 0x7c00 {
                let other = (neighbour as f64 - x as f64).abs();
                assert!(err < other || (err == other && h & 1 == 0), "{x}: chose {got}, {neighbour} is nearer or the even tie");
            }
        }
    };
    for _ in 0..200_000 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let bits = (state >> 32) as u32;
        let x = f32::from_bits(bits);
        // Within f16's range (normals and subnormals); overflow is checked below.
        if x.is_finite() && x.abs() < 65504.0 {
            check(x);
        }
    }
    // Exact ties: halfway between 1 and the next f16 rounds to even (1), 3 halfways up to even.
    check(1.0 + 2f32.powi(-11));
    assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
    assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
    assert_eq!(f32_to_f16(65520.0), 0x7c00, "the tie above the largest f16 rounds to infinity");
    assert_eq!(f32_to_f16(-1e9), 0xfc00);
    assert_eq!(f32_to_f16(2f32.powi(-26)), 0, "below half the smallest subnormal");
    assert_eq!(f32_to_f16(3.0 * 2f32.powi(-26)), 1);
}

/// Exact ties in f16's subnormal range round to the even neighbour. The random sweep above almost never
/// draws an exact tie, and the normal-range ties take a different branch of the encoder.
///
/// Derivation: an f16 subnormal with bits `m` (1..=1023, exponent field 0) is `m · 2^-24`; the next one
/// up is `(m + 1) · 2^-24` (for m = 1023 that is 0x0400 = 2^-14, the smallest normal, so the carry out
/// of the mantissa lands exactly on the right bits). Halfway between them is `(2m + 1) · 2^-25`, exact
/// in f32 (an 11-bit odd integer times a power of two, far above f32's subnormals). Ties to even pick
/// `m` when `m` is even and `m + 1` when it is odd; for m = 0 the tie 2^-25 goes to +0. One f32 ulp
/// above a tie is nearer the upper neighbour, one below nearer the lower: no tie-breaking at all. The
/// sign bit only adds 0x8000. `half` is not a dependency of this crate, so these expectations are
/// derived here, not taken from it.
#[test]
fn subnormal_f16_ties_round_to_even() {
    // Hand-worked cases: value, its f16 bits.
    let tie = |twice_plus_one: u32| twice_plus_one as f32 * 2f32.powi(-25);
    for (value, bits) in [
        (tie(1), 0x0000),    // 0.5 · 2^-24: between 0 and 1 → 0
        (tie(3), 0x0002),    // 1.5 · 2^-24: between 1 and 2 → 2
        (tie(5), 0x0002),    // 2.5 · 2^-24: between 2 and 3 → 2
        (tie(7), 0x0004),    // 3.5 · 2^-24 → 4
        (tie(1023), 0x0200), // 511.5 · 2^-24: between 0x1ff and 0x200 → 0x200
        (tie(2045), 0x03fe), // 1022.5 · 2^-24 → 0x3fe
        (tie(2047), 0x0400), // 1023.5 · 2^-24: the largest subnormal's tie carries into the smallest normal
        (-tie(3), 0x8002),
        (-tie(1), 0x8000), // → −0
    ] {
        assert_eq!(f32_to_f16(value), bits, "{value:e} (exact tie) should round to even {bits:#06x}, got {:#06x}", f32_to_f16(value));
    }
    // Every subnormal tie, and its f32 neighbours (which are no ties).
    for m in 0u32..1024 {
        let t = tie(2 * m + 1);
        let even = if m % 2 == 0 { m } else { m + 1 };
        assert_eq!(f32_to_f16(t) as u32, even, "tie between {m} and {} · 2^-24 ({t:e})", m + 1);
        assert_eq!(f32_to_f16(-t) as u32, 0x8000 | even, "negative tie between {m} and {} · 2^-24", m + 1);
        let (above, below) = (f32::from_bits(t.to_bits() + 1), f32::from_bits(t.to_bits() - 1));
        assert_eq!(f32_to_f16(above) as u32, m + 1, "just above the tie {m}.5 · 2^-24 ({above:e})");
        assert_eq!(f32_to_f16(below) as u32, m, "just below the tie {m}.5 · 2^-24 ({below:e})");
    }
}

fn sample_tensors() -> Vec<Tensor> {
    let wave = |n: usize, k: f32| (0..n).map(|i| ((i as f32 * k).sin() * 0.3) + if i % 97 == 0 { 2.5 } else { 0.0 }).collect();
    vec![
        Tensor { name: "model.encoder.layers.0.attention.q_proj.weight".into(), shape: vec![48, 64], values: wave(48 * 64, 0.37) },
        Tensor { name: "model.encoder.layers.0.attention.q_proj.bias".into(), shape: vec![48], values: wave(48, 1.1) },
        Tensor { name: "model.feature_extractor.conv_layers.0.conv.weight".into(), shape: vec![16, 1, 10], values: wave(160, 0.9) },
        Tensor { name: "score_predictor.weight".into(), shape: vec![4, 64], values: wave(256, 0.13) },
    ]
}

#[test]
fn tensors_round_trip_at_each_precision() {
    let config = serde_json::json!({"model_type": "wav2vec2", "hidden_size": 64});
    let preprocessor = Some(serde_json::json!({"do_normalize": true}));
    let tensors = sample_tensors();
    for precision in [Precision::F32, Precision::F16, Precision::Int8] {
        let bytes = encode(&tensors, config.clone(), preprocessor.clone(), "test model", precision);
        let bundle = decode(&bytes).unwrap();
        assert_eq!(bundle.header.config, config);
        assert_eq!(bundle.header.preprocessor, preprocessor);
        assert_eq!(bundle.header.description, "test model");
        assert_eq!(bundle.tensors.len(), tensors.len());
        for (entry, (ours, original)) in bundle.header.tensors.iter().zip(bundle.tensors.iter().zip(&tensors)) {
            assert_eq!((&ours.name, &ours.shape), (&original.name, &original.shape));
            assert_eq!(entry.offset % 16, 0, "{} is not aligned", entry.name);
            let peak = original.values.iter().fold(0f32, |m, v| m.max(v.abs()));
            let worst = ours.values.iter().zip(&original.values).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            let bound = match entry.dtype {
                Storage::F32 => 0.0,
                Storage::F16 => peak * 2f32.powi(-11),
                Storage::I8 => peak / 127.0 / 2.0 * 1.0001,
            };
            assert!(worst <= bound, "{precision:?} {}: error {worst} > {bound}", entry.name);
        }
        let types: Vec<Storage> = bundle.header.tensors.iter().map(|t| t.dtype).collect();
        let expected = match precision {
            Precision::F32 => vec![Storage::F32; 4],
            Precision::F16 => vec![Storage::F16; 4],
            // Only the 3072-element matrix is big enough for i8.
            Precision::Int8 => vec![Storage::I8, Storage::F16, Storage::F16, Storage::F16],
        };
        assert_eq!(types, expected, "{precision:?}");
    }
    let sizes: Vec<usize> =
        [Precision::F32, Precision::F16, Precision::Int8].iter().map(|&p| encode(&tensors, config.clone(), None, "", p).len()).collect();
    assert!(sizes[1] < sizes[0] * 6 / 10 && sizes[2] < sizes[1], "{sizes:?}");
}

#[test]
fn malformed_files_are_refused_with_their_reason() {
    let good = encode(&sample_tensors(), serde_json::json!({}), None, "", Precision::F16);
    assert_eq!(decode(b"{\"not\": \"a bundle\"}").unwrap_err(), BundleError::NotABundle);
    let mut version = good.clone();
    version[8] = 9;
    assert_eq!(decode(&version).unwrap_err(), BundleError::Version(9));
    assert!(matches!(decode(&good[..12]).unwrap_err(), BundleError::Truncated(_)));
    assert!(matches!(decode(&good[..40]).unwrap_err(), BundleError::Truncated(_)));
    let cut = decode(&good[..good.len() - 10]).unwrap_err();
    assert!(matches!(&cut, BundleError::Truncated(m) if m.contains("score_predictor.weight")), "{cut}");
    // A header whose byte count disagrees with the shape.
    let (mut header, data_start) = read_header(&good).unwrap();
    header.tensors[1].bytes += 2;
    let json = serde_json::to_vec(&header).unwrap();
    let mut forged = good[..12].to_vec();
    forged.extend_from_slice(&(json.len() as u32).to_le_bytes());
    forged.extend_from_slice(&json);
    forged.resize(forged.len().next_multiple_of(16), 0);
    forged.extend_from_slice(&good[data_start..]);
    let err = decode(&forged).unwrap_err();
    assert!(matches!(&err, BundleError::Tensor { name, .. } if name.ends_with("q_proj.bias")), "{err}");
    let mut garbage = good.clone();
    garbage[16] = b'#';
    assert!(matches!(decode(&garbage).unwrap_err(), BundleError::Header(_)));
}
