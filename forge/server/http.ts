/**
 * The Forge HTTP server (fastify): "compile locally, execute remotely". Routes (forge/server/openapi.json):
 *
 *   GET  /health                      liveness, no credentials needed, says nothing about jobs
 *   GET  /info                        model, tokenizer identity, backend, limits, auth type
 *   POST /jobs                        {workflow, options, tokenizer?} → 202 job summary (id)
 *   GET  /jobs/{id}                   job summary: state, queue position, latest progress
 *   GET  /jobs/{id}/events            NDJSON: state / progress (streams done, tokens/s) / end
 *   GET  /jobs/{id}/result            the Run as JSON (?wait=true blocks until it is finished)
 *   GET  /jobs/{id}/result.arrow      samples or paths table as an Arrow IPC stream (?table=)
 *   POST /jobs/{id}/cancel            cancel (queued: at once; running: within one step)
 *
 * The server is also an in-process ForgeServer: `submit` goes through the same queue, so a
 * notebook on the serving machine and remote clients share one line.
 */
import { lookup } from "node:dns/promises";
import type { IncomingMessage } from "node:http";
import { isIPv4 } from "node:net";
import { PassThrough } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { tableToIPC } from "apache-arrow";
import type { ForgeBackend, BackendInfo } from "../api/backend.js";
import type { ForgeServer } from "../api/session.js";
import type { RequestOptions } from "../engine/types.js";
import type { Run } from "../run/types.js";
import type { SzcpWorkflow } from "../szcp/types.js";
import { RequestError } from "../engine/errors.js";
import { samplesTable, pathsTable } from "../../datasets/index.js";
import { authRegistry, type AuthVerifier } from "./auth.js";
import { HttpError } from "./errors.js";
import { JobQueue, type Job } from "./jobs.js";
import { DRAIN_TIMEOUT_MS, MAX_DRAINED_BODY_BYTES, resolveLimits } from "./limits.js";
import { admitRequestInSlices, wireOptions } from "./request.js";
import { AdmissionLane } from "./lane.js";
import { encodeRun, type ArrayEncoding } from "./wire.js";
import { vocabularyOf } from "../lzcp/vocabulary.js";
import type { HttpServerOptions, JobEvent, ServerInfo, ServerLimits } from "./types.js";

/** Principal of requests when the server has no auth (loopback only). */
const ANONYMOUS = "anonymous";
/** Principal of in-process `submit` calls. */
const LOCAL = "local";

export interface CloseOptions {
  /** "drain" (default): finish queued and running jobs first; "cancel": cancel them (running ones keep partial results). */
  mode?: "drain" | "cancel";
}

/** A job still held when the server closed: nothing finished is lost. */
export interface FinishedJob {
  id: string;
  state: string;
  run: Run | null;
  error: string | null;
}

export class HttpForgeServer implements ForgeServer {
  /** "host:port" actually bound (the port filled in when 0 was asked for). */
  readonly address: string;
  readonly url: string;
  private closing: Promise<FinishedJob[]> | null = null;

  constructor(
    private readonly app: FastifyInstance,
    private readonly queue: JobQueue,
    private readonly backend: ForgeBackend,
    private readonly description: ServerInfo,
    host: string,
    port: number,
    /** "METHOD /path/{param}" of every route served. */
    readonly routes: readonly string[],
  ) {
    const hostPart = host.includes(":") ? `[${host}]` : host;
    this.address = `${hostPart}:${port}`;
    this.url = `http://${this.address}`;
  }

  async info(): Promise<BackendInfo> {
    return this.serverInfo();
  }

  serverInfo(): ServerInfo {
    return structuredClone(this.description);
  }

  /** In-process submission through the shared queue (trusted caller: limits are not applied). */
  async submit(workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<Run> {
    this.backend.check(workflow);
    const job = this.queue.submit(workflow, wireOptions(options), LOCAL);
    const stopListening = options.onProgress ? job.listen((e) => e.event === "progress" && options.onProgress!(withoutTag(e))) : () => {};
    const onAbort = () => this.queue.cancel(job, "cancelled: the request's signal was aborted");
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await job.settled;
    } finally {
      stopListening();
      options.signal?.removeEventListener("abort", onAbort);
    }
    if (job.run) return job.run;
    throw job.refused ? new RequestError(job.error ?? "refused") : new Error(`job ${job.id} ${job.state}: ${job.error}`);
  }

  /**
   * Stops accepting jobs (503), drains or cancels the queue, answers the requests still
   * waiting on results, then closes the listener. Resolves to every finished job still held.
   */
  close(options: CloseOptions = {}): Promise<FinishedJob[]> {
    this.closing ??= (async () => {
      await this.queue.shutdown(options.mode ?? "drain");
      // One turn for requests already received (a client waiting on a result the drain just
      // produced); after app.close() they would get a bare 503.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const finished = this.queue.finishedJobs().map((job) => ({ id: job.id, state: job.state, run: job.run, error: job.error }));
      // app.close() closes the connections idle at that moment; one still carrying a request
      // (a body being read when the close began) goes idle afterwards and would hold the
      // listener open for the whole keep-alive timeout, so idle ones are swept until it ends.
      const sweep = setInterval(() => this.app.server.closeIdleConnections(), 50);
      try {
        await this.app.close();
      } finally {
        clearInterval(sweep);
      }
      return finished;
    })();
    return this.closing;
  }
}

/** Starts the HTTP server; resolves once it listens. */
export async function startHttpServer(backend: ForgeBackend, options: HttpServerOptions): Promise<HttpForgeServer> {
  const { host, port } = parseAddress(options.address);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const verifier: AuthVerifier | null = options.auth ? authRegistry.create(options.auth.type, options.auth.payload) : null;
  const loopback = await resolvesToLoopback(host);
  if (!loopback && !verifier && !options.insecure)
    throw new TypeError(
      `makeServer: address ${options.address} is reachable from other machines, and no auth is configured; ` +
        `configure auth (e.g. { auth: { type: "bearer-file", payload: "tokens.txt" } }), bind 127.0.0.1, or pass insecure: true`,
    );
  const backendInfo = backend.info();
  const limits = resolveLimits(backendInfo.contextLength, options.limits);
  const description: ServerInfo = {
    ...backendInfo,
    ident: options.ident ?? null,
    limits,
    auth: verifier?.type ?? null,
    scheduling: "fifo",
  };
  const queue = new JobQueue(backend, limits, log);
  vocabularyOf(backend.tokenizer); // captured once, now, not during a client's admission
  // Imported here, not at the top: importing forge (a notebook kernel's start) need not load fastify.
  const { default: Fastify } = await import("fastify");
  const app = Fastify({
    logger: false,
    bodyLimit: limits.maxBodyBytes,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    return503OnClosing: true,
    // A client gets this long to send its whole request (not to wait for results): no slow-loris.
    requestTimeout: 30_000,
  });
  // JSON bodies are kept as bytes until their admission's turn in the lane (lane.ts), then
  // parsed there with the parser (and the prototype-poisoning refusals) fastify would have
  // used: one parsed body at a time, however many are waiting.
  const lane = new AdmissionLane();
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => done(null, new JsonBytes(body as Buffer)));
  const parseBody = async (request: FastifyRequest, pause: () => Promise<void>): Promise<unknown> => {
    if (!(request.body instanceof JsonBytes)) return request.body;
    const text = request.body.bytes.toString("utf8");
    await pause();
    return new Promise((resolve, reject) => parseJson(request, text, (err: Error | null, value?: unknown) => (err ? reject(err) : resolve(value))));
  };
  // Every route registered, in OpenAPI spelling (/jobs/{id}); the tests hold openapi.json to it.
  const routes: string[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) if (method !== "HEAD") routes.push(`${method} ${route.url.replace(/:(\w+)/g, "{$1}")}`);
  });
  const principals = new WeakMap<FastifyRequest, string>();
  const principalOf = (request: FastifyRequest) => principals.get(request) ?? ANONYMOUS;

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof HttpError) return reply.code(error.status).send(error.body());
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const code = status === 413 ? "payload_too_large" : status === 415 ? "unsupported_media_type" : "invalid_request";
      const message = status === 413 ? `the request body exceeds this server's limit of ${limits.maxBodyBytes} bytes` : error.message;
      const details = status === 413 ? { limit: { name: "limits.maxBodyBytes", value: limits.maxBodyBytes } } : {};
      // The client is still sending: read the rest (up to a bound) before answering, or it
      // gets a broken pipe instead of the 413. The connection closes after the answer.
      if (status === 413) await drainBody(request.raw, MAX_DRAINED_BODY_BYTES, DRAIN_TIMEOUT_MS);
      return reply.code(status).send(new HttpError(status, code, message, details).body());
    }
    log(`forge server: internal error: ${error.stack ?? String(error)}`);
    return reply.code(500).send(new HttpError(500, "internal", "internal server error (details are in the server's log)").body());
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new HttpError(404, "not_found", `no route ${request.method} ${request.url.split("?")[0]!.slice(0, 200)}`).body());
  });

  // Credentials are checked before routing and before the body is read: without them a
  // client learns nothing (every route but /health answers 401, existing job or not).
  if (verifier) {
    app.addHook("onRequest", async (request, reply) => {
      if (request.url === "/health") return;
      const principal = await verifier.verify({ headers: request.headers });
      if (principal === null) {
        reply.code(401).header("www-authenticate", verifier.challenge);
        return reply.send(new HttpError(401, "unauthorized", "missing or invalid credentials").body());
      }
      principals.set(request, principal);
    });
  }

  const findJob = (request: FastifyRequest): Job => {
    const { id } = request.params as { id: string };
    const job = /^[0-9a-f-]{36}$/.test(id) ? queue.get(id, principalOf(request)) : undefined;
    if (!job) throw new HttpError(404, "not_found", `no job ${JSON.stringify(id.slice(0, 64))}`);
    return job;
  };
  const finishedJob = async (request: FastifyRequest): Promise<Job> => {
    const job = findJob(request);
    const wait = parseWait(request.query);
    if (!job.finished && wait) await job.settled;
    if (!job.finished) throw new HttpError(409, "not_finished", `job ${job.id} is ${job.state}; ask again with ?wait=true to wait for it`);
    if (job.state === "failed")
      throw job.refused
        ? new HttpError(422, "refused", `job ${job.id} was refused: ${job.error}`)
        : new HttpError(500, "job_failed", `job ${job.id} failed: ${job.error}`);
    if (!job.run) throw new HttpError(409, "not_finished", `job ${job.id} was ${job.state} and has no results`);
    return job;
  };

  app.get("/health", async () => ({ status: "ok" }));
  app.get("/info", async () => description);

  app.post("/jobs", async (request, reply) => {
    const admitted = await lane.run(async (pause) => {
      const body = await parseBody(request, pause);
      await pause();
      return admitRequestInSlices(body, backend, limits, pause);
    });
    const job = queue.submit(admitted.workflow, admitted.options, principalOf(request));
    return reply.code(202).header("location", `/jobs/${job.id}`).send(queue.summary(job));
  });

  app.get("/jobs/:id", async (request) => queue.summary(findJob(request)));

  app.post("/jobs/:id/cancel", async (request) => {
    const job = findJob(request);
    queue.cancel(job);
    return queue.summary(job);
  });

  app.get("/jobs/:id/events", async (request, reply) => {
    const job = findJob(request);
    const stream = new PassThrough();
    const write = (event: JobEvent) => stream.write(`${JSON.stringify(event)}\n`);
    write({ event: "state", state: job.state, position: queue.position(job) });
    if (job.progress) write({ event: "progress", ...job.progress });
    if (job.finished) {
      write({ event: "end", state: job.state, error: job.error });
      stream.end();
    } else {
      const stop = job.listen((event) => {
        write(event);
        if (event.event === "end") stream.end();
      });
      reply.raw.once("close", stop); // the client went away: stop writing to it
    }
    return reply.header("content-type", "application/x-ndjson").header("cache-control", "no-store").send(stream);
  });

  app.get("/jobs/:id/result", async (request, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const arrays = query.arrays ?? "base64";
    if (arrays !== "base64" && arrays !== "list")
      throw new HttpError(400, "invalid_request", `query arrays must be "base64" or "list", got ${JSON.stringify(arrays)}`);
    const job = await finishedJob(request);
    return reply.header("content-type", "application/json").send(JSON.stringify(encodeRun(job.run!, arrays as ArrayEncoding)));
  });

  app.get("/jobs/:id/result.arrow", async (request, reply) => {
    const table = ((request.query ?? {}) as Record<string, unknown>).table ?? "samples";
    if (table !== "samples" && table !== "paths")
      throw new HttpError(400, "invalid_request", `query table must be "samples" or "paths", got ${JSON.stringify(table)}`);
    const job = await finishedJob(request);
    const arrow = table === "samples" ? samplesTable(job.run!, backend.tokenizer) : pathsTable(job.run!);
    return reply.header("content-type", "application/vnd.apache.arrow.stream").send(Buffer.from(tableToIPC(arrow, "stream")));
  });

  try {
    // An address literal is bound as parsed ("127.1" is 127.0.0.1), a name as resolved.
    await app.listen({ host: hostAddress(host) ?? host, port });
  } catch (err) {
    throw new TypeError(`makeServer: cannot listen on ${options.address}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const bound = app.server.address();
  if (loopback && !verifier && !options.insecure && !(typeof bound === "object" && bound && isLoopback(bound.address))) {
    await app.close();
    throw new TypeError(`makeServer: address ${options.address} was bound to ${typeof bound === "object" && bound ? bound.address : String(bound)}, which is not loopback; configure auth or bind 127.0.0.1`);
  }
  const server = new HttpForgeServer(app, queue, backend, description, hostAddress(host) ?? host, typeof bound === "object" && bound ? bound.port : port, routes);
  log(
    `forge server: listening on ${server.url} — ` +
      (loopback ? "loopback only, not reachable from other machines" : "REACHABLE FROM THE NETWORK") +
      `; auth: ${verifier ? verifier.type : "none"}; jobs run one at a time (FIFO)`,
  );
  return server;
}

/** A JSON request body not parsed yet (it is, in its turn of the admission lane). */
class JsonBytes {
  constructor(readonly bytes: Buffer) {}
}

/** "host:port", "[v6]:port", ":port" or "port"; the host defaults to 127.0.0.1. */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$|^(\d{1,5})$/.exec(address.trim());
  const port = Number(match?.[3] ?? match?.[4]);
  if (!match || !(port >= 0 && port <= 65535))
    throw new TypeError(`makeServer: address must be "host:port" (e.g. "127.0.0.1:8080", port 0 = any free port), got ${JSON.stringify(address)}`);
  const host = match[1] ?? (match[2] || "127.0.0.1");
  return { host, port };
}

/**
 * The address a host spells, normalized as a URL parser reads it: IPv4 in any inet_aton
 * form ("127.1", "0x7f.0.0.1", "2130706433") as a dotted quad, IPv6 compressed ("::1",
 * "::ffff:7f00:1"), or null for a name (or something that is not a host at all).
 */
export function hostAddress(host: string): string | null {
  let hostname: string;
  try {
    hostname = new URL(`http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}/`).hostname;
  } catch {
    return null;
  }
  if (hostname.startsWith("[")) return hostname.slice(1, -1);
  return isIPv4(hostname) ? hostname : null;
}

/**
 * Whether a host is the loopback interface, parsed, not matched as a string: 127.0.0.0/8 in
 * any IPv4 spelling, ::1 and ::ffff:127.x.y.x in any IPv6 spelling, and the name localhost
 * (any case, trailing dot, *.localhost; RFC 6761). Other names need resolving
 * (`resolvesToLoopback`).
 */
export function isLoopback(host: string): boolean {
  const address = hostAddress(host);
  if (address !== null) {
    if (isIPv4(address)) return address.startsWith("127.");
    return address === "::1" || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(address);
  }
  const name = host.toLowerCase().replace(/\.$/, "");
  return name === "localhost" || name.endsWith(".localhost");
}

/** Whether every address a host resolves to (as `listen` would resolve it) is loopback. */
export async function resolvesToLoopback(host: string): Promise<boolean> {
  if (hostAddress(host) !== null) return isLoopback(host);
  try {
    const addresses = await lookup(host, { all: true });
    return addresses.length > 0 && addresses.every((a) => isLoopback(a.address));
  } catch {
    return false; // not resolvable: listen fails and says so
  }
}

/**
 * Reads and discards the rest of a request body (at most `maxBytes`, for at most `timeoutMs`),
 * so that a client still sending it can read the answer instead of a broken pipe.
 */
function drainBody(raw: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      raw.off("data", onData).off("end", done).off("close", done).off("error", done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, timeoutMs);
    raw.on("data", onData).once("end", done).once("close", done).once("error", done);
    raw.resume();
  });
}

function parseWait(query: unknown): boolean {
  const wait = (query as Record<string, unknown> | undefined)?.wait;
  if (wait === undefined || wait === "false" || wait === "0") return false;
  if (wait === "true" || wait === "1" || wait === "") return true;
  throw new HttpError(400, "invalid_request", `query wait must be true or false, got ${JSON.stringify(wait)}`);
}

function withoutTag(event: JobEvent & { event: "progress" }) {
  const { event: _tag, ...progress } = event;
  return progress;
}
