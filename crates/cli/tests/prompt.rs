//! `sslpron score --text / --texts` with the default model's prompt-aware parts: the JSON contract,
//! bad sentences and lists answered with clear errors (never a panic), and the wrong-sentence
//! property on the mini corpus (each clip scored with its own text and with another clip's: accuracy
//! lower with the wrong text on ≥ 95% of clips). The mini-corpus tests need SSLPRON_SHARED and skip
//! with a message without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sslpron(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sslpron")).current_dir(root()).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sslpron-cli-prompt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A real recording kept in the repository (tests/fixtures, utterance 000700019) and the sentence it reads.
const CLIP: &str = "tests/fixtures/audio/medium.wav";
const CLIP_TEXT: &str = "DORA CAN DRAW THE ZEBRA";

fn lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(out.status.success(), "{}", stderr(out));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn one_file_against_its_sentence_gives_the_json_contract() {
    let out = sslpron(&["score", "--json", "--text", CLIP_TEXT, CLIP]);
    let line = &lines(&out)[0];
    for field in ["file", "accuracy", "fluency", "prosody", "total", "text", "prompt_match", "words"] {
        assert!(line.get(field).is_some(), "no {field} in {line}");
    }
    assert_eq!(line["text"], CLIP_TEXT);
    let words = line["words"].as_array().unwrap();
    assert_eq!(words.iter().map(|w| w["word"].as_str().unwrap()).collect::<Vec<_>>(), ["dora", "can", "draw", "the", "zebra"]);
    let mut previous_end = 0.0;
    for w in words {
        let (start, end) = (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap());
        assert!(start >= previous_end - 1e-6 && end > start, "{w}");
        previous_end = end;
        for k in ["accuracy", "total"] {
            assert!((0.0..=10.0).contains(&w[k].as_f64().unwrap()), "{w}");
        }
        assert!(["none", "mispronunciation", "omission"].contains(&w["error"].as_str().unwrap()), "{w}");
        assert_eq!(w["approximate"], false);
        let phones = w["phones"].as_array().unwrap();
        assert!(!phones.is_empty());
        assert!(phones.iter().all(|p| p["phone"].is_string() && (0.0..=10.0).contains(&p["score"].as_f64().unwrap())), "{w}");
    }
    // Without --text the line is today's, fields unchanged.
    let plain = &lines(&sslpron(&["score", "--json", CLIP]))[0];
    assert_eq!(plain.as_object().unwrap().keys().collect::<Vec<_>>(), ["accuracy", "file", "fluency", "prosody", "total"]);
}

#[test]
fn bad_sentences_and_lists_are_refused_clearly() {
    let long = vec!["word"; 500].join(" ");
    for (text, expected) in [("", "no words"), ("?!... --", "no words"), ("Привет мир", "script"), ("😀😀", "no words"), (long.as_str(), "more than")]
    {
        let out = sslpron(&["score", "--text", text, CLIP]);
        let err = stderr(&out);
        assert!(!out.status.success() && err.contains(expected) && err.contains(CLIP), "{text:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A sentence far longer than the audio can hold.
    let out = sslpron(&["score", "--text", &vec!["extraordinary"; 200].join(" "), CLIP]);
    assert!(!out.status.success() && stderr(&out).contains("too short"), "{}", stderr(&out));

    let dir = scratch("lists");
    let list = dir.join("list.tsv");
    std::fs::write(&list, format!("{}\t{CLIP_TEXT}\nno tab on this line\n", root().join(CLIP).display())).unwrap();
    let err = stderr(&sslpron(&["score", "--texts", list.to_str().unwrap()]));
    assert!(err.contains("list.tsv:2") && err.contains("tab"), "{err}");
    let out = sslpron(&["score", "--text", CLIP_TEXT, CLIP, CLIP]);
    assert!(!out.status.success() && stderr(&out).contains("--texts"), "{}", stderr(&out));
    // Relative paths are read against the list's folder.
    std::fs::copy(root().join(CLIP), dir.join("clip.wav")).unwrap();
    std::fs::write(&list, format!("clip.wav\t{CLIP_TEXT}\n\n")).unwrap();
    assert_eq!(lines(&sslpron(&["score", "--json", "--texts", list.to_str().unwrap()])).len(), 1);
}

/// A 16 kHz 16-bit mono WAV of `samples`.
fn wav(samples: &[i16]) -> Vec<u8> {
    let data = samples.len() as u32 * 2;
    let mut out = Vec::new();
    out.extend(b"RIFF");
    out.extend((36 + data).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(1u16.to_le_bytes());
    out.extend(16_000u32.to_le_bytes());
    out.extend(32_000u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(16u16.to_le_bytes());
    out.extend(b"data");
    out.extend(data.to_le_bytes());
    out.extend(samples.iter().flat_map(|s| s.to_le_bytes()));
    out
}

#[test]
fn stopping_halfway_leaves_the_rest_omitted() {
    // long.wav (utterance 096280029) reads "HE HAD TO GO THROUGH WITH IT"; keep its first half.
    let text = "HE HAD TO GO THROUGH WITH IT";
    let bytes = std::fs::read(root().join("tests/fixtures/audio/long.wav")).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap() + 8;
    let samples: Vec<i16> = bytes[data..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let dir = scratch("half");
    let half = dir.join("half.wav");
    std::fs::write(&half, wav(&samples[..samples.len() / 2])).unwrap();
    let full = &lines(&sslpron(&["score", "--json", "--text", text, "tests/fixtures/audio/long.wav"]))[0];
    let cut = &lines(&sslpron(&["score", "--json", "--text", text, half.to_str().unwrap()]))[0];
    let errors: Vec<&str> = cut["words"].as_array().unwrap().iter().map(|w| w["error"].as_str().unwrap()).collect();
    assert_eq!(&errors[4..], ["omission"; 3], "{cut}");
    assert_eq!(cut["prompt_match"], false);
    assert!(cut["accuracy"].as_f64().unwrap() < full["accuracy"].as_f64().unwrap(), "{full}\n{cut}");
}

/// Every mini-corpus clip with its sentence.
fn mini_corpus(shared: &Path) -> Vec<(PathBuf, String)> {
    let corpus = shared.join("speechocean762-mini");
    let mut out = Vec::new();
    for split in ["train", "test"] {
        let read = |f: &str| std::fs::read_to_string(corpus.join(split).join(f)).unwrap();
        let texts: std::collections::HashMap<String, String> =
            read("text").lines().filter_map(|l| l.split_once('\t').map(|(id, t)| (id.to_string(), t.to_string()))).collect();
        for line in read("wav.scp").lines().filter(|l| !l.trim().is_empty()) {
            let (id, path) = line.split_once(char::is_whitespace).unwrap();
            out.push((corpus.join(path.trim()), texts[id].clone()));
        }
    }
    out
}

#[test]
fn the_wrong_sentence_scores_lower_on_the_mini_corpus() {
    let Some(shared) = std::env::var_os("SSLPRON_SHARED") else {
        eprintln!("skipped: SSLPRON_SHARED is not set (the folder holding speechocean762-mini)");
        return;
    };
    let clips = mini_corpus(Path::new(&shared));
    let n = clips.len();
    // The wrong text: the next clip's with different words (the corpus repeats some prompts).
    let wrong: Vec<&str> =
        (0..n).map(|i| (1..n).map(|k| &clips[(i + k) % n].1).find(|t| !t.eq_ignore_ascii_case(&clips[i].1)).unwrap().as_str()).collect();
    let dir = scratch("wrong");
    let list = dir.join("list.tsv");
    let rows: Vec<String> = clips
        .iter()
        .zip(&wrong)
        .flat_map(|((path, own), wrong)| [format!("{}\t{own}", path.display()), format!("{}\t{wrong}", path.display())])
        .collect();
    std::fs::write(&list, rows.join("\n")).unwrap();
    let out = sslpron(&["score", "--json", "--texts", list.to_str().unwrap()]);
    let lines = lines(&out);
    assert_eq!(lines.len(), 2 * n);
    let (mut lower, mut own_match, mut wrong_match) = (0, 0, 0);
    for pair in lines.chunks(2) {
        lower += (pair[1]["accuracy"].as_f64().unwrap() < pair[0]["accuracy"].as_f64().unwrap()) as usize;
        own_match += pair[0]["prompt_match"].as_bool().unwrap() as usize;
        wrong_match += pair[1]["prompt_match"].as_bool().unwrap() as usize;
    }
    eprintln!("{n} clips: accuracy lower with the wrong text on {lower}; prompt_match own {own_match}, wrong {wrong_match}");
    assert!(lower as f64 >= 0.95 * n as f64, "accuracy lower with the wrong text on only {lower} of {n} clips");
    assert!(wrong_match as f64 <= 0.05 * n as f64, "prompt_match true for {wrong_match} of {n} wrong texts");
    assert!(own_match as f64 >= 0.9 * n as f64, "prompt_match true for only {own_match} of {n} own texts");
}
