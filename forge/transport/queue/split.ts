/**
 * Splitting a request into jobs: contiguous instance ranges. With per-instance randomness
 * (docs/engine.md#sampling) a range run anywhere gives the same streams as in one request, so
 * the split only decides how work spreads over the workers, never what comes out.
 */
import { RequestError } from "../../engine/errors.js";
import type { JobRange } from "./types.js";

/** `total` instances from `firstInstance` on, in jobs of at most `perJob` instances. */
export function splitInstances(total: number, perJob: number, firstInstance = 0): JobRange[] {
  if (!Number.isInteger(total) || total < 1) throw new RequestError(`instances must be a positive integer, got ${total}`);
  if (!Number.isInteger(perJob) || perJob < 1) throw new RequestError(`jobInstances must be a positive integer, got ${perJob}`);
  const jobs: JobRange[] = [];
  for (let start = 0; start < total; start += perJob) {
    jobs.push({ part: jobs.length, firstInstance: firstInstance + start, instances: Math.min(perJob, total - start) });
  }
  return jobs;
}
