//! The data layer on the real `speechocean762-mini` corpus and the labels folder. Needs the shared
//! folder, found through SSLPRON_SHARED (`.ci/run` sets it); every test skips with a message
//! without it.

#[path = "../src/data/mod.rs"]
#[allow(dead_code, unused_imports)]
mod data;

use std::collections::HashSet;
use std::path::PathBuf;

use data::{Corpus, CorpusOptions, DataError, LABEL_RANGE, PhoneVocab, SpeakerList, batches, shuffled_batches};
use sslpron_audio::PrepareOptions;

/// The shared folder, or `None` after printing why the test is skipped.
fn shared() -> Option<PathBuf> {
    match std::env::var_os("SSLPRON_SHARED").filter(|dir| !dir.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipped: SSLPRON_SHARED is not set (the folder holding speechocean762-mini)");
            None
        }
    }
}

#[test]
fn mini_corpus_splits() {
    let Some(shared) = shared() else { return };
    let corpus = Corpus::open(&shared.join("speechocean762-mini")).unwrap();
    let train = corpus.split("train").unwrap();
    let test = corpus.split("test").unwrap();
    assert_eq!((train.len(), test.len()), (160, 80));

    let speakers = |v: &[data::Utterance]| v.iter().map(|u| u.speaker.clone()).collect::<HashSet<_>>();
    let (train_spk, test_spk) = (speakers(&train), speakers(&test));
    assert_eq!((train_spk.len(), test_spk.len()), (8, 4), "README: 8 train, 4 test speakers");
    assert!(train_spk.is_disjoint(&test_spk));
    let ids: HashSet<_> = train.iter().chain(&test).map(|u| &u.id).collect();
    assert_eq!(ids.len(), 240, "ids are unique across splits");

    let (lo, hi) = LABEL_RANGE;
    for u in train.iter().chain(&test) {
        assert!(u.labels.iter().all(|&l| (lo..=hi).contains(&l)), "{}: {:?}", u.id, u.labels);
        assert!(u.wav.is_file(), "{}", u.wav.display());
        assert!(!u.phones.is_empty() && !u.text.is_empty(), "{}", u.id);
        // The corpus's WAVE/SPEAKERxxxx/<id>.WAV naming ties the lists together.
        assert!(u.wav.ends_with(format!("WAVE/SPEAKER{}/{}.WAV", u.speaker, u.id)), "{}", u.wav.display());
    }
    // The labels are not constant (a reader that defaulted them would pass the range check).
    for k in 0..4 {
        let distinct: HashSet<u32> = train.iter().map(|u| u.labels[k] as u32).collect();
        assert!(distinct.len() >= 4, "label {k}: {distinct:?}");
    }
    // One utterance checked against resource/scores.json by hand.
    let first = &train[0];
    assert_eq!((first.id.as_str(), first.speaker.as_str()), ("000060015", "0006"));
    assert_eq!(first.text, "JAYME IS GOING TO SEE HEN");
    assert_eq!(first.labels, [9.0, 9.0, 9.0, 9.0]);
    assert_eq!(first.phones.join(" "), "JH EY1 M IY0 IH0 Z G OW0 IH0 NG T UW0 S IY0 HH EH0 N");
}

#[test]
fn labels_folder_scores_train_gives_the_same_labels() {
    // Every mini utterance is a train-split utterance, so scores-train.json labels both splits,
    // with the corpus's final labels.
    let Some(shared) = shared() else { return };
    let root = shared.join("speechocean762-mini");
    let own = Corpus::open(&root).unwrap();
    let labels = shared.join("speechocean762-labels/scores-train.json");
    let other = Corpus::open_with(&root, &CorpusOptions { labels: Some(labels.clone()) }).unwrap();
    assert_eq!(other.labels_path(), labels);
    for split in ["train", "test"] {
        assert_eq!(own.split(split).unwrap(), other.split(split).unwrap(), "{split}");
    }
}

#[test]
fn dev_speakers_file_against_the_mini_corpus() {
    let Some(shared) = shared() else { return };
    let list_path = shared.join("speechocean762-labels/dev-speakers.txt");
    let list = SpeakerList::read(&list_path).unwrap();
    assert_eq!(list.speakers.len(), 25, "the labels README: 25 dev speakers");
    let train = Corpus::open(&shared.join("speechocean762-mini")).unwrap().split("train").unwrap();

    // The list is for the full corpus: 21 of its speakers are not in the mini train split.
    let err = list.split(train.clone()).unwrap_err();
    match &err {
        DataError::UnknownSpeakers { path, speakers } => {
            assert_eq!(path, &list_path);
            assert_eq!(speakers.len(), 21);
        }
        other => panic!("expected UnknownSpeakers, got {other}"),
    }
    assert!(err.to_string().starts_with(&list_path.display().to_string()), "{err}");

    // Restricted explicitly, it splits the mini train split by its 4 listed speakers.
    let (known, unknown) = list.restricted_to(&train);
    assert_eq!(unknown.len(), 21);
    let mut kept: Vec<_> = known.speakers.iter().cloned().collect();
    kept.sort();
    assert_eq!(kept, ["0006", "1012", "8057", "9628"]);
    let (tr, dev) = known.split(train.clone()).unwrap();
    assert_eq!((tr.len(), dev.len()), (80, 80));
    assert!(dev.iter().all(|u| known.speakers.contains(&u.speaker)));
    assert!(tr.iter().all(|u| !known.speakers.contains(&u.speaker)));
}

#[test]
fn mini_phone_vocab_covers_test() {
    let Some(shared) = shared() else { return };
    let corpus = Corpus::open(&shared.join("speechocean762-mini")).unwrap();
    let train = corpus.split("train").unwrap();
    let vocab = PhoneVocab::from_utterances(&train, false);
    // 38 of the 39 ARPAbet phones (no OY in these prompts) plus the blank.
    assert_eq!(vocab.len(), 39);
    assert!(vocab.id("OY").is_none() && vocab.id("ZH").is_some());
    for u in corpus.split("test").unwrap() {
        let ids = vocab.encode(&u).unwrap();
        assert_eq!(ids.len(), u.phones.len());
        assert!(ids.iter().all(|&i| 0 < i && i < vocab.len()));
    }
}

#[test]
fn mini_batches_group_real_lengths() {
    let Some(shared) = shared() else { return };
    let train = Corpus::open(&shared.join("speechocean762-mini")).unwrap().split("train").unwrap();
    let opts = PrepareOptions { do_normalize: false, ..PrepareOptions::default() };
    let lengths: Vec<usize> = train.iter().map(|u| u.load_audio(&opts).unwrap().len()).collect();
    let ratio = |b: &[Vec<usize>]| {
        let worst = b.iter().map(|x| {
            let max = x.iter().map(|&i| lengths[i]).max().unwrap();
            let min = x.iter().map(|&i| lengths[i]).min().unwrap();
            max as f64 / min as f64
        });
        worst.fold(0.0f64, f64::max)
    };
    let corpus_ratio = *lengths.iter().max().unwrap() as f64 / *lengths.iter().min().unwrap() as f64;
    assert!(corpus_ratio > 5.0, "mini train spans 2.2–11.8 s: {corpus_ratio}");
    for epoch in 0..3 {
        let b = batches(&lengths, 4, 1, epoch);
        // 160 clips = 40 batches = one bucket: sorted neighbours.
        let worst = ratio(&b);
        assert!(worst < 1.5, "epoch {epoch}: worst in-batch max/min {worst}");
        let random = ratio(&shuffled_batches(lengths.len(), 4, 1, epoch));
        assert!(random > 2.0, "epoch {epoch}: unbucketed worst {random}");
    }
}
