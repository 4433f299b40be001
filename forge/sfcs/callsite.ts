/**
 * Finds the user's line that called into the SFCS builder, from a stack trace: the first
 * frame outside this folder (and outside node internals).
 */
import { dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallSite } from "./errors.js";

const OWN_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * Records where a builder call came from. The stack is captured now (cheap) but formatted
 * only when an error reads `location` (formatting, with source maps, is the costly part).
 */
export function captureSite(call: string): CallSite {
  const trace = new Error();
  let location: string | undefined;
  return {
    call,
    get location(): string {
      location ??= userFrame(trace.stack ?? "");
      return location;
    },
  };
}

function userFrame(stack: string): string {
  for (const line of stack.split("\n").slice(1)) {
    const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line.trim());
    if (!match) continue;
    let file = match[1];
    if (file.startsWith("file://")) {
      try {
        file = fileURLToPath(file);
      } catch {
        continue;
      }
    }
    if (file.startsWith(OWN_DIR) || file.startsWith("node:") || file.includes("/node_modules/")) continue;
    const shown = file.startsWith("/") ? relative(process.cwd(), file) || file : file;
    return `${shown}:${match[2]}:${match[3]}`;
  }
  return "unknown";
}
