/**
 * `npm run train:model` — trains the project's own small model (models/forge-tiny) on the
 * seeded zone-protocol corpus, on the wasm backend, and writes a Hugging Face folder with its
 * training log and the command that made it.
 *
 *   tsx scripts/train-model.ts [--out DIR] [--seed N] [--steps N] [--lr X] [--resume DIR] [--smoke]
 *
 * --smoke: a few steps on a small corpus with a tiny model (what CI runs).
 * --resume DIR: continue training the model in DIR (fresh optimizer, corpus from --seed);
 *   COMMAND.txt and the log then hold every command and log in order.
 */
import { parseArgs } from "node:util";
import { failer, intArg } from "./cli-args.js";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { initBackend } from "../forge/backend/index.js";
import { FORGE_TINY_CONFIG, SMOKE_CONFIG, FULL_TRAINING, SMOKE_TRAINING, runTraining } from "./training/index.js";

const fail: (message: string) => never = failer("train-model"); // typed, so a call ends control flow

let args;
try {
  args = parseArgs({
    options: {
      out: { type: "string" },
      seed: { type: "string" },
      steps: { type: "string" },
      lr: { type: "string" },
      resume: { type: "string" },
      smoke: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (args.help) {
  process.stdout.write("usage: tsx scripts/train-model.ts [--out DIR] [--seed N] [--steps N] [--lr X] [--resume DIR] [--smoke]\n");
  process.exit(0);
}
const int = (name: string, value: string | undefined) => intArg(fail, name, value);

const smoke = args.smoke === true;
const plan = smoke ? SMOKE_TRAINING : FULL_TRAINING;
const out = resolve(args.out ?? (smoke ? join(tmpdir(), "forge-smoke") : "models/forge-tiny"));
const command = `npx tsx scripts/train-model.ts ${process.argv.slice(2).join(" ")}`.trim();

const backend = await initBackend("wasm");
if (backend !== "wasm") process.stderr.write(`train-model: note: running on ${backend}, not wasm\n`);
const lr = args.lr === undefined ? plan.learningRate : Number(args.lr);
if (!(lr > 0 && lr < 1)) fail(`--lr must be a number between 0 and 1, got "${args.lr}"`);
try {
  const result = await runTraining({
    config: smoke ? SMOKE_CONFIG : FORGE_TINY_CONFIG,
    plan: { ...plan, seed: int("seed", args.seed) ?? plan.seed, steps: int("steps", args.steps) ?? plan.steps, learningRate: lr },
    out,
    command,
    resume: args.resume === undefined ? undefined : resolve(args.resume),
    onLog: (line) => process.stdout.write(line + "\n"),
  });
  process.stdout.write(`wrote ${out} (final loss ${result.finalLoss.toFixed(4)}, ${result.seconds.toFixed(0)} s)\n`);
} catch (err) {
  fail((err as Error).message);
}
