/** The kernel_info_reply content: who we are and what language cells are in. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
// Not cells/index.js: the supervisor answers kernel_info and loads nothing of the cells.
import { REPO_ROOT } from "../cells/prelude.js";
import { CELL_TYPESCRIPT_VERSION } from "../cells/typescript.js";
import { PROTOCOL_VERSION } from "../protocol/index.js";

export const KERNEL_NAME = "forge-typescript";
export const DISPLAY_NAME = "TypeScript (Workflow Forge)";

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version?: string }).version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export function kernelInfo(): Record<string, unknown> {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "forge-kernel",
    implementation_version: packageVersion(),
    language_info: {
      name: "typescript",
      // The TypeScript that type-checks and compiles cells (the project's).
      version: CELL_TYPESCRIPT_VERSION,
      mimetype: "text/typescript",
      file_extension: ".ts",
      codemirror_mode: { name: "javascript", typescript: true },
      pygments_lexer: "typescript",
    },
    banner: `Workflow Forge TypeScript kernel — Node ${process.version}, TypeScript ${CELL_TYPESCRIPT_VERSION}; forge, viz and datasets are preloaded.`,
    debugger: false,
    help_links: [],
  };
}
