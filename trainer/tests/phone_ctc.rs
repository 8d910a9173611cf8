//! The phone-level CTC objective and gradient accumulation.
//!
//! The CTC loss is checked against a brute-force reference that shares no code with Burn's: it
//! enumerates every frame-level path, collapses it (merge repeats, drop blanks) and sums the
//! probabilities of the paths that spell the target. Its gradient is checked against central finite
//! differences of that reference.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use sslpron_model::{EncoderConfig, HeadKind};
use trainer::phone_ctc::{PhoneHead, ctc_mean, load, loss, min_frames, save};
use trainer::run::preset;
use trainer::step::{Batch, GradientTensors, OptimSettings, Strategy, TrainState};

const VOCAB: usize = 3; // blank + 2 phones
const FRAMES: usize = 5;

/// -log P(target | per-frame log-probs `[frames][vocab]`), by enumerating all `vocab^frames` paths.
fn brute_force_nll(log_probs: &[Vec<f64>], target: &[usize]) -> f64 {
    let (frames, vocab) = (log_probs.len(), log_probs[0].len());
    let mut total = 0.0;
    for code in 0..vocab.pow(frames as u32) {
        let path: Vec<usize> = (0..frames).map(|t| code / vocab.pow(t as u32) % vocab).collect();
        let mut collapsed = Vec::new();
        for (t, &s) in path.iter().enumerate() {
            if s != 0 && (t == 0 || path[t - 1] != s) {
                collapsed.push(s);
            }
        }
        if collapsed == target {
            total += path.iter().enumerate().map(|(t, &s)| log_probs[t][s]).sum::<f64>().exp();
        }
    }
    -total.ln()
}

/// PyTorch's `mean` reduction of the brute-force losses, from raw logits `[batch][frames][vocab]`.
fn brute_force_mean(logits: &[Vec<Vec<f64>>], frames: &[usize], targets: &[Vec<usize>]) -> f64 {
    let mut sum = 0.0;
    for (b, target) in targets.iter().enumerate() {
        let log_probs: Vec<Vec<f64>> = logits[b][..frames[b]]
            .iter()
            .map(|row| {
                let max = row.iter().cloned().fold(f64::MIN, f64::max);
                let log_sum = row.iter().map(|v| (v - max).exp()).sum::<f64>().ln() + max;
                row.iter().map(|v| v - log_sum).collect()
            })
            .collect();
        sum += brute_force_nll(&log_probs, target) / target.len().max(1) as f64;
    }
    sum / targets.len() as f64
}

fn logits_fixture() -> Vec<Vec<Vec<f64>>> {
    // Deterministic, far from uniform: a path-independent loss would not match by accident.
    (0..2).map(|b| (0..FRAMES).map(|t| (0..VOCAB).map(|c| ((b * 31 + t * 7 + c * 13) as f64 * 0.77).sin() * 2.0).collect()).collect()).collect()
}

fn to_tensor(logits: &[Vec<Vec<f64>>], device: &Device) -> Tensor<3> {
    let flat: Vec<f32> = logits.iter().flatten().flatten().map(|&v| v as f32).collect();
    Tensor::<1>::from_floats(flat.as_slice(), device).reshape([logits.len(), FRAMES, VOCAB])
}

#[test]
fn ctc_loss_matches_brute_force_enumeration() {
    let device = Device::flex();
    let logits = logits_fixture();
    // The second utterance has 4 real frames and a repeated phone (needs a blank in between).
    let (frames, targets) = ([5, 4], [vec![1, 2], vec![2, 2]]);
    let log_probs = log_softmax(to_tensor(&logits, &device), 2).swap_dims(0, 1);
    let ours = ctc_mean(log_probs, &frames, &targets).into_scalar::<f32>() as f64;
    let reference = brute_force_mean(&logits, &frames, &targets);
    assert!((ours - reference).abs() < 1e-5 * reference.abs().max(1.0), "ours {ours}, brute force {reference}");
}

#[test]
fn ctc_gradient_matches_finite_differences() {
    let device = Device::flex().autodiff();
    let logits = logits_fixture();
    let (frames, targets) = ([5, 4], [vec![1, 2], vec![2, 2]]);
    let input = to_tensor(&logits, &device).require_grad();
    let loss = ctc_mean(log_softmax(input.clone(), 2).swap_dims(0, 1), &frames, &targets);
    let grads = loss.backward();
    let grad: Vec<f32> = input.grad(&grads).expect("logits get a gradient").into_data().try_to_vec::<f32>().unwrap();
    let h = 1e-5;
    for b in 0..2 {
        for t in 0..FRAMES {
            for c in 0..VOCAB {
                let mut plus = logits.clone();
                plus[b][t][c] += h;
                let mut minus = logits.clone();
                minus[b][t][c] -= h;
                let numeric = (brute_force_mean(&plus, &frames, &targets) - brute_force_mean(&minus, &frames, &targets)) / (2.0 * h);
                let ours = grad[(b * FRAMES + t) * VOCAB + c] as f64;
                assert!((ours - numeric).abs() < 1e-4, "d loss / d logits[{b}][{t}][{c}]: ours {ours}, numeric {numeric}");
            }
        }
    }
    // Padded frames of the shorter utterance get no gradient.
    assert!(grad[(FRAMES + 4) * VOCAB..(FRAMES + 5) * VOCAB].iter().all(|&g| g == 0.0));
}

#[test]
fn utterances_too_short_to_align_are_left_out() {
    assert_eq!(min_frames(&[1, 2, 2, 3]), 5);
    let device = Device::flex();
    let head = PhoneHead::random(8, VOCAB, &device);
    let hidden = Tensor::<3>::random([2, 3, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    // [1,1,1] needs 5 frames: only the first utterance counts, and alone it gives the same loss.
    let both = loss(&head, hidden.clone(), &[3, 3], &[vec![1, 2], vec![1, 1, 1]]).unwrap().into_scalar::<f32>();
    let first = loss(&head, hidden.clone().narrow(0, 0, 1), &[3], &[vec![1, 2]]).unwrap().into_scalar::<f32>();
    assert!((both - first).abs() < 1e-6, "{both} vs {first}");
    assert!(loss(&head, hidden, &[3, 3], &[vec![1, 1, 1], vec![]]).is_none());
}

#[test]
fn phone_head_round_trips_and_refuses_a_wrong_shape() {
    let device = Device::flex();
    let dir = std::env::temp_dir().join(format!("sslpron-phone-head-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("phone_head.safetensors");
    let head = PhoneHead::random(8, 5, &device);
    save(&head, &path).unwrap();
    let encoder = |json: &str| sslpron_model::EncoderConfig::from_json("test", json.as_bytes()).unwrap();
    let narrow = encoder(r#"{"hidden_size": 8, "num_attention_heads": 2, "intermediate_size": 16, "num_conv_pos_embedding_groups": 1}"#);
    let loaded = load(&path, &narrow, 5, &device).unwrap();
    let values = |h: &PhoneHead| -> Vec<f32> { h.linear.weight.val().into_data().try_to_vec::<f32>().unwrap() };
    assert_eq!(values(&head), values(&loaded));
    let err = load(&path, &narrow, 6, &device).unwrap_err();
    assert!(err.contains("phone_head.safetensors") && err.contains("phone_head.weight"), "{err}");
    // A head with layers says so by its tensor names and loads back with them.
    let deep = PhoneHead::random_with_layers(&narrow, 2, 5, &device);
    save(&deep, &path).unwrap();
    let loaded = load(&path, &narrow, 5, &device).unwrap();
    assert_eq!(loaded.layers.len(), 2);
    let x = Tensor::<3>::ones([1, 4, 8], &device);
    let (a, b) = (deep.forward(x.clone()).into_data().try_to_vec::<f32>().unwrap(), loaded.forward(x).into_data().try_to_vec::<f32>().unwrap());
    assert_eq!(a, b);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two half batches, each loss scaled by 1/2 and their gradients summed, give the gradients of the
/// whole batch (the model has no batch statistics, and equal lengths need no padding).
#[test]
fn accumulated_half_batches_give_the_full_batch_gradient() {
    let device = Device::flex().autodiff();
    device.seed(5);
    // Randomness off (an autodiff device trains: dropout, LayerDrop and SpecAugment would draw
    // differently for a half batch than for the whole).
    let mut json = preset("tiny").unwrap();
    for key in ["hidden_dropout", "attention_dropout", "activation_dropout", "feat_proj_dropout", "final_dropout", "layerdrop"] {
        json[key] = 0.0.into();
    }
    json["apply_spec_augment"] = false.into();
    let config = EncoderConfig::from_json("preset", &serde_json::to_vec(&json).unwrap()).unwrap();
    let model = sslpron_model::random(&config, Some(HeadKind::General), &device);
    let head = PhoneHead::random(config.hidden_size, VOCAB, &device);
    let state = TrainState::new(model, Strategy::General, OptimSettings::default()).with_phone_ctc(head, 0.5);
    let input = Tensor::<2>::random([4, 8000], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let labels = Tensor::<2>::random([4, 4], burn::tensor::Distribution::Uniform(0.0, 10.0), &device);
    let phones = [vec![1, 2], vec![2], vec![1, 1], vec![2, 1, 2]];
    let batch = |rows: std::ops::Range<usize>| Batch {
        input: input.clone().slice([rows.clone()]),
        lengths: None,
        labels: labels.clone().slice([rows.clone()]),
        phones: Some(&phones[rows]),
    };
    let (full, report) = state.batch_gradients(&batch(0..4), 1.0);
    assert!(report.ctc_loss.is_some());
    let (first, _) = state.batch_gradients(&batch(0..2), 0.5);
    let (second, _) = state.batch_gradients(&batch(2..4), 0.5);
    let summed = state.accumulate(Some(first), second);
    let export = |g| sslpron_model::export_seed_layout_of(state.model(), &config, &GradientTensors(g));
    let (full, summed) = (export(&full), export(&summed));
    let names = |v: &Vec<sslpron_model::NamedTensor>| v.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&full), names(&summed));
    let peak = full.iter().flat_map(|t| &t.values).fold(0f32, |m, v| m.max(v.abs()));
    for (a, b) in full.iter().zip(&summed) {
        let worst = a.values.iter().zip(&b.values).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(worst <= 1e-4 * peak, "{}: accumulated gradient differs by {worst} (peak {peak})", a.name);
    }
}
