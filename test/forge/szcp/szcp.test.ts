import { describe, expect, it } from "vitest";
import { newProgram } from "../../../forge/sfcs/index.js";
import {
  deserializeWorkflow,
  dumpWorkflow,
  serializeWorkflow,
  SzcpError,
  szcpSchema,
  szcpJsonSchema,
  workflowHash,
  workflowToDot,
  workflowToMermaid,
  type SzcpWorkflow,
} from "../../../forge/szcp/index.js";
import { parseUdplFile } from "../../../forge/udpl/index.js";

function seedWorkflow(question = "Are you alive?"): SzcpWorkflow {
  const { sequences, config } = parseUdplFile("test/fixtures/udpl/seed-fixed.toml");
  const program = newProgram(sequences, {}, config);
  program.run("setup");
  program.loop("control", (loop) => loop.run("reasoning", { question }), { min: 1, max: 6 });
  program.run("conclusion");
  program.extract("training_data", ["answer"]);
  return program.compile()();
}

function szcpError(input: unknown): SzcpError {
  try {
    deserializeWorkflow(input);
  } catch (err) {
    if (err instanceof SzcpError) return err;
    throw err;
  }
  throw new Error("expected an SzcpError");
}

const mutate = (f: (w: any) => void): unknown => {
  const w = JSON.parse(serializeWorkflow(seedWorkflow()));
  f(w);
  return w;
};

describe("SZCP serialization", () => {
  it("is plain JSON with a format and version", () => {
    const parsed = JSON.parse(serializeWorkflow(seedWorkflow()));
    expect(parsed.format).toBe("forge.szcp");
    expect(parsed.version).toBe(1);
    expect(szcpSchema.safeParse(parsed).success).toBe(true);
  });

  it("serialize → deserialize → serialize is byte-identical, whatever the input's key order", () => {
    const w = seedWorkflow();
    const text = serializeWorkflow(w);
    expect(serializeWorkflow(deserializeWorkflow(text))).toBe(text);
    const shuffled = JSON.parse(text);
    const reversed = Object.fromEntries(Object.entries(shuffled).reverse());
    reversed.zones = shuffled.zones.map((z: object) => Object.fromEntries(Object.entries(z).reverse()));
    expect(serializeWorkflow(deserializeWorkflow(JSON.stringify(reversed)))).toBe(text);
    expect(serializeWorkflow(deserializeWorkflow(serializeWorkflow(w, { indent: 2 })))).toBe(text);
  });

  it("the hash is stable, 16 hex chars, and changes with the content", () => {
    const a = workflowHash(seedWorkflow());
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(workflowHash(seedWorkflow())).toBe(a);
    expect(workflowHash(deserializeWorkflow(serializeWorkflow(seedWorkflow())))).toBe(a);
    expect(workflowHash(seedWorkflow("Are you there?"))).not.toBe(a);
  });
});

describe("SZCP JSON Schema export", () => {
  it("describes the same top-level shape, with the format pinned", () => {
    const schema = szcpJsonSchema() as { properties: Record<string, { const?: unknown }>; required: string[]; additionalProperties: boolean };
    expect(schema.required.sort()).toEqual(["config", "counters", "extractions", "format", "meta", "version", "zones"]);
    expect(schema.properties.format.const).toBe("forge.szcp");
    expect(schema.additionalProperties).toBe(false);
  });
});

describe("SZCP validation of untrusted input names the JSON path", () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ["not JSON", "{nope", "$", /not JSON/],
    ["wrong format", mutate((w) => (w.format = "other")), "$.format", /forge\.szcp/],
    ["future version", mutate((w) => (w.version = 2)), "$.version", /1/],
    ["missing field", mutate((w) => delete w.zones[2].advance), "$.zones[2].advance", /string/],
    ["wrong type", mutate((w) => (w.zones[3].next = "4")), "$.zones[3].next", /int|number/],
    ["fractional target", mutate((w) => (w.zones[1].jump = 1.5)), "$.zones[1].jump", /int/],
    ["target below END", mutate((w) => (w.zones[0].next = -2)), "$.zones[0].next", />=\s*-1|too small/i],
    ["target past the end", mutate((w) => (w.zones[7].next = 8)), "$.zones[7].next", /past the last zone/],
    ["unknown key", mutate((w) => (w.zones[4].colour = "red")), "$.zones[4].colour", /Unrecognized key/],
    ["counter out of range", mutate((w) => (w.zones[3].loop.counter = 1)), "$.zones[3].loop.counter", /counters is 1/],
    ["loop on a non-jump site", mutate((w) => (w.zones[2].loop = { counter: 0, min: null, max: null })), "$.zones[2].loop", /not a jump site/],
    ["advance mismatching the zone", mutate((w) => (w.zones[0].advance = "[EOS]")), "$.zones[0].advance", /expected "\[Answer\]"/],
    ["undeclared tool", mutate((w) => (w.zones[1].capture = "search")), "$.zones[1].capture", /not in config\.tools/],
    ["bad escape", mutate((w) => (w.config.escape = { kind: "pair", open: "x" })), "$.config.escape.close", /string/],
    ["bad meta value", mutate((w) => (w.meta.source = 3)), "$.meta.source", /string/],
    ["empty extraction tags", mutate((w) => (w.extractions[0].tags = [])), "$.extractions[0].tags", /too small|>=1/i],
  ];
  for (const [name, input, path, message] of cases) {
    it(name, () => {
      const err = szcpError(input);
      expect(err.path).toBe(path);
      expect(err.issues[0].message).toMatch(message);
      expect(err.message).toContain(`at ${path}:`);
    });
  }
});

describe("dumps of the seed workflow", () => {
  const w = seedWorkflow();

  it("the listing shows the loop head's jump (exit) and the body's back edge", () => {
    const text = dumpWorkflow(w);
    const line = (id: number): string => text.split("\n").find((l) => l.startsWith(`${id} `))!;
    expect(line(3)).toMatch(/control\[0\]\.1\s+next → 4\s+jump → 6\s+loop#0 min 1 max 6/);
    expect(line(5)).toMatch(/reasoning\[0\]\.1\s+next → 2\s+\(back edge\)/);
    expect(line(7)).toMatch(/conclusion\[0\]\.1\s+next → END\s+tags answer/);
    expect(text).toContain("extractions: training_data = answer");
  });

  it("Mermaid and DOT carry the same edges", () => {
    const mermaid = workflowToMermaid(w);
    expect(mermaid.startsWith("flowchart TD\n")).toBe(true);
    expect(mermaid).toContain("z3 --> z4");
    expect(mermaid).toContain("z3 -.->|jump: exit loop#0 min 1 max 6| z6");
    expect(mermaid).toContain("z5 -->|back| z2");
    expect(mermaid).toContain("z7 --> END");
    const dot = workflowToDot(w);
    expect(dot).toMatch(/^digraph workflow \{/);
    expect(dot).toContain('z3 -> z6 [style=dashed, label="jump (loop#0 min 1 max 6)"];');
    expect(dot).toContain('z5 -> z2 [label="back", constraint=false];');
    expect(dot.trim().endsWith("}")).toBe(true);
  });
});
