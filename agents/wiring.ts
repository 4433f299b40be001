/**
 * Wiring the built-ins to the real engine and datasets layer: `forge.sample` runs on a Forge
 * session (direct, HTTP or queue — they share `request`), `datasets.export` writes with the
 * datasets module. Kept apart from builtins.ts so the agents' core never imports the engine.
 */
import type { ResourceMap, Session, WorkflowFactory as ProgramFactory } from "../forge/index.js";
import { realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import type { BuiltinOptions, DatasetExporter, ForgeSession, SzcpFactory } from "./builtins.js";
import { AgentError } from "./errors.js";
import { realPath, within } from "./sandbox/sandbox.js";
import { createDefaultRegistry } from "./builtins.js";
import type { AgentRegistry } from "./registry.js";
import { exportTable } from "../datasets/index.js";

/** A Forge session as `forge.sample` sees it. */
export function forgeSession(session: Session): ForgeSession {
  return {
    async request(config, workflow, options) {
      const result = await session.request(config as never, workflow, options);
      return { extractions: { ...result }, run: result.run };
    },
  };
}

export interface ForgeRegistryOptions extends BuiltinOptions {
  /**
   * Folders the default exporter may write into (default: the working folder and the OS
   * temporary folder). An agent file is untrusted input: without a bound, a workflow step
   * `datasets.export` with `path = "../../.bashrc"` (or an absolute path, or a link inside a
   * folder) overwrote any file the process could write.
   */
  exportRoots?: readonly string[];
}

/** The built-in registry on a real session, with programs by name and the Arrow/JSONL exporter (confined to `exportRoots`). */
export function createForgeRegistry(session: Session, programs: Record<string, ProgramFactory> = {}, extra: ForgeRegistryOptions = {}): AgentRegistry {
  // The agents' step inputs are untyped JSON; the program's factory checks them as resources.
  const factories: Record<string, SzcpFactory> = Object.fromEntries(
    Object.entries(programs).map(([name, factory]) => [name, (args?: Record<string, unknown>) => factory(args as ResourceMap | undefined)]),
  );
  const { exportRoots, ...options } = extra;
  const exporter = confineExports(exportTable, exportRoots ?? [process.cwd(), tmpdir()]);
  return createDefaultRegistry({ exporter, ...options, session: forgeSession(session), programs: factories });
}

/**
 * `exporter`, writing only below `roots`: the target's real path (sandbox.ts realPath: links
 * followed through its nearest existing folder, a dangling link to its target, since writing
 * through it creates that target) must lie inside one root's real path, else an AgentError
 * (kind "input") names the path and the roots.
 */
export function confineExports(exporter: DatasetExporter, roots: readonly string[]): DatasetExporter {
  const realRoots = roots.map((root) => realpathSync(resolve(root)));
  return (table, options) => {
    const target = exportTarget(options.path);
    if (!within(target, realRoots))
      throw new AgentError(
        `datasets.export: path ${JSON.stringify(options.path)} (${target}) is outside the folders exports may write to (${realRoots.join(", ")}); ` +
          "an agent file is untrusted input: to allow another folder, pass createForgeRegistry(session, programs, { exportRoots: [...] })",
        "input",
      );
    return exporter(table, options);
  };
}

/** Links a path may go through before it is refused: Linux's own bound (ELOOP). */
const MAX_EXPORT_LINK_HOPS = 40;

/** The real path an export to `path` would write at; a link loop is an AgentError. */
function exportTarget(path: string): string {
  try {
    return realPath(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP") throw new AgentError(`datasets.export: path ${JSON.stringify(path)} goes through more than ${MAX_EXPORT_LINK_HOPS} links`, "input");
    throw error;
  }
}
