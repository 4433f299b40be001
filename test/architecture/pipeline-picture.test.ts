/**
 * The pipeline picture is drawn twice — at the top of docs/README.md and in forge/index.ts's
 * header comment — so that a reader of either sees it; this keeps the two the same.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repositoryRoot } from "./graph.js";

const root = repositoryRoot();

/** The first fenced block after `## The pipeline` in docs/README.md. */
function pictureInDocs(): string[] {
  const text = readFileSync(join(root, "docs/README.md"), "utf8");
  const section = text.slice(text.indexOf("\n## The pipeline\n"));
  const open = section.indexOf("\n```\n") + 5;
  return section.slice(open, section.indexOf("\n```\n", open)).split("\n").map((line) => line.trimEnd());
}

/** The lines of forge/index.ts's header comment from the picture's first line to its last. */
function pictureInIndex(first: string, last: string): string[] {
  const header = readFileSync(join(root, "forge/index.ts"), "utf8");
  const lines = header.slice(0, header.indexOf("*/")).split("\n").map((line) => line.replace(/^ \*  ?/, "").trimEnd());
  const start = lines.findIndex((line) => line.trim() === first.trim());
  const end = lines.findIndex((line, i) => i >= start && line.trim() === last.trim());
  return start < 0 || end < 0 ? [] : lines.slice(start, end + 1);
}

describe("the pipeline picture", () => {
  it("is the same in docs/README.md and forge/index.ts", () => {
    const docs = pictureInDocs();
    expect(docs.length).toBeGreaterThan(10);
    expect(docs.join("\n")).toContain("serialization boundary");
    expect(pictureInIndex(docs[0]!, docs[docs.length - 1]!)).toEqual(docs);
  });
});
