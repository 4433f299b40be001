/**
 * `npm run eval:model` — protocol adherence, jump rates per cue and accuracy per task of a
 * zone-protocol model on held-out prompts, run through the engine.
 *
 *   tsx scripts/eval-model.ts [--model DIR] [--per-task N] [--seed-streams N] [--checked-streams N] [--seed N]
 *                             [--temperature X] [--top-k N] [--top-p X]   (sampling of the seed and checked suites)
 */
import { parseArgs } from "node:util";
import { failer, intArg, numberArg } from "./cli-args.js";
import { evaluateModel, formatReport } from "./training/eval.js";

const fail: (message: string) => never = failer("eval-model"); // typed, so a call ends control flow

let args;
try {
  args = parseArgs({
    options: {
      model: { type: "string" },
      "per-task": { type: "string" },
      "seed-streams": { type: "string" },
      "checked-streams": { type: "string" },
      seed: { type: "string" },
      temperature: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
} catch (err) {
  fail((err as Error).message);
}
if (args.help) {
  process.stdout.write("usage: tsx scripts/eval-model.ts [--model DIR] [--per-task N] [--seed-streams N] [--checked-streams N] [--seed N] [--temperature X] [--top-k N] [--top-p X] [--json]\n");
  process.exit(0);
}
const int = (name: string, value: string | undefined) => intArg(fail, name, value);
const num = (name: string, value: string | undefined) => numberArg(fail, name, value);
const sampling = Object.fromEntries(
  Object.entries({ temperature: num("temperature", args.temperature), topK: int("top-k", args["top-k"]), topP: num("top-p", args["top-p"]) }).filter(([, v]) => v !== undefined),
);

try {
  const report = await evaluateModel({
    model: args.model,
    perTask: int("per-task", args["per-task"]),
    seedStreams: int("seed-streams", args["seed-streams"]),
    checkedStreams: int("checked-streams", args["checked-streams"]),
    seed: int("seed", args.seed),
    sampling,
    onProgress: (line) => process.stderr.write(`  ${line}\n`),
  });
  process.stdout.write(args.json ? JSON.stringify(report, null, 2) + "\n" : formatReport(report) + "\n");
} catch (err) {
  fail((err as Error).message);
}
