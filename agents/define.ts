/**
 * Constructors for the three kinds of agent, and the check every call's inputs go through
 * (required present, nothing undeclared, each value through its zod schema, defaults filled).
 */
import { AgentError, InputError } from "./errors.js";
import { parseTemplate, templateRootNames } from "./expressions/index.js";
import type { Agent, Inputs, Ports, ProcAgent, StepSpec, TemplateAgent, WorkflowAgent } from "./types.js";

interface Declared {
  name: string;
  help: string;
  inputs?: Ports;
  optionalInputs?: Ports;
  outputs?: Ports;
}

function base(d: Declared) {
  if (!d.name || typeof d.name !== "string") throw new AgentError("an agent needs a name", "definition");
  const inputs = d.inputs ?? {};
  const optionalInputs = d.optionalInputs ?? {};
  for (const name of Object.keys(optionalInputs)) {
    if (Object.hasOwn(inputs, name)) throw new AgentError(`agent "${d.name}": "${name}" is both required and optional`, "definition");
  }
  return { name: d.name, help: d.help ?? "", inputs, optionalInputs, outputs: d.outputs ?? {} };
}

/** A proc agent; declare `sideEffects` when `run` changes the world outside the run (see ProcAgent). */
export function defineProc(d: Declared & { run: ProcAgent["run"]; sideEffects?: ProcAgent["sideEffects"] }): ProcAgent {
  const agent: ProcAgent = { ...base(d), kind: "proc", run: d.run };
  if (d.sideEffects) agent.sideEffects = d.sideEffects;
  return agent;
}

/** A template agent; every name its template reads must be a declared input. Output: `text`. */
export function defineTemplate(d: Declared & { template: string }): TemplateAgent {
  const agent: TemplateAgent = {
    ...base(d),
    kind: "template",
    template: d.template,
    outputs: d.outputs ?? { text: { help: "the rendered text" } },
  };
  const where = `template agent "${d.name}"`;
  const names = templateRootNames(parseTemplate(d.template, where));
  const undeclared = [...names].filter((n) => !declaresInput(agent, n.replace(/^\$/, "")));
  if (undeclared.length > 0) {
    throw new AgentError(`${where}: the template reads undeclared input(s) ${undeclared.join(", ")}`, "definition");
  }
  return agent;
}

export function defineWorkflow(
  d: Declared & { steps: StepSpec[]; returns?: Record<string, string>; concurrency?: number },
): WorkflowAgent {
  const returns = d.returns ?? {};
  const outputs = d.outputs ?? Object.fromEntries(Object.keys(returns).map((k) => [k, { help: `from ${returns[k]}` }]));
  return { ...base({ ...d, outputs }), kind: "workflow", steps: d.steps, returns, concurrency: d.concurrency };
}

export function declaresInput(agent: Agent, name: string): boolean {
  // Own keys: `constructor` or `toString` is not a declared input.
  return Object.hasOwn(agent.inputs, name) || Object.hasOwn(agent.optionalInputs, name);
}

/** Check and normalise the inputs of one call; throws InputError naming agent and input. */
export function checkInputs(agent: Agent, given: Inputs): Inputs {
  const out: Inputs = {};
  for (const name of Object.keys(given)) {
    if (!declaresInput(agent, name)) {
      const known = [...Object.keys(agent.inputs), ...Object.keys(agent.optionalInputs)];
      throw new InputError(agent.name, name, `is not declared (declared: ${known.join(", ") || "none"})`);
    }
  }
  for (const [name, port] of Object.entries(agent.inputs)) {
    if (given[name] === undefined) throw new InputError(agent.name, name, "is required but was not given");
    out[name] = parsePort(agent.name, name, port.schema, given[name]);
  }
  for (const [name, port] of Object.entries(agent.optionalInputs)) {
    const value = given[name] === undefined ? port.default : given[name];
    if (value !== undefined) out[name] = parsePort(agent.name, name, port.schema, value);
  }
  return out;
}

function parsePort(agent: string, name: string, schema: Ports[string]["schema"], value: unknown): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ` : "") + i.message);
  throw new InputError(agent, name, issues.join("; "));
}
