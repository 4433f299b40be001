/**
 * Input resolution for the Steps editor: which required inputs of a step are not wired (shown
 * red), and what each input may be wired to — outputs of the steps before it (grouped by step),
 * the workflow's own inputs, the environment variables the workflow may read (`$NAME`), or a
 * literal. Pure and browser-safe.
 */
import type { AgentDoc, Catalog, StepDef } from "./types.js";

export interface WiringOption {
  /** What is written into the step's input. */
  value: string;
  label: string;
  help: string;
}

export interface WiringGroup {
  kind: "workflow-input" | "step" | "env";
  /** "workflow inputs", "step fetch", "environment". */
  label: string;
  options: WiringOption[];
}

/** Required inputs of the step's agent that the step does not wire (an empty string counts as not wired). */
export function unwiredInputs(step: StepDef, catalog: Catalog): string[] {
  const agent = catalog.get(step.agent);
  if (!agent) return [];
  const given = step.inputs ?? {};
  return agent.inputs.map((p) => p.name).filter((name) => given[name] === undefined || given[name] === "");
}

/** Step index → its unwired required inputs, for every step that has some. */
export function unwiredSteps(doc: AgentDoc, catalog: Catalog): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const step of doc.steps ?? []) {
    const missing = unwiredInputs(step, catalog);
    if (missing.length > 0) out.set(step.id, missing);
  }
  return out;
}

/**
 * Steps whose results step `index` may read: in a workflow without `dependsOn` (sequential) every
 * earlier step; otherwise its transitive `dependsOn` ancestors, in file order.
 */
export function upstreamSteps(doc: AgentDoc, index: number): StepDef[] {
  const steps = doc.steps ?? [];
  const sequential = steps.every((s) => s.dependsOn === undefined);
  if (sequential) return steps.slice(0, index);
  const byId = new Map(steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const stack = [...(steps[index]?.dependsOn ?? [])];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(byId.get(id)?.dependsOn ?? []));
  }
  return steps.filter((s) => seen.has(s.id));
}

/** The dropdown of one input of step `index`: workflow inputs, earlier steps' outputs, allowed env variables. */
export function wiringOptions(doc: AgentDoc, index: number, catalog: Catalog, allowedEnv: readonly string[]): WiringGroup[] {
  const groups: WiringGroup[] = [];
  const ports = [...Object.entries(doc.inputs ?? {}), ...Object.entries(doc.optionalInputs ?? {})];
  if (ports.length > 0) {
    groups.push({
      kind: "workflow-input",
      label: "workflow inputs",
      options: ports.map(([name, p]) => ({ value: `{{${name}}}`, label: `⇥ ${name}`, help: p.help ?? "" })),
    });
  }
  for (const step of upstreamSteps(doc, index)) {
    const agent = catalog.get(step.agent);
    const outputs = agent?.outputs ?? [];
    groups.push({
      kind: "step",
      label: `step ${step.id}`,
      options: [
        ...outputs.map((o) => ({ value: `{{${step.id}.${o.name}}}`, label: `${step.id}.${o.name}`, help: o.help })),
        { value: `{{${step.id}}}`, label: `${step.id} (all outputs)`, help: "every output of the step, as one object" },
      ],
    });
  }
  if (allowedEnv.length > 0) {
    groups.push({
      kind: "env",
      label: "environment",
      options: allowedEnv.map((name) => ({ value: `{{$${name}}}`, label: `$${name}`, help: "environment variable (allowed by --allow-env)" })),
    });
  }
  return groups;
}

/** A new step id for `agent` not used in `doc`: the agent's last name part, then _2, _3, … */
export function freshStepId(doc: AgentDoc, agent: string): string {
  const base = (agent.split(".").pop() ?? "step").replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=[0-9])/, "_") || "step";
  const used = new Set([...(doc.steps ?? []).map((s) => s.id), ...Object.keys(doc.inputs ?? {}), ...Object.keys(doc.optionalInputs ?? {})]);
  if (!used.has(base)) return base;
  for (let n = 2; ; n++) if (!used.has(`${base}_${n}`)) return `${base}_${n}`;
}
