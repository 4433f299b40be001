/**
 * `json_schema` zones end to end on the project's real model and tokenizer (models/forge-tiny):
 * UDPL → SZCP → the engine at batch 16, temperature 1 (the model wanders), through a
 * repeated block. Every answer must `JSON.parse` and validate against the schema by ajv, a
 * validator that shares nothing with our compiler; the run's workflow says which zone had
 * which schema, in the run and in its Arrow export.
 */
import { Ajv } from "ajv";
import { tableFromIPC } from "apache-arrow";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as forge from "../../../forge/index.js";
import { exportRun } from "../../../datasets/index.js";

const SCHEMA = {
  type: "object",
  properties: {
    verdict: { enum: ["yes", "no", "unsure"] },
    confidence: { type: "integer", minimum: 0, maximum: 100 },
    reason: { type: "string", maxLength: 10 },
    tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 3 }, maxItems: 2 },
    flag: { type: ["boolean", "null"] },
    score: { type: "number" },
  },
  required: ["verdict", "confidence"],
  additionalProperties: false,
};

const UDPL = `
[config]
zone_tokens = ["[Prompt]", "[Answer]", "[EOS]"]
required_tokens = ["[Prompt]"]
valid_tags = ["verdict"]
sequences = ["judge"]
control_token = "[Jump]"

[[judge]]
text = "[Prompt] Is the sky blue? Answer in JSON. [Answer]"
tags = [[], ["verdict"]]
repeats = 2
max_gen_tokens = 400
json_schema = '''
${JSON.stringify(SCHEMA, null, 2)}
'''
`;

let backend: Awaited<ReturnType<typeof forge.makeBackend>>;
beforeAll(async () => {
  backend = await forge.makeBackend(); // models/forge-tiny with its own tokenizer
}, 300_000);

describe("json_schema zones on forge-tiny", { timeout: 600_000 }, () => {
  it("at batch 16 and temperature 1, every answer parses and validates against the schema", async () => {
    const { sequences, config } = forge.parseUdpl(UDPL, { file: "judge.toml" });
    const program = forge.newProgram(sequences, {}, config);
    program.run("judge");
    program.extract("verdict", ["verdict"]);
    const workflow = program.compile()();
    const constrained = workflow.zones.filter((z) => z.constraint);
    expect(constrained).toHaveLength(2); // both repetitions
    for (const z of constrained) {
      expect(z.constraint!.kind).toBe("json_schema");
      expect(JSON.parse((z.constraint as { schema: string }).schema)).toEqual(SCHEMA);
    }

    const run = await backend.run(workflow, { batchSize: 16, instances: 16, seed: 7, temperature: 1 });
    expect(run.streams).toHaveLength(16);
    const validate = new Ajv({ strict: false }).compile(SCHEMA);
    const answers: string[] = [];
    for (const stream of run.streams) {
      expect(stream.status).toBe("done");
      const text = backend.tokenizer.decode(stream.tokens);
      const found = [...text.matchAll(/\[Answer\]([\s\S]*?)\[EOS\]/g)].map((m) => m[1]!);
      expect(found, text).toHaveLength(2);
      answers.push(...found);
    }
    for (const answer of answers) {
      let value: unknown;
      expect(() => (value = JSON.parse(answer)), answer).not.toThrow();
      expect(validate(value), `${answer}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    // The model wandered: the answers are not all one string, and optional properties appear in some and not others.
    expect(new Set(answers).size).toBeGreaterThan(4);
    console.log(`json_schema e2e: ${answers.length} answers, ${new Set(answers).size} distinct; e.g. ${answers.slice(0, 3).join("  ")}`);
    // The run carries the workflow, and an Arrow export holds it in its metadata: read back by apache-arrow itself, it says which zone had which schema.
    const dir = mkdtempSync(join(tmpdir(), "forge-json-schema-"));
    try {
      const { files } = await exportRun(run, { dir, formats: ["arrow"], name: "judge" });
      const table = tableFromIPC(readFileSync(files.samples.arrow!));
      const exported = JSON.parse(table.schema.metadata.get("forge.workflow")!) as forge.SzcpWorkflow;
      const zones = exported.zones.flatMap((z, id) => (z.constraint?.kind === "json_schema" ? [{ id, schema: JSON.parse(z.constraint.schema) }] : []));
      expect(zones).toEqual(constrained.map((z) => ({ id: workflow.zones.indexOf(z), schema: SCHEMA })));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
