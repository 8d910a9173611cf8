//! The prompt-aware parts `sslpron score --text` needs besides the scoring model: the phone
//! recogniser, its vocabulary and the prompt-aware head (crates/prompt), read from a model directory
//! or compiled in (the default model's, www/models/default/).

use std::path::Path;

use burn::prelude::*;
use sslpron_model::Kernels;
use sslpron_prompt::{
    NamedBytes, PHONE_RECOGNIZER_CONFIG_FILE, PHONE_RECOGNIZER_FILE, PHONE_VOCAB_FILE, PROMPT_HEAD_CONFIG_FILE, PROMPT_HEAD_FILE, PromptFiles,
    PromptScorer,
};
use sslpron_text::Lexicon;

/// The files of the prompt-aware parts, in a model directory.
pub const PART_FILES: [&str; 5] = [PHONE_RECOGNIZER_CONFIG_FILE, PHONE_RECOGNIZER_FILE, PHONE_VOCAB_FILE, PROMPT_HEAD_CONFIG_FILE, PROMPT_HEAD_FILE];

macro_rules! default_part {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../www/models/default/", $name))
    };
}

/// The default model's parts, compiled in like the default model itself.
const BUILTIN: [&[u8]; 5] = [
    default_part!("phone_recognizer.json"),
    default_part!("phone_recognizer.safetensors"),
    default_part!("phone_vocab.json"),
    default_part!("prompt_head.json"),
    default_part!("prompt_head.safetensors"),
];

fn scorer(names: &[String; 5], bytes: &[&[u8]; 5], device: &Device) -> Result<PromptScorer, String> {
    let part = |i: usize| NamedBytes { name: &names[i], bytes: bytes[i] };
    let files =
        PromptFiles { recognizer_config: part(0), recognizer_weights: part(1), phone_vocab: part(2), head_config: part(3), head_weights: part(4) };
    PromptScorer::load(&files, Lexicon::builtin(), Kernels::default(), device).map_err(|e| e.to_string())
}

/// The built-in parts (they belong to the built-in scoring model).
pub fn load_builtin(device: &Device) -> Result<PromptScorer, String> {
    let names = PART_FILES.map(|f| format!("built-in www/models/default/{f}"));
    scorer(&names, &BUILTIN, device)
}

/// The parts in `dir`; a directory without them is refused with what is missing.
pub fn load_dir(dir: &Path, device: &Device) -> Result<PromptScorer, String> {
    let missing: Vec<&str> = PART_FILES.iter().copied().filter(|f| !dir.join(f).is_file()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "{}: no prompt-aware parts for --text ({} missing); they come from the trainer's phone-recognizer and prompt-head (docs/EVALUATION.md), or leave out --model to use the default model's",
            dir.display(),
            missing.join(", ")
        ));
    }
    let names = PART_FILES.map(|f| dir.join(f).display().to_string());
    let contents: Vec<Vec<u8>> = names.iter().map(|n| std::fs::read(n).map_err(|e| format!("{n}: cannot read: {e}"))).collect::<Result<_, _>>()?;
    let bytes: [&[u8]; 5] = std::array::from_fn(|i| contents[i].as_slice());
    scorer(&names, &bytes, device)
}
