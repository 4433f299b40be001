/** LZCP stage: SZCP → token arrays and tag masks (the only backend stage that tokenizes). */
export type { LzcpWorkflow, LzcpZone, LzcpEscape, LzcpExtraction, TokenVocabulary } from "./types.js";
export { LZCP_END } from "./types.js";
export { LzcpError } from "./errors.js";
export { lowerWorkflow } from "./lower.js";
export { vocabularyOf, tokenBytesOf } from "./vocabulary.js";
