//! `--head-bias-label-mean` starts the score head's bias at the training labels' means; from there the
//! bias must train like every other parameter. (It once stayed frozen: the new bias was built without
//! gradients, so a fresh run never moved it, while a resumed run, reading it from its checkpoint, did.)

use std::path::PathBuf;

use burn::prelude::*;
use sslpron_model::{EncoderConfig, HeadKind};
use trainer::data::Corpus;
use trainer::run::{preset, set_head_bias_to_label_means};
use trainer::step::{OptimSettings, Strategy, TrainState};

fn bias(state_or_model: &sslpron_model::PronunciationModel) -> Vec<f32> {
    let bias = state_or_model.head.as_ref().unwrap().score_predictor.bias.as_ref().unwrap().val();
    bias.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn label_mean_bias_starts_at_the_means_and_then_trains() {
    let corpus = Corpus::open(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/corpus-tiny")).unwrap();
    let train = corpus.split("train").unwrap();
    let device = Device::flex().autodiff();
    device.seed(0);
    let json = serde_json::to_vec(&preset("tiny").unwrap()).unwrap();
    let config = EncoderConfig::from_json("preset", &json).unwrap();
    let mut model = sslpron_model::random(&config, Some(HeadKind::General), &device);
    set_head_bias_to_label_means(&mut model, &train, &device);

    let start = bias(&model);
    for (aspect, value) in start.iter().enumerate() {
        let mean = train.iter().map(|u| u.labels[aspect] as f64).sum::<f64>() / train.len() as f64;
        assert!((*value as f64 - mean).abs() < 1e-5, "aspect {aspect}: bias {value}, label mean {mean}");
    }

    // One AdamW step moves every parameter with a gradient by about the learning rate; targets of 0
    // against a bias near the means give every bias element a large gradient.
    let mut state = TrainState::new(model, Strategy::General, OptimSettings::default());
    let input = Tensor::<2>::random([2, 16_000], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    state.step(input, None, Tensor::<2>::zeros([2, 4], &device), 1e-2);
    let after = bias(state.model());
    for (aspect, (a, b)) in start.iter().zip(&after).enumerate() {
        assert!((a - b).abs() > 1e-3, "aspect {aspect}: the bias did not train ({a} -> {b})");
    }
}
