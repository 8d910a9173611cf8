//! The audio front end against transformers' `Wav2Vec2FeatureExtractor` on the fixture clips: the
//! parity tests feed the model what it makes of the WAVs, so this is where its own error shows.

mod common;

use common::*;
use sslpron_audio::{PrepareOptions, prepare_wav};

#[test]
fn front_end_matches_feature_extractor() {
    for clip in CLIPS {
        let bytes = std::fs::read(fixtures().join(format!("audio/{clip}.wav"))).unwrap();
        let reference = read_safetensors(&fixtures().join(format!("reference/inputs/{clip}.safetensors")));
        for (normalize, key, tolerance) in [(true, "normalized", 1e-5), (false, "raw", 0.0)] {
            let ours = prepare_wav(&bytes, &PrepareOptions { do_normalize: normalize, min_samples: 400 }).unwrap();
            let err = max_abs_diff(&ours, &reference[key].values);
            assert!(err <= tolerance, "{clip} ({key}): front end differs from transformers by {err:e}");
        }
    }
}
