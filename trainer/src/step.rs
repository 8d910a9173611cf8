//! One optimisation step as the seed takes it: MSE on the four raw 0–10 scores, global gradient-norm
//! clipping, AdamW with PyTorch's semantics. Burn's AdamW already computes PyTorch's update
//! (`m̂ / (sqrt(v̂) + eps)`, decoupled decay `p *= 1 - lr·wd`); its defaults (eps 1e-5, weight decay 1e-4)
//! and its per-tensor clipping are not the seed's, so both are set here explicitly.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use sslpron_model::PronunciationModel;

use crate::phone_ctc::PhoneHead;

/// The seed's three fine-tuning strategies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Everything trains; General head.
    General,
    /// The CNN feature encoder is frozen; General head.
    Freeze,
    /// Everything trains; the `*ForCTC` logits are pooled into the scores (MSE only, as the seed).
    Ctc,
}

/// Optimiser settings; `Default` is the seed's recipe.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptimSettings {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub weight_decay: f32,
    /// Global L2 norm over all gradients is clipped to this (PyTorch's `clip_grad_norm_`); `None` = off.
    pub max_grad_norm: Option<f64>,
}

impl Default for OptimSettings {
    fn default() -> Self {
        OptimSettings { beta_1: 0.9, beta_2: 0.999, epsilon: 1e-8, weight_decay: 0.0, max_grad_norm: Some(1.0) }
    }
}

/// What a step reports.
#[derive(Clone, Copy, Debug)]
pub struct StepReport {
    /// The score loss (MSE), unscaled.
    pub loss: f64,
    /// The phone CTC loss, when that objective is on and the batch had alignable utterances.
    pub ctc_loss: Option<f64>,
    /// Global gradient norm before clipping (0 for a micro-batch whose gradients are still accumulating).
    pub grad_norm: f64,
}

/// One batch: `input [batch, samples]`, `labels [batch, 4]`; `lengths`: each utterance's real samples
/// in a zero-padded batch (kept out of normalisation, attention and pooling), or `None` to treat the
/// padding as audio, as the seed did; `phones`: CTC targets per utterance when the phone objective is on.
pub struct Batch<'a> {
    pub input: Tensor<2>,
    pub lengths: Option<&'a [usize]>,
    pub labels: Tensor<2>,
    pub phones: Option<&'a [Vec<usize>]>,
}

/// What the optimiser updates: the scorer and, with the phone objective, its auxiliary head.
#[derive(Module, Debug)]
pub struct Trainee {
    pub scorer: PronunciationModel,
    pub phone_head: Option<PhoneHead>,
}

/// A model being trained and its optimiser.
pub struct TrainState {
    trainee: Option<Trainee>,
    /// Weight of the phone CTC loss in the total (0 without a phone head).
    ctc_weight: f64,
    optimizer: ModuleOptimizer,
    settings: OptimSettings,
}

impl TrainState {
    /// `model` must live on an autodiff device. Freeze stops gradients of the CNN feature encoder.
    pub fn new(mut model: PronunciationModel, strategy: Strategy, settings: OptimSettings) -> Self {
        if strategy == Strategy::Freeze {
            model.encoder.feature_extractor = model.encoder.feature_extractor.no_grad();
        }
        let optimizer = AdamWConfig::new()
            .with_beta_1(settings.beta_1)
            .with_beta_2(settings.beta_2)
            .with_epsilon(settings.epsilon)
            .with_weight_decay(settings.weight_decay)
            .init();
        TrainState { trainee: Some(Trainee { scorer: model, phone_head: None }), ctc_weight: 0.0, optimizer, settings }
    }

    /// Adds the phone-level CTC objective: `loss = mse + weight · ctc` (see [`crate::phone_ctc`]).
    pub fn with_phone_ctc(mut self, head: PhoneHead, weight: f64) -> Self {
        self.trainee.as_mut().expect("not mid-step").phone_head = Some(head);
        self.ctc_weight = weight;
        self
    }

    fn trainee(&self) -> &Trainee {
        self.trainee.as_ref().expect("the model is only taken during a step")
    }

    pub fn model(&self) -> &PronunciationModel {
        &self.trainee().scorer
    }

    pub fn phone_head(&self) -> Option<&PhoneHead> {
        self.trainee().phone_head.as_ref()
    }

    /// Saves the optimiser state (AdamW moments and step counts, keyed by parameter id; ids are stable
    /// by parameter name, see `TensorSource::register`).
    pub fn save_optimizer(&self, path: &std::path::Path) -> Result<(), String> {
        self.optimizer.save(path).map_err(|e| format!("{}: {e:?}", path.display()))
    }

    /// Restores what [`save_optimizer`](Self::save_optimizer) wrote.
    pub fn load_optimizer(&mut self, path: &std::path::Path) -> Result<(), String> {
        let optimizer = std::mem::replace(&mut self.optimizer, AdamWConfig::new().init());
        self.optimizer = optimizer.load(path).map_err(|e| format!("{}: {e:?}", path.display()))?;
        Ok(())
    }

    pub fn into_model(self) -> PronunciationModel {
        self.trainee.expect("the model is only taken during a step").scorer
    }

    /// One step on a batch (score loss only): gradients, global clipping, AdamW.
    pub fn step(&mut self, input: Tensor<2>, lengths: Option<&[usize]>, labels: Tensor<2>, lr: f64) -> StepReport {
        let (grads, report) = self.gradients(input, lengths, labels);
        self.apply(grads, lr);
        report
    }

    /// Loss, backward pass and global clipping: the gradients the optimiser would apply.
    pub fn gradients(&self, input: Tensor<2>, lengths: Option<&[usize]>, labels: Tensor<2>) -> (GradientsParams, StepReport) {
        let (grads, report) = self.batch_gradients(&Batch { input, lengths, labels, phones: None }, 1.0);
        let (grads, grad_norm) = self.clip(grads);
        (grads, StepReport { grad_norm, ..report })
    }

    /// Unclipped gradients of `scale ×` the batch's loss (`scale = 1 / micro-batches` when accumulating).
    pub fn batch_gradients(&self, batch: &Batch, scale: f64) -> (GradientsParams, StepReport) {
        let trainee = self.trainee();
        let model = &trainee.scorer;
        let head = model.head.as_ref().expect("a trained model has a score head");
        let hidden = model.encoder.forward_lengths(batch.input.clone(), batch.lengths, false).last_hidden_state;
        let [batch_size, frames, _] = hidden.dims();
        let device = hidden.device();
        let frame_lengths = match batch.lengths {
            Some(lengths) => model.encoder.feature_extractor.frame_lengths(lengths),
            None => vec![frames; batch_size],
        };
        let valid = batch.lengths.map(|_| sslpron_model::feature_encoder::frame_mask(&frame_lengths, frames, &device));
        let predicted = head.forward_masked(hidden.clone(), valid);
        let mse_loss = mse(predicted, batch.labels.clone());
        let loss_value = mse_loss.clone().into_scalar::<f32>() as f64;
        let mut loss = mse_loss;
        let mut ctc_value = None;
        if let (Some(phone_head), Some(phones)) = (&trainee.phone_head, batch.phones)
            && let Some(ctc) = crate::phone_ctc::loss(phone_head, hidden, &frame_lengths, phones)
        {
            ctc_value = Some(ctc.clone().into_scalar::<f32>() as f64);
            loss = loss + ctc * self.ctc_weight;
        }
        let loss = if scale == 1.0 { loss } else { loss * scale };
        let grads = GradientsParams::from_grads(loss.backward(), trainee);
        (grads, StepReport { loss: loss_value, ctc_loss: ctc_value, grad_norm: 0.0 })
    }

    /// Global-norm clipping of (accumulated) gradients; returns them and the norm before clipping.
    pub fn clip(&self, grads: GradientsParams) -> (GradientsParams, f64) {
        clip_global_norm(grads, self.trainee(), self.settings.max_grad_norm)
    }

    /// Sums micro-batch gradients (gradient accumulation).
    pub fn accumulate(&self, total: Option<GradientsParams>, grads: GradientsParams) -> GradientsParams {
        let Some(total) = total else { return grads };
        let mut accumulator = GradientsAccumulator::<Trainee>::new();
        accumulator.accumulate(self.trainee(), total);
        accumulator.accumulate(self.trainee(), grads);
        accumulator.grads()
    }

    /// One AdamW update with `grads`.
    pub fn apply(&mut self, grads: GradientsParams, lr: f64) {
        let trainee = self.trainee.take().expect("the model is only taken during a step");
        self.trainee = Some(self.optimizer.step(lr, trainee, grads));
    }
}

/// Gradients as a source for [`sslpron_model::export_seed_layout_of`]: export them under checkpoint names.
pub struct GradientTensors<'a>(pub &'a GradientsParams);

impl sslpron_model::ParamTensors for GradientTensors<'_> {
    fn tensor<const D: usize>(&self, param: &Param<Tensor<D>>) -> Option<Tensor<D>> {
        self.0.get::<D>(param.id)
    }
}

/// Mean squared error over every element (PyTorch's `mse_loss`, reduction `mean`).
pub fn mse(predicted: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    (predicted - target).powi_scalar(2).mean()
}

/// Scales every gradient by `max_norm / (norm + 1e-6)` when the global L2 norm exceeds `max_norm`, as
/// PyTorch's `clip_grad_norm_` does. Returns the gradients and the norm before clipping.
pub fn clip_global_norm(mut grads: GradientsParams, model: &impl Module, max_norm: Option<f64>) -> (GradientsParams, f64) {
    let mut ids = ParamIds::default();
    model.visit(&mut ids);
    let mut sum_of_squares = 0.0f64;
    for (id, rank) in &ids.0 {
        sum_of_squares += match rank {
            1 => grad_square_sum::<1>(&grads, *id),
            2 => grad_square_sum::<2>(&grads, *id),
            3 => grad_square_sum::<3>(&grads, *id),
            4 => grad_square_sum::<4>(&grads, *id),
            _ => 0.0,
        };
    }
    let norm = sum_of_squares.sqrt();
    if let Some(max_norm) = max_norm {
        let scale = max_norm / (norm + 1e-6);
        if scale < 1.0 {
            for (id, rank) in &ids.0 {
                match rank {
                    1 => rescale::<1>(&mut grads, *id, scale),
                    2 => rescale::<2>(&mut grads, *id, scale),
                    3 => rescale::<3>(&mut grads, *id, scale),
                    4 => rescale::<4>(&mut grads, *id, scale),
                    _ => {}
                }
            }
        }
    }
    (grads, norm)
}

fn grad_square_sum<const D: usize>(grads: &GradientsParams, id: ParamId) -> f64 {
    grads.get::<D>(id).map_or(0.0, |g| g.powi_scalar(2).sum().into_scalar::<f32>() as f64)
}

fn rescale<const D: usize>(grads: &mut GradientsParams, id: ParamId, scale: f64) {
    if let Some(g) = grads.remove::<D>(id) {
        grads.register(id, g * scale);
    }
}

/// Every float parameter's id and rank.
#[derive(Default)]
struct ParamIds(Vec<(ParamId, usize)>);

impl ModuleVisitor for ParamIds {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, D));
    }
}

/// Gradients given by checkpoint name (PyTorch layout), as Burn's [`GradientsParams`] for `model`:
/// lets the optimiser be driven by another implementation's gradients (the parity tests).
pub fn gradients_from_named(
    model: &PronunciationModel,
    config: &sslpron_model::EncoderConfig,
    named: &std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)>,
) -> GradientsParams {
    let mut importer = Importer { names: sslpron_model::seed_checkpoint_names(model, config), named, grads: GradientsParams::new() };
    model.visit(&mut importer);
    importer.grads
}

struct Importer<'a> {
    names: sslpron_model::weights::ParamNames,
    named: &'a std::collections::BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    grads: GradientsParams,
}

impl ModuleVisitor for Importer<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let Some(entry) = self.names.get(param.id) else { return };
        let Some((shape, values)) = self.named.get(&entry.name) else { return };
        let device = param.val().device().inner();
        let data = burn::tensor::TensorData::new(values.clone(), shape.clone());
        let tensor = Tensor::<D>::from_data(data, &device);
        let tensor = if entry.transposed { tensor.transpose() } else { tensor };
        self.grads.register(param.id, tensor);
    }
}
