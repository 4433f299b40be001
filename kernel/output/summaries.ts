/**
 * Short text forms of the library objects a cell's last expression often is — a Run, a
 * request's result, a Session, a ForgeBackend — instead of util.inspect's dump of their
 * internals (a Run's token arrays, a backend's model weights). Recognised by shape, not by
 * class, so a copy of forge loaded another way is summarised too. A Program prints its own
 * summary (forge/sfcs/program.ts, util.inspect's custom hook).
 */
const number = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null;

interface RunShape {
  meta: { runId: string; model?: unknown; backend?: unknown; wallMs?: unknown; steps?: unknown; interrupted?: unknown };
  streams: unknown[];
  extractions: Record<string, unknown>;
  statistics: { generatedTokens?: unknown; forcedTokens?: unknown; status?: unknown };
}

export function isRunLike(v: unknown): v is RunShape {
  return isObject(v) && isObject(v.meta) && typeof v.meta.runId === "string" && Array.isArray(v.streams) && isObject(v.statistics) && isObject(v.extractions) && isObject(v.workflow);
}

const sum = (xs: unknown): number => (Array.isArray(xs) ? xs.reduce((a: number, x) => a + (typeof x === "number" ? x : 0), 0) : 0);

function seconds(ms: unknown): string {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "?";
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** "64 texts" per extraction, at most 10 names. */
function extractionList(extractions: Record<string, unknown>): string {
  const names = Object.keys(extractions);
  if (names.length === 0) return "none";
  const shown = names.slice(0, 10).map((n) => `${n} (${Array.isArray(extractions[n]) ? `${(extractions[n] as unknown[]).length} texts` : "?"})`);
  return names.length > 10 ? `${shown.join(", ")} … ${names.length - 10} more` : shown.join(", ");
}

export function runSummary(run: RunShape): string {
  const { meta, statistics } = run;
  const statuses = isObject(statistics.status)
    ? Object.entries(statistics.status)
        .filter(([, n]) => typeof n === "number" && n > 0)
        .map(([s, n]) => `${n} ${s}`)
        .join(", ")
    : "";
  const where = [typeof meta.model === "string" ? meta.model : null, typeof meta.backend === "string" ? `on ${meta.backend}` : null].filter(Boolean).join(" ");
  const parts = [
    `Run ${meta.runId.slice(0, 8)}: ${run.streams.length} streams${statuses ? ` (${statuses})` : ""}${meta.interrupted === true ? ", interrupted" : ""}`,
    `${number.format(sum(statistics.generatedTokens))} generated + ${number.format(sum(statistics.forcedTokens))} forced tokens`,
    `${typeof meta.steps === "number" ? `${number.format(meta.steps)} steps in ` : ""}${seconds(meta.wallMs)}${where ? ` · ${where}` : ""}`,
    `extractions: ${extractionList(run.extractions)}`,
  ];
  return `${parts.join(" · ")}\n(run.streams, run.paths, run.statistics, run.meta hold the rest; viz.* charts it)`;
}

function quote(text: unknown, max = 80): string {
  if (typeof text !== "string") return String(text);
  const one = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(one.length > max ? `${one.slice(0, max)}…` : one);
}

/** A request's result: extraction name → texts, with the Run as a non-enumerable `run`. */
export function isRequestResultLike(v: unknown): v is Obj & { run: RunShape } {
  if (!isObject(v) || Array.isArray(v)) return false;
  const descriptor = Object.getOwnPropertyDescriptor(v, "run");
  return descriptor !== undefined && !descriptor.enumerable && isRunLike(descriptor.value);
}

export function resultSummary(result: Obj & { run: RunShape }): string {
  const names = Object.keys(result);
  const lines = [`Result of ${result.run.streams.length} streams: ${names.length ? names.map((n) => `${n} (${Array.isArray(result[n]) ? (result[n] as unknown[]).length : "?"} texts)`).slice(0, 10).join(", ") : "no extractions"}`];
  for (const name of names.slice(0, 3)) {
    const texts = result[name];
    if (Array.isArray(texts) && texts.length > 0) lines.push(`  ${name}[0]: ${quote(texts[0])}`);
  }
  lines.push(`  result.run: ${runSummary(result.run).split("\n")[0]}`);
  return lines.join("\n");
}

export function isSessionLike(v: unknown): v is { server: Obj } {
  return isObject(v) && typeof v.request === "function" && isObject(v.server) && typeof v.server.submit === "function";
}

export function sessionSummary(session: { server: Obj }): string {
  const address = session.server.address;
  const where = typeof address === "string" ? `at ${address}` : "in this process";
  return `Session (${where}): session.request(config, workflow, { batchSize, seed, … }) runs a workflow`;
}

export function isBackendLike(v: unknown): v is Obj & { info(): unknown } {
  return isObject(v) && typeof v.info === "function" && typeof v.run === "function" && typeof v.check === "function" && "tokenizer" in v && "model" in v;
}

export function backendSummary(backend: Obj & { info(): unknown }): string {
  let info: Obj = {};
  try {
    const got = backend.info();
    if (isObject(got)) info = got;
  } catch {
    // a half-built backend: summarise what there is
  }
  const parts = [`ForgeBackend: model ${String(info.model ?? "?")}`];
  if (info.tokenizer !== undefined) parts.push(`tokenizer ${String(info.tokenizer)}`);
  if (info.backend !== undefined) parts.push(`tfjs backend ${String(info.backend)}`);
  try {
    if (typeof backend.engine === "string") parts.push(`engine ${backend.engine}`);
  } catch {
    // no engine getter
  }
  if (typeof info.contextLength === "number") parts.push(`context ${number.format(info.contextLength)} tokens`);
  if (Array.isArray(info.tools) && info.tools.length) parts.push(`tools: ${info.tools.slice(0, 10).join(", ")}`);
  return parts.join(" · ");
}

/** The summary of a library object, or null for any other value. */
export function librarySummary(value: unknown): string | null {
  try {
    if (isRunLike(value)) return runSummary(value);
    if (isRequestResultLike(value)) return resultSummary(value);
    if (isSessionLike(value)) return sessionSummary(value);
    if (isBackendLike(value)) return backendSummary(value);
  } catch {
    // a getter that throws: fall back to util.inspect
  }
  return null;
}
