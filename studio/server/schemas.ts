/**
 * The studio's HTTP API as zod schemas: requests are parsed through them (a mistake is a 400
 * naming the field), and scripts/openapi.ts turns `studioRoutes` into the OpenAPI document beside
 * the server's. Bounds on everything a client controls.
 */
import { z } from "zod";

const name = z.string().min(1).max(200);
const filePath = z.string().min(1).max(1024);

export const errorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), where: z.string().optional() }) });

const port = z.object({ name: z.string(), help: z.string() });
export const agentInfo = z.object({
  name: z.string(),
  kind: z.enum(["proc", "template", "workflow"]),
  help: z.string(),
  inputs: z.array(port),
  optionalInputs: z.array(port),
  outputs: z.array(port),
  file: z.string().optional(),
});

export const agentsResponse = z.object({
  agents: z.array(agentInfo),
  problems: z.record(z.string(), z.string()),
  allowedEnv: z.array(z.string()),
});

export const filesResponse = z.object({
  folder: z.string(),
  files: z.array(z.object({ path: z.string(), kind: z.enum(["data", "code", "arrow"]), bytes: z.number() })),
});

export const fileQuery = z.object({ path: filePath });
export const fileResponse = z.object({ path: z.string(), text: z.string(), data: z.unknown().optional() });
export const saveRequest = z.object({ path: filePath, data: z.unknown().optional(), text: z.string().max(4 * 1024 * 1024).optional() });
export const saveResponse = z.object({ path: z.string(), changed: z.boolean() });

/** A workflow being edited (checked by the planner; its own schema is agents/definition.ts's). */
export const agentDoc = z.record(z.string(), z.unknown());

export const validateRequest = z.object({ doc: agentDoc });
export const validateResponse = z.object({
  problems: z.array(z.object({ step: z.string(), code: z.string(), message: z.string() })),
});

export const extractRequest = z.object({
  doc: agentDoc,
  steps: z.array(z.string().max(200)).min(1).max(10_000),
  name: name,
  /** File for the new agent, relative to the folder (default `<name>.toml`). */
  file: filePath.optional(),
});
export const extractResponse = z.object({
  parent: agentDoc,
  child: agentDoc,
  stepId: z.string(),
  inputs: z.array(z.string()),
  outputs: z.array(z.string()),
  file: z.string(),
});

export const diagnosticsRequest = z.object({ text: z.string().max(4 * 1024 * 1024), path: filePath.optional() });
export const diagnosticsResponse = z.object({
  diagnostics: z.array(z.object({ from: z.number(), to: z.number(), message: z.string(), severity: z.enum(["error", "warning"]) })),
});

export const runRequest = z.object({
  agent: name,
  inputs: z.record(z.string(), z.unknown()).default({}),
  dryRun: z.boolean().default(false),
});
export const runStarted = z.object({ runId: z.string() });
export const runIdParams = z.object({ runId: z.string().min(1).max(200) });

const runSummary = z.object({
  runId: z.string(),
  agent: z.string(),
  status: z.enum(["running", "succeeded", "failed"]),
  interrupted: z.boolean(),
  inputs: z.unknown(),
  outputs: z.unknown().optional(),
  error: z.string().optional(),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
});
export const runsResponse = z.object({ runs: z.array(runSummary) });
export const runResponse = runSummary.extend({
  steps: z.array(
    z.object({
      path: z.string(),
      status: z.string(),
      attempts: z.number(),
      retries: z.number(),
      error: z.string().optional(),
      durationMs: z.number().optional(),
      outputs: z.unknown().optional(),
    }),
  ),
});

export const inspectQuery = z.object({ path: filePath });
export const inspectResponse = z.object({
  file: z.string(),
  runId: z.string(),
  meta: z.record(z.string(), z.string()),
  zones: z.array(z.object({ id: z.number(), sequence: z.string(), text: z.string(), capture: z.string().nullable(), feed: z.string().nullable() })),
  streams: z.array(
    z.object({ stream: z.number(), pathId: z.string(), status: z.string(), segments: z.number(), jumps: z.number(), tokens: z.number(), preview: z.string() }),
  ),
  truncated: z.number(),
  hasLogprobs: z.boolean(),
  hasTokens: z.boolean(),
  hasTokenText: z.boolean(),
  hasDecisions: z.boolean(),
});
export const jobRequest = z.object({
  server: z.string().min(1).max(2048),
  job: z.string().min(1).max(200),
  /** The Forge server's bearer token, when it has auth (sent to that server only, never stored). */
  token: z.string().max(4096).optional(),
});
export const streamQuery = z.object({ path: filePath, stream: z.coerce.number().int().min(0).max(2 ** 31 - 1) });
export const streamResponse = z.object({
  stream: z.number(),
  pathId: z.string(),
  status: z.string(),
  segmentsList: z.array(
    z.object({ segment: z.number(), stepStart: z.number(), stepEnd: z.number(), sequence: z.string(), zoneId: z.number(), repetition: z.number(), jumped: z.boolean() }),
  ),
  extractions: z.array(z.object({ extraction: z.string(), text: z.string(), tokenCount: z.number().nullable() })),
  /** Present when the export has a tokens table: one entry per token, column by column. */
  tokenMarks: z
    .object({
      step: z.array(z.number()),
      token: z.array(z.number()),
      text: z.array(z.string()).nullable(),
      forced: z.array(z.boolean()),
      logprob: z.array(z.number().nullable()),
      sampling: z.array(z.number().nullable()),
      hazard: z.array(z.number().nullable()),
      top: z.array(z.object({ ids: z.array(z.number()), logprobs: z.array(z.number()), texts: z.array(z.string().nullable()) }).nullable()).nullable(),
      truncated: z.number(),
    })
    .optional(),
  /** Present when the export has a decisions table: the stream's decisions at jump sites. */
  decisions: z
    .array(z.object({ zoneId: z.number(), site: z.string(), visit: z.number(), step: z.number(), pJump: z.number(), pPath: z.number().nullable(), outcome: z.string(), taken: z.boolean() }))
    .optional(),
});

export interface StudioRoute {
  method: "GET" | "POST" | "PUT";
  path: string;
  summary: string;
  query?: z.ZodType;
  params?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
}

/** Every route of the studio's API (all under /api, all behind the same auth). */
export const studioRoutes: StudioRoute[] = [
  { method: "GET", path: "/api/agents", summary: "Registered agents (built-ins + the folder's agent files)", response: agentsResponse },
  { method: "GET", path: "/api/files", summary: "Agent files and run exports in the folder", response: filesResponse },
  { method: "GET", path: "/api/file", summary: "One file's text (and parsed data for .toml/.json)", query: fileQuery, response: fileResponse },
  { method: "PUT", path: "/api/file", summary: "Save an agent file (checked first; unchanged data keeps the bytes)", body: saveRequest, response: saveResponse },
  { method: "POST", path: "/api/validate", summary: "The planner's problems for a workflow being edited", body: validateRequest, response: validateResponse },
  { method: "POST", path: "/api/extract", summary: "Extract steps to a sub-workflow (saved as its own file)", body: extractRequest, response: extractResponse },
  { method: "POST", path: "/api/diagnostics", summary: "TypeScript syntax errors of a proc agent's code", body: diagnosticsRequest, response: diagnosticsResponse },
  { method: "GET", path: "/api/runs", summary: "Runs on the studio's tape, newest first", response: runsResponse },
  { method: "POST", path: "/api/runs", summary: "Start a run (or a dry run)", body: runRequest, response: runStarted },
  { method: "GET", path: "/api/runs/{runId}", summary: "A run with per-step status from the tape", params: runIdParams, response: runResponse },
  { method: "POST", path: "/api/runs/{runId}/resume", summary: "Resume a killed or failed run", params: runIdParams, response: runStarted },
  { method: "GET", path: "/api/inspect", summary: "Open a run export: streams and zones", query: inspectQuery, response: inspectResponse },
  { method: "POST", path: "/api/inspect/job", summary: "Open a finished job on a running Forge server (its result.arrow tables)", body: jobRequest, response: inspectResponse },
  { method: "GET", path: "/api/inspect/stream", summary: "One stream of a run export or opened job (path: the file, or the job's handle)", query: streamQuery, response: streamResponse },
];

/** A name for each schema in the OpenAPI document (prefixed: the document holds the server's too). */
const COMPONENTS: Array<[string, z.ZodType, string?]> = [
  ["StudioError", errorBody, "Every studio error: 400 for a user's mistake (code, message, where), 401 without valid credentials"],
  ["StudioAgents", agentsResponse],
  ["StudioFiles", filesResponse],
  ["StudioFile", fileResponse],
  ["StudioSaveRequest", saveRequest],
  ["StudioSaveResponse", saveResponse],
  ["StudioValidateRequest", validateRequest],
  ["StudioValidateResponse", validateResponse],
  ["StudioExtractRequest", extractRequest],
  ["StudioExtractResponse", extractResponse],
  ["StudioDiagnosticsRequest", diagnosticsRequest],
  ["StudioDiagnosticsResponse", diagnosticsResponse],
  ["StudioRuns", runsResponse],
  ["StudioRunRequest", runRequest],
  ["StudioRunStarted", runStarted],
  ["StudioRun", runResponse],
  ["StudioJobRequest", jobRequest],
  ["StudioInspectedRun", inspectResponse],
  ["StudioStream", streamResponse],
];

const ref = (schema: z.ZodType): { $ref: string } => {
  const entry = COMPONENTS.find(([, s]) => s === schema);
  if (!entry) throw new Error("studio openapi: a route uses a schema without a component name");
  return { $ref: `#/components/schemas/${entry[0]}` };
};

function parameters(schema: z.ZodType | undefined, where: "query" | "path"): unknown[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
    name,
    in: where,
    required: where === "path" || !field.safeParse(undefined).success,
    schema: z.toJSONSchema(field, { io: "input", unrepresentable: "any" }),
  }));
}

/**
 * The studio's share of the OpenAPI document (the shape of scripts/openapi.ts's OpenApiModule):
 * component schemas from the zod schemas above, and a path item per route of `studioRoutes`.
 */
export const studioApi: { schemas: Record<string, { schema: z.ZodType; description?: string }>; paths: Record<string, unknown> } = {
  schemas: Object.fromEntries(COMPONENTS.map(([name, schema, description]) => [name, description ? { schema, description } : { schema }])),
  paths: (() => {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of studioRoutes) {
      const json = (schema: z.ZodType) => ({ content: { "application/json": { schema: ref(schema) } } });
      (paths[r.path] ??= {})[r.method.toLowerCase()] = {
        summary: `Forge Studio: ${r.summary}`,
        tags: ["studio"],
        parameters: [...parameters(r.params, "path"), ...parameters(r.query, "query")],
        ...(r.body ? { requestBody: { required: true, ...json(r.body) } } : {}),
        responses: {
          "200": { description: "OK", ...json(r.response) },
          "400": { description: "A mistake in the request, or one the user made in a file (code, message, where)", ...json(errorBody) },
          "401": { description: "The studio has auth and the request has no valid bearer token", ...json(errorBody) },
        },
      };
    }
    return paths;
  })(),
};
