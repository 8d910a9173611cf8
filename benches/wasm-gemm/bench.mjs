// sslpron-gemm vs the `gemm` crate in WebAssembly, in Node's V8: the shapes of a base-size forward on
// 5 s of audio, alternating the two in rounds; prints the median GFLOP/s of each and the ratio, and
// fails if the two products differ by more than float rounding.
//   node benches/wasm-gemm/bench.mjs WASM [ROUNDS]
import { readFileSync } from "node:fs";

const [wasmPath, roundsArg, sidesArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 5);
// "shipped" is sslpron_gemm::gemm; t<R>x<C> the other register tiles the crate was measured with.
const sides = (sidesArg ?? "shipped,peer").split(",");
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath));
const x = instance.exports;

// [name, m, k, n, a row stride]
const shapes = [
  ["encoder q/k/v/out 250x768x768", 250, 768, 768, 768],
  ["encoder fc1 250x768x3072", 250, 768, 3072, 768],
  ["encoder fc2 250x3072x768", 250, 3072, 768, 3072],
  ["conv layer 1 8000x1536x512 (unfold)", 8000, 1536, 512, 1024],
  ["conv layer 4 1000x1536x512 (unfold)", 1000, 1536, 512, 1024],
  ["pos conv group 250x6144x48 (unfold)", 250, 6144, 48, 48],
];

function view(ptr, len) {
  return new Float32Array(x.memory.buffer, ptr, len);
}

let seed = 1;
function fill(ptr, len) {
  const v = view(ptr, len);
  for (let i = 0; i < len; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    v[i] = seed / 2 ** 31 - 1;
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const [name, m, k, n, aRs] of shapes) {
  const aLen = (m - 1) * aRs + k;
  const a = x.alloc_f32(aLen), b = x.alloc_f32(k * n), o1 = x.alloc_f32(m * n), o2 = x.alloc_f32(m * n);
  fill(a, aLen);
  fill(b, k * n);
  const flop = 2 * m * k * n;
  const reps = Math.max(1, Math.round(1e9 / flop));
  const times = Object.fromEntries(sides.map((s) => [s, []]));
  for (let r = 0; r < rounds + 1; r++) {
    for (const side of sides) {
      const out = side === "peer" ? o2 : o1;
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) x[side](m, k, n, aRs, a, b, out);
      const ms = (performance.now() - t0) / reps;
      if (r > 0) times[side].push(ms); // round 0 warms up
      if (side !== "peer" && sides.includes("peer") && r === rounds) {
        // After the last round of each side: its product against the peer's.
        x.peer(m, k, n, aRs, a, b, o2);
        const v1 = view(o1, m * n), v2 = view(o2, m * n);
        let worst = 0;
        for (let i = 0; i < m * n; i++) worst = Math.max(worst, Math.abs(v1[i] - v2[i]));
        if (!(worst <= 1e-6 * k)) throw new Error(`${name}, ${side}: differs from the peer by ${worst}`);
      }
    }
  }
  const row = { shape: name };
  for (const side of sides) row[`${side} GFLOP/s`] = +(flop / median(times[side]) / 1e6).toFixed(1);
  if (sides.includes("peer") && sides.includes("shipped")) row["ratio peer/shipped"] = +(median(times.peer) / median(times.shipped)).toFixed(2);
  rows.push(row);
}
console.table(rows);
