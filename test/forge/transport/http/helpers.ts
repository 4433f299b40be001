/** Shared set-up for the server tests: a small random model over the byte tokenizer, and workflows for it. */
import * as forge from "../../../../forge/index.js";
import { randomByteModel } from "../../engine/helpers.js";
import { tinySeedProgram } from "../../../helpers/workflows.js";

/** The seed example's shape with short prompts (loop 1…2 times). */
export function seedExample(maxGen = 4) {
  return tinySeedProgram(maxGen, 2);
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
