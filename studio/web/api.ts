/**
 * The studio's API from the browser. The bearer token (when the server asks for one) comes from
 * the page's `#token=…` or the prompt, and is kept in sessionStorage for this tab only.
 */
import type { AgentDoc, AgentInfo } from "../logic/types.js";
import type { DecisionView, StreamTokens } from "../logic/inspector-views.js";

export interface ApiError {
  code: string;
  message: string;
  where?: string;
}

export class StudioApiError extends Error {
  constructor(readonly status: number, readonly body: ApiError) {
    super(body.message);
  }
}

const TOKEN_KEY = "forge-studio-token";

function initialToken(): string | null {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]!));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Read on first use (not at import: the module is also rendered on the server by the component tests). */
let token: string | null | undefined;
export function setToken(value: string): void {
  token = value;
  sessionStorage.setItem(TOKEN_KEY, value);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.body !== undefined) headers["content-type"] = "application/json";
  if (token === undefined) token = initialToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const body = await res.json().catch(() => ({ error: { code: "bad_response", message: `HTTP ${res.status}` } }));
  if (!res.ok) throw new StudioApiError(res.status, (body as { error: ApiError }).error);
  return body as T;
}

export interface FileEntry {
  path: string;
  kind: "data" | "code" | "arrow";
  bytes: number;
}

export interface Problem {
  step: string;
  code: string;
  message: string;
}

export interface StepStatus {
  path: string;
  status: string;
  attempts: number;
  retries: number;
  error?: string;
  durationMs?: number;
  outputs?: unknown;
}

export interface RunView {
  runId: string;
  agent: string;
  status: "running" | "succeeded" | "failed";
  interrupted: boolean;
  inputs: unknown;
  outputs?: unknown;
  error?: string;
  startedAt: number;
  finishedAt?: number;
  steps?: StepStatus[];
}

export interface StreamSummary {
  stream: number;
  pathId: string;
  status: string;
  segments: number;
  jumps: number;
  tokens: number;
  preview: string;
}

export interface InspectedRun {
  file: string;
  runId: string;
  meta: Record<string, string>;
  zones: Array<{ id: number; sequence: string; text: string; capture: string | null; feed: string | null }>;
  streams: StreamSummary[];
  truncated: number;
  hasLogprobs: boolean;
  hasTokens: boolean;
  hasTokenText: boolean;
  hasDecisions: boolean;
}

export type { DecisionView, StreamTokens };

export interface StreamDetail extends StreamSummary {
  segmentsList: Array<{ segment: number; stepStart: number; stepEnd: number; sequence: string; zoneId: number; repetition: number; jumped: boolean }>;
  extractions: Array<{ extraction: string; text: string; tokenCount: number | null }>;
  tokenMarks?: StreamTokens;
  decisions?: DecisionView[];
}

export const Api = {
  agents: () => api<{ agents: AgentInfo[]; problems: Record<string, string>; allowedEnv: string[] }>("/api/agents"),
  files: () => api<{ folder: string; files: FileEntry[] }>("/api/files"),
  open: (path: string) => api<{ path: string; text: string; data?: AgentDoc }>(`/api/file?path=${encodeURIComponent(path)}`),
  save: (path: string, content: { data?: AgentDoc; text?: string }) => api<{ path: string; changed: boolean }>("/api/file", { method: "PUT", body: { path, ...content } }),
  validate: (doc: AgentDoc) => api<{ problems: Problem[] }>("/api/validate", { method: "POST", body: { doc } }),
  extract: (doc: AgentDoc, steps: string[], name: string) =>
    api<{ parent: AgentDoc; child: AgentDoc; stepId: string; inputs: string[]; outputs: string[]; file: string }>("/api/extract", { method: "POST", body: { doc, steps, name } }),
  diagnostics: (text: string, path: string) =>
    api<{ diagnostics: Array<{ from: number; to: number; message: string; severity: "error" | "warning" }> }>("/api/diagnostics", { method: "POST", body: { text, path } }),
  runs: () => api<{ runs: RunView[] }>("/api/runs"),
  run: (agent: string, inputs: Record<string, unknown>, dryRun: boolean) => api<{ runId: string }>("/api/runs", { method: "POST", body: { agent, inputs, dryRun } }),
  runView: (runId: string) => api<RunView>(`/api/runs/${encodeURIComponent(runId)}`),
  resume: (runId: string) => api<{ runId: string }>(`/api/runs/${encodeURIComponent(runId)}/resume`, { method: "POST", body: {} }),
  inspect: (path: string) => api<InspectedRun>(`/api/inspect?path=${encodeURIComponent(path)}`),
  job: (server: string, job: string, token?: string) => api<InspectedRun>("/api/inspect/job", { method: "POST", body: { server, job, ...(token ? { token } : {}) } }),
  stream: (path: string, stream: number) => api<StreamDetail>(`/api/inspect/stream?path=${encodeURIComponent(path)}&stream=${stream}`),
};
