/**
 * Remote execution: the Forge HTTP server, its job queue and auth registry, and the
 * RemoteServer client. `forge.makeServer(backend, { address: "127.0.0.1:0" })` and
 * `forge.makeSession("http://…")` (forge/api/session.ts) are the usual entry points.
 *
 *   types.ts    wire and configuration types
 *   request.ts  admission of an untrusted POST /jobs body (schema, limits, tokenizer, backend check)
 *   lane.ts     the admission lane: that work one request at a time, in slices, off the loop's critical path
 *   jobs.ts     the FIFO job queue (cancel, drain, retention)
 *   auth.ts     auth registry (type → verifier) + bearer-file verifier; client credentials
 *   wire.ts     Run ⇄ JSON (typed arrays as base64)
 *   http.ts     the fastify server (routes in openapi.json)
 *   remote.ts   RemoteServer: the ForgeServer that talks to it
 */
export * from "./types.js";
export { HttpError, RemoteError, type HttpErrorCode, type ErrorDetails } from "./errors.js";
export { defaultLimits, resolveLimits, MAX_DRAINED_BODY_BYTES, DRAIN_TIMEOUT_MS } from "./limits.js";
export { admitRequest, admitRequestInSlices, checkLimits, workflowError, wireOptions, type AdmittedRequest } from "./request.js";
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
export { encodeRun, decodeRun, WireError, type ArrayEncoding } from "./wire.js";
export { startHttpServer, parseAddress, isLoopback, hostAddress, resolvesToLoopback, HttpForgeServer, type CloseOptions, type FinishedJob } from "./http.js";
export { RemoteServer, type RemoteOptions } from "./remote.js";
