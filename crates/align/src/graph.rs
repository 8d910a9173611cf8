//! The CTC label graph: which states a frame may be in and which state may follow which.
//!
//! A prompt is a sequence of *slots* (its words). A slot has one or more *alternatives* (a word's
//! pronunciations), each a sequence of phone states, and may be *optional* (skipped entirely). Every phone state `n` gets its own blank state after it, so the
//! path through the graph says which alternative was read and where each phone sits:
//!
//! ```text
//!   [start blank] ──> first phones of slot 0 ──> … ──> last phones of the last slot ──> (end)
//!   phone p ──> blank_p ──> phone q     (always allowed: a blank, or silence, between p and q)
//!   phone p ────────────────> phone q   (only when p and q are different tokens: CTC merges repeats)
//! ```
//!
//! and every state may repeat (self loop). This is the usual CTC topology generalised from one label
//! sequence to a small DAG; with one slot of one alternative it is exactly CTC's `2N + 1` states.

/// What a state emits at each frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// The CTC blank (token 0): silence or the gap between phones.
    Blank,
    /// One phone token of the posterior matrix.
    Token(usize),
}

/// A phone's place in the prompt: slot, alternative, position in the alternative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub slot: usize,
    pub alternative: usize,
    pub position: usize,
}

#[derive(Clone, Debug)]
pub struct State {
    pub emit: Emit,
    /// The phone this state is (or, for a blank, follows); `None` for the start blank.
    pub place: Option<Place>,
    /// States a path may come from (the state itself excluded: every state may repeat).
    pub preds: Vec<u32>,
    /// Whether a path may begin here.
    pub start: bool,
    /// Whether a path may end here.
    pub end: bool,
}

/// A slot of the prompt (module notes).
#[derive(Clone, Debug)]
pub struct Slot {
    /// Each alternative: its phone emissions (`Token`s), never empty.
    pub alternatives: Vec<Vec<Emit>>,
    pub optional: bool,
}

/// States in topological order (every predecessor of a state comes before it, self loops aside).
#[derive(Clone, Debug)]
pub struct Graph {
    pub states: Vec<State>,
}

impl Graph {
    /// Builds the graph of `slots` (module notes). Panics on an empty alternative: callers build
    /// slots from pronunciations, which are never empty.
    pub fn new(slots: &[Slot]) -> Graph {
        let mut states = vec![State { emit: Emit::Blank, place: None, preds: vec![], start: true, end: slots.iter().all(|s| s.optional) }];
        // Phone states a following slot may be entered from: (phone state, its blank state).
        let mut exits: Vec<(u32, u32)> = Vec::new();
        let mut from_start = true;
        for (slot_index, slot) in slots.iter().enumerate() {
            let mut slot_exits = Vec::new();
            for (alternative, emits) in slot.alternatives.iter().enumerate() {
                assert!(!emits.is_empty(), "an alternative has at least one phone");
                let mut previous: Option<(u32, u32)> = None;
                for (position, &emit) in emits.iter().enumerate() {
                    let id = states.len() as u32;
                    let sources: Vec<(u32, u32)> = match previous {
                        Some(p) => vec![p],
                        None => exits.clone(),
                    };
                    let mut preds = Vec::new();
                    for &(phone, blank) in &sources {
                        preds.push(blank);
                        if distinct(states[phone as usize].emit, emit) {
                            preds.push(phone);
                        }
                    }
                    let start = previous.is_none() && from_start;
                    if start {
                        preds.push(0);
                    }
                    let place = Some(Place { slot: slot_index, alternative, position });
                    states.push(State { emit, place, preds, start, end: false });
                    states.push(State { emit: Emit::Blank, place, preds: vec![id], start: false, end: false });
                    previous = Some((id, id + 1));
                }
                slot_exits.push(previous.expect("a non-empty alternative"));
            }
            if slot.optional {
                exits.extend(slot_exits);
            } else {
                exits = slot_exits;
                from_start = false;
            }
        }
        for (phone, blank) in exits {
            states[phone as usize].end = true;
            states[blank as usize].end = true;
        }
        Graph { states }
    }

    /// The fewest frames any path needs: one per phone, plus a blank between repeated tokens.
    pub fn min_frames(&self) -> usize {
        // Shortest path by dynamic programming over the topological order, counting states.
        let mut need = vec![usize::MAX; self.states.len()];
        for (i, s) in self.states.iter().enumerate() {
            let via = s.preds.iter().map(|&p| need[p as usize]).min().unwrap_or(usize::MAX).saturating_add(1);
            need[i] = if s.start { 1 } else { via };
        }
        self.states.iter().zip(&need).filter(|(s, _)| s.end).map(|(_, &n)| n).min().expect("a graph has an end state")
    }
}

/// Whether two consecutive emissions can be told apart without a blank between them: CTC merges
/// repeated tokens, so `T T` needs a blank.
fn distinct(a: Emit, b: Emit) -> bool {
    !matches!((a, b), (Emit::Token(x), Emit::Token(y)) if x == y)
}
