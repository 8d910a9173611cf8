//! The phone head's output for one utterance: log posteriors `[frames, tokens]`, blank at token 0.

use crate::AlignError;

/// A borrowed `[frames, tokens]` row-major matrix of log posteriors (log-softmax over tokens).
#[derive(Clone, Copy, Debug)]
pub struct LogPosteriors<'a> {
    values: &'a [f32],
    frames: usize,
    tokens: usize,
}

impl<'a> LogPosteriors<'a> {
    /// Checks the shape (`values.len() == frames * tokens`, at least the blank and one phone) and
    /// the values: finite (a log-softmax never reaches `-inf` in f32; refusing it keeps every path
    /// possible and every ratio finite).
    pub fn new(values: &'a [f32], frames: usize, tokens: usize) -> Result<Self, AlignError> {
        if tokens < 2 {
            return Err(AlignError::Shape(format!("{tokens} tokens: a phone head has the blank and at least one phone")));
        }
        if frames.checked_mul(tokens) != Some(values.len()) {
            return Err(AlignError::Shape(format!("{} values are not {frames} frames × {tokens} tokens", values.len())));
        }
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(AlignError::Shape(format!("value {} at frame {}, token {} is not a log probability", values[i], i / tokens, i % tokens)));
        }
        Ok(LogPosteriors { values, frames, tokens })
    }

    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Tokens per frame, the blank included.
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// The log posteriors of frame `t`.
    pub fn frame(&self, t: usize) -> &'a [f32] {
        &self.values[t * self.tokens..(t + 1) * self.tokens]
    }
}

/// `log(exp(a) + exp(b))`, stable.
pub fn log_add_exp(a: f32, b: f32) -> f32 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f32::NEG_INFINITY { hi } else { hi + (lo - hi).exp().ln_1p() }
}
