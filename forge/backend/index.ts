/** Backend stage: choose the tfjs backend once per process and record it in run metadata. */
export { initBackend, currentBackend, BackendError, BACKEND_ORDER, BACKEND_ENV } from "./select.js";
export type { BackendName } from "./select.js";
