/**
 * The main job (`npm start`): the seed README's example end to end on the embedded default
 * backend — parse the UDPL, program the flow, compile, run a batch, export.
 *
 *   npm start -- [--udpl notebooks/seed-example.toml] [--model folder] [--batch 64] [--seed 0] [--out out/]
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as forge from "../forge/index.js";
import { branchPathChart, renderSvg } from "../viz/index.js";
import { exportRun } from "../datasets/index.js";

const { values } = parseArgs({
  options: {
    udpl: { type: "string", default: "notebooks/seed-example.toml" },
    model: { type: "string" },
    batch: { type: "string", default: "64" },
    seed: { type: "string", default: "0" },
    out: { type: "string", default: "out" },
    temperature: { type: "string", default: "0.8" },
  },
});

async function main(): Promise<void> {
  const { sequences, config, warnings } = await forge.parseUdplFile(values.udpl!);
  for (const w of warnings) console.warn(`warning: ${w.message}`);

  const program = forge.newProgram(sequences, {}, config);
  program.run("setup");
  program.loop(
    "control",
    (loop) => {
      loop.run("reasoning", { question: "Are you alive?" });
    },
    { min: 1, max: 6 },
  );
  program.run("conclusion");
  program.extract("training_data", ["answer"]);
  const factory = program.compile();

  const backend = await forge.makeBackend(values.model);
  const session = forge.makeSession(forge.makeServer(backend, { address: null }));
  const info = backend.info();
  console.log(`model ${info.model} · tokenizer ${info.tokenizer} · engine ${backend.engine} · tfjs backend ${info.backend}`);

  const workflow = factory();
  const batchSize = Number(values.batch);
  const results = await session.request(config, workflow, {
    batchSize,
    seed: Number(values.seed),
    temperature: Number(values.temperature),
    onProgress: (p) => {
      if (process.stderr.isTTY)
        process.stderr.write(`\r${p.streamsDone}/${p.streams} streams · ${p.tokensPerSecond.toFixed(0)} tok/s   `);
    },
  });
  if (process.stderr.isTTY) process.stderr.write("\n");
  const run = results.run;
  const stats = run.statistics;
  const iterations = stats.loops[0]?.iterations ?? [];
  console.log(
    `${run.meta.instances} streams in ${(run.meta.wallMs / 1000).toFixed(1)} s, ${run.meta.steps} steps; ` +
      `status ${JSON.stringify(stats.status)}; loop iterations per stream: ` +
      `min ${Math.min(...iterations)}, max ${Math.max(...iterations)}`,
  );
  const samples = results.training_data ?? [];
  const shown = samples.map((text, stream) => ({ stream, text })).filter((s) => s.text.trim() !== "").slice(0, 3);
  console.log(`training_data: ${samples.filter((t) => t.trim() !== "").length} of ${samples.length} streams answered; e.g.`);
  for (const { stream, text } of shown) console.log(`  stream ${stream}: ${JSON.stringify(text.slice(0, 120))}`);

  const outDir = resolve(values.out!);
  await mkdir(outDir, { recursive: true });
  const { files } = await exportRun(run, { dir: outDir, formats: ["arrow"], name: "seed-example" });
  const svgPath = join(outDir, "branch-paths.svg");
  await writeFile(svgPath, await renderSvg(branchPathChart(run)));
  console.log(`wrote ${[files.samples.arrow, files.paths.arrow, svgPath].join("\n      ")}`);
}

main().catch((error: unknown) => {
  // A user mistake (UDPL, program, request) prints its message alone; anything else its stack.
  const known = error instanceof Error && /Error$/.test(error.name) && error.name !== "Error" && error.name !== "TypeError";
  console.error(known ? `${error.name}: ${error.message}` : error);
  process.exit(1);
});
