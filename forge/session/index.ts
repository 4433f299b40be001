/**
 * Where a request runs, transport-free: the contract every server implements (contract.ts),
 * the in-process backend (backend.ts) and server (direct.ts), the Session callers hold
 * (session.ts), and the ambient hooks a host lends running requests (ambient.ts).
 * forge/connect.ts picks a transport; forge/transport/* implement this contract.
 */
export type { BackendInfo, ForgeServer, RequestResult } from "./contract.js";
export { ForgeBackend, makeBackend, type BackendOptions } from "./backend.js";
export { DEFAULT_MODEL_FOLDER, MODEL_ENV, defaultModelFolder } from "./default-model.js";
export { DirectServer } from "./direct.js";
export { Session, toResult, type RequestConfig, type ReplaySpec } from "./session.js";
export { setAmbientHooks, ambientProgress, ambientSignal, type AmbientHooks, type Progress, type ProgressListener } from "./ambient.js";
export { BackendConfigError } from "./errors.js";
