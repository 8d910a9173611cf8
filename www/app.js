// The practice page: pick or type a sentence, record it, see the four scores and a history of attempts.
// State for assistive tech and tests: document.body.dataset.state is loading | ready | recording |
// stopping | scoring | scored | error.

import { ScorerClient } from "./scorer-client.js";
import { Recorder, encodeWav, peakDb } from "./recorder.js";
import { SENTENCES, ASPECTS } from "./sentences.js";
import { DEFAULT_MODEL } from "./config.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const model = {
  url: params.get("model") || DEFAULT_MODEL.url,
  sha256: params.get("model") ? params.get("sha256") || undefined : DEFAULT_MODEL.sha256,
  device: params.get("device") || "auto",
};
// Below this peak a recording is treated as silence (a room's noise floor is around -60 dBFS).
const SILENCE_DB = -45;
const MIN_SECONDS = 1.0;

let client;
let recorder;
let maxSeconds = 30;
let timer;
const history = JSON.parse(localStorage.getItem("sslpron-history") || "[]");

function setState(state) {
  document.body.dataset.state = state;
}

function say(text, kind = "info") {
  const message = $("message");
  message.textContent = text;
  message.dataset.kind = kind;
}

function fillSentences() {
  const choice = $("sentence-choice");
  SENTENCES.forEach((s, i) => choice.add(new Option(s, String(i))));
  choice.add(new Option("My own sentence…", "own"));
  choice.onchange = () => {
    if (choice.value === "own") {
      $("sentence").value = "";
      $("sentence").focus();
    } else {
      $("sentence").value = SENTENCES[Number(choice.value)];
    }
  };
  $("next").onclick = () => {
    choice.selectedIndex = (choice.selectedIndex + 1) % SENTENCES.length;
    choice.onchange();
  };
  $("sentence").value = SENTENCES[0];
}

async function loadModel() {
  setState("loading");
  const status = $("model-status");
  const progress = $("model-progress");
  client = new ScorerClient();
  try {
    const info = await client.load(model.url, {
      sha256: model.sha256,
      device: model.device,
      onProgress: (loaded, total) => {
        status.textContent = `Downloading the model… ${(loaded / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB` : ""}`;
        if (total) progress.value = loaded / total;
      },
    });
    progress.value = 1;
    progress.hidden = true;
    // `?max-seconds=N` lowers the recording limit (never above what the scorer takes).
    maxSeconds = Math.min(info.maxSeconds, Number(params.get("max-seconds")) || Infinity);
    $("max-seconds").textContent = String(maxSeconds);
    const where = info.backend === "webgpu" ? "on the GPU (WebGPU)" : "on the CPU";
    status.textContent = `Scorer ready, running ${where}${info.fromCache ? " (model from this browser's cache)" : ""}.`;
    status.dataset.backend = info.backend;
    if (info.description) {
      $("model-description").textContent = `Model: ${info.description}`;
      $("model-description").hidden = false;
    }
    if (info.notice) {
      $("notice").textContent = info.notice;
      $("notice").hidden = false;
    }
    window.sslpronLoad = info; // timings for the tests and the curious
    $("record").disabled = false;
    setState("ready");
  } catch (e) {
    progress.hidden = true;
    status.textContent = `The model could not be loaded: ${e.message}`;
    status.dataset.kind = "error";
    setState("error");
  }
}

async function startRecording() {
  $("record").disabled = true;
  say("");
  recorder = new Recorder({
    maxSeconds,
    onLevel: (peak) => ($("level").value = Math.min(1, peak)),
    onLimit: () => stopRecording(`Stopped at ${maxSeconds} s: the scorer takes one or two sentences at a time.`),
  });
  try {
    await recorder.start();
  } catch (e) {
    say(e.message, "error");
    $("record").disabled = false;
    document.body.dataset.microphone = e.kind;
    setState("ready");
    return;
  }
  setState("recording");
  $("stop").disabled = false;
  const started = performance.now();
  timer = setInterval(() => ($("elapsed").textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`), 100);
  say("Recording… read the sentence, then press Stop.");
}

async function stopRecording(reason) {
  if (document.body.dataset.state !== "recording") return;
  setState("stopping"); // a second Stop (button, limit) while this one runs does nothing
  clearInterval(timer);
  $("stop").disabled = true;
  const { samples, sampleRate } = await recorder.stop();
  $("level").value = 0; // after the last level message has arrived
  const seconds = samples.length / sampleRate;
  if (seconds < MIN_SECONDS) {
    say(`That was only ${seconds.toFixed(1)} s. Read the whole sentence, then press Stop.`, "warning");
    return finish("ready");
  }
  if (peakDb(samples) < SILENCE_DB) {
    say("We heard only silence. Check that the right microphone is selected and speak a little closer.", "warning");
    return finish("ready");
  }
  setState("scoring");
  say(reason ? `${reason} Scoring…` : "Scoring…");
  try {
    const result = await client.score(samples, sampleRate);
    show(result, samples, sampleRate);
    say(reason || "");
    finish("scored");
  } catch (e) {
    say(`This recording could not be scored: ${e.message}`, "error");
    finish("ready");
  }
}

function finish(state) {
  $("record").disabled = false;
  setState(state);
}

function show(result, samples, sampleRate) {
  $("result").hidden = false;
  for (const el of document.querySelectorAll(".score")) {
    const aspect = el.dataset.aspect;
    const value = result[aspect];
    el.querySelector(".value").textContent = value.toFixed(1);
    el.dataset.value = String(value);
    el.querySelector("p").textContent = ASPECTS[aspect];
  }
  const t = result.timings;
  $("timing").textContent = `${result.seconds.toFixed(1)} s of audio scored in ${Math.round(t.total_ms)} ms (model ${Math.round(t.model_ms)} ms).`;
  const link = $("download");
  URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(encodeWav(samples, sampleRate));
  history.unshift({
    sentence: $("sentence").value.trim(),
    accuracy: result.accuracy,
    fluency: result.fluency,
    prosody: result.prosody,
    total: result.total,
    seconds: result.seconds,
  });
  history.length = Math.min(history.length, 50);
  localStorage.setItem("sslpron-history", JSON.stringify(history));
  renderHistory();
}

function renderHistory() {
  const body = document.querySelector("#history tbody");
  body.replaceChildren(
    ...history.map((h, i) => {
      const row = document.createElement("tr");
      const cells = [history.length - i, h.sentence, h.accuracy, h.fluency, h.prosody, h.total, `${h.seconds.toFixed(1)} s`];
      for (const c of cells) {
        const td = document.createElement("td");
        td.textContent = typeof c === "number" && !Number.isInteger(c) ? c.toFixed(1) : String(c);
        row.append(td);
      }
      return row;
    }),
  );
  $("history-section").hidden = history.length === 0;
}

if ("serviceWorker" in navigator && !params.has("no-offline")) {
  navigator.serviceWorker.register("sw.js").catch(() => {}); // offline use is a bonus, never a blocker
}
fillSentences();
renderHistory();
$("record").onclick = startRecording;
$("stop").onclick = () => stopRecording();
loadModel();
