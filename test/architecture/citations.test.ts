/**
 * Every document the repository's comments, messages and Markdown cite is in the clone
 * (citations.ts says what counts as a citation and where it is looked up).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { brokenCitations, citationsIn } from "./citations.js";
import { repositoryRoot } from "./graph.js";

describe("document citations", () => {
  it("name only documents the clone contains", () => {
    const { files, citations, broken } = brokenCitations(repositoryRoot());
    expect(files).toBeGreaterThan(300);
    expect(citations).toBeGreaterThan(100);
    expect(broken.map((c) => `${c.file}:${c.line} cites ${c.cited}${c.anchor === null ? "" : `#${c.anchor}`}`)).toEqual([]);
  });
});

describe("the citation scanner", () => {
  it("reads comments and strings of sources, not code, regular expressions or web addresses", () => {
    const source = [
      "// see docs/engine.md#the-step and ENGINE.md",
      "const pattern = /x\\/\\/ GONE.md/;",
      "const template = `${a} in docs/language.md ${`nested ${b}`} tail.yaml`;",
      "const object = { key: 1 }; const notes = 'notes.md';",
      "/* https://example.com/FORGE.md and *.md are not citations; openapi.yml is */",
      "import x from './x.md';",
    ].join("\n");
    expect(citationsIn("forge/a.ts", source).map((c) => `${c.line}:${c.cited}`)).toEqual([
      "1:docs/engine.md",
      "1:ENGINE.md",
      "3:docs/language.md",
      "3:tail.yaml",
      "4:notes.md",
      "5:openapi.yml",
      "6:./x.md",
    ]);
  });

  it("reads all of a Markdown file, links and code alike", () => {
    const text = "# T\n\nSee [the language](language.md#udpl) and `forge/transport/queue/README.md`.\n";
    expect(citationsIn("docs/README.md", text).map((c) => `${c.line}:${c.cited}`)).toEqual(["3:language.md", "3:forge/transport/queue/README.md"]);
  });

  const fixture = mkdtempSync(join(tmpdir(), "forge-citations-"));
  afterAll(() => rmSync(fixture, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };
  write("docs/README.md", "[language](language.md), [root](../README.md), [gone](gone.md)\n[UDPL](language.md#udpl-the-prompt-files) [again](language.md#udpl-the-prompt-files-1) [nope](language.md#nope) [fenced](language.md#not-a-heading)\n");
  write("docs/language.md", "# Language\n\n## UDPL: the prompt files\n\n## UDPL: the prompt files\n\n```\n# not a heading\n```\n");
  write("README.md", "docs/README.md and docs/engine.md\n");
  write("forge/queue/README.md", "queue\n");
  write("forge/x.ts", "/** docs/language.md, queue/README.md, README.md, language.md, forge/queue/README.md, FORGE.md */\nexport {};\n");

  it("looks a citation up beside the citing file, in the folders above it, and bare names anywhere; an anchor must be a heading's", () => {
    const { broken } = brokenCitations(fixture);
    expect(broken.map((c) => `${c.file}:${c.line} ${c.cited}${c.anchor === null ? "" : `#${c.anchor}`}`)).toEqual([
      "README.md:1 docs/engine.md",
      "docs/README.md:1 gone.md",
      "docs/README.md:2 language.md#nope",
      "docs/README.md:2 language.md#not-a-heading",
      "forge/x.ts:1 FORGE.md",
    ]);
  });
});
