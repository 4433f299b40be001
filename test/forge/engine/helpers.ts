/** Shared set-up for engine tests: the seed example's program on a small random-weight model. */
import { readFileSync } from "node:fs";
import * as forge from "../../../forge/index.js";

export const SEED_UDPL = "notebooks/seed-example.toml";

/** The seed example with a small per-zone generation cap, so a random model's zones time out fast. */
export function seedExample(maxGen = 6) {
  const text = readFileSync(SEED_UDPL, "utf8").replace("[config]", `[config]\ndefault_max_token_length = ${maxGen}`);
  const { sequences, config } = forge.parseUdpl(text, { file: SEED_UDPL });
  const program = forge.newProgram(sequences, {}, config);
  program.run("setup");
  program.loop("control", (loop) => loop.run("reasoning", { question: "Are you alive?" }), { min: 1, max: 3 });
  program.run("conclusion");
  program.extract("training_data", ["answer"]);
  return { config, factory: program.compile() };
}

/** A random GPT-2-family model over the byte tokenizer (257 tokens). */
export function randomByteModel(seed = 1, family: "gpt2" | "llama" = "gpt2") {
  return forge.DecoderModel.random(
    forge.smallConfig(family, { vocabSize: 257, hiddenSize: 32, layers: 2, heads: 2, kvHeads: family === "llama" ? 1 : 2, intermediateSize: 64, maxPositions: 2048 }),
    seed,
  );
}

const TOOL_UDPL = `
[config]
zone_tokens = ["[Prompt]", "[Answer]", "[EOS]"]
required_tokens = ["[Prompt]"]
sequences = ["ask", "results", "wrap"]
valid_tags = ["query", "answer"]
control_token = "[Jump]"
escape_token = "[Escape]"
default_max_token_length = 5
tools = ["search"]

[[ask]]
text = "[Prompt] What should I look up? [Answer]"
tags = [[], ["query"]]

[[results]]
text = "[Prompt] Results: [Answer]"
tags = [[], ["answer"]]

[[wrap]]
text = "[Prompt] Thanks. [Answer] Done.[EOS]"
`;

/** A capture zone whose text goes to the tool "search", a feed zone that takes its answer, and a closing block. */
export function toolWorkflow() {
  const { sequences, config } = forge.parseUdpl(TOOL_UDPL, { file: "tools.toml" });
  const program = forge.newProgram(sequences, {}, config);
  program.capture("ask", { tool: "search" });
  program.feed("results", { tool: "search" });
  program.run("wrap");
  program.extract("query", ["query"]);
  program.extract("answer", ["answer"]);
  return program.compile()();
}
