//! Writing a model back in the seed's checkpoint layout gives back exactly the checkpoint it was read
//! from: every name, shape and value (what the trainer's exported checkpoints rely on).

mod common;

use burn::prelude::*;
use common::*;

#[test]
fn seed_checkpoints_round_trip_exactly() {
    for kind in ["wav2vec2-base", "hubert-large", "wavlm-large", "wav2vec2-ctc", "wavlm-ctc"] {
        let bytes = model_bytes(kind);
        let (info, model, _) = load_from(&bytes, &Device::flex());
        let exported = sslpron_model::export_seed_layout(&model, &info.config);
        let original = read_safetensors(&fixtures().join(format!("models/{kind}/model.safetensors")));
        let names: Vec<&str> = exported.iter().map(|t| t.name.as_str()).collect();
        let expected: Vec<&str> = original.keys().map(String::as_str).collect();
        assert_eq!(names, expected, "{kind}: exported names");
        for tensor in &exported {
            let reference = &original[&tensor.name];
            assert_eq!(tensor.shape, reference.shape, "{kind}: shape of {}", tensor.name);
            assert_eq!(tensor.values, reference.values, "{kind}: values of {}", tensor.name);
        }
        // And the bytes load again into the same model.
        let again = ModelBytes { weights: sslpron_model::to_safetensors(&exported), ..model_bytes(kind) };
        let (_, reloaded, report) = load_from(&again, &Device::flex());
        assert!(report.unused.is_empty());
        assert_eq!(reloaded.head_kind(), model.head_kind());
    }
}
