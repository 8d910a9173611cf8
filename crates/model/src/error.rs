use thiserror::Error;

/// Everything that can go wrong turning files into a model or a score. Each variant names the file it
/// is about, as the caller spelled it, so a user knows which file to fix.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("{file}: {message}")]
    Config { file: String, message: String },

    #[error("{file}: not a readable safetensors file: {message}")]
    Safetensors { file: String, message: String },

    #[error("{file}: tensor `{name}` has shape {found:?}, but config.json implies {expected:?}")]
    ShapeMismatch { file: String, name: String, expected: Vec<usize>, found: Vec<usize> },

    #[error("{file}: tensor `{name}` has unsupported dtype {dtype} (expected F32, F16, BF16 or F64)")]
    Dtype { file: String, name: String, dtype: String },

    #[error("{file}: tensor `{name}` contains NaN or infinite values")]
    NonFinite { file: String, name: String },

    #[error("{file}: {} tensor(s) that this model needs are missing: {}", missing.len(), preview(missing))]
    Missing { file: String, missing: Vec<String> },

    #[error("{file}: no Wav2Vec2/HuBERT/WavLM encoder found (no `*feature_extractor.conv_layers.0.conv.weight` key)")]
    NoEncoder { file: String },

    #[error(
        "{file}: this checkpoint is an encoder without a score head (no `score_predictor.*`); \
         it can be embedded (`sslpron embed`) or fine-tuned, but it cannot score"
    )]
    NoScoreHead { file: String },

    #[error("{file}: {message}")]
    Bundle { file: String, message: String },

    #[error("the model produced non-finite values (NaN or infinity)")]
    NonFiniteOutput,
}

fn preview(names: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut text = names.iter().take(SHOWN).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}
