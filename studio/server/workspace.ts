/**
 * The studio's folder: agent files (`.toml` / `.json` definitions, `.ts` modules of proc agents)
 * found in it, the registry they make with the built-ins (the same one `forge-agent --module`
 * builds), reading and saving files. Every path a request names is checked to stay inside the folder.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { extname, join, relative, resolve, sep } from "node:path";
import { agentsFromDefinition, createDefaultRegistry, loadAgentModule, type Agent, type AgentRegistry } from "../../agents/index.js";
import { StudioError } from "../logic/errors.js";
import { formatOf, parseAgentText, serializeAgentData } from "../logic/roundtrip.js";
import type { AgentInfo } from "../logic/types.js";

/** Bounds on what the studio reads from its folder. */
export const LIMITS = { files: 2_000, depth: 4, fileBytes: 4 * 1024 * 1024 } as const;

const AGENT_EXTS = new Set([".toml", ".json", ".ts", ".mts"]);
const SKIP_DIRS = new Set(["node_modules", "dist", "out", "test-output"]);

export interface WorkspaceFile {
  path: string;
  kind: "data" | "code" | "arrow";
  bytes: number;
}

export interface LoadedWorkspace {
  registry: AgentRegistry;
  catalog: AgentInfo[];
  /** File → the problem that kept it from loading. */
  problems: Record<string, string>;
}

export class Workspace {
  readonly folder: string;

  constructor(folder: string) {
    this.folder = resolve(folder);
    if (!existsSync(this.folder) || !statSync(this.folder).isDirectory()) {
      throw new StudioError(folder, "is not a folder");
    }
  }

  /** `rel` as an absolute path inside the folder; throws for anything that leaves it. */
  resolvePath(rel: string): string {
    if (typeof rel !== "string" || rel === "" || rel.length > 1024 || rel.includes("\0")) throw new StudioError(String(rel), "is not a file path");
    const abs = resolve(this.folder, rel);
    if (abs !== this.folder && !abs.startsWith(this.folder + sep)) throw new StudioError(rel, "is outside the studio's folder");
    if (relative(this.folder, abs).split(sep).some((p) => p.startsWith("."))) throw new StudioError(rel, "names a hidden file or folder");
    return abs;
  }

  /** Agent files and Arrow exports, depth-first, at most LIMITS.files. */
  files(): WorkspaceFile[] {
    const out: WorkspaceFile[] = [];
    const walk = (dir: string, depth: number) => {
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
      } catch {
        return;
      }
      for (const e of entries) {
        if (out.length >= LIMITS.files) return;
        if (e.name.startsWith(".")) continue;
        const abs = join(dir, e.name);
        if (e.isDirectory()) {
          if (depth < LIMITS.depth && !SKIP_DIRS.has(e.name)) walk(abs, depth + 1);
          continue;
        }
        if (!e.isFile()) continue;
        const ext = extname(e.name);
        const rel = relative(this.folder, abs).split(sep).join("/");
        const bytes = statSync(abs).size;
        if (e.name.endsWith(".d.ts")) continue;
        if (ext === ".arrow" || ext === ".arrows") out.push({ path: rel, kind: "arrow", bytes });
        else if (ext === ".ts" || ext === ".mts") {
          // Only modules of agents: loading one runs it, and a folder may hold other scripts.
          if (bytes <= LIMITS.fileBytes && isAgentModule(readFileSync(abs, "utf8"))) out.push({ path: rel, kind: "code", bytes });
        } else if (AGENT_EXTS.has(ext)) out.push({ path: rel, kind: "data", bytes });
      }
    };
    walk(this.folder, 0);
    return out;
  }

  /** `rel` resolved, symbolic links included, and still inside the folder (for files that exist). */
  private existingPath(rel: string): string {
    const abs = this.resolvePath(rel);
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return abs; // does not exist (yet): the caller says so, or creates it
    }
    const root = realpathSync(this.folder);
    if (real !== root && !real.startsWith(root + sep)) throw new StudioError(rel, "is a link to outside the studio's folder");
    return real;
  }

  readText(rel: string): string {
    const abs = this.existingPath(rel);
    let size: number;
    try {
      size = statSync(abs).size;
    } catch {
      throw new StudioError(rel, "does not exist");
    }
    if (size > LIMITS.fileBytes) throw new StudioError(rel, `is ${size} bytes, more than the ${LIMITS.fileBytes} the studio opens`);
    return readFileSync(abs, "utf8");
  }

  /** A data file's text and parsed content, or a code file's text. */
  open(rel: string): { path: string; text: string; data?: unknown } {
    const text = this.readText(rel);
    const format = formatOf(rel);
    return format ? { path: rel, text, data: parseAgentText(text, format, rel) } : { path: rel, text };
  }

  /**
   * Save a data file from `data` (checked as agent definitions first; written back unchanged when
   * it says what the file already says) or a code file from `text`. Returns whether bytes changed.
   */
  save(rel: string, content: { data?: unknown; text?: string }): { path: string; changed: boolean } {
    const abs = this.existingPath(rel);
    const format = formatOf(rel);
    let text: string;
    if (format) {
      if (content.data === undefined) throw new StudioError(rel, "a .toml/.json agent file is saved from `data`");
      agentsFromDefinition(content.data, rel); // throws AgentError naming the field and the step
      const original = existsSync(abs) ? readFileSync(abs, "utf8") : undefined;
      text = serializeAgentData(content.data, format, original);
      if (text === original) return { path: rel, changed: false };
    } else if (AGENT_EXTS.has(extname(rel))) {
      if (typeof content.text !== "string") throw new StudioError(rel, "a code file is saved from `text`");
      text = content.text;
    } else {
      throw new StudioError(rel, "the studio saves only .toml, .json and .ts agent files");
    }
    if (Buffer.byteLength(text) > LIMITS.fileBytes) throw new StudioError(rel, `more than ${LIMITS.fileBytes} bytes`);
    mkdirSync(resolve(abs, ".."), { recursive: true });
    writeFileSync(abs, text);
    return { path: rel, changed: true };
  }

  /** The built-ins plus every agent file of the folder, as `forge-agent --module …` would load them. */
  async load(): Promise<LoadedWorkspace> {
    const registry = createDefaultRegistry();
    const problems: Record<string, string> = {};
    const fileOf = new Map<string, string>();
    for (const f of this.files()) {
      if (f.kind === "arrow") continue;
      if (f.kind === "data" && !this.looksLikeAgentFile(f.path)) continue;
      const before = new Set(registry.names());
      try {
        await loadAgentModule(registry, this.resolvePath(f.path));
      } catch (error) {
        problems[f.path] = (error as Error).message;
        continue;
      }
      // The agents this file added (a name it redefines keeps the file that defined it first).
      for (const name of registry.names()) if (!before.has(name)) fileOf.set(name, f.path);
    }
    const catalog = registry.list().map((a) => agentInfo(a, fileOf.get(a.name)));
    return { registry, catalog, problems };
  }

  /** JSON files that are not agent definitions (package.json, data) are not loaded as agents. */
  private looksLikeAgentFile(rel: string): boolean {
    let data: Record<string, unknown>;
    try {
      data = parseAgentText(this.readText(rel), formatOf(rel)!, rel) as Record<string, unknown>;
    } catch {
      return rel.endsWith(".toml"); // a TOML agent file with a syntax error is shown with its problem
    }
    // UDPL prompt files (also TOML), package.json, data: not agents.
    return !!data && typeof data === "object" && ((typeof data.name === "string" && ("steps" in data || "template" in data)) || Array.isArray(data.agents));
  }
}

/** A TypeScript module the studio loads as agents: it exports them and defines one (agents/registry.ts's contract). */
export function isAgentModule(text: string): boolean {
  return /\bexport\s+(const\s+agents\b|default\b)/.test(text) && /\bdefine(Proc|SandboxedProc|Template|Workflow)\s*\(/.test(text);
}

export function agentInfo(agent: Agent, file?: string): AgentInfo {
  const ports = (p: Agent["inputs"]) => Object.entries(p).map(([name, spec]) => ({ name, help: spec.help }));
  return {
    name: agent.name,
    kind: agent.kind,
    help: agent.help,
    inputs: ports(agent.inputs),
    optionalInputs: ports(agent.optionalInputs),
    outputs: ports(agent.outputs),
    ...(file ? { file } : {}),
  };
}
