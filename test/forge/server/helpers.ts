/** Shared set-up for the server tests: a small random model over the byte tokenizer, and workflows for it. */
import * as forge from "../../../forge/index.js";
import { randomByteModel } from "../engine/helpers.js";

/**
 * The seed example's shape (setup, a loop of control + reasoning with min 1 / max 2,
 * conclusion, one extraction) with short prompts: the byte tokenizer feeds one token per
 * character, and the seed's long setup text would cost ≈ 2 000 steps per run.
 */
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

export function seedExample(maxGen = 4) {
  const { sequences, config } = forge.parseUdpl(TINY_UDPL.replace("MAXGEN", String(maxGen)), { file: "tiny.toml" });
  const program = forge.newProgram(sequences, {}, config);
  program.run("setup");
  program.loop("control", (loop) => loop.run("reasoning", { question: "sky?" }), { min: 1, max: 2 });
  program.run("conclusion");
  program.extract("training_data", ["answer"]);
  return { config, factory: program.compile() };
}

let shared: Promise<forge.ForgeBackend> | undefined;

/** One backend per test file (model weights are the same for every call: seed 1). */
export function testBackend(): Promise<forge.ForgeBackend> {
  shared ??= forge.initBackend("wasm").then(() => forge.makeBackend(randomByteModel(), new forge.ByteTokenizer()));
  return shared;
}

/** A server log that the tests can read. */
export function memoryLog(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => lines.push(line) };
}

/** POST /jobs with a raw body, as an untrusted client would. */
export async function postRaw(url: string, body: string | Buffer, headers: Record<string, string> = { "content-type": "application/json" }) {
  const response = await fetch(`${url}/jobs`, { method: "POST", headers, body: body as BodyInit });
  const text = await response.text();
  let json: { error?: { status: number; code: string; message: string }; id?: string } | null = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, json, text };
}
