//! The prompt-aware head: shapes, padding that changes nothing, standardisation from the config,
//! a save/load round trip by parameter name, and configs that are refused.

use burn::prelude::*;
use sslpron_model::weights::{CheckpointSource, RandomSource};
use sslpron_model::{ModelError, PromptHead, PromptHeadConfig, PromptInput, export_values, to_safetensors};

fn config() -> PromptHeadConfig {
    let mut c = PromptHeadConfig::new(10, 6, 3);
    c.hidden_size = 16;
    c.intermediate_size = 32;
    c.phone_feature_mean = vec![0.5; 6];
    c.phone_feature_std = vec![2.0; 6];
    c
}

fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

fn input(ids: &[i64], features: &[f32], sentence: &[f32], batch: usize, mask: Option<&[f32]>, device: &Device) -> PromptInput {
    let phones = ids.len() / batch;
    PromptInput {
        phone_ids: Tensor::<1, Int>::from_ints(ids, device).reshape([batch, phones]),
        phone_features: Tensor::<1>::from_floats(features, device).reshape([batch, phones, 6]),
        sentence_features: Tensor::<1>::from_floats(sentence, device).reshape([batch, 3]),
        phone_mask: mask.map(|m| Tensor::<1>::from_floats(m, device).reshape([batch, phones])),
    }
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn padding_a_prompt_changes_none_of_its_scores() {
    let device = Device::flex();
    let head = PromptHead::new(&mut RandomSource::new(&device), &config()).unwrap();
    // Alone: 3 phones.
    let f3 = values(18, 1);
    let s = values(3, 2);
    let alone = head.forward(&input(&[1, 4, 7], &f3, &s, 1, None, &device));
    assert_eq!(alone.utterance.dims(), [1, 4]);
    assert_eq!(alone.phones.dims(), [1, 3, 2]);
    // In a batch with a 5-phone prompt, padded to 5 with junk in the padding.
    let f5 = values(30, 3);
    let mut features = f5.clone();
    features.extend(&f3);
    features.extend(values(12, 4));
    let mut sentence = values(3, 5);
    sentence.extend(&s);
    let mask = [1., 1., 1., 1., 1., 1., 1., 1., 0., 0.];
    let batch = head.forward(&input(&[2, 3, 5, 9, 9, 1, 4, 7, 0, 0], &features, &sentence, 2, Some(&mask), &device));
    let utterance = batch.utterance.into_data().try_to_vec::<f32>().unwrap();
    let phones = batch.phones.into_data().try_to_vec::<f32>().unwrap();
    assert!(close(&utterance[4..], &alone.utterance.into_data().try_to_vec::<f32>().unwrap(), 1e-5));
    assert!(close(&phones[10..16], &alone.phones.into_data().try_to_vec::<f32>().unwrap(), 1e-5));
}

#[test]
fn the_config_standardises_and_a_saved_head_loads_back_identically() {
    let device = Device::flex();
    let mut src = RandomSource::new(&device);
    let head = PromptHead::new(&mut src, &config()).unwrap();
    let names = src.into_names();
    let bytes = to_safetensors(&export_values(&head, names));
    let mut src = CheckpointSource::new("prompt_head.safetensors", &bytes, &device, |n| Some(n.to_string())).unwrap();
    let loaded = PromptHead::new(&mut src, &config()).unwrap();
    let (_, unused) = src.finish().unwrap();
    assert!(unused.is_empty(), "{unused:?}");
    let f = values(12, 7);
    let s = values(3, 8);
    let a = head.forward(&input(&[3, 3], &f, &s, 1, None, &device)).utterance.into_data().try_to_vec::<f32>().unwrap();
    let b = loaded.forward(&input(&[3, 3], &f, &s, 1, None, &device)).utterance.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(a, b);
    // Shifting the features by the configured mean and scaling by the std is what standardisation undoes.
    let mut shifted = config();
    shifted.phone_feature_mean = vec![10.5; 6];
    shifted.phone_feature_std = vec![4.0; 6];
    let mut src = CheckpointSource::new("prompt_head.safetensors", &bytes, &device, |n| Some(n.to_string())).unwrap();
    let moved = PromptHead::new(&mut src, &shifted).unwrap();
    let f_moved: Vec<f32> = f.iter().map(|x| (x - 0.5) / 2.0 * 4.0 + 10.5).collect();
    let c = moved.forward(&input(&[3, 3], &f_moved, &s, 1, None, &device)).utterance.into_data().try_to_vec::<f32>().unwrap();
    assert!(close(&a, &c, 1e-4), "{a:?} {c:?}");
}

#[test]
fn bad_configs_are_refused_naming_the_field() {
    let err = |json: serde_json::Value| match PromptHeadConfig::from_json("prompt_head.json", json.to_string().as_bytes()) {
        Err(ModelError::Config { file, message }) => format!("{file}: {message}"),
        other => panic!("expected a config error, got {other:?}"),
    };
    let good = serde_json::to_value(config()).unwrap();
    assert!(PromptHeadConfig::from_json("prompt_head.json", good.to_string().as_bytes()).is_ok());
    let with = |key: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[key] = value;
        v
    };
    assert!(err(with("hidden_size", 1_000_000_000.into())).contains("hidden_size"));
    assert!(err(with("num_layers", 10_000_000.into())).contains("num_hidden_layers"));
    assert!(err(with("phone_features", 0.into())).contains("phone_features"));
    assert!(err(with("phone_feature_std", serde_json::json!([1, 1, 0, 1, 1, 1]))).contains("phone_feature_std"));
    assert!(err(with("sentence_feature_mean", serde_json::json!([1]))).contains("sentence_feature_mean has 1 values"));
    let negative = err(with("hidden_size", (-3).into()));
    assert!(negative.starts_with("prompt_head.json: ") && negative.contains("hidden_size"), "{negative}");
}
