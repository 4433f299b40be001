/**
 * `npm run eval:model` — protocol adherence, jump rates per cue and accuracy per task of a
 * zone-protocol model on held-out prompts, run through the engine.
 *
 *   tsx scripts/eval-model.ts [--model DIR] [--per-task N] [--seed-streams N] [--checked-streams N] [--seed N]
 */
import { parseArgs } from "node:util";
import { evaluateModel, formatReport } from "../forge/training/eval.js";

function fail(message: string): never {
  process.stderr.write(`eval-model: ${message}\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      model: { type: "string" },
      "per-task": { type: "string" },
      "seed-streams": { type: "string" },
      "checked-streams": { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (args.help) {
  process.stdout.write("usage: tsx scripts/eval-model.ts [--model DIR] [--per-task N] [--seed-streams N] [--checked-streams N] [--seed N] [--json]\n");
  process.exit(0);
}
const intArg = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`--${name} must be a non-negative integer, got "${value}"`);
  return n;
};

try {
  const report = await evaluateModel({
    model: args.model,
    perTask: intArg("per-task", args["per-task"]),
    seedStreams: intArg("seed-streams", args["seed-streams"]),
    checkedStreams: intArg("checked-streams", args["checked-streams"]),
    seed: intArg("seed", args.seed),
    onProgress: (line) => process.stderr.write(`  ${line}\n`),
  });
  process.stdout.write(args.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report) + "\n");
} catch (err) {
  fail((err as Error).message);
}
