/**
 * Benchmark: a 64-stream request through the remote session (HTTP on loopback: submit,
 * NDJSON progress stream, JSON result, decode) against the same request through the direct
 * session, same process, same backend, same seed. Reports the median wall time of each and
 * the ratio direct / remote (throughput of the remote path relative to direct; goal ≥ 0.9),
 * plus what the Run costs on the wire.
 *
 * The ratio is the median over reps of the paired ratio (each rep runs both paths back to
 * back, in alternating order). On a shared, loaded machine the engine's own time swings by
 * ±50 % between runs, which swamps the difference; so the bench also measures each path's
 * machinery overhead (request wall time minus the engine's run.meta.wallMs, both within one
 * request) and reports the ratio that overhead implies: direct / (direct + remote overhead −
 * direct overhead).
 *
 *   npx tsx bench/server/remote-vs-direct.ts          (REPS=4 STREAMS=64 MAXGEN=16 HIDDEN=64 LAYERS=2)
 */
import * as forge from "../../forge/index.js";
import { decodeRun, encodeRun } from "../../forge/run/index.js";

const REPS = Number(process.env.REPS ?? 4);
const STREAMS = Number(process.env.STREAMS ?? 64);
const MAXGEN = Number(process.env.MAXGEN ?? 16);
const HIDDEN = Number(process.env.HIDDEN ?? 64);
const LAYERS = Number(process.env.LAYERS ?? 2);

// The seed example's shape with short prompts (setup, a loop with min 1 / max 2, conclusion).
const UDPL = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
sequences = ["setup", "control", "reasoning", "conclusion"]
valid_tags = ["answer"]
control_token = "[J]"
escape_token = "[X]"
default_max_token_length = ${MAXGEN}

[[setup]]
text = "[P]You are a careful assistant.[A]Understood.[E]"
tags = [[], []]

[[control]]
text = "[P]If satisfied, say [X][J][A]"
tags = [[], []]

[[reasoning]]
text = "[P]Think about {q}[A]"
[reasoning.q]
type = "control"
name = "question"

[[conclusion]]
text = "[P]Final answer:[A]"
tags = [[], ["answer"]]
`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

await forge.initBackend(process.env.FORGE_BACKEND === "cpu" ? "cpu" : "wasm");
const model = forge.DecoderModel.random(
  forge.smallConfig("gpt2", { vocabSize: 257, hiddenSize: HIDDEN, layers: LAYERS, heads: 4, intermediateSize: HIDDEN * 4, maxPositions: 1024 }),
  1,
);
const backend = await forge.makeBackend(model, new forge.ByteTokenizer());
const { sequences, config } = forge.parseUdpl(UDPL, { file: "bench.toml" });
const program = forge.newProgram(sequences, {}, config);
program.run("setup");
program.loop("control", (loop) => loop.run("reasoning", { question: "why the sky is blue" }), { min: 1, max: 2 });
program.run("conclusion");
program.extract("training_data", ["answer"]);
const workflow = program.compile()();

const server = await forge.makeServer(backend, { address: "127.0.0.1:0", log: () => {} });
const direct = forge.makeSession(backend);
const remote = forge.makeSession(server.url);
const options = { batchSize: STREAMS, seed: 7 };

console.log(`model ${model.name}, ${STREAMS} streams, maxGen ${MAXGEN}, ${REPS} reps, backend ${backend.info().backend}`);
await direct.request(config, workflow, { batchSize: 2, seed: 1 }); // warm-up (kernels, compiled program)
await remote.request(config, workflow, { batchSize: 2, seed: 1 });

const directMs: number[] = [];
const remoteMs: number[] = [];
const overhead = { direct: [] as number[], remote: [] as number[] };
let tokens = 0;
let lastRun: forge.Run | undefined;
for (let rep = 0; rep < REPS; rep++) {
  // Alternate the order so drift in machine load hits both paths alike.
  for (const path of rep % 2 === 0 ? ["direct", "remote"] : ["remote", "direct"]) {
    const start = performance.now();
    const result = path === "direct" ? await direct.request(config, workflow, options) : await remote.request(config, workflow, { ...options, onProgress: () => {} });
    const ms = performance.now() - start;
    (path === "direct" ? directMs : remoteMs).push(ms);
    overhead[path as "direct" | "remote"].push(ms - result.run.meta.wallMs);
    tokens = result.run.streams.reduce((n, s) => n + s.tokens.length, 0);
    lastRun = result.run;
    console.log(
      `  rep ${rep} ${path.padEnd(6)} ${ms.toFixed(0)} ms (engine ${result.run.meta.wallMs} ms), ${result.run.meta.steps} steps, ${((tokens * 1000) / ms).toFixed(0)} tokens/s`,
    );
  }
}

const wireStart = performance.now();
const text = JSON.stringify(encodeRun(lastRun!));
decodeRun(JSON.parse(text));
const wireMs = performance.now() - wireStart;

const d = median(directMs);
const r = median(remoteMs);
console.log(`direct  median ${d.toFixed(0)} ms (${((tokens * 1000) / d).toFixed(0)} tokens/s)`);
console.log(`remote  median ${r.toFixed(0)} ms (${((tokens * 1000) / r).toFixed(0)} tokens/s)`);
console.log(`Run on the wire: ${(text.length / 1024).toFixed(0)} KiB JSON for ${tokens} tokens; encode + decode ${wireMs.toFixed(1)} ms`);
const paired = directMs.map((ms, i) => ms / remoteMs[i]!);
console.log(`per-rep ratios direct/remote: ${paired.map((x) => x.toFixed(3)).join(", ")}`);
console.log(`ratio direct/remote = ${median(paired).toFixed(3)} (median of paired reps; goal >= 0.9)`);
const extra = median(overhead.remote) - median(overhead.direct);
console.log(
  `overhead beyond the engine: direct ${median(overhead.direct).toFixed(1)} ms, remote ${median(overhead.remote).toFixed(1)} ms → ` +
    `ratio implied by the overhead = ${(d / (d + extra)).toFixed(3)}`,
);
await server.close();
