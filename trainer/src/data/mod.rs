//! The trainer's data layer: corpus in, labelled utterances and batches out.
//!
//! - [`Corpus`] reads Speechocean762 in its own published layout (`train/`, `test/` Kaldi lists,
//!   `WAVE/`, `resource/scores.json`, `resource/text-phone`) into [`Utterance`]s with the seed's
//!   labels `[accuracy, fluency, prosodic, total]` (raw 0–10) and canonical phones; labels can come
//!   from another `scores.json`-format file ([`CorpusOptions::labels`]).
//! - [`SpeakerList`] / [`split_by_speakers`]: the speaker-disjoint development split.
//! - [`SpeakerInfo`]: speakers' age and gender (`spk2age`, `spk2gender`) and the evaluation
//!   subgroups they define ([`SUBGROUPS`]).
//! - [`PhoneVocab`]: targets for the optional phone-level CTC objective.
//! - [`batches`]: length-bucketed, reproducible batch order from `(seed, epoch)` alone;
//!   [`shuffled_batches`]: the seed's unbucketed order (a reference; the trainer, `--seed-compat`
//!   included, always uses [`batches`]).
//! - [`pad_batch`], [`frame_lengths`], [`Padding`]: zero padding plus the true lengths, so the
//!   model can keep padded samples out of GroupNorm and padded frames out of mean pooling, or
//!   ignore them as the seed did ([`Padding::SeedCompat`]).
//!
//! Self-contained on purpose (it uses only `super::` paths, std, serde, thiserror and
//! `sslpron-audio`): the tests include it by path, and it can move into a library target
//! unchanged. Every error is a [`DataError`] whose message starts with the file it is about.

mod batch;
mod corpus;
mod error;
mod kaldi;
mod labels;
mod pad;
mod speakers;
mod split;
mod vocab;

pub use batch::{BUCKET_BATCHES, SplitMix64, batches, shuffled_batches};
pub use corpus::{Corpus, CorpusOptions, Utterance};
pub use error::DataError;
pub use labels::{LABEL_NAMES, LABEL_RANGE};
pub use pad::{PaddedBatch, Padding, frame_lengths, length_mask, pad_batch};
pub use speakers::{CHILD_MAX_AGE, Gender, SUBGROUPS, SpeakerInfo, TEEN_MAX_AGE};
pub use split::{SpeakerList, split_by_speakers};
pub use vocab::{BLANK, PhoneVocab, strip_stress};
