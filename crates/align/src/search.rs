//! Viterbi (the best path) and the forward algorithm (the total probability) over a [`Graph`].
//! Both work in log space, frame by frame, over the states in topological order. (The GOP needs the
//! forward and backward variables of one label sequence; `gop.rs` has its own linear lattice.)

use crate::graph::{Emit, Graph};
use crate::posteriors::{LogPosteriors, log_add_exp};

fn emission(emit: Emit, lp: &LogPosteriors, t: usize) -> f32 {
    match emit {
        Emit::Blank => lp.frame(t)[0],
        Emit::Token(q) => lp.frame(t)[q],
    }
}

/// The most probable state sequence (one state per frame) and its log probability; `None` when no
/// path fits in the frames (fewer frames than [`Graph::min_frames`], or every path has probability 0).
pub fn viterbi(graph: &Graph, lp: &LogPosteriors) -> Option<(Vec<u32>, f32)> {
    let (frames, n) = (lp.frames(), graph.states.len());
    if frames == 0 {
        return None;
    }
    let mut back = vec![0u32; frames * n];
    let mut score: Vec<f32> = graph.states.iter().map(|s| if s.start { emission(s.emit, lp, 0) } else { f32::NEG_INFINITY }).collect();
    let mut next = vec![f32::NEG_INFINITY; n];
    for t in 1..frames {
        for (i, s) in graph.states.iter().enumerate() {
            // Ties keep the earlier choice (staying put, then the first predecessor) so the path is
            // deterministic.
            let (mut best, mut from) = (score[i], i as u32);
            for &p in &s.preds {
                if score[p as usize] > best {
                    (best, from) = (score[p as usize], p);
                }
            }
            next[i] = best + emission(s.emit, lp, t);
            back[t * n + i] = from;
        }
        std::mem::swap(&mut score, &mut next);
    }
    let (end, &best) = score.iter().enumerate().filter(|(i, _)| graph.states[*i].end).max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))?;
    if best == f32::NEG_INFINITY {
        return None;
    }
    let mut path = vec![0u32; frames];
    let mut state = end as u32;
    for t in (0..frames).rev() {
        path[t] = state;
        state = back[t * n + state as usize];
    }
    Some((path, best))
}

/// `log P(graph | posteriors)`: the CTC likelihood summed over every path; `-inf` when none fits.
pub fn log_likelihood(graph: &Graph, lp: &LogPosteriors) -> f32 {
    let (frames, n) = (lp.frames(), graph.states.len());
    if frames == 0 {
        return f32::NEG_INFINITY;
    }
    let mut alpha: Vec<f32> = graph.states.iter().map(|s| if s.start { emission(s.emit, lp, 0) } else { f32::NEG_INFINITY }).collect();
    let mut next = vec![f32::NEG_INFINITY; n];
    for t in 1..frames {
        for (i, s) in graph.states.iter().enumerate() {
            let mut sum = alpha[i];
            for &p in &s.preds {
                sum = log_add_exp(sum, alpha[p as usize]);
            }
            next[i] = sum + emission(s.emit, lp, t);
        }
        std::mem::swap(&mut alpha, &mut next);
    }
    graph.states.iter().zip(&alpha).filter(|(s, _)| s.end).fold(f32::NEG_INFINITY, |acc, (_, &a)| log_add_exp(acc, a))
}
