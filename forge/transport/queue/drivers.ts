/**
 * bullmq and ioredis, loaded on first use: importing forge (a notebook kernel's start, a
 * script that never touches Redis) need not load them (≈ 0.3 s together).
 *
 * Both are CommonJS packages, so `require` returns the very instance an `import` of them
 * gives (no second copy of BullMQ's classes), and it can be called where the API is
 * synchronous (`bullConnection`).
 */
import { createRequire } from "node:module";
import type * as BullMQ from "bullmq";
import type * as IORedis from "ioredis";

const require = createRequire(import.meta.url);

/** The bullmq module (loaded on the first call). */
export const bullmq = (): typeof BullMQ => require("bullmq") as typeof BullMQ;

/** The ioredis module (loaded on the first call). */
export const ioredis = (): typeof IORedis => require("ioredis") as typeof IORedis;
