/** SZCP: the serializable workflow at the client/backend boundary (docs/language.md#szcp-the-serializable-workflow). */
export * from "./types.js";
export { szcpSchema, szcpZoneSchema, szcpConfigSchema, szcpLoopSchema, szcpExtractionSchema, escapeSpecSchema, checkWorkflowSemantics, szcpJsonSchema } from "./schema.js";
export { serializeWorkflow, deserializeWorkflow, deserializeWorkflowInSlices, validateWorkflow, canonicalWorkflow, type SerializeOptions } from "./serialize.js";
export { workflowHash, workflowSha256 } from "./hash.js";
export { dumpWorkflow, workflowToMermaid, workflowToDot } from "./dump.js";
export { SzcpError, jsonPath, type SzcpIssue } from "./errors.js";
export { SZCP_LIMITS, RESERVED_EXTRACTION_NAMES, RESERVED_KEY_NAMES, type SzcpLimitName } from "./limits.js";
export { sealWorkflow, isSealed } from "./seal.js";
