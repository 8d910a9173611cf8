//! The evaluation report of one split: Pearson r and MSE per score, as JSON and as a table.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::metrics::{mse, pearson};

/// The four scores, in the order of [`EvalReport::pearson`] and [`EvalReport::mse`].
pub const ASPECTS: [&str; 4] = ["accuracy", "fluency", "prosody", "total"];

/// Pearson r and MSE per score ([`ASPECTS`] order) over `utterances` utterances of `split`.
///
/// In JSON a value that is not finite (NaN: r of constant predictions) is `null`, and reads back
/// as NaN; the table prints it as `n/a`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub split: String,
    pub utterances: usize,
    #[serde(with = "nullable")]
    pub pearson: [f64; 4],
    #[serde(with = "nullable")]
    pub mse: [f64; 4],
}

impl EvalReport {
    /// The report of `human[a][i]` against `predicted[a][i]` for each aspect `a` ([`ASPECTS`]
    /// order); `utterances` is the length of the first aspect's series.
    pub fn compute(split: &str, human: [&[f64]; 4], predicted: [&[f64]; 4]) -> Self {
        EvalReport {
            split: split.to_string(),
            utterances: human[0].len(),
            pearson: std::array::from_fn(|a| pearson(human[a], predicted[a])),
            mse: std::array::from_fn(|a| mse(human[a], predicted[a])),
        }
    }

    /// The report as a plain-text table:
    ///
    /// ```text
    /// split: test
    /// utterances: 500
    ///
    /// aspect    Pearson r       MSE
    /// --------  ---------  --------
    /// accuracy      0.812     0.453
    /// ```
    pub fn table(&self) -> String {
        let mut out = format!("split: {}\nutterances: {}\n\n", self.split, self.utterances);
        out.push_str("aspect    Pearson r       MSE\n");
        out.push_str("--------  ---------  --------\n");
        for (a, name) in ASPECTS.iter().enumerate() {
            out.push_str(&format!(
                "{name:<8}  {:>9}  {:>8}\n",
                number(self.pearson[a]),
                number(self.mse[a])
            ));
        }
        out
    }

    /// Writes `report.json` and `report.txt` (the [`table`](Self::table)) into `dir`, creating it
    /// if needed; each file goes through a temporary file and a rename.
    pub fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut json = serde_json::to_string_pretty(self).expect("a report always serialises");
        json.push('\n');
        crate::plot::write_atomic(&dir.join("report.json"), json.as_bytes())?;
        crate::plot::write_atomic(&dir.join("report.txt"), self.table().as_bytes())
    }
}

/// Three decimals, or `n/a` for NaN and infinities.
fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "n/a".to_string()
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
