/**
 * The HTTP transport's client: a ForgeServer that talks HTTP to a Forge server, so
 * `makeSession("http://gpu-box:8080")` gives a Session whose `request` behaves like a direct
 * one — same options, same Run (decoded back into typed arrays), progress reported through
 * `onProgress`, the request's AbortSignal cancelling the remote job (partial results come
 * back marked interrupted, as in process).
 */
import type { ForgeServer } from "../../session/contract.js";
import type { Progress } from "../../engine/progress.js";
import { wireOptions, type RequestOptions } from "../../engine/options.js";
import type { Run } from "../../run/types.js";
import type { SzcpWorkflow } from "../../szcp/types.js";
import { clientAuthHeaders, type ClientAuth } from "./auth.js";
import { HttpConfigError, RemoteError, type ErrorDetails } from "./errors.js";
import { decodeRun } from "../../run/codec.js";
import type { ErrorBody, JobEvent, JobSummary, ServerInfo, SubmitBody } from "./types.js";

export interface HttpClientOptions {
  /** Credentials, as the seed's auth-type + auth-payload: `{ type: "bearer", payload: token }`. */
  auth?: ClientAuth | null;
  /** Tokenizer identity the workflows were prepared for; a server with another one refuses them. */
  tokenizer?: string;
}

export class HttpClient implements ForgeServer {
  /** The server's base URL, without a trailing slash. */
  readonly address: string;
  private readonly headers: Record<string, string>;

  constructor(
    url: string,
    private readonly options: HttpClientOptions = {},
  ) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new HttpConfigError("makeSession(url)", `${JSON.stringify(url)} is not a URL (expected e.g. "http://127.0.0.1:8080")`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw new HttpConfigError("makeSession(url)", `the server URL must start with http:// or https://, got ${JSON.stringify(url)}`);
    this.address = parsed.href.replace(/\/+$/, "");
    this.headers = clientAuthHeaders(options.auth);
  }

  info(): Promise<ServerInfo> {
    return this.getJson<ServerInfo>("/info");
  }

  health(): Promise<{ status: string }> {
    return this.getJson("/health");
  }

  job(id: string): Promise<JobSummary> {
    return this.getJson(`/jobs/${encodeURIComponent(id)}`);
  }

  cancel(id: string): Promise<JobSummary> {
    return this.call<JobSummary>("POST", `/jobs/${encodeURIComponent(id)}/cancel`);
  }

  /** Queues a job and returns its summary at once (the id is what the other calls take). */
  enqueue(workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<JobSummary> {
    const body: SubmitBody = { workflow, options: wireOptions(options) };
    if (this.options.tokenizer) body.tokenizer = this.options.tokenizer;
    return this.call<JobSummary>("POST", "/jobs", body);
  }

  /** The finished job's Run (waits for it). */
  async result(id: string): Promise<Run> {
    return decodeRun(await this.getJson(`/jobs/${encodeURIComponent(id)}/result?wait=true`));
  }

  /**
   * The finished job's samples, paths, tokens or decisions table, as Arrow IPC stream bytes
   * (apache-arrow's tableFromIPC reads them); `stream` (an instance) selects one stream's tokens or decisions.
   */
  async resultArrow(id: string, table: "samples" | "paths" | "tokens" | "decisions" = "samples", stream?: number): Promise<Uint8Array> {
    const one = stream === undefined ? "" : `&stream=${stream}`;
    const response = await this.fetch("GET", `/jobs/${encodeURIComponent(id)}/result.arrow?table=${table}${one}&wait=true`);
    return new Uint8Array(await response.arrayBuffer());
  }

  /** Runs the workflow remotely: queue, follow progress, cancel on abort, fetch the Run. */
  async submit(workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<Run> {
    const { id } = await this.enqueue(workflow, options);
    const onAbort = () => void this.cancel(id).catch(() => undefined);
    const progress = options.onProgress ? this.follow(id, options.onProgress) : null;
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const run = await this.result(id);
      // The job is over, so its event stream ends too: wait for its last (finished) report.
      await progress?.done;
      return run;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
      progress?.stop();
    }
  }

  /** Follows a job's NDJSON event stream, handing progress reports to `listener` (best effort). */
  follow(id: string, listener: (progress: Progress) => void): { done: Promise<void>; stop: () => void } {
    const controller = new AbortController();
    const done = (async () => {
      const response = await this.fetch("GET", `/jobs/${encodeURIComponent(id)}/events`, undefined, controller.signal);
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line.trim()) continue;
          const event = JSON.parse(line) as JobEvent;
          if (event.event === "progress") {
            const { event: _tag, ...report } = event;
            listener(report);
          }
        }
      }
    })().catch(() => undefined); // progress is advisory: a broken stream never fails the request
    return { done, stop: () => controller.abort() };
  }

  private async getJson<T>(path: string): Promise<T> {
    return this.call<T>("GET", path);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(method, path, body);
    return (await response.json()) as T;
  }

  /** One HTTP call; a non-2xx answer becomes a RemoteError carrying the server's message. */
  private async fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const url = `${this.address}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: { ...this.headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new RemoteError(0, "unreachable", `cannot reach the Forge server: ${cause?.code ?? cause?.message ?? (err as Error).message}`, url);
    }
    if (response.ok) return response;
    let code = "http_error";
    let message = response.statusText;
    const details: ErrorDetails = {};
    try {
      const parsed = (await response.json()) as ErrorBody;
      code = parsed.error?.code ?? code;
      message = parsed.error?.message ?? message;
      if (typeof parsed.error?.path === "string") details.path = parsed.error.path;
      if (parsed.error?.limit) details.limit = parsed.error.limit;
    } catch {
      // not one of our error bodies (a proxy's page, say): keep the status text
    }
    throw new RemoteError(response.status, code, message, url, details);
  }
}
