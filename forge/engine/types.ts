/**
 * The engine's vocabulary: what a request asks for, and the pieces a backend holds.
 */

/** A tool a workflow can `capture` to and `feed` from: text in, text out. */
export type ToolFunction = (input: string, context: { instance: number; tool: string }) => Promise<string> | string;
export type ToolRegistry = Record<string, ToolFunction>;

/** What a request asks for: declared once, as a zod schema, in options.ts. */
export type { RequestOptions, WireRequestOptions } from "./options.js";
