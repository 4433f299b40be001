/**
 * Forge Studio's server (fastify): the built web app (studio/dist) and the JSON API of
 * schemas.ts over one folder. Same rules as the Forge server: loopback only unless auth is
 * configured (bearer tokens in a file, verified by forge's auth registry), every request body
 * parsed through its zod schema, user mistakes answered 400 with a stable code and where.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import { agentsFromDefinition, inspectWorkflow, type WorkflowAgent } from "../../agents/index.js";
import { ForgeError } from "../../forge/errors.js";
import { StudioError } from "../logic/errors.js";
import { extractSubWorkflow } from "../logic/extract.js";
import type { AgentDoc } from "../logic/types.js";
import { forgeAuth, type StudioVerifier } from "./auth.js";
import { inspectExport, inspectJob, openedJob, openStream } from "./inspector.js";
import { StudioRuns } from "./runs.js";
import * as S from "./schemas.js";
import { Workspace } from "./workspace.js";

export const DEFAULT_DIST = fileURLToPath(new URL("../dist/", import.meta.url));

export interface StudioOptions {
  /** The folder of agent files the studio edits. */
  folder: string;
  /** "host:port" (default 127.0.0.1:0, any free port on loopback). */
  address?: string;
  /** File of bearer tokens (one per line), as the Forge server's `bearer-file` auth. */
  authFile?: string;
  /** Listen beyond loopback without auth (you were warned). */
  insecure?: boolean;
  /** Environment variables workflows may read as `$NAME` (forge-agent's --allow-env). */
  allowEnv?: string[];
  /** The built web app (default studio/dist). */
  dist?: string;
}

export interface StudioServer {
  url: string;
  app: FastifyInstance;
  workspace: Workspace;
  runs: StudioRuns;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

/** Parse "host:port" / ":port" / "port"; the host defaults to 127.0.0.1. */
export function parseStudioAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$|^(\d{1,5})$/.exec(address);
  if (!m) throw new StudioError(`--address ${address}`, 'expected "host:port" (e.g. 127.0.0.1:4173; port 0 = any free port)');
  const port = Number(m[3] ?? m[4]);
  if (port > 65535) throw new StudioError(`--address ${address}`, "the port is above 65535");
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}

function parse<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = `${what}${issue.path.length ? "." + issue.path.join(".") : ""}`;
  throw new StudioError(where, issue.message);
}

export async function startStudio(options: StudioOptions): Promise<StudioServer> {
  const workspace = new Workspace(options.folder);
  const { host, port } = parseStudioAddress(options.address ?? "127.0.0.1:0");
  const verifier: StudioVerifier | null = options.authFile ? forgeAuth.create(options.authFile) : null;
  const loopback = await forgeAuth.resolvesToLoopback(host);
  if (!loopback && !verifier && !options.insecure) {
    throw new StudioError(`--address ${options.address}`, "is reachable from other machines and no --auth-file is given; bind 127.0.0.1, give --auth-file tokens.txt, or pass --insecure");
  }
  const dist = resolve(options.dist ?? DEFAULT_DIST);
  const allowEnv = options.allowEnv ?? [];
  const runs = new StudioRuns(workspace.folder);
  const app = Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 });

  app.setErrorHandler((error: unknown, _req, reply) => {
    if (error instanceof ForgeError) {
      return reply.code(400).send({ error: { code: error.code, message: error.message, ...(error.where ? { where: error.where } : {}) } });
    }
    const e = error as { statusCode?: number; message?: string; code?: string };
    if (e.statusCode && e.statusCode < 500) return reply.code(e.statusCode).send({ error: { code: "bad_request", message: e.message ?? "bad request" } });
    return reply.code(500).send({ error: { code: "internal", message: e.message ?? String(error) } });
  });

  app.addHook("onRequest", async (req: FastifyRequest, reply: FastifyReply) => {
    // Without auth the API answers only pages served from loopback (no DNS rebinding, no other site's form).
    if (!verifier && loopback) {
      const hostHeader = String(req.headers.host ?? "").replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
      if (!["127.0.0.1", "localhost", "::1"].includes(hostHeader) && !/^127\./.test(hostHeader)) {
        return reply.code(403).send({ error: { code: "forbidden_host", message: `Host "${hostHeader}" is not loopback` } });
      }
    }
    if (!req.url.startsWith("/api/")) return;
    // A page of another origin may send simple requests here; changes come only from the studio's own page.
    const origin = req.headers.origin;
    if (req.method !== "GET" && req.method !== "HEAD" && typeof origin === "string" && origin !== "null") {
      let sameHost = false;
      try {
        sameHost = new URL(origin).host === req.headers.host;
      } catch {
        sameHost = false;
      }
      if (!sameHost) return reply.code(403).send({ error: { code: "forbidden_origin", message: `requests from ${origin} are not accepted` } });
    }
    if (verifier && (await verifier.verify({ headers: req.headers })) === null) {
      reply.code(401).header("www-authenticate", verifier.challenge);
      return reply.send({ error: { code: "unauthorized", message: "missing or invalid credentials" } });
    }
  });

  app.get("/api/agents", async () => {
    const loaded = await workspace.load();
    return S.agentsResponse.parse({ agents: loaded.catalog, problems: loaded.problems, allowedEnv: allowEnv });
  });
  app.get("/api/files", async () => ({ folder: workspace.folder, files: workspace.files() }));
  app.get("/api/file", async (req) => workspace.open(parse(S.fileQuery, req.query, "query").path));
  app.put("/api/file", async (req) => {
    const body = parse(S.saveRequest, req.body, "body");
    return workspace.save(body.path, body);
  });
  app.post("/api/validate", async (req) => {
    const { doc } = parse(S.validateRequest, req.body, "body");
    return { problems: await validate(workspace, doc) };
  });
  app.post("/api/extract", async (req) => {
    const body = parse(S.extractRequest, req.body, "body");
    const result = extractSubWorkflow(body.doc as unknown as AgentDoc, body.steps, body.name);
    const file = body.file ?? `${body.name}.toml`;
    if (existsSync(workspace.resolvePath(file))) throw new StudioError(file, "exists already: choose another name for the new agent");
    workspace.save(file, { data: result.child });
    return { ...result, file };
  });
  app.post("/api/diagnostics", async (req) => {
    const { text, path } = parse(S.diagnosticsRequest, req.body, "body");
    return { diagnostics: await typescriptDiagnostics(text, path ?? "agent.ts") };
  });
  app.get("/api/runs", async () => ({ runs: runs.list() }));
  app.post("/api/runs", async (req) => {
    const body = parse(S.runRequest, req.body, "body");
    const { registry } = await workspace.load();
    return { runId: runs.start(body.agent, body.inputs, registry, { dryRun: body.dryRun, allowEnv }) };
  });
  app.get("/api/runs/:runId", async (req) => runs.view(parse(S.runIdParams, req.params, "params").runId));
  app.post("/api/runs/:runId/resume", async (req) => {
    const { runId } = parse(S.runIdParams, req.params, "params");
    const { registry } = await workspace.load();
    runs.resume(runId, registry, { allowEnv });
    return { runId };
  });
  app.get("/api/inspect", async (req) => {
    const { path } = parse(S.inspectQuery, req.query, "query");
    const { details: _details, tokenSource: _tokens, decisionsByStream: _decisions, ...run } = inspectExport(workspace.resolvePath(path), path);
    return run;
  });
  app.post("/api/inspect/job", async (req) => {
    const { server, job, token } = parse(S.jobRequest, req.body, "body");
    const { details: _details, tokenSource: _tokens, decisionsByStream: _decisions, jobSource: _job, ...run } = await inspectJob(server, job, token);
    return run;
  });
  app.get("/api/inspect/stream", async (req) => {
    const { path, stream } = parse(S.streamQuery, req.query, "query");
    const source = path.startsWith("job:") ? openedJob(path) : inspectExport(workspace.resolvePath(path), path);
    if (!source) throw new StudioError(path, "is not an opened job (open it again)");
    const detail = await openStream(source, stream);
    if (!detail) throw new StudioError(`${path}: stream ${stream}`, "is not in this export (or beyond the first 1,024 streams)");
    return detail;
  });

  // The web app: files of studio/dist; any other path is the app's page.
  app.get("/*", async (req, reply) => {
    if (req.url.startsWith("/api/")) return reply.code(404).send({ error: { code: "not_found", message: `no route ${req.url}` } });
    const urlPath = decodeURIComponent(req.url.split("?")[0]!);
    let file = resolve(dist, "." + urlPath);
    if (!file.startsWith(dist + sep) || !existsSync(file) || !statSync(file).isFile()) file = join(dist, "index.html");
    if (!existsSync(file)) {
      return reply.code(503).type("text/plain").send("Forge Studio is not built: run `npm run build:studio` (scripts/setup.sh does it)");
    }
    return reply.type(CONTENT_TYPES[extname(file)] ?? "application/octet-stream").send(readFileSync(file));
  });

  try {
    await app.listen({ host, port });
  } catch (error) {
    runs.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new StudioError(`--address ${host}:${port}`, "is in use: choose another port (port 0 = any free one)");
    if (code === "EADDRNOTAVAIL" || code === "EACCES") throw new StudioError(`--address ${host}:${port}`, `cannot listen there (${code})`);
    throw error;
  }
  const bound = app.server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${boundPort}/`,
    app,
    workspace,
    runs,
    async close() {
      await app.close();
      runs.close();
    },
  };
}

/** The planner's problems for an edited workflow, with a definition error as one problem. */
export async function validate(workspace: Workspace, doc: Record<string, unknown>): Promise<Array<{ step: string; code: string; message: string }>> {
  let agent;
  try {
    [agent] = agentsFromDefinition(doc, "editor");
  } catch (error) {
    return [{ step: "", code: "definition", message: (error as Error).message }];
  }
  if (!agent || agent.kind !== "workflow") return [];
  const { registry } = await workspace.load();
  return inspectWorkflow(agent as WorkflowAgent, registry).problems.map((p) => ({ step: p.step, code: p.code, message: p.message }));
}

/** Syntax errors of TypeScript source (TypeScript's own parser, loaded when first asked). */
export async function typescriptDiagnostics(text: string, fileName: string): Promise<Array<{ from: number; to: number; message: string; severity: "error" | "warning" }>> {
  const ts = (await import("typescript")).default;
  const out = ts.transpileModule(text, { fileName, reportDiagnostics: true, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } });
  return (out.diagnostics ?? []).slice(0, 200).map((d) => ({
    from: d.start ?? 0,
    to: (d.start ?? 0) + Math.max(1, d.length ?? 1),
    message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
    severity: d.category === ts.DiagnosticCategory.Error ? "error" : "warning",
  }));
}
