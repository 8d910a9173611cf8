//! Alignment-free goodness of pronunciation (Cao et al., Interspeech 2024), computed exactly and
//! cheaply from one forward–backward pass over the canonical phone sequence.
//!
//! For phone `i` of the canonical sequence `l`, the evidence compares `P(l | X)` (summed over every
//! CTC path, so no segmentation is assumed) with the sequences where `l_i` is replaced by another
//! phone `q` or deleted. Recomputing a forward pass per variant would cost `O(N · V · T · N)`. But
//! a variant differs from `l` only at `i`: the forward variables α of the states before `l_i` and
//! the backward variables β of the states after it are the canonical ones. So
//!
//! ```text
//! substitution:  P(l with l_i = q) = Σ_t α_q(t) · out_q(t)
//!                α_q(t) = p_t(q) · (α_q(t−1) + α(t−1, blank before i) + [l_{i−1} ≠ q] α(t−1, l_{i−1}))
//!                out_q(t) = β(t+1, blank after i) + [q ≠ l_{i+1}] β(t+1, l_{i+1})
//! deletion:      P(l without l_i) = Σ_t (α(t, blank before i) + [l_{i−1} ≠ l_{i+1}] α(t, l_{i−1})) · β(t+1, l_{i+1})
//! ```
//!
//! (plus the start and end cases), `O(T)` per variant. `tests/synthetic.rs` checks every variant
//! against a full forward pass over the variant's own graph.

use crate::posteriors::{LogPosteriors, log_add_exp};

const NEG: f32 = f32::NEG_INFINITY;

/// Forward and backward variables of linear CTC over `labels`: state `2k + 1` is label `k`, the even
/// states are blanks (before the first label, between labels, after the last).
struct Lattice<'a> {
    labels: &'a [usize],
    states: usize,
    /// `[frames, states]`, log; α(t, s) includes the emission at `t`.
    alpha: Vec<f32>,
    /// `[frames, states]`, log; β(t, s) includes the emission at `t`.
    beta: Vec<f32>,
}

impl<'a> Lattice<'a> {
    fn new(labels: &'a [usize], lp: &LogPosteriors) -> Self {
        let (frames, states) = (lp.frames(), 2 * labels.len() + 1);
        let token = |s: usize| if s.is_multiple_of(2) { 0 } else { labels[s / 2] };
        // Whether state `s` may be entered from `s − 2` (a label following a different label).
        let skip = |s: usize| s % 2 == 1 && s >= 3 && labels[s / 2] != labels[s / 2 - 1];
        let mut alpha = vec![NEG; frames * states];
        let mut beta = vec![NEG; frames * states];
        for (s, a) in alpha.iter_mut().enumerate().take(states.min(2)) {
            *a = lp.frame(0)[token(s)];
        }
        for t in 1..frames {
            let (before, now) = alpha.split_at_mut(t * states);
            let previous = &before[(t - 1) * states..];
            for s in 0..states {
                let mut sum = previous[s];
                if s >= 1 {
                    sum = log_add_exp(sum, previous[s - 1]);
                }
                if skip(s) {
                    sum = log_add_exp(sum, previous[s - 2]);
                }
                now[s] = sum + lp.frame(t)[token(s)];
            }
        }
        let last = (frames - 1) * states;
        for s in states.saturating_sub(2)..states {
            beta[last + s] = lp.frame(frames - 1)[token(s)];
        }
        for t in (0..frames - 1).rev() {
            let (now, after) = beta.split_at_mut((t + 1) * states);
            let (now, next) = (&mut now[t * states..], &after[..states]);
            for s in 0..states {
                let mut sum = next[s];
                if s + 1 < states {
                    sum = log_add_exp(sum, next[s + 1]);
                }
                if s + 2 < states && skip(s + 2) {
                    sum = log_add_exp(sum, next[s + 2]);
                }
                now[s] = sum + lp.frame(t)[token(s)];
            }
        }
        Lattice { labels, states, alpha, beta }
    }

    fn alpha(&self, t: usize, s: usize) -> f32 {
        self.alpha[t * self.states + s]
    }

    /// β(t, s), with β past the last frame 0 (log 1) nowhere: callers handle the end themselves.
    fn beta(&self, t: usize, s: usize) -> f32 {
        self.beta[t * self.states + s]
    }

    fn log_likelihood(&self, frames: usize) -> f32 {
        let t = frames - 1;
        let end = self.states - 1;
        if self.states == 1 { self.alpha(t, 0) } else { log_add_exp(self.alpha(t, end), self.alpha(t, end - 1)) }
    }

    /// `log P(labels with labels[i] = q)` for every phone token `q` (entry `q − 1`).
    fn substituted(&self, lp: &LogPosteriors, i: usize) -> Vec<f32> {
        let (n, frames) = (self.labels.len(), lp.frames());
        let (blank_before, blank_after) = (2 * i, 2 * i + 2);
        // The ways into and out of the substitute, each with and without the neighbouring phone
        // (a substitute equal to its neighbour needs a blank between them): computed once per `i`.
        let into = |t: usize, previous: bool| {
            let a = self.alpha(t, blank_before);
            if previous && i >= 1 { log_add_exp(a, self.alpha(t, 2 * i - 1)) } else { a }
        };
        let out = |t: usize, next: bool| {
            if t + 1 == frames {
                return if i + 1 == n { 0.0 } else { NEG };
            }
            let b = self.beta(t + 1, blank_after);
            if next && i + 1 < n { log_add_exp(b, self.beta(t + 1, 2 * i + 3)) } else { b }
        };
        let into_both: Vec<f32> = (0..frames.saturating_sub(1)).map(|t| into(t, true)).collect();
        let into_blank: Vec<f32> = (0..frames.saturating_sub(1)).map(|t| into(t, false)).collect();
        let out_both: Vec<f32> = (0..frames).map(|t| out(t, true)).collect();
        let out_blank: Vec<f32> = (0..frames).map(|t| out(t, false)).collect();
        (1..lp.tokens())
            .map(|q| {
                let into = if i >= 1 && self.labels[i - 1] == q { &into_blank } else { &into_both };
                let out = if i + 1 < n && self.labels[i + 1] == q { &out_blank } else { &out_both };
                let mut a = if i == 0 { lp.frame(0)[q] } else { NEG };
                let mut total = a + out[0];
                for t in 1..frames {
                    a = log_add_exp(a, into[t - 1]) + lp.frame(t)[q];
                    total = log_add_exp(total, a + out[t]);
                }
                total
            })
            .collect()
    }

    /// `log P(labels without labels[i])`.
    fn deleted(&self, frames: usize, i: usize) -> f32 {
        let n = self.labels.len();
        let blank_before = 2 * i;
        let mut total = NEG;
        if i + 1 < n {
            let next = 2 * i + 3;
            let from_previous = i >= 1 && self.labels[i - 1] != self.labels[i + 1];
            if i == 0 {
                total = self.beta(0, next); // the path starts at l_{i+1}
            }
            for t in 0..frames - 1 {
                let mut a = self.alpha(t, blank_before);
                if from_previous {
                    a = log_add_exp(a, self.alpha(t, 2 * i - 1));
                }
                total = log_add_exp(total, a + self.beta(t + 1, next));
            }
        } else {
            // l_i is the last label: the path ends before it.
            total = self.alpha(frames - 1, blank_before);
            if i >= 1 {
                total = log_add_exp(total, self.alpha(frames - 1, 2 * i - 1));
            }
        }
        total
    }
}

/// Alignment-free evidence for one phone of the sequence (natural logs, each ≤ 0 up to rounding
/// where it is a ratio against a set that includes the canonical sequence).
#[derive(Clone, Debug, PartialEq)]
pub struct AlignmentFree {
    /// `log P(l) − log(Σ_q P(l_i → q) + P(l without l_i))`: near 0 when no other phone and no
    /// deletion explains the audio better; very negative for a substituted or skipped phone.
    pub gop: f32,
    /// `log P(l) − log P(l_i → q)` for every phone token `q` (entry `q − 1`; 0 at `l_i` itself).
    /// Positive where `q` explains the audio worse than the canonical phone.
    pub substitution: Vec<f32>,
    /// `log P(l) − log P(l without l_i)`: positive when the phone was heard.
    pub deletion: f32,
}

/// [`AlignmentFree`] evidence for every label of `labels` (phone tokens, never the blank) on `lp`;
/// empty when `labels` is empty or no path fits (fewer frames than the sequence needs).
pub fn alignment_free(labels: &[usize], lp: &LogPosteriors) -> Vec<AlignmentFree> {
    if labels.is_empty() || lp.frames() == 0 {
        return Vec::new();
    }
    let lattice = Lattice::new(labels, lp);
    let log_p = lattice.log_likelihood(lp.frames());
    if log_p == NEG {
        return Vec::new();
    }
    (0..labels.len())
        .map(|i| {
            let substituted = lattice.substituted(lp, i);
            let deleted = lattice.deleted(lp.frames(), i);
            let everything = substituted.iter().fold(deleted, |acc, &s| log_add_exp(acc, s));
            AlignmentFree { gop: log_p - everything, substitution: substituted.iter().map(|s| log_p - s).collect(), deletion: log_p - deleted }
        })
        .collect()
}

/// `log P(labels | lp)` summed over every CTC path (for tests and callers that want the sequence's
/// likelihood itself).
pub fn log_likelihood(labels: &[usize], lp: &LogPosteriors) -> f32 {
    if lp.frames() == 0 {
        return NEG;
    }
    Lattice::new(labels, lp).log_likelihood(lp.frames())
}
