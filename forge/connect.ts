/**
 * `makeServer` / `makeSession` / `defaultSession` (the seed's make_server / make_session): the
 * top floor of the serving half, and the only file that knows every transport. The contract
 * (forge/session) sits below the transports (forge/transport/http, forge/transport/queue),
 * which implement it; this file picks one by what it is given.
 */
import { ForgeBackend, makeBackend } from "./session/backend.js";
import type { ForgeServer } from "./session/contract.js";
import { DirectServer } from "./session/direct.js";
import { Session } from "./session/session.js";
import { startHttpServer, type HttpForgeServer } from "./transport/http/server.js";
import { HttpClient, type HttpClientOptions } from "./transport/http/client.js";
import type { HttpServerOptions } from "./transport/http/types.js";
import { makeQueueSession } from "./transport/queue/client.js";
import type { QueueSessionOptions } from "./transport/queue/types.js";

export interface ServerOptions {
  /** null: direct, in process. */
  address?: string | null;
  ident?: string | null;
}

/**
 * `makeServer(backend)` / `makeServer(backend, { address: null })`: a DirectServer, at once
 * (the seed's form). With an address it starts the HTTP server (forge/transport/http) and
 * returns a promise of it, resolved once it listens: `const server = await makeServer(backend,
 * { address: "127.0.0.1:0" })`; `server.url` is where clients connect, `server.close()` stops it.
 */
export function makeServer(backend: ForgeBackend, options?: ServerOptions & { address?: null }): DirectServer;
export function makeServer(backend: ForgeBackend, options: HttpServerOptions): Promise<HttpForgeServer>;
export function makeServer(backend: ForgeBackend, options: ServerOptions | HttpServerOptions): DirectServer | Promise<HttpForgeServer>;
export function makeServer(backend: ForgeBackend, options: ServerOptions | HttpServerOptions = {}): DirectServer | Promise<HttpForgeServer> {
  if (options.address != null) return startHttpServer(backend, options as HttpServerOptions);
  return new DirectServer(backend);
}

/**
 * `makeSession(server)`, `makeSession(backend)` as in the seed's section 4, or
 * `makeSession("http://host:port", { auth: { type: "bearer", payload: token } })` for a
 * remote Forge server (same `request` API, same results); `makeSession("redis://host:6379")`
 * for `forge worker` processes behind a BullMQ queue (forge/transport/queue/README.md).
 */
export function makeSession(target: ForgeServer | ForgeBackend | string, options: HttpClientOptions & QueueSessionOptions = {}): Session {
  if (typeof target === "string")
    return /^rediss?:\/\//.test(target) ? makeQueueSession(target, options) : new Session(new HttpClient(target, options));
  return new Session(target instanceof ForgeBackend ? new DirectServer(target) : target);
}

let shared: Promise<Session> | undefined;

/** A session on the default backend, created on first use (the notebook kernel's `forge.defaultSession()`). */
export function defaultSession(): Promise<Session> {
  shared ??= makeBackend().then((backend) => makeSession(makeServer(backend)));
  shared.catch(() => (shared = undefined));
  return shared;
}
