/**
 * The serving half's floors (issue #16 item 1): the session contract (forge/session) imports no
 * transport; each transport (forge/transport/http, forge/transport/queue) imports the contract
 * and not the other transport, so it loads alone; forge/connect.ts is the only file that knows
 * every transport; and none of these files is on an import cycle. Read from the sources with
 * TypeScript's own import scanner, type-only imports included.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(folder, f).split("\\").join("/"));
}

/** Repository-relative forge/ files a file imports (relative specifiers, `.js` read as `.ts`). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return importedFiles
    .map((i) => i.fileName)
    .filter((s) => s.startsWith("."))
    .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s.replace(/\.js$/, ".ts"))).split("\\").join("/"));
}

const files = sources("forge");
const graph = new Map(files.map((f) => [f, importsOf(f)]));

/** Every file `start` loads, itself included. */
function closure(start: string): Set<string> {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    stack.push(...(graph.get(file) ?? []));
  }
  return seen;
}

const under = (prefix: string) => (f: string) => f.startsWith(prefix);

describe("the serving half's layering", () => {
  it("finds the files it checks", () => {
    expect(files).toContain("forge/session/contract.ts");
    expect(files).toContain("forge/transport/http/server.ts");
    expect(files).toContain("forge/transport/queue/client.ts");
    expect(graph.get("forge/transport/http/server.ts")).toContain("forge/session/contract.ts");
  });

  it("the contract knows no transport and not connect.ts", () => {
    for (const file of files.filter(under("forge/session/"))) {
      const loaded = [...closure(file)];
      expect(loaded.filter(under("forge/transport/")), file).toEqual([]);
      expect(loaded, file).not.toContain("forge/connect.ts");
    }
  });

  it("each transport loads alone: without the other transport and without connect.ts", () => {
    const http = [...closure("forge/transport/http/index.ts")];
    const queue = [...closure("forge/transport/queue/index.ts")];
    expect(http.filter(under("forge/transport/queue/"))).toEqual([]);
    expect(queue.filter(under("forge/transport/http/"))).toEqual([]);
    expect(http).not.toContain("forge/connect.ts");
    expect(queue).not.toContain("forge/connect.ts");
    // Both implement the contract, and import it.
    expect(http).toContain("forge/session/contract.ts");
    expect(queue).toContain("forge/session/contract.ts");
  });

  it("only connect.ts (and the public index) import both transports", () => {
    const both = files.filter((f) => {
      const direct = graph.get(f) ?? [];
      return direct.some(under("forge/transport/http/")) && direct.some(under("forge/transport/queue/")) && !f.startsWith("forge/transport/");
    });
    expect(both.sort()).toEqual(["forge/connect.ts", "forge/index.ts"]);
  });

  it("no file of the session, the transports, the run stage or connect.ts is on an import cycle", () => {
    const checked = files.filter((f) => /^forge\/(session|transport|run)\//.test(f) || f === "forge/connect.ts" || f === "forge/engine/options.ts");
    const onCycle = checked.filter((f) => (graph.get(f) ?? []).some((g) => closure(g).has(f)));
    expect(onCycle).toEqual([]);
  });
});
