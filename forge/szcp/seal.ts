/**
 * Sealed workflows: a validated, canonical workflow deep-frozen so that what is computed from
 * it once (its hash, its compiled program) stays true for as long as it lives. The HTTP server
 * seals what it admits and a queue worker what it decodes; `workflowHash` and the compile
 * cache (forge/ttfa/compile-cache.ts) then work from the object's identity instead of
 * re-validating and re-serializing a workflow of up to SZCP_LIMITS.maxZones zones at every step.
 */
import type { SzcpWorkflow } from "./types.js";

const sealed = new WeakMap<object, { sha256?: string }>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
}

/**
 * Deep-freezes a workflow returned by `deserializeWorkflow` (validated and canonical: the
 * caller vouches for that) and marks it sealed; returns it.
 */
export function sealWorkflow(workflow: SzcpWorkflow): SzcpWorkflow {
  if (sealed.has(workflow)) return workflow;
  deepFreeze(workflow);
  sealed.set(workflow, {});
  return workflow;
}

export function isSealed(workflow: SzcpWorkflow): boolean {
  return sealed.has(workflow);
}

/** The memo of a sealed workflow (undefined when it is not sealed). */
export function sealedMemo(workflow: SzcpWorkflow): { sha256?: string } | undefined {
  return sealed.get(workflow);
}
