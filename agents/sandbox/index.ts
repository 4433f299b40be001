/** Sandboxed proc agents: user code in a separate, permission-restricted Node process. */
export {
  runSandboxed,
  defineSandboxedProc,
  sandboxCommand,
  networkNamespaceAvailable,
  SandboxError,
  RUNNER,
  type SandboxLimits,
  type SandboxResult,
  type SandboxErrorKind,
} from "./sandbox.js";
