/**
 * Compiled programs, kept per tokenizer and per workflow (issue #16 item 8). A backend lowers
 * and assembles a workflow when it checks it at admission and again when it runs it (HTTP
 * server: request.ts then jobs.ts; queue worker: check then run); the trigger table alone is
 * states × (vocabulary + 1) cells. The cache makes the second one a lookup.
 *
 * Key: the tokenizer object (weakly held) and the sha256 of the workflow's canonical JSON, so
 * a workflow edited in place between two calls is compiled again (a sealed workflow, frozen,
 * keeps its hash memoized: forge/szcp/seal.ts). Programs are never mutated
 * after assembly, so callers share them. Bounded (LRU): at most `COMPILE_CACHE_ENTRIES`
 * programs and `COMPILE_CACHE_BYTES` of typed arrays per tokenizer; a larger program is not kept.
 */
import { createHash } from "node:crypto";
import { canonicalWorkflow } from "../szcp/serialize.js";
import { workflowSha256 } from "../szcp/hash.js";
import { isSealed } from "../szcp/seal.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import type { TtfaProgram } from "./types.js";

export const COMPILE_CACHE_ENTRIES = 8;
export const COMPILE_CACHE_BYTES = 64 * 1024 * 1024;

interface Lru {
  programs: Map<string, { program: TtfaProgram; bytes: number }>;
  bytes: number;
}

const caches = new WeakMap<object, Lru>();
let hits = 0;
let misses = 0;

/**
 * The cache key of a workflow: a sealed one's memoized hash, else the sha256 of its canonical
 * JSON; null when it cannot be put in canonical form (it will fail to compile, uncached).
 */
function workflowKey(workflow: SzcpWorkflow): string | null {
  if (isSealed(workflow)) return workflowSha256(workflow);
  try {
    return createHash("sha256").update(JSON.stringify(canonicalWorkflow(workflow))).digest("hex");
  } catch {
    return null;
  }
}

function programBytes(p: TtfaProgram): number {
  let bytes = p.constraints.next.byteLength + p.trigger.next.byteLength + p.trigger.match.byteLength + p.trigger.bytes.delta.byteLength + p.forcedTokens.byteLength + p.tags.byteLength;
  bytes += p.zoneCount * 4 * 19;
  return bytes;
}

/** The program for (tokenizer, workflow) from the cache, or `compile()`'s, kept for next time. */
export function cachedProgram(tokenizer: object, workflow: SzcpWorkflow, compile: () => TtfaProgram): TtfaProgram {
  const key = workflowKey(workflow);
  if (key === null) return compile();
  let lru = caches.get(tokenizer);
  if (!lru) caches.set(tokenizer, (lru = { programs: new Map(), bytes: 0 }));
  const hit = lru.programs.get(key);
  if (hit) {
    hits++;
    lru.programs.delete(key); // most recently used last
    lru.programs.set(key, hit);
    return hit.program;
  }
  misses++;
  const program = compile();
  const bytes = programBytes(program);
  if (bytes > COMPILE_CACHE_BYTES) return program;
  lru.programs.set(key, { program, bytes });
  lru.bytes += bytes;
  for (const [oldKey, old] of lru.programs) {
    if (lru.programs.size <= COMPILE_CACHE_ENTRIES && lru.bytes <= COMPILE_CACHE_BYTES) break;
    lru.programs.delete(oldKey);
    lru.bytes -= old.bytes;
  }
  return program;
}

/** Hits and misses since the process started (tests and benchmarks). */
export function compileCacheStats(): { hits: number; misses: number } {
  return { hits, misses };
}
