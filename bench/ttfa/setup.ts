/**
 * What every row of the benchmark shares: the model, the tokenizer and the workflow.
 * - Model: the baseline shape of docs/engine.md#backend-facts — GPT-2 family, 4 layers, width 256, 4 heads, MLP 1 024,
 *   vocabulary 8 192, random weights (seed 1), context 1 024.
 * - Tokenizer: GPT-2's BPE cut to 8 192 tokens (gpt2-8k.ts), so the model's vocabulary is
 *   exactly the tokenizer's.
 * - Workflow: the seed example (notebooks/seed-example.toml, program as in the engine tests)
 *   with a per-zone generation cap, since a random model never spells its zone tokens.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DecoderModel, smallConfig } from "../../forge/model/index.js";
import { parseUdpl } from "../../forge/udpl/index.js";
import { newProgram } from "../../forge/sfcs/index.js";
import type { SzcpWorkflow } from "../../forge/szcp/types.js";
import { GPT2_8K_VOCAB_SIZE } from "./gpt2-8k.js";

const SEED_UDPL = fileURLToPath(new URL("../../notebooks/seed-example.toml", import.meta.url));

export function benchModel(): DecoderModel {
  const config = smallConfig("gpt2", { vocabSize: GPT2_8K_VOCAB_SIZE, hiddenSize: 256, layers: 4, heads: 4, maxPositions: 1024 });
  return DecoderModel.random(config, 1);
}

/** The seed example's workflow with `maxGen` tokens per generating zone and its control loop run 1 to `maxIterations` times. */
export function benchWorkflow(maxGen: number, maxIterations = 3): SzcpWorkflow {
  const text = readFileSync(SEED_UDPL, "utf8").replace("[config]", `[config]\ndefault_max_token_length = ${maxGen}`);
  const { sequences, config } = parseUdpl(text, { file: SEED_UDPL });
  const program = newProgram(sequences, {}, config);
  program.run("setup");
  program.loop("control", (loop) => loop.run("reasoning", { question: "Are you alive?" }), { min: 1, max: maxIterations });
  program.run("conclusion");
  program.extract("training_data", ["answer"]);
  return program.compile()();
}
