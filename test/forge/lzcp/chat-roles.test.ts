/**
 * UDPL `[config] chat_roles` end to end: parsed, carried through SFCS into SZCP (and through
 * its serialized JSON), and applied by LZCP with the real Llama 3 tokenizer and the chat
 * template of its tokenizer_config.json: each zone's forced tokens open a turn of its role.
 */
import { describe, expect, it } from "vitest";
import { lowerWorkflow } from "../../../forge/lzcp/index.js";
import { newProgram } from "../../../forge/sfcs/index.js";
import { deserializeWorkflow, serializeWorkflow } from "../../../forge/szcp/index.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { HfTokenizer, loadGpt2Tokenizer } from "../../../forge/tokenizer/index.js";
import { initBackend } from "../../../forge/backend/index.js";
import { makeBackend } from "../../../forge/session/backend.js";
import { parseUdpl, UdplError } from "../../../forge/udpl/index.js";
import { loadLlama3Tokenizer } from "../../helpers/tokenizers.js";

const UDPL = `
[config]
zone_tokens = ["[Prompt]", "[Answer]", "[EOS]"]
sequences = ["ask"]
control_token = "[Jump]"
chat_roles = ["user", "assistant"]

[[ask]]
text = "[Prompt] What is 2+2? [Answer]"

[[ask]]
text = "[Prompt] And 3+3? [Answer]"
`;

function compiled(text = UDPL) {
  const { sequences, config } = parseUdpl(text, { file: "chat.toml" });
  const program = newProgram(sequences, {}, config);
  program.run("ask");
  return program.compile()();
}

describe("chat_roles", () => {
  it("is parsed, carried into SZCP and survives serialization", () => {
    const { config } = parseUdpl(UDPL, { file: "chat.toml" });
    expect(config.chatRoles).toEqual(["user", "assistant"]);
    const w = compiled();
    expect(w.config.chatRoles).toEqual(["user", "assistant"]);
    expect(deserializeWorkflow(serializeWorkflow(w)).config.chatRoles).toEqual(["user", "assistant"]);
    // Without the key nothing changes: no field at all.
    expect(compiled(UDPL.replace('chat_roles = ["user", "assistant"]\n', "")).config.chatRoles).toBeUndefined();
  });

  it("wraps every zone in the Llama 3 template's turn markers at lowering", async () => {
    const llama3 = await loadLlama3Tokenizer();
    const lz = lowerWorkflow(compiled(), llama3);
    const texts = lz.zones.map((z) => llama3.decode(z.promptTokens));
    expect(texts).toEqual([
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n[Prompt] What is 2+2? [Answer]",
      "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
      "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n[Prompt] And 3+3? [Answer]",
      "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    ]);
    // Special tokens are whole tokens, as in the model's tuning data.
    expect(lz.zones[0]!.promptTokens[0]).toBe(128000);
    expect(lz.zones[1]!.promptTokens[0]).toBe(128009);
    // The unwrapped workflow lowers to the bare texts.
    const plain = lowerWorkflow(compiled(UDPL.replace('chat_roles = ["user", "assistant"]\n', "")), llama3);
    expect(llama3.decode(plain.zones[0]!.promptTokens)).toBe("[Prompt] What is 2+2? [Answer]");
  });

  it("is a UdplError naming the file and key when the model's tokenizer has no chat template", async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const attempt = () => lowerWorkflow(compiled(), gpt2);
    expect(attempt).toThrow(UdplError);
    expect(attempt).toThrow(/chat.toml: chat_roles wraps zones in the model's chat template, but tokenizer .* has none .*\(key config.chat_roles\)/);
  });

  it("is checked at parse time: known roles, one per zone", () => {
    expect(() => parseUdpl(UDPL.replace('["user", "assistant"]', '["user", "robot"]'), { file: "c.toml" })).toThrow(/c.toml:6:\d+: chat_roles\[1\] must be a chat role[\s\S]*found: {4}"robot"/);
    expect(() => parseUdpl(UDPL.replace('["user", "assistant"]', '["user"]'), { file: "c.toml" })).toThrow(/chat_roles lists 1 roles for 2 zones per block/);
  });

  it("runs end to end: the project's model, on the ONNX engine, is fed each zone inside SmolLM2's ChatML turns", async () => {
    await initBackend("wasm");
    // The project's byte-level tokenizer with SmolLM2-Instruct's chat template in its config
    // (its special tokens become plain bytes here, which is all this test needs).
    const folder = "models/forge-tiny";
    const template = readFileSync(join(import.meta.dirname, "../../fixtures/chat-templates/smollm2-instruct.jinja"), "utf8");
    const config = { ...JSON.parse(readFileSync(join(folder, "tokenizer_config.json"), "utf8")), chat_template: template };
    const tokenizer = HfTokenizer.fromJson(JSON.parse(readFileSync(join(folder, "tokenizer.json"), "utf8")), config, { configFile: "smollm2-template/tokenizer_config.json" });
    const backend = await makeBackend(folder, tokenizer, { engine: "onnx" });
    const run = await backend.run(compiled(UDPL.replace("[config]", "[config]\ndefault_max_token_length = 8")), { batchSize: 1, seed: 1, greedy: true, maxTokens: 600 });
    const stream = run.streams[0]!;
    const text = tokenizer.decode(stream.tokens);
    const start = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n[Prompt] What is 2+2? [Answer]<|im_end|>\n<|im_start|>assistant\n";
    expect(text.startsWith(start)).toBe(true);
    // The forced tokens are exactly the wrapped zone texts; the model generated the answers.
    expect(stream.forced.slice(0, tokenizer.encode(start).length).every((f) => f === 1)).toBe(true);
    expect(stream.forced.some((f) => f === 0)).toBe(true);
    expect(text).toContain("<|im_end|>\n<|im_start|>user\n[Prompt] And 3+3? [Answer]<|im_end|>\n<|im_start|>assistant\n");
    expect(run.meta.engine).toBe("onnxruntime");
  }, 120_000);
});
