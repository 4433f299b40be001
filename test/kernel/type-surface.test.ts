/**
 * The cell type surface: the cached declaration build the checker reads instead of the
 * sources, with heavy packages cut off — and the checker, built on it, still types, completes
 * and inspects forge without reading tfjs, fastify or bullmq.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTypeSurface, cachedTypeSurface, cellTypeScript, CellExecutor, createCellCompiler, cutOffHeavyImports, OPAQUE_PREFIX, preludeDeclarations, REPO_ROOT, type TypeSurface } from "../../kernel/cells/index.js";

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".d.ts")).map((f) => join(dir, f));
}

describe("cutOffHeavyImports", () => {
  it("rewrites imports of packages not kept, and leaves relative paths, builtins and kept packages", () => {
    const opaque = new Set<string>();
    const text = [
      'import * as tf from "@tensorflow/tfjs";',
      'import { type FastifyInstance } from "fastify";',
      'export declare const queue: import("bullmq").Queue;',
      'import { z } from "zod";',
      'import { Table } from "apache-arrow";',
      'import { Readable } from "node:stream";',
      'import type { Stats } from "fs";',
      'export * from "./udpl/index.js";',
    ].join("\n");
    const out = cutOffHeavyImports(text, opaque);
    expect(out).toContain(`from "${OPAQUE_PREFIX}@tensorflow/tfjs"`);
    expect(out).toContain(`from "${OPAQUE_PREFIX}fastify"`);
    expect(out).toContain(`import("${OPAQUE_PREFIX}bullmq").Queue`);
    // zod stays: forge's RequestOptions is inferred from its schemas.
    expect(out).toContain('from "zod"');
    expect(out).toContain('from "apache-arrow"');
    expect(out).toContain('from "node:stream"');
    expect(out).toContain('from "fs"');
    expect(out).toContain('from "./udpl/index.js"');
    expect([...opaque].sort()).toEqual(["@tensorflow/tfjs", "bullmq", "fastify"]);
  });
});

describe("the cell type surface", () => {
  let surface: TypeSurface;
  let executor: CellExecutor;
  const read: string[] = [];
  const sys = cellTypeScript().sys;
  const readFile = sys.readFile;

  beforeAll(async () => {
    surface = await buildTypeSurface();
    // Record what the cell checker reads while it is built on the surface.
    sys.readFile = (path, encoding) => {
      read.push(path);
      return readFile.call(sys, path, encoding);
    };
    executor = new CellExecutor(undefined, { converter: createCellCompiler(cellTypeScript(), { rootDir: REPO_ROOT, prelude: preludeDeclarations(surface.dir) }) });
  });
  afterAll(() => {
    sys.readFile = readFile;
    executor?.close();
  });

  it("is cached under the sources' key, laid out like the repository, heavy packages cut off", () => {
    expect(cachedTypeSurface()?.dir).toBe(surface.dir);
    expect(surface.opaque).toEqual(expect.arrayContaining(["@tensorflow/tfjs", "fastify"]));
    const files = declarationFiles(surface.dir);
    expect(files).toContain(join(surface.dir, "forge", "index.d.ts"));
    expect(files).toContain(join(surface.dir, "viz", "index.d.ts"));
    expect(files).toContain(join(surface.dir, "datasets", "index.d.ts"));
    for (const file of files) {
      expect(readFileSync(file, "utf8"), file).not.toMatch(/(from |import\()"(@tensorflow\/tfjs|fastify|bullmq)"/);
    }
  });

  it("lets the checker type, complete and inspect forge without reading tfjs, fastify or bullmq", async () => {
    const wrong = await executor.run("const n: string = new forge.ByteTokenizer().vocabSize");
    expect(wrong.status).toBe("error");
    expect(wrong.status === "error" && wrong.error.evalue).toMatch(/'number' is not assignable to type 'string'/);
    expect(executor.complete("forge.ByteT", 11).matches).toContain("ByteTokenizer");
    expect(executor.complete("datasets.", 9).matches.length).toBeGreaterThan(0);
    const info = executor.inspect("forge", 2);
    expect(info?.displayParts?.map((p) => p.text).join("")).toContain(`${surface.dir}/forge/index`);
    const heavy = read.filter((p) => /node_modules\/(@tensorflow|fastify|bullmq|ioredis|@webgpu)\//.test(p));
    expect(heavy).toEqual([]);
    // The sources themselves are not read either: only their declarations.
    expect(read.filter((p) => p.startsWith(join(REPO_ROOT, "forge") + "/"))).toEqual([]);
  });
});
