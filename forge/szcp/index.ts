/** SZCP: the serializable workflow at the client/backend boundary (docs/language.md#szcp-the-serializable-workflow). */
export * from "./types.js";
export { szcpSchema, szcpZoneSchema, szcpConfigSchema, szcpLoopSchema, szcpExtractionSchema, escapeSpecSchema, checkWorkflowSemantics, szcpJsonSchema } from "./schema.js";
export { serializeWorkflow, deserializeWorkflow, validateWorkflow, canonicalWorkflow, type SerializeOptions } from "./serialize.js";
export { workflowHash } from "./hash.js";
export { dumpWorkflow, workflowToMermaid, workflowToDot } from "./dump.js";
export { SzcpError, jsonPath, type SzcpIssue } from "./errors.js";
