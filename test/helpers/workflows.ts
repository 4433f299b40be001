/**
 * The seed example's shape with short prompts — setup, a loop of control + reasoning,
 * conclusion, one extraction — for tests that need many quick runs: the byte tokenizer
 * feeds one token per character, and the seed's own setup text costs ≈ 2 000 steps a run.
 */
import * as forge from "../../forge/index.js";

const TINY_UDPL = `[config]
zone_tokens = ["[P]", "[A]", "[E]"]
required_tokens = ["[P]"]
sequences = ["setup", "control", "reasoning", "conclusion"]
valid_tags = ["answer"]
control_token = "[J]"
escape_token = "[X]"
default_max_token_length = MAXGEN

[[setup]]
text = "[P]Hi[A]Hello[E]"
tags = [[], []]

[[control]]
text = "[P]Done? say [X][J][A]"
tags = [[], []]

[[reasoning]]
text = "[P]Why {q}[A]"
[reasoning.q]
type = "control"
name = "question"

[[conclusion]]
text = "[P]So[A]"
tags = [[], ["answer"]]
`;

/** The tiny seed-shaped program: zones generate at most `maxGen` tokens, the loop runs 1…`maxLoop` times. */
export function tinySeedProgram(maxGen: number, maxLoop: number) {
  const { sequences, config } = forge.parseUdpl(TINY_UDPL.replace("MAXGEN", String(maxGen)), { file: "tiny.toml" });
  const program = forge.newProgram(sequences, {}, config);
  program.run("setup");
  program.loop("control", (loop) => loop.run("reasoning", { question: "sky?" }), { min: 1, max: maxLoop });
  program.run("conclusion");
  program.extract("training_data", ["answer"]);
  return { config, factory: program.compile() };
}
