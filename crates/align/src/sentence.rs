//! Sentence-level features: what the text and a plain energy detector say about the reading as a
//! whole (duration, speaking rate per word and per phone, voicing, pauses). They need the prompt
//! (word and phone counts), not the phone head, so they are valid whatever the head knows; the
//! trivial acoustic baseline of the labels' README is built from the same kind of measures.

/// The input's sample rate (the model's; `sslpron-audio` resamples everything to it).
pub const SAMPLE_RATE: usize = 16_000;
/// Frame energy (dB relative to a full-scale square wave) below which a frame is silence: 70 dB
/// under full scale, quieter than any usable recording's speech.
const SILENCE_DB: f32 = -70.0;
/// Analysis frame and hop (25 ms / 10 ms).
const FRAME: usize = 400;
const HOP: usize = 160;
/// A silence inside the speech counts as a pause from this many frames on (200 ms, the baseline's;
/// counted in frames so that exactly 200 ms is not lost to rounding).
const MIN_PAUSE_FRAMES: usize = SAMPLE_RATE / 5 / HOP;

/// Features of one reading (seconds, counts and rates).
#[derive(Clone, Debug, PartialEq)]
pub struct SentenceFeatures {
    /// The whole recording.
    pub duration: f32,
    /// From the first to the last frame with speech energy (0 when there is none).
    pub speech: f32,
    pub words: usize,
    pub phones: usize,
    /// Words and phones per second of `speech`.
    pub words_per_second: f32,
    pub phones_per_second: f32,
    /// Share of the `speech` span's frames that have speech energy.
    pub voiced_ratio: f32,
    /// Silences of at least 200 ms inside the speech span, and their total length.
    pub pauses: usize,
    pub pause_seconds: f32,
    /// Silence before the first and after the last speech frame.
    pub leading: f32,
    pub trailing: f32,
}

impl SentenceFeatures {
    /// The features as one vector, in the field order above (the prompt-aware head's input order).
    pub fn to_vec(&self) -> Vec<f32> {
        vec![
            self.duration,
            self.speech,
            self.words as f32,
            self.phones as f32,
            self.words_per_second,
            self.phones_per_second,
            self.voiced_ratio,
            self.pauses as f32,
            self.pause_seconds,
            self.leading,
            self.trailing,
        ]
    }

    /// Names of [`to_vec`](Self::to_vec)'s entries.
    pub const NAMES: [&'static str; 11] = [
        "duration",
        "speech",
        "words",
        "phones",
        "words_per_second",
        "phones_per_second",
        "voiced_ratio",
        "pauses",
        "pause_seconds",
        "leading",
        "trailing",
    ];
}

/// Per 10 ms frame, whether it has speech energy: log energy above both the recording's noise floor
/// (its 10th percentile) + 12 dB and its peak − 40 dB. Relative thresholds, so the input's level
/// does not matter.
pub fn speech_frames(samples: &[f32]) -> Vec<bool> {
    if samples.len() < FRAME {
        return Vec::new();
    }
    let db: Vec<f32> = (0..=(samples.len() - FRAME) / HOP)
        .map(|i| {
            let frame = &samples[i * HOP..i * HOP + FRAME];
            let energy = frame.iter().map(|s| s * s).sum::<f32>() / FRAME as f32;
            10.0 * (energy + 1e-10).log10()
        })
        .collect();
    let mut sorted = db.clone();
    sorted.sort_by(f32::total_cmp);
    let floor = sorted[sorted.len() / 10];
    let peak = sorted[sorted.len() - 1];
    // A recording that is speech almost throughout has no silent 10th percentile: then only the
    // peak-relative threshold applies.
    let threshold = if peak - floor >= 12.0 { (floor + 12.0).max(peak - 40.0) } else { peak - 40.0 };
    // Below SILENCE_DB nothing is speech, whatever the thresholds say (digital silence).
    db.iter().map(|&d| d >= threshold && d > SILENCE_DB).collect()
}

/// The features of a recording (`samples` at [`SAMPLE_RATE`]) read from a prompt of `words` words and
/// `phones` canonical phones.
pub fn sentence_features(samples: &[f32], words: usize, phones: usize) -> SentenceFeatures {
    let duration = samples.len() as f32 / SAMPLE_RATE as f32;
    let frame_s = HOP as f32 / SAMPLE_RATE as f32;
    let speech = speech_frames(samples);
    let (first, last) = match (speech.iter().position(|&s| s), speech.iter().rposition(|&s| s)) {
        (Some(f), Some(l)) => (f, l),
        _ => {
            return SentenceFeatures {
                duration,
                speech: 0.0,
                words,
                phones,
                words_per_second: 0.0,
                phones_per_second: 0.0,
                voiced_ratio: 0.0,
                pauses: 0,
                pause_seconds: 0.0,
                leading: duration,
                trailing: 0.0,
            };
        }
    };
    let span = &speech[first..=last];
    let span_s = span.len() as f32 * frame_s;
    let voiced = span.iter().filter(|&&s| s).count();
    let (mut pauses, mut pause_seconds, mut run) = (0, 0.0, 0usize);
    for &s in span.iter().chain(std::iter::once(&true)) {
        if s {
            if run >= MIN_PAUSE_FRAMES {
                pauses += 1;
                pause_seconds += run as f32 * frame_s;
            }
            run = 0;
        } else {
            run += 1;
        }
    }
    let leading = first as f32 * frame_s;
    let trailing = (duration - leading - span_s).max(0.0);
    SentenceFeatures {
        duration,
        speech: span_s,
        words,
        phones,
        words_per_second: words as f32 / span_s,
        phones_per_second: phones as f32 / span_s,
        voiced_ratio: voiced as f32 / span.len() as f32,
        pauses,
        pause_seconds,
        leading,
        trailing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pattern`: (seconds, tone?) segments; tones are 200 Hz at amplitude 0.3, silence is faint noise.
    fn synth(pattern: &[(f32, bool)]) -> Vec<f32> {
        let mut out = Vec::new();
        let mut seed = 1u32;
        for &(seconds, tone) in pattern {
            for i in 0..(seconds * SAMPLE_RATE as f32) as usize {
                seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
                let noise = ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 1e-3;
                let t = i as f32 / SAMPLE_RATE as f32;
                out.push(noise + if tone { 0.3 * (2.0 * std::f32::consts::PI * 200.0 * t).sin() } else { 0.0 });
            }
        }
        out
    }

    #[test]
    fn pauses_rates_and_silences_of_a_known_signal() {
        // 0.5 s silence, 1 s speech, 0.4 s pause, 1 s speech, 0.1 s gap (not a pause), 0.5 s speech, 0.3 s silence.
        let audio = synth(&[(0.5, false), (1.0, true), (0.4, false), (1.0, true), (0.1, false), (0.5, true), (0.3, false)]);
        let f = sentence_features(&audio, 6, 20);
        assert!((f.duration - 3.8).abs() < 1e-3);
        assert_eq!(f.pauses, 1, "{f:?}");
        assert!((f.pause_seconds - 0.4).abs() < 0.05, "{f:?}");
        assert!((f.leading - 0.5).abs() < 0.05 && (f.trailing - 0.3).abs() < 0.05, "{f:?}");
        assert!((f.speech - 3.0).abs() < 0.05, "{f:?}");
        assert!((f.words_per_second - 2.0).abs() < 0.05 && (f.phones_per_second - 20.0 / 3.0).abs() < 0.15, "{f:?}");
        assert!((f.voiced_ratio - 2.5 / 3.0).abs() < 0.03, "{f:?}");
        assert_eq!(f.to_vec().len(), SentenceFeatures::NAMES.len());
    }

    #[test]
    fn the_level_does_not_matter_and_silence_has_no_speech() {
        let audio = synth(&[(0.3, false), (1.0, true), (0.3, false)]);
        let quiet: Vec<f32> = audio.iter().map(|s| s * 0.01).collect();
        let (a, b) = (sentence_features(&audio, 3, 9), sentence_features(&quiet, 3, 9));
        assert!((a.speech - b.speech).abs() < 0.02 && (a.leading - b.leading).abs() < 0.02, "{a:?} {b:?}");
        // Speech throughout (no silent 10th percentile) is all speech.
        let tone = synth(&[(1.0, true)]);
        let t = sentence_features(&tone, 2, 6);
        assert!((t.speech - 0.985).abs() < 0.02 && t.voiced_ratio > 0.99, "{t:?}");
        let silent = vec![0.0f32; 16_000];
        let s = sentence_features(&silent, 3, 9);
        assert_eq!((s.speech, s.pauses, s.leading), (0.0, 0, 1.0));
        assert_eq!(sentence_features(&[0.0; 10], 1, 1).speech, 0.0);
    }
}
