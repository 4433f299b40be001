/**
 * Agents defined as data (a .toml or .json file): workflows and templates that users write
 * without TypeScript, loaded by `forge-agent --module flow.toml`. The file is untrusted input,
 * so it is checked against a strict schema and every error names the file, the field and the step.
 *
 *   name = "summarise"            # kind = "workflow" unless given
 *   help = "Split, then shout"
 *   [inputs.text]
 *   help = "the text"
 *   type = "string"               # string | number | boolean | json (default json: any value)
 *   [[steps]]
 *   id = "split"
 *   agent = "words"
 *   inputs = { text = "{{text}}" }
 *   [returns]
 *   count = "{{split.count}}"
 *
 * A file holds one agent, or several under `[[agents]]`.
 */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { defineTemplate, defineWorkflow } from "./define.js";
import { AgentError } from "./errors.js";
import type { Agent, PortSpec, Ports } from "./types.js";

const portSchema = z.strictObject({
  help: z.string().default(""),
  type: z.enum(["string", "number", "boolean", "json"]).default("json"),
  default: z.unknown().optional(),
});

const retrySchema = z.strictObject({
  maxRetries: z.number().int().nonnegative(),
  backoffSeconds: z.number().nonnegative().optional(),
  multiplier: z.number().positive().optional(),
  jitter: z.number().min(0).max(1).optional(),
  maxBackoffSeconds: z.number().positive().optional(),
  retryOn: z.array(z.string()).optional(),
});

const stepSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "a step id is a name: letters, digits, _ (it is used in templates)"),
  agent: z.string().min(1),
  inputs: z.record(z.string(), z.unknown()).optional(),
  dependsOn: z.array(z.string()).optional(),
  condition: z.string().optional(),
  retry: retrySchema.optional(),
  timeoutSeconds: z.number().positive().optional(),
  onFailure: z
    .union([z.enum(["abort", "skip"]), z.strictObject({ fallback: z.string() }), z.strictObject({ compensate: z.string() })])
    .optional(),
});

const common = {
  name: z.string().min(1),
  help: z.string().default(""),
  inputs: z.record(z.string(), portSchema).default({}),
  optionalInputs: z.record(z.string(), portSchema).default({}),
  outputs: z.record(z.string(), portSchema).optional(),
};

const agentSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    ...common,
    kind: z.literal("workflow"),
    steps: z.array(stepSchema).min(1),
    returns: z.record(z.string(), z.string()).default({}),
    concurrency: z.number().int().positive().optional(),
  }),
  z.strictObject({ ...common, kind: z.literal("template"), template: z.string() }),
]);

type AgentDefinition = z.infer<typeof agentSchema>;

const TYPES: Record<string, () => z.ZodType | undefined> = {
  string: () => z.string(),
  number: () => z.coerce.number(),
  boolean: () => z.boolean(),
  json: () => undefined,
};

function ports(defs: Record<string, z.infer<typeof portSchema>>): Ports {
  const out: Ports = {};
  for (const [name, p] of Object.entries(defs)) {
    const port: PortSpec = { help: p.help };
    const schema = TYPES[p.type]!();
    if (schema) port.schema = schema;
    if (p.default !== undefined) port.default = p.default;
    out[name] = port;
  }
  return out;
}

/** `steps[2].retry.maxRetries` (step "fetch") */
function describePath(path: PropertyKey[], data: unknown): string {
  let text = "";
  let node: unknown = data;
  let step = "";
  for (const key of path) {
    text += typeof key === "number" ? `[${key}]` : `${text ? "." : ""}${String(key)}`;
    node = node && typeof node === "object" ? (node as Record<PropertyKey, unknown>)[key] : undefined;
    if (typeof key === "number" && node && typeof node === "object" && typeof (node as { id?: unknown }).id === "string") {
      step = ` (step "${(node as { id: string }).id}")`;
    }
  }
  return (text || "(top level)") + step;
}

/** Turn parsed data into agents; `source` names the file in errors. */
export function agentsFromDefinition(data: unknown, source: string): Agent[] {
  const list = data && typeof data === "object" && Array.isArray((data as { agents?: unknown }).agents)
    ? ((data as { agents: unknown[] }).agents)
    : [data];
  return list.map((entry, i) => {
    const withKind = entry && typeof entry === "object" && !("kind" in entry) ? { kind: "workflow", ...entry } : entry;
    const parsed = agentSchema.safeParse(withKind);
    const where = list.length > 1 ? `${source}: agents[${i}]` : source;
    if (!parsed.success) {
      const lines = parsed.error.issues.map((issue) => `  ${describePath(issue.path, withKind)}: ${issue.message}`);
      throw new AgentError(`${where}: invalid agent definition:\n${lines.join("\n")}`, "definition");
    }
    return build(parsed.data, where);
  });
}

function build(d: AgentDefinition, where: string): Agent {
  const base = { name: d.name, help: d.help, inputs: ports(d.inputs), optionalInputs: ports(d.optionalInputs), outputs: d.outputs && ports(d.outputs) };
  try {
    if (d.kind === "template") return defineTemplate({ ...base, template: d.template });
    return defineWorkflow({ ...base, steps: d.steps, returns: d.returns, concurrency: d.concurrency });
  } catch (error) {
    throw new AgentError(`${where}: ${(error as Error).message}`, "definition");
  }
}

/** Read agents from a .toml or .json file. */
export function loadAgentFile(path: string): Agent[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new AgentError(`cannot read agent file "${path}": ${(error as Error).message}`, "module");
  }
  let data: unknown;
  try {
    data = extname(path) === ".json" ? JSON.parse(text) : parseToml(text);
  } catch (error) {
    // smol-toml's message carries line, column and a caret excerpt.
    throw new AgentError(`${path}: not valid ${extname(path).slice(1).toUpperCase()}: ${(error as Error).message}`, "definition");
  }
  return agentsFromDefinition(data, path);
}
