import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseUdpl, parseUdplFile, UdplError } from "../../../forge/udpl/index.js";

const fixture = (name: string): string => `test/fixtures/udpl/${name}.toml`;

function catchUdpl(fn: () => unknown): UdplError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UdplError);
    return err as UdplError;
  }
  throw new Error("expected a UdplError");
}

describe("the seed README's UDPL example", () => {
  it("as written fails at its non-TOML inline table with line, column and a hint", () => {
    const err = catchUdpl(() => parseUdplFile(fixture("seed-as-written")));
    const text = readFileSync(fixture("seed-as-written"), "utf8");
    const line = text.split("\n").findIndex((l) => l.startsWith("tokenizer_override")) + 1;
    expect(err.file).toBe(fixture("seed-as-written"));
    expect(err.line).toBe(line);
    expect(err.column).toBe(text.split("\n")[line - 1].indexOf(":") + 1);
    expect(err.hint).toContain("use = in inline tables");
    expect(err.expected).toContain('"="');
    expect(err.found).toContain('":"');
    expect(err.message).toContain(`${fixture("seed-as-written")}:${line}:${err.column}`);
    expect(err.message).not.toMatch(/\n\s+at /); // no stack trace in the message
  });

  it("with the = fixed fails on the undeclared tag `answer`, naming the block and the valid tags", () => {
    const err = catchUdpl(() => parseUdplFile(fixture("seed-fixed-equals")));
    const lines = readFileSync(fixture("seed-fixed-equals"), "utf8").split("\n");
    const line = lines.findIndex((l) => l.startsWith('tags = [[], ["answer"]]')) + 1;
    expect(err.line).toBe(line);
    expect(err.column).toBe(lines[line - 1].indexOf('"answer"') + 1);
    expect(err.sequence).toBe("conclusion");
    expect(err.block).toBe(0);
    expect(err.found).toBe('"answer"');
    expect(err.expected).toContain('["Training","Correct","Feedback"]');
    expect(err.message).toContain('tag "answer" is not in valid_tags');
  });

  it("with both fixed parses, including the unlisted [[setup]] and the untagged [[reasoning]]", () => {
    const { sequences, config, warnings } = parseUdplFile(fixture("seed-fixed"));
    expect(Object.keys(sequences)).toEqual(["setup", "control", "reasoning", "conclusion"]);
    expect(sequences.setup.listed).toBe(false);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('sequence "setup" is not listed')]);
    expect(warnings[0].line).toBe(10);
    expect(warnings[0].message.startsWith(`${fixture("seed-fixed")}:10:1: sequence "setup"`)).toBe(true);
    expect(warnings[0].reason).toBe('sequence "setup" is not listed in [config].sequences; it is accepted as a sequence');
    expect(sequences.reasoning.zones.map((z) => z.tags)).toEqual([[], []]);
    expect(sequences.conclusion.zones.map((z) => z.tags)).toEqual([[], ["answer"]]);
    expect(config.tokenizerOverride).toEqual({ eos_token: "[EOS]" });
    expect(config.escape).toEqual({ kind: "single", token: "[Escape]" });
    // The `control` spelling reads as custom; the resource is `question`.
    const spec = sequences.reasoning.blocks[0].placeholders.user_question;
    expect(spec).toEqual({ placeholder: "user_question", resource: "question", type: "custom", arguments: {} });
  });

  it("splits the setup block as the backend expects: the escaped tokens are not split points", () => {
    const { sequences } = parseUdplFile(fixture("seed-fixed"));
    const [prompt, answer] = sequences.setup.zones;
    const text = (z: typeof prompt): string => z.parts.map((p) => (p.kind === "literal" ? p.text : "?")).join("");
    expect(text(prompt).startsWith("[Prompt] From now on")).toBe(true);
    expect(text(prompt).endsWith("[Answer]")).toBe(true);
    expect(text(answer).startsWith(" \nI understand.")).toBe(true);
    expect(text(answer).endsWith("\n[EOS]")).toBe(true);
    expect(prompt.advance).toBe("[Answer]");
    expect(answer.advance).toBe("[EOS]");
    // conclusion: zone 1 is pure generation
    expect(sequences.conclusion.zones[1].parts).toEqual([]);
  });

  it("notebooks/seed-example.toml is the seed example with both fixes", () => {
    expect(readFileSync("notebooks/seed-example.toml", "utf8")).toBe(readFileSync(fixture("seed-fixed"), "utf8"));
    expect(() => parseUdpl(readFileSync("notebooks/seed-example.toml", "utf8"))).not.toThrow();
  });
});
