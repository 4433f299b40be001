/**
 * A Session: what callers hold (the seed's `make_session`). `session.request` is the same
 * whether its ForgeServer is direct, HTTP or queued: it checks the config against the
 * workflow, lends the request the ambient signal and progress display (ambient.ts), submits,
 * and keys the Run's extractions by name.
 */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { Run } from "../run/types.js";
import type { RequestOptions } from "../engine/options.js";
import type { ProgressListener } from "../engine/progress.js";
import { RequestError } from "../engine/errors.js";
import { ambientProgress, ambientSignal } from "./ambient.js";
import type { ForgeServer, RequestResult } from "./contract.js";

/** The parts of a UDPL config a request checks against the workflow (the seed passes it along). */
export interface RequestConfig {
  zoneTokens?: string[];
  zone_tokens?: string[];
}

export class Session {
  constructor(readonly server: ForgeServer) {}

  /** Runs the workflow over a batch of streams; results keyed by extraction name. */
  async request(config: RequestConfig | null, workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<RequestResult> {
    const zoneTokens = config?.zoneTokens ?? config?.zone_tokens;
    if (zoneTokens && JSON.stringify(zoneTokens) !== JSON.stringify(workflow.config.zoneTokens)) {
      throw new RequestError(
        `request: the config's zone tokens ${JSON.stringify(zoneTokens)} differ from the workflow's ${JSON.stringify(workflow.config.zoneTokens)}`,
      );
    }
    const listeners = [options.onProgress, ambientProgress()].filter((l): l is ProgressListener => !!l);
    const run = await this.server.submit(workflow, {
      ...options,
      signal: options.signal ?? ambientSignal(),
      onProgress: listeners.length ? (p) => listeners.forEach((l) => l(p)) : undefined,
    });
    return toResult(run);
  }
}

export function toResult(run: Run): RequestResult {
  const result = { ...run.extractions } as Record<string, string[]>;
  Object.defineProperty(result, "run", { value: run, enumerable: false });
  return result as RequestResult;
}
