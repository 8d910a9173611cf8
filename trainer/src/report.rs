//! The evaluation report of one split: Pearson r and MSE per score with speaker-bootstrap 95%
//! intervals, the same per subgroup (child / teen / adult, female / male), and optionally the paired
//! comparison with a second model; as `report.json`, a text table (`report.txt`, printed) and a
//! markdown table (`report.md`, for model cards). All three come from the same numbers.
//!
//! `report.json` is read by other tools; its fields are listed in docs/EVALUATION.md. The top-level
//! `split`, `utterances`, `pearson` and `mse` are kept as they were before the intervals came in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bootstrap::{self, BootstrapSettings, Clusters};
use crate::data::{SUBGROUPS, SpeakerInfo};
use crate::metrics::{mse, pearson};

/// The four scores, in the order of [`EvalReport::pearson`] and [`EvalReport::mse`].
pub const ASPECTS: [&str; 4] = ["accuracy", "fluency", "prosody", "total"];

/// A group with fewer speakers than this is reported but marked: its interval rests on a handful
/// of independent units and says little.
pub const FEW_SPEAKERS: usize = 10;

/// One value per score, serialised as an object keyed by the aspect names ([`ASPECTS`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PerAspect<T> {
    pub accuracy: T,
    pub fluency: T,
    pub prosody: T,
    pub total: T,
}

impl<T> PerAspect<T> {
    /// From values in [`ASPECTS`] order.
    pub fn from_array([accuracy, fluency, prosody, total]: [T; 4]) -> Self {
        Self { accuracy, fluency, prosody, total }
    }

    /// The values in [`ASPECTS`] order.
    pub fn as_array(&self) -> [&T; 4] {
        [&self.accuracy, &self.fluency, &self.prosody, &self.total]
    }
}

/// r and MSE of one score with their 95% intervals (`null` when not computed: no resamples, or r
/// undefined in every resample). A non-finite r or MSE is `null` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AspectStats {
    #[serde(with = "nullable_f64")]
    pub pearson: f64,
    pub pearson_ci95: Option<[f64; 2]>,
    #[serde(with = "nullable_f64")]
    pub mse: f64,
    pub mse_ci95: Option<[f64; 2]>,
    /// Resamples left out of the r interval because r was undefined there (a constant series).
    pub pearson_resamples_skipped: usize,
}

/// How the intervals were made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootstrapInfo {
    /// Speaker resamples (0: no intervals).
    pub resamples: usize,
    pub seed: u64,
    /// Resamples of the whole set left out of an r interval, for the aspect that lost the most
    /// (per aspect: `aspects.*.pearson_resamples_skipped`).
    pub skipped: usize,
}

/// One subgroup's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    pub n_utterances: usize,
    pub n_speakers: usize,
    /// Fewer than [`FEW_SPEAKERS`] speakers.
    pub few_speakers: bool,
    pub aspects: PerAspect<AspectStats>,
}

/// The first model against a second on the same utterances, per score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedStats {
    /// r of the first model (the report's own), and of the other.
    #[serde(with = "nullable_f64")]
    pub pearson: f64,
    #[serde(with = "nullable_f64")]
    pub other_pearson: f64,
    /// `pearson − other_pearson`, with its paired speaker-bootstrap interval.
    #[serde(with = "nullable_f64")]
    pub delta_pearson: f64,
    pub delta_pearson_ci95: Option<[f64; 2]>,
    /// Share (0–1) of the resamples in which the first model's r is strictly higher.
    pub wins: Option<f64>,
    pub resamples_skipped: usize,
}

/// The `comparison` object: which models, and [`PairedStats`] per score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub model: String,
    pub other: String,
    pub aspects: PerAspect<PairedStats>,
}

/// Pearson r and MSE per score ([`ASPECTS`] order) over `utterances` utterances of `split`, with
/// intervals, subgroups and an optional comparison (see the module doc).
///
/// In JSON a value that is not finite (NaN: r of constant predictions) is `null`, and reads back
/// as NaN; the tables print it as `n/a`. Fields added after the first version default when absent,
/// so older `report.json` files still read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub split: String,
    pub utterances: usize,
    #[serde(with = "nullable")]
    pub pearson: [f64; 4],
    #[serde(with = "nullable")]
    pub mse: [f64; 4],
    /// 0 when the speakers were not known ([`EvalReport::compute`]).
    #[serde(default)]
    pub n_speakers: usize,
    #[serde(default)]
    pub aspects: Option<PerAspect<AspectStats>>,
    #[serde(default)]
    pub bootstrap: Option<BootstrapInfo>,
    /// Groups in [`SUBGROUPS`] order (a JSON object keyed by group name); a group without
    /// utterances in the split is left out.
    #[serde(default, with = "ordered_groups")]
    pub subgroups: Vec<(String, GroupReport)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// What a report is computed from, one entry per utterance: `human[a][i]` and `predicted[a][i]`
/// for aspect `a` ([`ASPECTS`] order), and the speaker of utterance `i`.
#[derive(Debug, Clone, Copy)]
pub struct Scored<'a> {
    pub human: [&'a [f64]; 4],
    pub predicted: [&'a [f64]; 4],
    pub speakers: &'a [String],
}

impl EvalReport {
    /// The point estimates alone, for callers that do not know the speakers: no intervals, no
    /// subgroups; `utterances` is the length of the first aspect's series.
    pub fn compute(split: &str, human: [&[f64]; 4], predicted: [&[f64]; 4]) -> Self {
        let pearson = std::array::from_fn(|a| pearson(human[a], predicted[a]));
        let mse = std::array::from_fn(|a| mse(human[a], predicted[a]));
        let aspects = PerAspect::from_array(std::array::from_fn(|a| AspectStats {
            pearson: pearson[a],
            pearson_ci95: None,
            mse: mse[a],
            mse_ci95: None,
            pearson_resamples_skipped: 0,
        }));
        EvalReport {
            split: split.to_string(),
            utterances: human[0].len(),
            pearson,
            mse,
            n_speakers: 0,
            aspects: Some(aspects),
            bootstrap: None,
            subgroups: Vec::new(),
            comparison: None,
        }
    }

    /// The full report: point estimates with speaker-bootstrap intervals over all utterances and
    /// for each subgroup `groups` defines (each group resampled on its own speakers).
    pub fn analyse(split: &str, scored: &Scored, groups: &SpeakerInfo, settings: BootstrapSettings) -> Self {
        let (aspects, n_speakers) = aspect_stats(scored, settings);
        let skipped = aspects.as_array().iter().map(|s| s.pearson_resamples_skipped).max().unwrap_or(0);
        let mut subgroups = Vec::new();
        let all_speakers: BTreeSet<&str> = scored.speakers.iter().map(String::as_str).collect();
        for group in groups.available_groups() {
            let members = groups.members(group, all_speakers.iter().copied());
            let keep: Vec<usize> = (0..scored.speakers.len()).filter(|&i| members.contains(scored.speakers[i].as_str())).collect();
            if keep.is_empty() {
                continue;
            }
            let pick = |values: &[f64]| keep.iter().map(|&i| values[i]).collect::<Vec<f64>>();
            let human = scored.human.map(pick);
            let predicted = scored.predicted.map(pick);
            let speakers: Vec<String> = keep.iter().map(|&i| scored.speakers[i].clone()).collect();
            let subset =
                Scored { human: human.each_ref().map(Vec::as_slice), predicted: predicted.each_ref().map(Vec::as_slice), speakers: &speakers };
            let (group_aspects, group_speakers) = aspect_stats(&subset, settings);
            subgroups.push((
                group.to_string(),
                GroupReport {
                    n_utterances: keep.len(),
                    n_speakers: group_speakers,
                    few_speakers: group_speakers < FEW_SPEAKERS,
                    aspects: group_aspects,
                },
            ));
        }
        EvalReport {
            split: split.to_string(),
            utterances: scored.speakers.len(),
            pearson: aspects.as_array().map(|s| s.pearson),
            mse: aspects.as_array().map(|s| s.mse),
            n_speakers,
            aspects: Some(aspects),
            bootstrap: Some(BootstrapInfo { resamples: settings.resamples, seed: settings.seed, skipped }),
            subgroups,
            comparison: None,
        }
    }

    /// Adds the paired comparison of the report's model (`model`, whose scores are `scored`) with
    /// `other`, whose predictions `other_predicted` are on the same utterances in the same order.
    pub fn compare(&mut self, model: &str, other: &str, scored: &Scored, other_predicted: [&[f64]; 4], settings: BootstrapSettings) {
        let clusters = Clusters::by_speaker(scored.speakers);
        let paired = bootstrap::paired(scored.human, scored.predicted, other_predicted, &clusters, settings);
        let stats = std::array::from_fn(|a| PairedStats {
            pearson: pearson(scored.human[a], scored.predicted[a]),
            other_pearson: pearson(scored.human[a], other_predicted[a]),
            delta_pearson: paired[a].delta_pearson,
            delta_pearson_ci95: paired[a].delta_pearson_ci95,
            wins: paired[a].wins,
            resamples_skipped: paired[a].skipped,
        });
        self.comparison = Some(Comparison { model: model.to_string(), other: other.to_string(), aspects: PerAspect::from_array(stats) });
    }

    /// The report as plain-text tables:
    ///
    /// ```text
    /// split: test
    /// utterances: 2500, speakers: 125
    /// 95% intervals: speaker-level bootstrap, 1000 resamples, seed 762
    ///
    /// aspect    Pearson r  95% CI          MSE    95% CI
    /// --------  ---------  --------------  -----  --------------
    /// accuracy  0.812      [0.770, 0.850]  0.453  [0.400, 0.510]
    /// ```
    ///
    /// then the subgroups and the comparison, when there are any.
    pub fn table(&self) -> String {
        let mut out = format!("split: {}\n", self.split);
        for line in self.summary() {
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.overall_table().text());
        if !self.subgroups.is_empty() {
            out.push_str("\nsubgroups (speakers' age and gender: spk2age, spk2gender)\n");
            out.push_str(&self.subgroup_table().text());
            if self.subgroups.iter().any(|(_, g)| g.few_speakers) {
                out.push_str(&format!("{}\n", few_speakers_note()));
            }
        }
        if let Some(comparison) = &self.comparison {
            out.push_str(&format!("\n{}\n", comparison_title(comparison)));
            out.push_str(&comparison_table(comparison).text());
        }
        out
    }

    /// The same tables in markdown, for model cards.
    pub fn markdown(&self) -> String {
        let mut out = format!("**{}**: {}\n\n", self.split, self.summary().join("; "));
        out.push_str(&self.overall_table().markdown());
        if !self.subgroups.is_empty() {
            out.push_str("\nSubgroups (speakers' age and gender: spk2age, spk2gender)\n\n");
            out.push_str(&self.subgroup_table().markdown());
            if self.subgroups.iter().any(|(_, g)| g.few_speakers) {
                out.push_str(&format!("\n\\{}\n", few_speakers_note()));
            }
        }
        if let Some(comparison) = &self.comparison {
            out.push_str(&format!("\n{}\n\n", comparison_title(comparison)));
            out.push_str(&comparison_table(comparison).markdown());
        }
        out
    }

    /// Writes `report.json`, `report.txt` (the [`table`](Self::table)) and `report.md` (the
    /// [`markdown`](Self::markdown)) into `dir`, creating it if needed; each file goes through a
    /// temporary file and a rename.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut json = serde_json::to_string_pretty(self).expect("a report always serialises");
        json.push('\n');
        sslpron_fs::write_file(&dir.join("report.json"), json.as_bytes())?;
        sslpron_fs::write_file(&dir.join("report.txt"), self.table().as_bytes())?;
        Ok(sslpron_fs::write_file(&dir.join("report.md"), self.markdown().as_bytes())?)
    }

    /// The lines under the split's name: counts, and how the intervals were made.
    fn summary(&self) -> Vec<String> {
        let mut lines = vec![match self.n_speakers {
            0 => format!("utterances: {}", self.utterances),
            n => format!("utterances: {}, speakers: {n}", self.utterances),
        }];
        lines.push(match &self.bootstrap {
            Some(b) if b.resamples > 0 => {
                format!("95% intervals: speaker-level bootstrap, {} resamples, seed {}", b.resamples, b.seed)
            }
            _ => "no intervals (no bootstrap)".to_string(),
        });
        lines
    }

    /// Per aspect: r and MSE with intervals, from `aspects` (or the bare arrays of an old report).
    fn overall_table(&self) -> Table {
        let mut table = Table::new(&[("aspect", false), ("Pearson r", true), ("95% CI", false), ("MSE", true), ("95% CI", false)]);
        for (a, name) in ASPECTS.iter().enumerate() {
            let stats = match &self.aspects {
                Some(aspects) => *aspects.as_array()[a],
                None => AspectStats { pearson: self.pearson[a], pearson_ci95: None, mse: self.mse[a], mse_ci95: None, pearson_resamples_skipped: 0 },
            };
            table.rows.push(vec![name.to_string(), number(stats.pearson), interval(stats.pearson_ci95), number(stats.mse), interval(stats.mse_ci95)]);
        }
        table
    }

    /// One row per group and aspect; the group's name and counts on its first row only.
    fn subgroup_table(&self) -> Table {
        let mut table = Table::new(&[
            ("group", false),
            ("speakers", true),
            ("utterances", true),
            ("aspect", false),
            ("Pearson r", true),
            ("95% CI", false),
            ("MSE", true),
            ("95% CI", false),
        ]);
        for (name, group) in &self.subgroups {
            for (a, stats) in group.aspects.as_array().into_iter().enumerate() {
                let first = a == 0;
                let mark = if group.few_speakers { "*" } else { "" };
                table.rows.push(vec![
                    if first { format!("{name}{mark}") } else { String::new() },
                    if first { group.n_speakers.to_string() } else { String::new() },
                    if first { group.n_utterances.to_string() } else { String::new() },
                    ASPECTS[a].to_string(),
                    number(stats.pearson),
                    interval(stats.pearson_ci95),
                    number(stats.mse),
                    interval(stats.mse_ci95),
                ]);
            }
        }
        table
    }
}

/// r and MSE of every aspect with intervals over the speakers of `scored`, and the speaker count.
fn aspect_stats(scored: &Scored, settings: BootstrapSettings) -> (PerAspect<AspectStats>, usize) {
    let clusters = Clusters::by_speaker(scored.speakers);
    let intervals = bootstrap::intervals(scored.human, scored.predicted, &clusters, settings);
    let stats = std::array::from_fn(|a| AspectStats {
        pearson: pearson(scored.human[a], scored.predicted[a]),
        pearson_ci95: intervals[a].pearson_ci95,
        mse: mse(scored.human[a], scored.predicted[a]),
        mse_ci95: intervals[a].mse_ci95,
        pearson_resamples_skipped: intervals[a].pearson_skipped,
    });
    (PerAspect::from_array(stats), clusters.len())
}

fn few_speakers_note() -> String {
    format!("* fewer than {FEW_SPEAKERS} speakers: the interval rests on few independent speakers; read it with care")
}

fn comparison_title(comparison: &Comparison) -> String {
    format!("comparison (paired speaker-level bootstrap): first = {}, second = {}; Δr = first − second", comparison.model, comparison.other)
}

fn comparison_table(comparison: &Comparison) -> Table {
    let mut table = Table::new(&[("aspect", false), ("r first", true), ("r second", true), ("Δr", true), ("95% CI", false), ("first wins", true)]);
    for (a, stats) in comparison.aspects.as_array().into_iter().enumerate() {
        table.rows.push(vec![
            ASPECTS[a].to_string(),
            number(stats.pearson),
            number(stats.other_pearson),
            signed(stats.delta_pearson),
            match stats.delta_pearson_ci95 {
                Some([lo, hi]) => format!("[{}, {}]", signed(lo), signed(hi)),
                None => "-".to_string(),
            },
            match stats.wins {
                Some(share) => format!("{:.1}%", 100.0 * share),
                None => "-".to_string(),
            },
        ]);
    }
    table
}

/// Cells with a header, rendered as an aligned text table or a markdown table.
struct Table {
    header: Vec<&'static str>,
    right_aligned: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(columns: &[(&'static str, bool)]) -> Self {
        Self { header: columns.iter().map(|c| c.0).collect(), right_aligned: columns.iter().map(|c| c.1).collect(), rows: Vec::new() }
    }

    /// Columns two spaces apart, each as wide as its widest cell (counted in characters, for `Δ`),
    /// a dashed line under the header.
    fn text(&self) -> String {
        let width = |c: usize| self.rows.iter().map(|row| row[c].chars().count()).chain([self.header[c].chars().count()]).max().unwrap_or(0);
        let widths: Vec<usize> = (0..self.header.len()).map(width).collect();
        let line = |cells: Vec<String>| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    let pad = " ".repeat(widths[c] - cell.chars().count());
                    if self.right_aligned[c] { format!("{pad}{cell}") } else { format!("{cell}{pad}") }
                })
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut out = line(self.header.iter().map(|h| h.to_string()).collect());
        out.push_str(&line(widths.iter().map(|&w| "-".repeat(w)).collect()));
        for row in &self.rows {
            out.push_str(&line(row.clone()));
        }
        out
    }

    fn markdown(&self) -> String {
        let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
        let mut out = line(self.header.iter().map(|h| h.to_string()).collect());
        out.push_str(&format!("|{}|\n", self.right_aligned.iter().map(|&right| if right { "---:" } else { "---" }).collect::<Vec<_>>().join("|")));
        for row in &self.rows {
            // A leading `*` would start emphasis in markdown.
            out.push_str(&line(row.iter().map(|cell| cell.replace('*', "\\*")).collect()));
        }
        out
    }
}

/// Three decimals, or `n/a` for NaN and infinities.
fn number(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "n/a".to_string() }
}

/// Three decimals with a sign, for differences.
fn signed(x: f64) -> String {
    if x.is_finite() { format!("{x:+.3}") } else { "n/a".to_string() }
}

/// `[lo, hi]` to three decimals, or `-` when there is no interval.
fn interval(ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("[{}, {}]", number(lo), number(hi)),
        None => "-".to_string(),
    }
}

/// `[f64; 4]` as a JSON array whose non-finite entries are `null` (and `null` back to NaN).
mod nullable {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(values: &[f64; 4], s: S) -> Result<S::Ok, S::Error> {
        values.map(|x| x.is_finite().then_some(x)).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 4], D::Error> {
        Ok(<[Option<f64>; 4]>::deserialize(d)?.map(|x| x.unwrap_or(f64::NAN)))
    }
}

/// One `f64` as a number, or `null` when not finite (and `null` back to NaN).
mod nullable_f64 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
        value.is_finite().then_some(*value).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

/// The subgroups as a JSON object in report order; read back in [`SUBGROUPS`] order (names this
/// version does not know go last, alphabetically), since a JSON object's order is not guaranteed.
mod ordered_groups {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(groups: &[(String, GroupReport)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(groups.iter().map(|(name, group)| (name, group)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, GroupReport)>, D::Error> {
        let by_name = BTreeMap::<String, GroupReport>::deserialize(d)?;
        let mut groups: Vec<(String, GroupReport)> = by_name.into_iter().collect();
        let rank = |name: &str| SUBGROUPS.iter().position(|g| *g == name).unwrap_or(SUBGROUPS.len());
        groups.sort_by_key(|(name, _)| rank(name));
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Speakers per utterance, their attributes, human and predicted scores per aspect.
    type Fixture = (Vec<String>, SpeakerInfo, [Vec<f64>; 4], [Vec<f64>; 4]);

    /// Two children (ages 6, 9) and twelve adults; utterances three per speaker; genders alternate.
    fn fixture() -> Fixture {
        let speakers: Vec<String> = (0..14 * 3).map(|i| format!("{:04}", i / 3)).collect();
        let mut ages = BTreeMap::new();
        let mut genders = BTreeMap::new();
        for s in 0..14 {
            ages.insert(format!("{s:04}"), if s < 2 { 6 + 3 * s } else { 20 + s });
            genders.insert(format!("{s:04}"), if s % 2 == 0 { crate::data::Gender::Female } else { crate::data::Gender::Male });
        }
        let info = SpeakerInfo { ages: Some(ages), genders: Some(genders) };
        let human: Vec<f64> = (0..42).map(|i| ((i * 7) % 11) as f64).collect();
        let predicted: Vec<f64> = human.iter().enumerate().map(|(i, h)| h + ((i * 5) % 3) as f64).collect();
        (speakers, info, std::array::from_fn(|_| human.clone()), std::array::from_fn(|_| predicted.clone()))
    }

    #[test]
    fn subgroups_hold_their_speakers_utterances_and_marks() {
        let (speakers, info, human, predicted) = fixture();
        let scored = Scored { human: human.each_ref().map(Vec::as_slice), predicted: predicted.each_ref().map(Vec::as_slice), speakers: &speakers };
        let report = EvalReport::analyse("dev", &scored, &info, BootstrapSettings { resamples: 200, seed: 1 });
        assert_eq!((report.utterances, report.n_speakers), (42, 14));
        let names: Vec<&str> = report.subgroups.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["child", "adult", "female", "male"], "no teen speakers: no teen group");
        let group = |name: &str| &report.subgroups.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!((group("child").n_speakers, group("child").n_utterances, group("child").few_speakers), (2, 6, true));
        assert_eq!((group("adult").n_speakers, group("adult").n_utterances, group("adult").few_speakers), (12, 36, false));
        assert_eq!((group("female").n_speakers, group("male").n_speakers), (7, 7));
        // The child group's r is the r of its own six utterances (speakers 0000 and 0001).
        let child_r = pearson(&human[0][..6], &predicted[0][..6]);
        assert_eq!(group("child").aspects.accuracy.pearson, child_r);
        let [lo, hi] = report.aspects.unwrap().accuracy.pearson_ci95.unwrap();
        assert!(lo <= report.pearson[0] && report.pearson[0] <= hi, "[{lo}, {hi}] around {}", report.pearson[0]);

        let table = report.table();
        assert!(table.contains("child*") && table.contains("* fewer than 10 speakers") && !table.contains("adult*"), "{table}");
        let markdown = report.markdown();
        assert!(markdown.contains("| child\\* | 2 | 6 | accuracy |"), "{markdown}");
    }

    #[test]
    fn json_holds_the_contract_fields_and_reads_back() {
        let (speakers, info, human, predicted) = fixture();
        let scored = Scored { human: human.each_ref().map(Vec::as_slice), predicted: predicted.each_ref().map(Vec::as_slice), speakers: &speakers };
        let mut report = EvalReport::analyse("dev", &scored, &info, BootstrapSettings { resamples: 100, seed: 4 });
        report.compare("a", "b", &scored, predicted.each_ref().map(Vec::as_slice), BootstrapSettings { resamples: 100, seed: 4 });
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        for key in ["split", "utterances", "pearson", "mse", "n_speakers", "aspects", "bootstrap", "subgroups", "comparison"] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
        assert_eq!(json["bootstrap"], serde_json::json!({"resamples": 100, "seed": 4, "skipped": 0}));
        for aspect in ASPECTS {
            let stats = &json["aspects"][aspect];
            assert!(stats["pearson"].is_f64() && stats["mse"].is_f64(), "{stats}");
            assert_eq!(stats["pearson_ci95"].as_array().unwrap().len(), 2);
            assert_eq!(stats["mse_ci95"].as_array().unwrap().len(), 2);
            let child = &json["subgroups"]["child"];
            assert_eq!(
                (child["n_utterances"].as_u64(), child["n_speakers"].as_u64(), child["few_speakers"].as_bool()),
                (Some(6), Some(2), Some(true))
            );
            assert!(child["aspects"][aspect]["pearson_ci95"].is_array());
            let paired = &json["comparison"]["aspects"][aspect];
            assert_eq!((paired["delta_pearson"].as_f64(), paired["wins"].as_f64()), (Some(0.0), Some(0.0)));
            assert_eq!(paired["delta_pearson_ci95"], serde_json::json!([0.0, 0.0]));
        }
        assert_eq!(json["comparison"]["other"], "b");
        // Read back (serde_json's float parsing may move the last bit, so numbers within 1e-12).
        let text = serde_json::to_string(&report).unwrap();
        let back: EvalReport = serde_json::from_str(&text).unwrap();
        let names = |r: &EvalReport| r.subgroups.iter().map(|(n, g)| (n.clone(), g.n_utterances, g.n_speakers, g.few_speakers)).collect::<Vec<_>>();
        assert_eq!(names(&back), names(&report));
        let ci = |r: &EvalReport| r.subgroups[0].1.aspects.total.pearson_ci95.unwrap();
        assert!((ci(&back)[0] - ci(&report)[0]).abs() < 1e-12 && (ci(&back)[1] - ci(&report)[1]).abs() < 1e-12);
        assert_eq!(back.comparison.as_ref().map(|c| c.other.as_str()), Some("b"));
        assert_eq!(back.table(), report.table());
    }

    #[test]
    fn text_and_markdown_show_the_same_numbers() {
        let (speakers, info, human, predicted) = fixture();
        let scored = Scored { human: human.each_ref().map(Vec::as_slice), predicted: predicted.each_ref().map(Vec::as_slice), speakers: &speakers };
        let shifted: [Vec<f64>; 4] = predicted.each_ref().map(|p| p.iter().enumerate().map(|(i, x)| x + (i % 4) as f64).collect());
        let mut report = EvalReport::analyse("dev", &scored, &info, BootstrapSettings::default());
        report.compare("a", "b", &scored, shifted.each_ref().map(Vec::as_slice), BootstrapSettings::default());
        // Every number-like token of the text table appears in the markdown, in the same order.
        let numbers = |s: &str| -> Vec<String> {
            s.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == '%'))
                .filter(|t| t.contains('.'))
                .map(str::to_string)
                .collect()
        };
        let (text, markdown) = (report.table(), report.markdown());
        assert!(numbers(&text).len() > 100, "{text}");
        assert_eq!(numbers(&text), numbers(&markdown), "{text}\n{markdown}");
    }
}
