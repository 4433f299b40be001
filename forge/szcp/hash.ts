/** A short stable identity for a workflow: sha256 of its canonical serialization, hex, 16 chars. */
import { createHash } from "node:crypto";
import { serializeWorkflow } from "./serialize.js";
import { sealedMemo } from "./seal.js";
import type { SzcpWorkflow } from "./types.js";

export function workflowHash(workflow: SzcpWorkflow): string {
  return workflowSha256(workflow).slice(0, 16);
}

/** The whole sha256 (hex) of the canonical serialization; memoized for a sealed workflow (already canonical and valid). */
export function workflowSha256(workflow: SzcpWorkflow): string {
  const memo = sealedMemo(workflow);
  if (memo) return (memo.sha256 ??= sha256(JSON.stringify(workflow)));
  return sha256(serializeWorkflow(workflow));
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
