/**
 * Extract to sub-workflow: several steps of a workflow become a workflow agent of their own,
 * and one step that calls it takes their place. The new agent's interface comes from
 * dependency analysis:
 *  - inputs: every name the selection reads from outside it — a workflow input (`x`, `$x`) or an
 *    outside step (`s`, passed whole as `{{s}}`, so `{{s.out}}` inside reads the same value);
 *  - outputs: every selected step read after it (by outside steps or the workflow's returns),
 *    each returned whole (`{{t}}`); outside readers of `t.out` then read `<new step>.t.out`.
 * Step ids inside the new agent are unchanged, so its templates need no rewriting. Browser-safe.
 */
import { parseCondition, parseTemplate, rootNames, templateRootNames } from "../../agents/expressions/index.js";
import { StudioError } from "./errors.js";
import type { AgentDoc, PortDef, StepDef } from "./types.js";

export interface ExtractResult {
  parent: AgentDoc;
  child: AgentDoc;
  /** Id of the step that calls the new agent. */
  stepId: string;
  /** Names read from outside (the new agent's inputs) and selected steps read after (its outputs). */
  inputs: string[];
  outputs: string[];
}

/** Most steps one extraction may move (the analysis is linear; this bounds the request). */
export const MAX_EXTRACT_STEPS = 10_000;

/** Root names (step ids, inputs, `$variables`) read by a step input value, nested strings included. */
function valueNames(value: unknown, where: string, into: Set<string>): void {
  if (typeof value === "string") {
    if (value.includes("{{")) for (const n of templateRootNames(parseTemplate(value, where))) into.add(n);
  } else if (Array.isArray(value)) value.forEach((v) => valueNames(v, where, into));
  else if (value && typeof value === "object") for (const v of Object.values(value)) valueNames(v, where, into);
}

/** Every name step `step` reads (inputs and condition); `$x` stays prefixed. */
export function stepReads(step: StepDef, workflow: string): Set<string> {
  const names = new Set<string>();
  const where = `workflow "${workflow}", step "${step.id}"`;
  valueNames(step.inputs ?? {}, where, names);
  if (step.condition !== undefined) for (const n of rootNames(parseCondition(step.condition, `${where}, condition`))) names.add(n);
  return names;
}

const IDENT = /[A-Za-z_$][A-Za-z0-9_$]*/y;

/**
 * Rename root identifiers in expression text: `t.out` → `X.t.out` where `t` is in `renames`.
 * Skips quoted strings, member names (after `.`) and filter names (after `|`).
 */
function renameInExpression(text: string, renames: ReadonlyMap<string, string>): string {
  let out = "";
  let prev = ""; // last non-space character copied
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      prev = c;
      i = j + 1;
      continue;
    }
    IDENT.lastIndex = i;
    const m = /[A-Za-z_$]/.test(c) ? IDENT.exec(text) : null;
    if (m) {
      const name = m[0];
      const renamed = prev !== "." && prev !== "|" ? renames.get(name) : undefined;
      out += renamed ?? name;
      prev = name[name.length - 1]!;
      i += name.length;
      continue;
    }
    out += c;
    if (!/\s/.test(c)) prev = c;
    i++;
  }
  return out;
}

/** Rename inside the `{{…}}` holes of a template (text outside holes is literal). */
function renameInTemplate(text: string, renames: ReadonlyMap<string, string>): string {
  return text.replace(/\{\{([\s\S]*?)\}\}/g, (_, inner: string) => `{{${renameInExpression(inner, renames)}}}`);
}

function renameInValue(value: unknown, renames: ReadonlyMap<string, string>): unknown {
  if (typeof value === "string") return value.includes("{{") ? renameInTemplate(value, renames) : value;
  if (Array.isArray(value)) return value.map((v) => renameInValue(v, renames));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renameInValue(v, renames)]));
  }
  return value;
}

/** A condition mixes holes and bare expressions: rename in both. */
function renameInCondition(text: string, renames: ReadonlyMap<string, string>): string {
  const parts = text.split(/(\{\{[\s\S]*?\}\})/);
  return parts.map((p) => (p.startsWith("{{") ? renameInTemplate(p, renames) : renameInExpression(p, renames))).join("");
}

function handlerTarget(step: StepDef): string | null {
  const f = step.onFailure;
  if (!f || typeof f === "string") return null;
  return "fallback" in f ? f.fallback : f.compensate;
}

/**
 * Move the steps `selected` (ids) of `doc` into a new workflow agent `name`, replaced by one step
 * `stepId` (default: `name`'s last part) that calls it. Throws StudioError when the selection
 * cannot be moved without changing what the workflow does.
 */
export function extractSubWorkflow(doc: AgentDoc, selected: readonly string[], name: string, stepId?: string): ExtractResult {
  const steps = doc.steps ?? [];
  const where = `extract from workflow "${doc.name}"`;
  if (selected.length === 0) throw new StudioError(where, "select at least one step");
  if (selected.length > MAX_EXTRACT_STEPS) throw new StudioError(where, `at most ${MAX_EXTRACT_STEPS} steps at once`);
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) throw new StudioError(where, `the new agent's name "${name}" is not a name (letters, digits, _ . -)`);
  const chosen = new Set(selected);
  const byId = new Map(steps.map((s, i) => [s.id, i]));
  for (const id of chosen) if (!byId.has(id)) throw new StudioError(where, `no step "${id}"`);
  const wfInputs = { ...(doc.inputs ?? {}), ...(doc.optionalInputs ?? {}) };
  const newId = stepId ?? (name.split(".").pop() ?? name).replace(/[^A-Za-z0-9_]/g, "_");
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(newId)) throw new StudioError(where, `the new step id "${newId}" is not a name`);
  if (byId.has(newId) && !chosen.has(newId)) throw new StudioError(where, `a step "${newId}" already exists`);
  if (newId in wfInputs) throw new StudioError(where, `"${newId}" is a workflow input`);

  // Failure handlers may not cross the boundary: the handler runs in the scope of its owner.
  for (const s of steps) {
    const t = handlerTarget(s);
    if (t !== null && chosen.has(s.id) !== chosen.has(t)) {
      throw new StudioError(where, `step "${s.id}" and its onFailure handler "${t}" must be extracted together`);
    }
  }

  const sequential = steps.every((s) => s.dependsOn === undefined);
  const indices = steps.map((s, i) => (chosen.has(s.id) ? i : -1)).filter((i) => i >= 0);
  const first = indices[0]!;
  if (sequential) {
    // Declaration order is execution order: the selection must be one contiguous run of steps.
    const last = indices[indices.length - 1]!;
    if (last - first + 1 !== indices.length) {
      throw new StudioError(where, "in a workflow without dependsOn the selected steps must be consecutive");
    }
  } else {
    // No path may leave the selection and come back into it (the new step would wait for itself).
    const dependents = new Map<string, string[]>();
    for (const s of steps) {
      for (const d of s.dependsOn ?? []) {
        const list = dependents.get(d);
        if (list) list.push(s.id);
        else dependents.set(d, [s.id]);
      }
    }
    const outsideReach = new Set<string>();
    const stack: string[] = [];
    for (const id of chosen) for (const d of dependents.get(id) ?? []) if (!chosen.has(d)) stack.push(d);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (outsideReach.has(id)) continue;
      outsideReach.add(id);
      for (const d of dependents.get(id) ?? []) {
        if (chosen.has(d)) throw new StudioError(where, `step "${d}" depends, through "${id}" outside the selection, on another selected step`);
        stack.push(d);
      }
    }
  }

  // Inputs: what the selection reads from outside.
  const childInputs: Record<string, PortDef> = {};
  const wiring: Record<string, string> = {};
  const outsideDeps = new Set<string>();
  for (const i of indices) {
    const s = steps[i]!;
    for (const raw of stepReads(s, doc.name)) {
      const n = raw.startsWith("$") ? raw.slice(1) : raw;
      if (raw.startsWith("$") && !(n in wfInputs)) continue; // an environment variable: the child reads the same env
      if (chosen.has(n)) continue;
      if (n in wfInputs) {
        childInputs[n] = { ...wfInputs[n], help: wfInputs[n]!.help ?? "" };
        delete childInputs[n]!.default; // the parent passes its value, default applied
      } else if (byId.has(n)) {
        childInputs[n] = { help: `outputs of step "${n}" of ${doc.name}`, type: "json" };
        outsideDeps.add(n);
      } else continue; // an unknown name: the planner reports it in both workflows alike
      wiring[n] = `{{${n}}}`;
    }
    for (const d of s.dependsOn ?? []) if (!chosen.has(d)) outsideDeps.add(d);
  }

  // Outputs: selected steps read by outside steps or by the workflow's returns.
  const exported = new Set<string>();
  for (const s of steps) {
    if (chosen.has(s.id)) continue;
    for (const raw of stepReads(s, doc.name)) if (chosen.has(raw)) exported.add(raw);
  }
  for (const [out, source] of Object.entries(doc.returns ?? {})) {
    for (const n of templateRootNames(parseTemplate(source, `workflow "${doc.name}", output "${out}"`))) if (chosen.has(n)) exported.add(n);
  }
  const outputs = [...exported].sort((a, b) => byId.get(a)! - byId.get(b)!);
  const renames = new Map(outputs.map((t) => [t, `${newId}.${t}`]));

  const childSteps: StepDef[] = indices.map((i) => {
    const s: StepDef = structuredClone(steps[i]!);
    if (s.dependsOn !== undefined) s.dependsOn = s.dependsOn.filter((d) => chosen.has(d));
    return s;
  });
  const child: AgentDoc = {
    name,
    help: `Extracted from ${doc.name}: steps ${indices.map((i) => steps[i]!.id).join(", ")}`,
    ...(Object.keys(childInputs).length > 0 ? { inputs: childInputs } : {}),
    outputs: Object.fromEntries(outputs.map((t) => [t, { help: `outputs of step "${t}"`, type: "json" as const }])),
    steps: childSteps,
    returns: Object.fromEntries(outputs.map((t) => [t, `{{${t}}}`])),
  };

  const call: StepDef = { id: newId, agent: name, ...(Object.keys(wiring).length > 0 ? { inputs: wiring } : {}) };
  if (!sequential) call.dependsOn = steps.filter((s) => outsideDeps.has(s.id)).map((s) => s.id);
  const parentSteps: StepDef[] = [];
  steps.forEach((s, i) => {
    if (i === first) parentSteps.push(call);
    if (chosen.has(s.id)) return;
    const copy: StepDef = structuredClone(s);
    if (copy.inputs) copy.inputs = renameInValue(copy.inputs, renames) as Record<string, unknown>;
    if (copy.condition !== undefined) copy.condition = renameInCondition(copy.condition, renames);
    if (copy.dependsOn) {
      const deps = copy.dependsOn.map((d) => (chosen.has(d) ? newId : d));
      copy.dependsOn = [...new Set(deps)];
    }
    parentSteps.push(copy);
  });
  const parent: AgentDoc = { ...structuredClone(doc), steps: parentSteps };
  if (doc.returns) parent.returns = Object.fromEntries(Object.entries(doc.returns).map(([k, v]) => [k, renameInTemplate(v, renames)]));

  // The rewrite must leave no outside reader of a moved step.
  for (const s of parentSteps) {
    for (const n of stepReads(s, doc.name)) {
      if (chosen.has(n) && n !== newId) throw new StudioError(where, `step "${s.id}" still reads moved step "${n}" after the rewrite`);
    }
  }
  return { parent, child, stepId: newId, inputs: Object.keys(childInputs), outputs };
}
