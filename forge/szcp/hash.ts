/** A short stable identity for a workflow: sha256 of its canonical serialization, hex, 16 chars. */
import { createHash } from "node:crypto";
import { serializeWorkflow } from "./serialize.js";
import type { SzcpWorkflow } from "./types.js";

export function workflowHash(workflow: SzcpWorkflow): string {
  return createHash("sha256").update(serializeWorkflow(workflow)).digest("hex").slice(0, 16);
}
