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

/** The CLI's bound on streams per batch: beyond this a 2-core machine runs for hours; the server allows 256 by default. */
const MAX_BATCH = 4096;

const USAGE = `usage: npm start -- [--udpl FILE] [--model DIR] [--batch N] [--seed N] [--temperature T] [--out DIR]
  --udpl         the UDPL file (default notebooks/seed-example.toml)
  --model        a Hugging Face model folder (default: the embedded model)
  --batch        streams in the batch, 1…${MAX_BATCH} (default 64)
  --seed         the run's seed, a non-negative integer (default 0)
  --temperature  sampling temperature, ≥ 0 (default 0.8)
  --out          where the Arrow tables and the chart go (default out/)`;

/** A mistake on the command line: its message and the usage, no stack. */
class UsageError extends Error {}

function parseCommandLine(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        udpl: { type: "string", default: "notebooks/seed-example.toml" },
        model: { type: "string" },
        batch: { type: "string", default: "64" },
        seed: { type: "string", default: "0" },
        out: { type: "string", default: "out" },
        temperature: { type: "string", default: "0.8" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    // node:util's parse errors (unknown option, missing value) are the user's mistake.
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  const integer = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
    return n;
  };
  const temperature = Number(v.temperature);
  if (!Number.isFinite(temperature) || temperature < 0) throw new UsageError(`--temperature must be a number ≥ 0, got ${JSON.stringify(v.temperature)}`);
  return {
    help: v.help === true,
    udpl: v.udpl!,
    model: v.model,
    out: v.out!,
    batch: integer("batch", v.batch!, 1, MAX_BATCH),
    seed: integer("seed", v.seed!, 0, Number.MAX_SAFE_INTEGER),
    temperature,
  };
}

async function main(): Promise<void> {
  const values = parseCommandLine(process.argv.slice(2));
  if (values.help) {
    console.log(USAGE);
    return;
  }
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
  const batchSize = values.batch;
  const results = await session.request(config, workflow, {
    batchSize,
    seed: values.seed,
    temperature: values.temperature,
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

  const outDir = resolve(values.out);
  await mkdir(outDir, { recursive: true });
  const { files } = await exportRun(run, { dir: outDir, formats: ["arrow"], name: "seed-example" });
  const svgPath = join(outDir, "branch-paths.svg");
  await writeFile(svgPath, await renderSvg(branchPathChart(run)));
  console.log(`wrote ${[files.samples.arrow, files.paths.arrow, svgPath].join("\n      ")}`);
}

main().catch((error: unknown) => {
  // A user mistake (command line, UDPL, program, request) prints its message alone; a bug its stack.
  if (error instanceof UsageError) {
    console.error(`forge: ${error.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(forge.isForgeError(error) ? `${error.name} [${error.code}]: ${error.message}` : error);
  process.exit(1);
});
