/**
 * tfjs backend selection: `tensorflow` (native TensorFlow through tfjs-node-gpu or
 * tfjs-node, when the user's machine has them) → `wasm` (XNNPACK SIMD, the embedded
 * default) → `cpu` (pure JS, ≈30× slower than wasm, last resort).
 *
 * tfjs-node(-gpu) cannot be installed on the project's machines (their install script
 * downloads libtensorflow), so they are imported dynamically by a name held in a variable:
 * the type checker and bundlers never require them.
 */
import { ForgeError } from "../errors.js";
import * as tf from "@tensorflow/tfjs";

export type BackendName = "tensorflow" | "wasm" | "cpu";
export const BACKEND_ORDER: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];
/** Environment variable that overrides the preference passed in code. */
export const BACKEND_ENV = "FORGE_BACKEND";

export class BackendError extends ForgeError {
  readonly code: string = "backend_unavailable";
  constructor(message: string) {
    super(message);
    this.name = "BackendError";
  }
}

let chosen: BackendName | null = null;
let announced = false;

/** Native packages that register the `tensorflow` backend, tried in this order. */
const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];

async function tryNative(): Promise<string | null> {
  const failures: string[] = [];
  for (const name of NATIVE_PACKAGES) {
    try {
      const spec: string = name; // a variable: keep tsc from resolving an absent package
      await import(spec);
      if (await tf.setBackend("tensorflow")) return null;
      failures.push(`${name}: imported but setBackend("tensorflow") failed`);
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return failures.join("; ");
}

async function tryWasm(): Promise<string | null> {
  try {
    await import("@tensorflow/tfjs-backend-wasm");
    if (await tf.setBackend("wasm")) return null;
    return "setBackend(\"wasm\") failed";
  } catch (err) {
    return (err as Error).message.split("\n")[0] ?? "unknown error";
  }
}

async function tryCpu(): Promise<string | null> {
  return (await tf.setBackend("cpu")) ? null : "setBackend(\"cpu\") failed";
}

function parsePreference(value: string, where: string): BackendName {
  const v = value.trim().toLowerCase();
  if ((BACKEND_ORDER as readonly string[]).includes(v)) return v as BackendName;
  throw new BackendError(
    `${where}: unknown backend "${value}"; expected one of ${BACKEND_ORDER.join(", ")}`,
  );
}

/**
 * Select and initialise the tfjs backend. The environment variable FORGE_BACKEND overrides
 * `preference`. The chain starts at the preferred backend and falls back down the order
 * (`tensorflow` → `wasm` → `cpu`) when one cannot start; the choice, and why earlier ones
 * were skipped, is printed once to stderr. Returns the backend name now in use.
 */
export async function initBackend(preference?: BackendName): Promise<string> {
  const env = process.env[BACKEND_ENV];
  const wanted: BackendName =
    env !== undefined && env !== ""
      ? parsePreference(env, `environment variable ${BACKEND_ENV}`)
      : preference !== undefined
        ? parsePreference(preference, "initBackend(preference)")
        : "tensorflow";
  if (chosen === wanted && tf.getBackend() === wanted) return chosen;

  const skipped: string[] = [];
  const attempts: Record<BackendName, () => Promise<string | null>> = {
    tensorflow: tryNative,
    wasm: tryWasm,
    cpu: tryCpu,
  };
  for (const name of BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(wanted))) {
    const failure = await attempts[name]();
    if (failure === null) {
      await tf.ready();
      const changed = chosen !== name;
      chosen = name;
      if (!announced || changed || skipped.length > 0) {
        announced = true;
        const why = skipped.length > 0 ? ` (skipped ${skipped.join("; ")})` : "";
        process.stderr.write(`forge: tfjs backend ${name}${why}\n`);
      }
      return name;
    }
    // Only mention a skipped backend the user asked for explicitly, or a real failure.
    if (!(name === "tensorflow" && wanted === "tensorflow" && env === undefined && preference === undefined))
      skipped.push(`${name}: ${failure}`);
  }
  throw new BackendError(`no tfjs backend could start: ${skipped.join("; ")}`);
}

/** The backend in use: the one `initBackend` chose, else whatever tfjs runs now. */
export function currentBackend(): string {
  const active = tf.getBackend();
  return chosen !== null && active === chosen ? chosen : active;
}
