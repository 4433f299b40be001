/**
 * The HTTP transport: the Forge HTTP server, its job queue and auth registry, and the
 * HttpClient. It implements forge/session/contract.ts and imports it, never the reverse.
 * `forge.makeServer(backend, { address: "127.0.0.1:0" })` and `forge.makeSession("http://…")`
 * (forge/connect.ts) are the usual entry points.
 *
 *   types.ts    wire bodies as zod schemas (their types inferred) and the server's configuration
 *   request.ts  admission of an untrusted POST /jobs body (schema, limits, tokenizer, backend check)
 *   lane.ts     the admission lane: that work one request at a time, in slices, off the loop's critical path
 *   jobs.ts     the FIFO job queue (cancel, drain, retention)
 *   auth.ts     auth registry (type → verifier) + bearer-file verifier; client credentials
 *   server.ts   the fastify server (routes in openapi.json)
 *   client.ts   HttpClient: the ForgeServer that talks to it
 *   tables.ts   where result.arrow finds its table builders (registered by the datasets layer)
 *   openapi.ts  the routes, for the OpenAPI document scripts/openapi.ts generates (openapi.json)
 */
export * from "./types.js";
export { HttpError, HttpConfigError, RemoteError, type HttpErrorCode, type ErrorDetails } from "./errors.js";
export { defaultLimits, resolveLimits, MAX_DRAINED_BODY_BYTES, DRAIN_TIMEOUT_MS } from "./limits.js";
export { admitRequest, admitRequestInSlices, checkLimits, workflowError, type AdmittedRequest } from "./request.js";
export { wireOptions } from "../../engine/options.js";
export { AdmissionLane, nextTurn, type Pause } from "./lane.js";
export { Job, JobQueue } from "./jobs.js";
export {
  AuthRegistry,
  AuthConfigError,
  BearerFileVerifier,
  authRegistry,
  clientAuthHeaders,
  registerClientAuth,
  MIN_BEARER_TOKEN_LENGTH,
  type AuthRequest,
  type AuthVerifier,
  type AuthVerifierFactory,
  type ClientAuth,
  type ClientAuthFactory,
} from "./auth.js";
export { encodeRun, decodeRun, WireError, type ArrayEncoding, type WireRun, type WireStreamTrace } from "../../run/codec.js";
export { startHttpServer, parseAddress, isLoopback, hostAddress, resolvesToLoopback, HttpForgeServer, type CloseOptions, type FinishedJob } from "./server.js";
export { HttpClient, type HttpClientOptions } from "./client.js";
export { registerResultTables, registeredResultTables, type ResultTables } from "./tables.js";
