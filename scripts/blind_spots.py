#!/usr/bin/env python3
"""Who does a model score badly? Per-utterance analysis of `evaluate`'s predictions.tsv (issue #15, item 6).

Reads the predictions, the corpus's spk2age / spk2gender and the audio, measures simple properties of each
recording (duration, level, silence share, leading/trailing silence, median pitch), and prints markdown:
  - the floor: utterances whose predicted accuracy is within 0.3 of the lowest prediction of the set, who
    they are (speakers, age group, human scores) and how their recordings differ from the rest;
  - per group (child <= 12, teen, adult >= 18, female, male): label and prediction spread, r, and r between
    the predictions and the recording properties (does the model score a group by its loudness?).

    /work/pyenv/bin/python scripts/blind_spots.py eval-dev/predictions.tsv CORPUS_ROOT [--split train]

numpy only. The pitch tracker is a plain normalised autocorrelation per 40 ms frame (50-500 Hz, voiced when
the peak is above 0.5): good enough to tell children's voices from adults', not a research tracker.
"""
import argparse
import csv
import math
import struct
import sys
from pathlib import Path

import numpy as np

ASPECTS = ["accuracy", "fluency", "prosody", "total"]
RATE = 16000


def read_wav(path):
    data = Path(path).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE", path
    at, fmt, samples = 12, None, None
    while at + 8 <= len(data):
        kind, size = data[at:at + 4], struct.unpack("<I", data[at + 4:at + 8])[0]
        body = data[at + 8:at + 8 + size]
        if kind == b"fmt ":
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif kind == b"data":
            samples = body
        at += 8 + size + (size & 1)
    tag, channels, rate, _, _, bits = fmt
    assert tag == 1 and bits == 16 and rate == RATE, (path, fmt)
    x = np.frombuffer(samples[: len(samples) // 2 * 2], dtype="<i2").astype(np.float64) / 32768.0
    return x.reshape(-1, channels).mean(axis=1)


def properties(x):
    frame, hop = int(0.025 * RATE), int(0.010 * RATE)
    n = max(1, 1 + (len(x) - frame) // hop)
    rms = np.array([np.sqrt(np.mean(x[i * hop:i * hop + frame] ** 2) + 1e-12) for i in range(n)])
    db = 20 * np.log10(rms)
    # Silence: 35 dB below the loudest frame, or below -50 dBFS.
    silent = db < max(db.max() - 35, -50)
    speech = np.flatnonzero(~silent)
    lead = speech[0] * hop / RATE if len(speech) else len(x) / RATE
    trail = (n - 1 - speech[-1]) * hop / RATE if len(speech) else 0.0
    level = 20 * math.log10(math.sqrt(np.mean(x[speech[0] * hop:speech[-1] * hop + frame] ** 2) + 1e-12)) if len(speech) else -120
    f0 = []
    win = int(0.040 * RATE)
    for i in range(0, len(x) - win, hop * 2):
        seg = x[i:i + win]
        seg = seg - seg.mean()
        energy = np.dot(seg, seg)
        if energy < 1e-6 * win:
            continue
        ac = np.correlate(seg, seg, "full")[win - 1:] / energy
        lo, hi = RATE // 500, RATE // 50
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.5:
            f0.append(RATE / lag)
    return {
        "seconds": len(x) / RATE,
        "level_dbfs": level,
        "silence_share": float(silent.mean()),
        "lead_s": lead,
        "trail_s": trail,
        "f0_hz": float(np.median(f0)) if f0 else float("nan"),
    }


def kaldi(path):
    out = {}
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2:
                out[parts[0]] = parts[1]
    return out


def r(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() == 0 or b[ok].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("predictions")
    ap.add_argument("corpus")
    ap.add_argument("--split", default="train")
    args = ap.parse_args()
    corpus = Path(args.corpus)
    rows = list(csv.DictReader(open(args.predictions), delimiter="\t"))
    wav = kaldi(corpus / args.split / "wav.scp")
    age, gender = kaldi(corpus / args.split / "spk2age"), kaldi(corpus / args.split / "spk2gender")
    for row in rows:
        row.update(properties(read_wav(corpus / wav[row["utt_id"]])))
        a = int(age.get(row["speaker"], -1))
        row["age_group"] = "child" if 0 <= a <= 12 else "teen" if 13 <= a <= 17 else "adult" if a >= 18 else "?"
        row["gender"] = {"f": "female", "m": "male"}.get(gender.get(row["speaker"], "").lower(), "?")
    h = {a: np.array([float(x[f"human_{a}"]) for x in rows]) for a in ASPECTS}
    p = {a: np.array([float(x[f"predicted_{a}"]) for x in rows]) for a in ASPECTS}
    props = ["seconds", "level_dbfs", "silence_share", "lead_s", "trail_s", "f0_hz"]
    v = {k: np.array([x[k] for x in rows], float) for k in props}

    floor_value = p["accuracy"].min()
    floor = p["accuracy"] <= floor_value + 0.3
    print(f"## The floor: predicted accuracy within 0.3 of the lowest ({floor_value:.2f})\n")
    print(f"{floor.sum()} of {len(rows)} utterances ({100 * floor.mean():.1f}%).\n")
    print("| | floor | rest |\n|---|---|---|")
    for k in props:
        print(f"| {k} (median) | {np.nanmedian(v[k][floor]):.2f} | {np.nanmedian(v[k][~floor]):.2f} |")
    for a in ASPECTS:
        print(f"| human {a} (mean) | {h[a][floor].mean():.2f} | {h[a][~floor].mean():.2f} |")
    print(f"| human accuracy >= 7 | {(h['accuracy'][floor] >= 7).mean() * 100:.0f}% | {(h['accuracy'][~floor] >= 7).mean() * 100:.0f}% |")
    for g in ["child", "teen", "adult", "female", "male"]:
        key = "age_group" if g in ("child", "teen", "adult") else "gender"
        m = np.array([x[key] == g for x in rows])
        print(f"| share of {g} | {m[floor].mean() * 100:.0f}% | {m[~floor].mean() * 100:.0f}% |")
    spk = {}
    for x, f in zip(rows, floor):
        spk.setdefault(x["speaker"], [0, 0])[0 if f else 1] += 1
    at_floor = sorted(((c[0], s) for s, c in spk.items() if c[0]), reverse=True)
    print("\nSpeakers at the floor (utterances at the floor / of theirs): " +
          ", ".join(f"{s} ({rows_age(rows, s)}) {n}/{sum(spk[s])}" for n, s in at_floor))
    print("\nr between 'at the floor' (0/1) and each property: " +
          ", ".join(f"{k} {r(floor.astype(float), v[k]):+.2f}" for k in props))

    print("\n## By group: spread, r, and what the predictions follow\n")
    print("| group | n | sd human acc | sd predicted acc | r acc | r(pred acc, seconds) | r(pred acc, level) | r(pred acc, silence) | r(pred acc, f0) | r(human acc, seconds) | median f0 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for g in ["all", "child", "teen", "adult", "female", "male"]:
        if g == "all":
            m = np.ones(len(rows), bool)
        else:
            key = "age_group" if g in ("child", "teen", "adult") else "gender"
            m = np.array([x[key] == g for x in rows])
        if m.sum() < 3:
            continue
        pa, ha = p["accuracy"][m], h["accuracy"][m]
        print(f"| {g} | {m.sum()} | {ha.std():.2f} | {pa.std():.2f} | {r(ha, pa):.3f} | {r(pa, v['seconds'][m]):+.2f} | "
              f"{r(pa, v['level_dbfs'][m]):+.2f} | {r(pa, v['silence_share'][m]):+.2f} | {r(pa, v['f0_hz'][m]):+.2f} | "
              f"{r(ha, v['seconds'][m]):+.2f} | {np.nanmedian(v['f0_hz'][m]):.0f} |")
    # Between and within speakers: a model can rank speakers and still not rank one speaker's attempts.
    print("\n| group | speakers | r of speaker means (acc) | mean within-speaker r (acc) |\n|---|---|---|---|")
    for g in ["all", "child", "adult"]:
        speakers = sorted({x["speaker"] for x in rows if g == "all" or x["age_group"] == g})
        means_h, means_p, within = [], [], []
        for s in speakers:
            m = np.array([x["speaker"] == s for x in rows])
            means_h.append(h["accuracy"][m].mean())
            means_p.append(p["accuracy"][m].mean())
            w = r(h["accuracy"][m], p["accuracy"][m])
            if math.isfinite(w):
                within.append(w)
        print(f"| {g} | {len(speakers)} | {r(means_h, means_p):.3f} | {np.mean(within) if within else float('nan'):.3f} ({len(within)} speakers with varied labels) |")


def rows_age(rows, speaker):
    for x in rows:
        if x["speaker"] == speaker:
            return f'{x["age_group"]}, {x["gender"]}'
    return "?"


if __name__ == "__main__":
    sys.exit(main())
