/**
 * The session contract: what every place a request can run implements. A `ForgeServer` takes
 * an SZCP workflow and request options and returns the Run; a `Session` (session.ts) wraps
 * one for callers. The direct server (direct.ts) and the transports (forge/transport/http,
 * forge/transport/queue) implement this file and import it; it imports none of them, so each
 * transport loads alone. forge/connect.ts is the one file that knows every transport.
 */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { Run } from "../run/types.js";
import type { RequestOptions } from "../engine/options.js";
import type { SamplingDefaults } from "../model/index.js";

/** What a backend tells a client about itself (also served as the HTTP server's /info). */
export interface BackendInfo {
  model: string;
  tokenizer: string;
  backend: string;
  /** What computes the model: "tfjs" or "onnxruntime", and where: "cpu", "cuda", … (issue 17; optional: older servers lack them). */
  engine?: string;
  device?: string;
  contextLength: number;
  vocabSize: number;
  tools: string[];
  /** Sampling a request gets for the fields it leaves out (the model's generation_config.json). */
  sampling: SamplingDefaults;
}

/** Where a request runs: in this process, on an HTTP server, or on queue workers. */
export interface ForgeServer {
  /** Where it is ("host:port", a URL, a Redis URL without password), or null in process. */
  readonly address: string | null;
  info(): Promise<BackendInfo>;
  submit(workflow: SzcpWorkflow, options: RequestOptions): Promise<Run>;
}

/** Per extraction name, the texts of every stream in instance order; `run` holds the rest. */
export type RequestResult = Record<string, string[]> & { readonly run: Run };
