/**
 * Servers and sessions (the seed's `make_server` / `make_session`). A direct server calls
 * the backend in this process; `session.request` is the same whether the server is direct
 * or, later, remote.
 */
import { makeQueueSession, type QueueSessionOptions } from "../queue/index.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import type { Run } from "../run/types.js";
import type { RequestOptions } from "../engine/types.js";
import { RequestError } from "../engine/errors.js";
import { ambientProgress, ambientSignal, type ProgressListener } from "./ambient.js";
import { ForgeBackend, makeBackend, type BackendInfo } from "./backend.js";
import { startHttpServer, type HttpForgeServer } from "../server/http.js";
import { RemoteServer, type RemoteOptions } from "../server/remote.js";
import type { HttpServerOptions } from "../server/types.js";

/** Per extraction name, the texts of every stream in instance order; `run` holds the rest. */
export type RequestResult = Record<string, string[]> & { readonly run: Run };

export interface ForgeServer {
  readonly address: string | null;
  info(): Promise<BackendInfo>;
  submit(workflow: SzcpWorkflow, options: RequestOptions): Promise<Run>;
}

/** In-process server: no serialization, the backend is called directly. */
export class DirectServer implements ForgeServer {
  readonly address = null;
  constructor(readonly backend: ForgeBackend) {}

  async info(): Promise<BackendInfo> {
    return this.backend.info();
  }

  submit(workflow: SzcpWorkflow, options: RequestOptions): Promise<Run> {
    return this.backend.run(workflow, options);
  }
}

export interface ServerOptions {
  /** null: direct, in process. */
  address?: string | null;
  ident?: string | null;
}

/**
 * `makeServer(backend)` / `makeServer(backend, { address: null })`: a DirectServer, at once
 * (the seed's form). With an address it starts the HTTP server (forge/server) and returns a
 * promise of it, resolved once it listens: `const server = await makeServer(backend, {
 * address: "127.0.0.1:0" })`; `server.url` is where clients connect, `server.close()` stops it.
 */
export function makeServer(backend: ForgeBackend, options?: ServerOptions & { address?: null }): DirectServer;
export function makeServer(backend: ForgeBackend, options: HttpServerOptions): Promise<HttpForgeServer>;
export function makeServer(backend: ForgeBackend, options: ServerOptions | HttpServerOptions): DirectServer | Promise<HttpForgeServer>;
export function makeServer(backend: ForgeBackend, options: ServerOptions | HttpServerOptions = {}): DirectServer | Promise<HttpForgeServer> {
  if (options.address != null) return startHttpServer(backend, options as HttpServerOptions);
  return new DirectServer(backend);
}

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

/**
 * `makeSession(server)`, `makeSession(backend)` as in the seed's section 4, or
 * `makeSession("http://host:port", { auth: { type: "bearer", payload: token } })` for a
 * remote Forge server (same `request` API, same results); `makeSession("redis://host:6379")`
 * for `forge worker` processes behind a BullMQ queue (forge/queue/README.md).
 */
export function makeSession(target: ForgeServer | ForgeBackend | string, options: RemoteOptions & QueueSessionOptions = {}): Session {
  if (typeof target === "string")
    return /^rediss?:\/\//.test(target) ? makeQueueSession(target, options) : new Session(new RemoteServer(target, options));
  return new Session(target instanceof ForgeBackend ? new DirectServer(target) : target);
}

let shared: Promise<Session> | undefined;

/** A session on the default backend, created on first use (the notebook kernel's `forge.defaultSession()`). */
export function defaultSession(): Promise<Session> {
  shared ??= makeBackend().then((backend) => makeSession(makeServer(backend)));
  shared.catch(() => (shared = undefined));
  return shared;
}
