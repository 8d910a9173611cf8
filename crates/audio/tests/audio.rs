//! Tests of the public API. WAV files are built byte by byte here (an independent writer), so
//! every expected value below comes from the encoding's definition, not from the decoder.

use std::f64::consts::PI;

use sslpron_audio::{
    Audio, AudioError, MIN_MODEL_SAMPLES, PrepareOptions, check_signal, decode_wav, downmix, normalize, prepare_samples, prepare_wav, resample,
};

// ---------------------------------------------------------------------------------------------
// A minimal WAV writer.

struct Chunk {
    id: [u8; 4],
    body: Vec<u8>,
    /// Size written in the header instead of `body.len()` (to fake truncation / streaming).
    declared: Option<u32>,
}

fn chunk(id: &[u8; 4], body: Vec<u8>) -> Chunk {
    Chunk { id: *id, body, declared: None }
}

/// RIFF/WAVE file of the given chunks, each followed by a pad byte when its body is odd.
fn riff(chunks: &[Chunk]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for c in chunks {
        body.extend_from_slice(&c.id);
        let size = c.declared.unwrap_or(c.body.len() as u32);
        body.extend_from_slice(&size.to_le_bytes());
        body.extend_from_slice(&c.body);
        if c.body.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// Classic 16-byte `fmt ` chunk; block align and byte rate derived from the container size.
fn fmt(tag: u16, channels: u16, rate: u32, bits: u16) -> Chunk {
    let block_align = channels * bits.div_ceil(8);
    let mut b = Vec::new();
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    b.extend_from_slice(&block_align.to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    chunk(b"fmt ", b)
}

/// KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: `tag`-0000-0010-8000-00AA00389B71.
fn guid(tag: u16) -> [u8; 16] {
    let mut g = [0, 0, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71];
    g[..2].copy_from_slice(&tag.to_le_bytes());
    g
}

/// 40-byte WAVE_FORMAT_EXTENSIBLE `fmt ` chunk.
fn fmt_ext(sub: [u8; 16], channels: u16, rate: u32, container: u16, valid: u16) -> Chunk {
    let mut c = fmt(0xFFFE, channels, rate, container);
    c.body.extend_from_slice(&22u16.to_le_bytes()); // cbSize
    c.body.extend_from_slice(&valid.to_le_bytes());
    c.body.extend_from_slice(&3u32.to_le_bytes()); // channel mask: FL | FR
    c.body.extend_from_slice(&sub);
    c
}

fn wav(tag: u16, channels: u16, rate: u32, bits: u16, data: Vec<u8>) -> Vec<u8> {
    riff(&[fmt(tag, channels, rate, bits), chunk(b"data", data)])
}

fn pcm16(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn f32_bytes(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Quantise to 16-bit the way a WAV writer would (round, clamp).
fn to_i16(x: f64) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

fn sine(freq: f64, rate: u32, n: usize, amp: f64) -> Vec<f32> {
    (0..n).map(|i| (amp * (2.0 * PI * freq * i as f64 / f64::from(rate)).sin()) as f32).collect()
}

fn max_abs_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs()).fold(0.0, f64::max)
}

// ---------------------------------------------------------------------------------------------
// Decoding every encoding, values checked exactly.

#[test]
fn pcm_u8() {
    let a = decode_wav(&wav(1, 1, 8000, 8, vec![0, 64, 128, 192, 255])).unwrap();
    assert_eq!((a.sample_rate, a.channels), (8000, 1));
    assert_eq!(a.samples, [-1.0, -0.5, 0.0, 0.5, 127.0 / 128.0]);
}

#[test]
fn pcm_16() {
    let a = decode_wav(&wav(1, 1, 16000, 16, pcm16(&[-32768, -16384, 0, 1, 32767]))).unwrap();
    assert_eq!((a.sample_rate, a.channels), (16000, 1));
    assert_eq!(a.samples, [-1.0, -0.5, 0.0, 1.0 / 32768.0, 32767.0 / 32768.0]);
}

#[test]
fn pcm_24() {
    let vals: [i32; 5] = [-8_388_608, -1, 0, 4_194_304, 8_388_607];
    let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()[..3].to_vec()).collect();
    let a = decode_wav(&wav(1, 1, 48000, 24, data)).unwrap();
    assert_eq!(a.samples, [-1.0, -1.0 / 8_388_608.0, 0.0, 0.5, 8_388_607.0 / 8_388_608.0]);
}

#[test]
fn pcm_32() {
    let vals = [i32::MIN, -(1 << 30), 0, 1 << 30, 1 << 7];
    let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let a = decode_wav(&wav(1, 1, 44100, 32, data)).unwrap();
    assert_eq!(a.samples, [-1.0, -0.5, 0.0, 0.5, 2f32.powi(-24)]);
}

#[test]
fn pcm_12_bit_left_justified_in_16() {
    // 12-bit samples are stored shifted left by 4 in a 2-byte container.
    let a = decode_wav(&wav(1, 1, 16000, 12, pcm16(&[2047 << 4, -2048 << 4]))).unwrap();
    assert_eq!(a.samples, [2047.0 / 2048.0, -1.0]);
}

#[test]
fn float_32() {
    let v = [0.25f32, -0.75, 1.5, -1e-3, 0.0];
    let a = decode_wav(&wav(3, 1, 22050, 32, f32_bytes(&v))).unwrap();
    assert_eq!(a.samples, v);
}

#[test]
fn float_64() {
    let v = [0.1f64, -0.5, 0.999];
    let data: Vec<u8> = v.iter().flat_map(|s| s.to_le_bytes()).collect();
    let a = decode_wav(&wav(3, 1, 16000, 64, data)).unwrap();
    assert_eq!(a.samples, [0.1f32, -0.5, 0.999]);
}

#[test]
fn stereo_interleaved_and_downmix() {
    // L = [16384, -32768, 100], R = [0, 16384, -100]
    let data = pcm16(&[16384, 0, -32768, 16384, 100, -100]);
    let a = decode_wav(&wav(1, 2, 44100, 16, data)).unwrap();
    assert_eq!(a.channels, 2);
    assert_eq!(a.frames(), 3);
    assert_eq!(a.samples, [0.5, 0.0, -1.0, 0.5, 100.0 / 32768.0, -100.0 / 32768.0]);
    assert_eq!(downmix(&a), [0.25, -0.25, 0.0]);
}

#[test]
fn downmix_three_channels_and_mono() {
    let a = Audio { sample_rate: 8000, channels: 3, samples: vec![0.25, 0.5, 0.75, -1.0, 0.0, 0.25] };
    assert_eq!(downmix(&a), [0.5, -0.25]);
    let m = Audio { sample_rate: 8000, channels: 1, samples: vec![0.1, 0.2] };
    assert_eq!(downmix(&m), [0.1, 0.2]);
}

#[test]
fn frames_and_duration() {
    let a = Audio { sample_rate: 8000, channels: 2, samples: vec![0.0; 8000 * 2 * 3 / 2] };
    assert_eq!(a.frames(), 12000);
    assert_eq!(a.duration_secs(), 1.5);
    let broken = Audio { sample_rate: 0, channels: 0, samples: vec![0.0; 4] };
    assert_eq!((broken.frames(), broken.duration_secs()), (0, 0.0));
    assert!(downmix(&broken).is_empty());
}

#[test]
fn extensible_pcm24_stereo() {
    let vals: [i32; 4] = [4_194_304, -4_194_304, 8_388_607, -8_388_608];
    let data: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()[..3].to_vec()).collect();
    let bytes = riff(&[fmt_ext(guid(1), 2, 96000, 24, 24), chunk(b"data", data)]);
    let a = decode_wav(&bytes).unwrap();
    assert_eq!((a.sample_rate, a.channels, a.frames()), (96000, 2, 2));
    assert_eq!(a.samples, [0.5, -0.5, 8_388_607.0 / 8_388_608.0, -1.0]);
}

#[test]
fn extensible_float_and_pcm16_with_20_valid_bits_in_24() {
    let v = [0.125f32, -0.375];
    let bytes = riff(&[fmt_ext(guid(3), 1, 16000, 32, 32), chunk(b"data", f32_bytes(&v))]);
    assert_eq!(decode_wav(&bytes).unwrap().samples, v);

    // 20 valid bits in a 24-bit container: left-justified, so the container scale applies.
    let data: Vec<u8> = (0x40000i32 << 4).to_le_bytes()[..3].to_vec();
    let bytes = riff(&[fmt_ext(guid(1), 1, 16000, 24, 20), chunk(b"data", data)]);
    assert_eq!(decode_wav(&bytes).unwrap().samples, [0.5]);
}

#[test]
fn extensible_unknown_subformat_is_an_error() {
    let mut g = guid(1);
    g[15] = 0x72; // not the KSDATAFORMAT GUID family
    let bytes = riff(&[fmt_ext(g, 1, 16000, 16, 16), chunk(b"data", pcm16(&[1]))]);
    let e = decode_wav(&bytes).unwrap_err();
    assert!(matches!(e, AudioError::UnsupportedSubFormat(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "unsupported WAV encoding: WAVE_FORMAT_EXTENSIBLE with sub-format \
         00000001-0000-0010-8000-00AA00389B72"
    );
}

#[test]
fn odd_chunks_are_padded_and_unknown_chunks_skipped() {
    // LIST (odd, 5 bytes) before fmt, fact between fmt and data, odd 8-bit data followed by
    // its pad byte and a trailing odd chunk. If a pad byte were ignored, the next chunk id would
    // be read one byte early and the file would not parse to these values.
    let bytes = riff(&[
        chunk(b"LIST", b"INFOx".to_vec()),
        fmt(1, 1, 8000, 8),
        chunk(b"fact", 3u32.to_le_bytes().to_vec()),
        chunk(b"JUNK", vec![0xAB]),
        chunk(b"data", vec![255, 0, 128]),
        chunk(b"id3 ", vec![1, 2, 3]),
    ]);
    // The pad after the 5-byte LIST sits at offset 12 + 8 + 5.
    assert_eq!(bytes[25], 0);
    let a = decode_wav(&bytes).unwrap();
    assert_eq!(a.samples, [127.0 / 128.0, -1.0, 0.0]);
}

#[test]
fn fmt_after_data_is_found() {
    let bytes = riff(&[chunk(b"data", pcm16(&[16384])), fmt(1, 1, 16000, 16)]);
    assert_eq!(decode_wav(&bytes).unwrap().samples, [0.5]);
}

#[test]
fn streamed_data_sizes_mean_to_end_of_file() {
    for size in [0u32, u32::MAX] {
        let mut d = chunk(b"data", pcm16(&[16384, -16384, 8192]));
        d.declared = Some(size);
        let a = decode_wav(&riff(&[fmt(1, 1, 16000, 16), d])).unwrap();
        assert_eq!(a.samples, [0.5, -0.5, 0.25], "declared size {size:#x}");
    }
}

#[test]
fn rf64_header_is_accepted() {
    let mut bytes = wav(1, 1, 16000, 16, pcm16(&[8192]));
    bytes[..4].copy_from_slice(b"RF64");
    assert_eq!(decode_wav(&bytes).unwrap().samples, [0.25]);
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[test]
fn empty_input() {
    assert_eq!(decode_wav(&[]), Err(AudioError::Empty));
    assert_eq!(AudioError::Empty.to_string(), "file is empty");
    assert_eq!(prepare_wav(&[], &PrepareOptions::default()), Err(AudioError::Empty));
}

#[test]
fn not_a_wav() {
    for bytes in [
        b"ID3\x04\x00\x00\x00\x00\x00\x00 mp3 data here".as_slice(),
        b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00",
        b"RIFF\x24\x00\x00\x00AVI LIST",
        b"hello",
    ] {
        let e = decode_wav(bytes).unwrap_err();
        assert_eq!(e, AudioError::NotWav, "{bytes:?}");
        assert_eq!(e.to_string(), "not a WAV file (no RIFF/WAVE header)");
    }
    let mut rifx = wav(1, 1, 16000, 16, pcm16(&[1]));
    rifx[..4].copy_from_slice(b"RIFX");
    assert_eq!(decode_wav(&rifx), Err(AudioError::BigEndian));
}

#[test]
fn truncated_header() {
    let full = wav(1, 1, 16000, 16, pcm16(&[1, 2, 3]));
    // Inside the RIFF header.
    assert_eq!(decode_wav(&full[..10]), Err(AudioError::TruncatedHeader("RIFF header")));
    // Inside the fmt chunk header.
    assert_eq!(decode_wav(&full[..16]), Err(AudioError::TruncatedHeader("chunk header")));
    // Inside the fmt chunk body: 16 declared, 8 present.
    let e = decode_wav(&full[..28]).unwrap_err();
    assert_eq!(e, AudioError::TruncatedChunk { chunk: "fmt".into(), declared: 16, present: 8 });
    assert_eq!(e.to_string(), "WAV is truncated: fmt chunk declares 16 bytes, only 8 present");
    // Header only, no data chunk at all.
    assert_eq!(decode_wav(&full[..36]), Err(AudioError::MissingChunk("data")));
    // fmt chunk too small to hold a WAVEFORMAT.
    let bytes = riff(&[chunk(b"fmt ", vec![1, 0, 1, 0]), chunk(b"data", vec![0, 0])]);
    assert!(matches!(decode_wav(&bytes), Err(AudioError::InvalidHeader(_))));
}

#[test]
fn truncated_data() {
    let mut d = chunk(b"data", pcm16(&[1; 25]));
    d.declared = Some(100);
    let e = decode_wav(&riff(&[fmt(1, 1, 16000, 16), d])).unwrap_err();
    assert_eq!(e.to_string(), "WAV is truncated: data chunk declares 100 bytes, only 50 present");
}

#[test]
fn trailing_partial_frame() {
    // 16-bit stereo: a frame is 4 bytes; 6 bytes is one frame and a half.
    let e = decode_wav(&wav(1, 2, 16000, 16, pcm16(&[1, 2, 3]))).unwrap_err();
    assert_eq!(e, AudioError::PartialFrame { extra: 2, frame_bytes: 4 });
}

#[test]
fn zero_frames() {
    // Declared size 0 with nothing after it: "to end of file" is zero bytes.
    let mut d = chunk(b"data", vec![]);
    d.declared = Some(0);
    assert_eq!(decode_wav(&riff(&[fmt(1, 1, 16000, 16), d])), Err(AudioError::NoSamples));
}

#[test]
fn unsupported_format_tag() {
    let e = decode_wav(&wav(6, 1, 8000, 8, vec![0xD5; 10])).unwrap_err();
    assert_eq!(e.to_string(), "unsupported WAV encoding: format tag 0x0006 (A-law)");
    let e = decode_wav(&wav(0x1234, 1, 8000, 8, vec![0; 10])).unwrap_err();
    assert_eq!(e.to_string(), "unsupported WAV encoding: format tag 0x1234 (unknown)");
    // Float with a bit depth we do not decode.
    let e = decode_wav(&wav(3, 1, 8000, 16, vec![0; 10])).unwrap_err();
    assert_eq!(e.to_string(), "unsupported WAV encoding: 16-bit float");
}

#[test]
fn inconsistent_fmt() {
    assert!(matches!(decode_wav(&wav(1, 0, 16000, 16, vec![0; 4])), Err(AudioError::InvalidHeader(_))));
    assert!(matches!(decode_wav(&wav(1, 1, 0, 16, vec![0; 4])), Err(AudioError::InvalidHeader(_))));
    let mut f = fmt(1, 2, 16000, 16);
    f.body[12] = 2; // block align 2 for 16-bit stereo (needs 4)
    assert!(matches!(decode_wav(&riff(&[f, chunk(b"data", vec![0; 8])])), Err(AudioError::InvalidHeader(_))));
}

#[test]
fn nan_and_inf_in_float_wav() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut v = sine(440.0, 16000, 1600, 0.5);
        v[800] = bad;
        let bytes = wav(3, 1, 16000, 32, f32_bytes(&v));
        // Decoding itself is faithful; the check refuses it.
        let d = decode_wav(&bytes).unwrap().samples[800];
        assert!(if bad.is_nan() { d.is_nan() } else { d == bad }, "{d}");
        let e = prepare_wav(&bytes, &PrepareOptions::default()).unwrap_err();
        assert_eq!(e, AudioError::NonFinite);
        assert_eq!(e.to_string(), "audio contains NaN or infinite samples");
    }
}

#[test]
fn silence() {
    // ±3 LSB of 16-bit noise: peak 9.2e-5 < 1e-4.
    let quiet: Vec<i16> = (0..16000).map(|i| [3, -3, 0, 1][i % 4]).collect();
    let e = prepare_wav(&wav(1, 1, 16000, 16, pcm16(&quiet)), &PrepareOptions::default()).unwrap_err();
    assert_eq!(e, AudioError::Silent);
    assert_eq!(e.to_string(), "audio is silent (peak below -80 dBFS)");
    // 4 LSB (1.22e-4) is above the threshold.
    let audible: Vec<f32> = (0..16000).map(|i| [4.0, -4.0][i % 2] / 32768.0).collect();
    assert_eq!(check_signal(&audible), Ok(()));
    assert_eq!(check_signal(&[0.0; 100]), Err(AudioError::Silent));
    assert_eq!(check_signal(&[]), Err(AudioError::NoSamples));
}

#[test]
fn antiphase_stereo_is_silent_after_downmix() {
    let data = pcm16(&[8000, -8000, -8000, 8000, 4000, -4000]);
    assert_eq!(prepare_wav(&wav(1, 2, 16000, 16, data), &PrepareOptions::default()), Err(AudioError::Silent));
}

#[test]
fn too_short_after_resampling() {
    // 1000 samples at 44.1 kHz = 362.8 at 16 kHz -> 363 < 400.
    let v = sine(440.0, 44100, 1000, 0.5);
    let bytes = wav(1, 1, 44100, 16, pcm16(&v.iter().map(|&x| to_i16(x.into())).collect::<Vec<_>>()));
    let e = prepare_wav(&bytes, &PrepareOptions::default()).unwrap_err();
    assert_eq!(e, AudioError::TooShort { samples: 363, min_samples: MIN_MODEL_SAMPLES });
    assert_eq!(e.to_string(), "audio is 0.023 s long; the model needs at least 0.025 s");
    // 1102 samples at 44.1 kHz -> 399.8 -> 400: just long enough.
    let v = sine(440.0, 44100, 1102, 0.5);
    assert_eq!(prepare_samples(&v, 44100, &PrepareOptions::default()).unwrap().len(), 400);
    // The example from the brief: 0.1 s against a 2000-sample minimum.
    let opts = PrepareOptions { do_normalize: false, min_samples: 2000 };
    let e = prepare_samples(&sine(440.0, 16000, 1600, 0.5), 16000, &opts).unwrap_err();
    assert_eq!(e.to_string(), "audio is 0.10 s long; the model needs at least 0.125 s");
}

#[test]
fn error_messages_name_no_path() {
    // The caller adds the path; the crate never sees one. Spot-check the formats.
    let e = AudioError::UnsupportedSampleRate(0);
    assert_eq!(e.to_string(), "unsupported sample rate: 0 Hz (supported: 1000 to 768000 Hz)");
}

/// Every prefix of a valid file and many corrupted copies: errors are fine, panics are not.
#[test]
fn never_panics_on_garbage() {
    let mut base = riff(&[
        chunk(b"LIST", b"INFOabc".to_vec()),
        fmt_ext(guid(1), 2, 44100, 16, 16),
        chunk(b"data", pcm16(&(0..200).map(|i| (i * 97 % 2000) as i16 - 1000).collect::<Vec<_>>())),
    ]);
    for n in 0..base.len() {
        let _ = decode_wav(&base[..n]);
        let _ = prepare_wav(&base[..n], &PrepareOptions::default());
    }
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let len = base.len();
    for _ in 0..3000 {
        let mut b = base.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % 96) as usize % len; // mostly the headers
            b[i] = next() as u8;
        }
        let _ = decode_wav(&b);
        let _ = prepare_wav(&b, &PrepareOptions::default());
    }
    base.truncate(44);
    let _ = decode_wav(&base);
}

// ---------------------------------------------------------------------------------------------
// Resampling.

/// Resample an analytic sine and compare with the analytic sine at the target rate. Near the
/// edges (where the clip starts and stops abruptly, and the filter rings) the error is up to a
/// few 1e-3; from 1024 samples in, it is at float32 precision. A delay error of one output
/// sample would cost ~0.2 at 1 kHz, a tenth of a sample ~0.02.
fn check_sine(from: u32, to: u32, freq: f64) {
    let n = from as usize; // one second
    let x = sine(freq, from, n, 0.5);
    let y = resample(&x, from, to).unwrap();
    assert_eq!(y.len(), to as usize, "{from}->{to}");
    let want = sine(freq, to, y.len(), 0.5);
    for (edge, tol) in [(64, 5e-3), (1024, 1e-5)] {
        let err = max_abs_err(&y[edge..y.len() - edge], &want[edge..want.len() - edge]);
        assert!(err < tol, "{from}->{to} @ {freq} Hz, {edge} from the edges: max abs err {err}");
    }
}

#[test]
fn resample_44k1_to_16k_matches_analytic_sine() {
    check_sine(44100, 16000, 1000.0);
    // A higher tone, still in the passband: here a delay error of a tenth of a sample would
    // cost ~0.2.
    check_sine(44100, 16000, 6000.0);
}

#[test]
fn resample_48k_and_8k_to_16k() {
    check_sine(48000, 16000, 1000.0);
    check_sine(8000, 16000, 1000.0);
    check_sine(22050, 16000, 3000.0);
    check_sine(16000, 44100, 1000.0);
}

#[test]
fn resample_lengths_round() {
    let x = vec![0.1f32; 44101];
    // 44101 * 16000 / 44100 = 16000.36 -> 16000
    assert_eq!(resample(&x, 44100, 16000).unwrap().len(), 16000);
    // 12345 at 8 kHz -> 24690
    assert_eq!(resample(&x[..12345], 8000, 16000).unwrap().len(), 24690);
    // 1103 at 44.1 kHz -> 400.18 -> 400; 1 sample at 48k -> 0.33 -> 0
    assert_eq!(resample(&x[..1103], 44100, 16000).unwrap().len(), 400);
    assert!(resample(&x[..1], 48000, 16000).unwrap().is_empty());
    assert!(resample(&[], 48000, 16000).unwrap().is_empty());
}

#[test]
fn resample_removes_aliases() {
    // 10 kHz is above the 8 kHz Nyquist frequency of the output: it must be filtered out,
    // not folded down to 6 kHz.
    let x = sine(10_000.0, 44100, 44100, 0.5);
    let y = resample(&x, 44100, 16000).unwrap();
    let interior = &y[256..y.len() - 256];
    let peak = interior.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(peak < 1e-3, "alias peak {peak}");
}

#[test]
fn resample_round_trip_16k_via_44k1() {
    // A speech-band mix of tones, up to 7 kHz.
    let n = 16000;
    let x: Vec<f32> = (0..n)
        .map(|i| {
            let t = i as f64 / 16000.0;
            (0.3 * (2.0 * PI * 220.0 * t).sin()
                + 0.2 * (2.0 * PI * 1330.0 * t + 0.5).sin()
                + 0.1 * (2.0 * PI * 3700.0 * t + 1.0).sin()
                + 0.05 * (2.0 * PI * 7000.0 * t + 2.0).sin()) as f32
        })
        .collect();
    let up = resample(&x, 16000, 44100).unwrap();
    assert_eq!(up.len(), 44100);
    let back = resample(&up, 44100, 16000).unwrap();
    assert_eq!(back.len(), n);
    let err = max_abs_err(&back[128..n - 128], &x[128..n - 128]);
    assert!(err < 2e-3, "round trip max abs err {err}");
    let err = max_abs_err(&back[1024..n - 1024], &x[1024..n - 1024]);
    assert!(err < 1e-5, "round trip max abs err away from the edges {err}");
}

#[test]
fn resample_same_rate_is_a_copy() {
    let x = vec![0.5f32, -0.25, 1e-9, 3.0];
    assert_eq!(resample(&x, 16000, 16000).unwrap(), x);
}

#[test]
fn resample_rejects_bad_rates() {
    let x = vec![0.1f32; 100];
    assert_eq!(resample(&x, 0, 16000), Err(AudioError::UnsupportedSampleRate(0)));
    assert_eq!(resample(&x, 16000, 10_000_000), Err(AudioError::UnsupportedSampleRate(10_000_000)));
    assert_eq!(prepare_samples(&sine(440.0, 16000, 1600, 0.5), 0, &PrepareOptions::default()), Err(AudioError::UnsupportedSampleRate(0)));
}

#[test]
fn resample_odd_rate_pair() {
    // 44101 and 16000 are coprime: the FFT block is a whole second. Still exact in time.
    check_sine(44101, 16000, 1000.0);
}

// ---------------------------------------------------------------------------------------------
// Normalisation and the full pipeline.

#[test]
fn normalize_matches_formula_by_hand() {
    // mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25,
    // 1.5 / sqrt(1.25 + 1e-7) = 1.3416407328..., 0.5 / sqrt(1.2500001) = 0.4472135776...
    let mut x = [1.0f32, 2.0, 3.0, 4.0];
    normalize(&mut x);
    let want = [-1.341_640_732_834_245_5, -0.447_213_577_611_415_2, 0.447_213_577_611_415_2, 1.341_640_732_834_245_5];
    for (a, b) in x.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-6, "{x:?}");
    }
    // The 1e-7 matters for a constant signal: zeros, not NaN.
    let mut c = [0.3f32; 5];
    normalize(&mut c);
    assert_eq!(c, [0.0; 5]);
    let mut e: [f32; 0] = [];
    normalize(&mut e);
}

#[test]
fn normalize_gives_zero_mean_unit_variance() {
    let mut x: Vec<f32> =
        sine(313.0, 16000, 48000, 0.2).iter().enumerate().map(|(i, v)| v + 0.7 + 0.01 * ((i * 7919 % 101) as f32 / 101.0)).collect();
    normalize(&mut x);
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    assert!(mean.abs() < 1e-6, "mean {mean}");
    assert!((var - 1.0).abs() < 1e-5, "var {var}");
}

#[test]
fn prepare_wav_stereo_44k1_end_to_end() {
    // Stereo 16-bit at 44.1 kHz: left a 500 Hz sine at 0.4, right the same sine at 0.2, so the
    // downmix is the sine at 0.3; after resampling it must be the analytic 16 kHz sine.
    let n = 44100;
    let l = sine(500.0, 44100, n, 0.4);
    let r = sine(500.0, 44100, n, 0.2);
    let inter: Vec<i16> = l.iter().zip(&r).flat_map(|(a, b)| [to_i16((*a).into()), to_i16((*b).into())]).collect();
    let bytes = wav(1, 2, 44100, 16, pcm16(&inter));

    let raw = prepare_wav(&bytes, &PrepareOptions { do_normalize: false, min_samples: 400 }).unwrap();
    assert_eq!(raw.len(), 16000);
    let want = sine(500.0, 16000, 16000, 0.3);
    // 16-bit quantisation adds ~3e-5; the resampler ~1e-4.
    let err = max_abs_err(&raw[64..16000 - 64], &want[64..16000 - 64]);
    assert!(err < 1e-3, "max abs err {err}");

    let norm = prepare_wav(&bytes, &PrepareOptions::default()).unwrap();
    // A full-period sine of amplitude a has variance a^2 / 2: normalised amplitude is sqrt(2).
    let want = sine(500.0, 16000, 16000, 2f64.sqrt());
    let err = max_abs_err(&norm[64..16000 - 64], &want[64..16000 - 64]);
    assert!(err < 1e-2, "normalised max abs err {err}");
}

#[test]
fn prepare_samples_at_16k_is_untouched_then_normalised() {
    let v = sine(440.0, 16000, 8000, 0.5);
    let out = prepare_samples(&v, 16000, &PrepareOptions { do_normalize: false, min_samples: 400 }).unwrap();
    assert_eq!(out, v);
    let mut by_hand = v.clone();
    normalize(&mut by_hand);
    assert_eq!(prepare_samples(&v, 16000, &PrepareOptions::default()).unwrap(), by_hand);
    assert_eq!(
        prepare_samples(&v, 48000, &PrepareOptions::default()).unwrap().len(),
        2667 // round(8000 / 3)
    );
}

#[test]
fn duration_comes_from_the_header_alone() {
    // 3 s of 48 kHz stereo 16-bit: 48,000 * 3 frames of 4 bytes.
    let stereo = wav(1, 2, 48_000, 16, vec![0u8; 48_000 * 3 * 4]);
    assert_eq!(sslpron_audio::wav_duration_secs(&stereo).unwrap(), 3.0);
    // 0.5 s of 22.05 kHz mono float with a LIST chunk after the data: only `fmt ` and `data` count.
    let with_list = riff(&[fmt(3, 1, 22_050, 32), chunk(b"data", vec![0u8; 11_025 * 4]), chunk(b"LIST", vec![1, 2, 3, 4])]);
    assert_eq!(sslpron_audio::wav_duration_secs(&with_list).unwrap(), 0.5);
    // A data chunk that claims 4 GB in an 8-byte file (a header that lies about its size) is refused
    // with decode_wav's error, not turned into a duration.
    let lying = riff(&[fmt(3, 1, 22_050, 32), Chunk { id: *b"data", body: vec![0u8; 8], declared: Some(4_000_000_000) }]);
    let error = sslpron_audio::wav_duration_secs(&lying).unwrap_err();
    assert!(matches!(error, AudioError::TruncatedChunk { declared: 4_000_000_000, .. }), "{error:?}");
    assert_eq!(error, decode_wav(&lying).unwrap_err());
    assert!(sslpron_audio::wav_duration_secs(b"not a wav").is_err());
}
