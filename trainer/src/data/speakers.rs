//! Speaker attributes of a split (`<split>/spk2age`, `<split>/spk2gender`) and the evaluation
//! subgroups they define: `child` (age ≤ 12), `teen` (13–17), `adult` (≥ 18), `female`, `male`.
//!
//! Either file may be absent: a corpus copy without `spk2age` simply has no age groups. A file that
//! is there but does not parse is an error naming the file and line, because a silently dropped
//! speaker would change a group's numbers without anyone noticing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::error::DataError;
use super::kaldi::read_numbered_list;

/// The subgroup names in report order (age groups, then gender groups).
pub const SUBGROUPS: [&str; 5] = ["child", "teen", "adult", "female", "male"];

/// Oldest age (years) counted as `child`, and as `teen`; older speakers are `adult`. Speechocean762's
/// speakers are either children (mostly 5–12) or adults, with a few teenagers between.
pub const CHILD_MAX_AGE: u32 = 12;
pub const TEEN_MAX_AGE: u32 = 17;

/// A speaker's gender as `spk2gender` gives it (`f` / `m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gender {
    Female,
    Male,
}

/// Age and gender per speaker id, as far as the split's files give them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpeakerInfo {
    /// Age in years per speaker; `None`: the split has no `spk2age`.
    pub ages: Option<BTreeMap<String, u32>>,
    /// Gender per speaker; `None`: the split has no `spk2gender`.
    pub genders: Option<BTreeMap<String, Gender>>,
}

impl SpeakerInfo {
    /// Reads `spk2age` and `spk2gender` from `split_dir` (e.g. `<corpus>/train`); a missing file
    /// leaves its attribute `None`.
    pub fn read(split_dir: &Path) -> Result<Self, DataError> {
        let ages = read_optional(&split_dir.join("spk2age"), "the split's Kaldi list of speaker ages", |value| {
            value.parse::<u32>().map_err(|_| format!("age {value:?} is not a whole number of years"))
        })?;
        let genders = read_optional(&split_dir.join("spk2gender"), "the split's Kaldi list of speaker genders", |value| match value {
            "f" => Ok(Gender::Female),
            "m" => Ok(Gender::Male),
            _ => Err(format!("gender {value:?} is neither `f` nor `m`")),
        })?;
        Ok(Self { ages, genders })
    }

    /// Whether `speaker` belongs to subgroup `group` (one of [`SUBGROUPS`]); `false` for a speaker
    /// the files do not list and for an unknown group name.
    pub fn in_group(&self, speaker: &str, group: &str) -> bool {
        let age = || self.ages.as_ref().and_then(|ages| ages.get(speaker)).copied();
        let gender = || self.genders.as_ref().and_then(|genders| genders.get(speaker)).copied();
        match group {
            "child" => age().is_some_and(|a| a <= CHILD_MAX_AGE),
            "teen" => age().is_some_and(|a| a > CHILD_MAX_AGE && a <= TEEN_MAX_AGE),
            "adult" => age().is_some_and(|a| a > TEEN_MAX_AGE),
            "female" => gender() == Some(Gender::Female),
            "male" => gender() == Some(Gender::Male),
            _ => false,
        }
    }

    /// The subgroups these files can define, in [`SUBGROUPS`] order: the age groups when
    /// `spk2age` was there, the gender groups when `spk2gender` was.
    pub fn available_groups(&self) -> Vec<&'static str> {
        SUBGROUPS
            .into_iter()
            .filter(|group| match *group {
                "child" | "teen" | "adult" => self.ages.is_some(),
                _ => self.genders.is_some(),
            })
            .collect()
    }

    /// The speakers of `speakers` that belong to `group`.
    pub fn members<'a>(&self, group: &str, speakers: impl IntoIterator<Item = &'a str>) -> BTreeSet<&'a str> {
        speakers.into_iter().filter(|s| self.in_group(s, group)).collect()
    }
}

/// Reads one `speaker value` list through `parse`, or `None` when the file does not exist.
fn read_optional<T>(path: &Path, what: &'static str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<BTreeMap<String, T>>, DataError> {
    if !path.exists() {
        return Ok(None);
    }
    let mut out = BTreeMap::new();
    for (line, speaker, value) in read_numbered_list(path, what, true, "speaker")? {
        let value =
            parse(&value).map_err(|problem| DataError::Parse { path: path.to_path_buf(), line, problem: format!("speaker {speaker}: {problem}") })?;
        out.insert(speaker, value);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sslpron-speakers-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn groups_follow_the_age_and_gender_lists() {
        let dir = scratch("groups");
        std::fs::write(dir.join("spk2age"), "0001\t12\n0002\t13\n0003 17\n0004\t18\r\n\n").unwrap();
        std::fs::write(dir.join("spk2gender"), "0001\tf\n0002\tm\n").unwrap();
        let info = SpeakerInfo::read(&dir).unwrap();
        assert_eq!(info.available_groups(), SUBGROUPS);
        let all = ["0001", "0002", "0003", "0004", "0005"];
        let members = |g: &str| info.members(g, all).into_iter().collect::<Vec<_>>();
        // The boundaries of the issue: child ≤ 12, teen 13–17, adult ≥ 18.
        assert_eq!(members("child"), ["0001"]);
        assert_eq!(members("teen"), ["0002", "0003"]);
        assert_eq!(members("adult"), ["0004"]);
        assert_eq!(members("female"), ["0001"]);
        assert_eq!(members("male"), ["0002"]);
        assert!(members("elderly").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_means_no_groups_of_its_kind() {
        let dir = scratch("missing");
        std::fs::write(dir.join("spk2gender"), "0001\tm\n").unwrap();
        let info = SpeakerInfo::read(&dir).unwrap();
        assert_eq!(info.ages, None);
        assert_eq!(info.available_groups(), ["female", "male"]);
        assert!(!info.in_group("0001", "adult"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_lines_are_refused_naming_file_and_line() {
        let dir = scratch("bad");
        std::fs::write(dir.join("spk2age"), "0001\t9\n0002\tnine\n").unwrap();
        let err = SpeakerInfo::read(&dir).unwrap_err().to_string();
        let file = dir.join("spk2age").display().to_string();
        assert!(err.starts_with(&format!("{file}:2:")) && err.contains("0002") && err.contains("nine"), "{err}");

        std::fs::write(dir.join("spk2age"), "0001\t9\n").unwrap();
        std::fs::write(dir.join("spk2gender"), "0001\tf\n0001\tm\n").unwrap();
        let err = SpeakerInfo::read(&dir).unwrap_err().to_string();
        assert!(err.contains("spk2gender:2:") && err.contains("speaker 0001 is listed twice"), "{err}");

        std::fs::write(dir.join("spk2gender"), "0001\tx\n").unwrap();
        let err = SpeakerInfo::read(&dir).unwrap_err().to_string();
        assert!(err.contains("spk2gender:1:") && err.contains("neither `f` nor `m`"), "{err}");

        std::fs::write(dir.join("spk2gender"), "0001\n").unwrap();
        let err = SpeakerInfo::read(&dir).unwrap_err().to_string();
        assert!(err.contains("spk2gender:1:") && err.contains("speaker 0001 has nothing after its id"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
