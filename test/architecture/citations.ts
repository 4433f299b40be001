/**
 * Citations of documents in the repository's prose, searched for names and paths of `.md`
 * and `.yaml` files (`README.md`, `docs/automaton.md#the-step`, `../README.md`,
 * `forge/transport/queue/README.md`). Prose is the text of every Markdown file and the
 * comments and strings of every source file (error messages cite documents too); under
 * test/ only the comments, its strings being inputs. A citation holds when the file exists
 * relative to the citing file's folder or to one of the folders above it up to the
 * repository root (so `docs/README.md` from `forge/index.ts` and `language.md` from
 * `docs/README.md` both hold); a bare name also holds when a file of that name is anywhere
 * in the repository. A citation with an `#anchor` of a Markdown file holds only when that
 * file has a heading with that anchor (GitHub's: lower case, punctuation dropped, spaces to
 * dashes, `-1`, `-2` … for repeats). Web addresses are not citations of the clone and are skipped.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative, sep } from "node:path";
import ts from "typescript";

/** Files whose prose is searched: source comments and whole Markdown files. */
const SOURCE_EXTENSIONS = [".ts", ".tsx", ".mts", ".mjs"];
const PROSE_EXTENSIONS = [".md"];
const SKIPPED_FOLDERS = new Set(["node_modules", "out", "test-output", "dist", "build"]);

export interface Citation {
  /** Citing file, repository-relative. */
  file: string;
  /** 1-based line of the citation. */
  line: number;
  /** The name or path as written (without an `#anchor`). */
  cited: string;
  /** The `#anchor` after it, without the `#`; null when none. */
  anchor: string | null;
}

/**
 * A document name or path: path segments of word characters, dots and dashes, ending in
 * `.md`, `.yaml` or `.yml`, not glued to a longer word or path on either side. `*.md` (a
 * pattern, not a citation) does not match: `*` is not a name character.
 */
const CITATION = /(?<![\w.\/@*-])((?:\.{1,2}\/)*(?:[\w@-][\w.@-]*\/)*[\w-][\w.-]*\.(?:md|yaml|yml))(?![\w\/-]|\.\w)(?:#([\w-]+))?/g;
const STRING_TOKENS = new Set([
  ts.SyntaxKind.StringLiteral,
  ts.SyntaxKind.NoSubstitutionTemplateLiteral,
  ts.SyntaxKind.TemplateHead,
]);
/** Web and file addresses: what they name is not a file of the clone. */
const ADDRESS = /\b(?:[a-z][\w+.-]*:\/\/|www\.)[^\s)>\]"'`]*/gi;

/** The comments and string literals of a TypeScript or JavaScript file, each with its offset. */
export function proseOf(text: string, file: string, withStrings = true): Array<{ offset: number; text: string }> {
  const variant = file.endsWith(".tsx") ? ts.LanguageVariant.JSX : ts.LanguageVariant.Standard;
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, variant, text);
  const comments: Array<{ offset: number; text: string }> = [];
  // Open braces inside each template substitution being read: the `}` that closes a
  // substitution must be rescanned as the template's continuation.
  const substitutions: number[] = [];
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (token === ts.SyntaxKind.SingleLineCommentTrivia || token === ts.SyntaxKind.MultiLineCommentTrivia || (withStrings && STRING_TOKENS.has(token)))
      comments.push({ offset: scanner.getTokenStart(), text: scanner.getTokenText() });
    if (token === ts.SyntaxKind.TemplateHead) {
      substitutions.push(0);
    } else if (token === ts.SyntaxKind.OpenBraceToken) {
      if (substitutions.length > 0) substitutions[substitutions.length - 1]!++;
    } else if (token === ts.SyntaxKind.CloseBraceToken && substitutions.length > 0) {
      if (substitutions[substitutions.length - 1] === 0) {
        const continuation = scanner.reScanTemplateToken(false);
        if (withStrings) comments.push({ offset: scanner.getTokenStart(), text: scanner.getTokenText() });
        if (continuation === ts.SyntaxKind.TemplateTail) substitutions.pop();
      } else substitutions[substitutions.length - 1]!--;
    } else if (token === ts.SyntaxKind.SlashToken || token === ts.SyntaxKind.SlashEqualsToken) {
      // A `/` where an expression starts begins a regular expression: rescan it as one, so
      // that a `//` inside it is not taken for a comment.
      const previous = text.slice(0, scanner.getTokenStart()).trimEnd().slice(-1);
      if (previous === "" || "(,=:[!&|?{};+-*%<>~^".includes(previous)) scanner.reScanSlashToken();
    }
  }
  return comments;
}

/** Document citations in one file's prose. */
export function citationsIn(file: string, text: string): Citation[] {
  const isProse = PROSE_EXTENSIONS.some((ext) => file.endsWith(ext));
  const parts = isProse ? [{ offset: 0, text }] : proseOf(text, file, !file.startsWith("test/"));
  const citations: Citation[] = [];
  const lineStarts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lineStarts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  };
  for (const part of parts) {
    const prose = part.text.replace(ADDRESS, (address) => " ".repeat(address.length));
    for (const match of prose.matchAll(CITATION)) citations.push({ file, line: lineOf(part.offset + match.index), cited: match[1]!, anchor: match[2] ?? null });
  }
  return citations;
}

/** Every file under `root` whose prose is searched, repository-relative. */
export function listProseFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(path);
      } else if (entry.isFile() && [...SOURCE_EXTENSIONS, ...PROSE_EXTENSIONS].some((ext) => entry.name.endsWith(ext))) {
        files.push(relative(root, path).split(sep).join("/"));
      }
    }
  };
  walk(root);
  return files.sort();
}

/** Every document (.md/.yaml/.yml) in the repository by file name, for bare-name citations. */
function documentsByName(root: string): Map<string, string[]> {
  const byName = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".") && entry.name !== ".github") continue;
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(join(dir, entry.name));
      } else if (/\.(md|ya?ml)$/.test(entry.name)) {
        byName.set(entry.name, [...(byName.get(entry.name) ?? []), relative(root, join(dir, entry.name)).split(sep).join("/")]);
      }
    }
  };
  walk(root);
  return byName;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a dash. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings (outside code fences), repeats numbered as GitHub does. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const anchor = headingAnchor(heading[1]!);
    const repeats = seen.get(anchor) ?? 0;
    seen.set(anchor, repeats + 1);
    anchors.add(repeats === 0 ? anchor : `${anchor}-${repeats}`);
  }
  return anchors;
}

/** The files a citation may mean: beside the citing file or in a folder above it, else (a bare name) any file of that name. */
function candidates(root: string, citation: Citation, byName: Map<string, string[]>): string[] {
  for (let folder = posix.dirname(citation.file); ; folder = posix.dirname(folder)) {
    const path = posix.normalize(posix.join(folder, citation.cited));
    if (!path.startsWith("../") && existsSync(join(root, path)) && statSync(join(root, path)).isFile()) return [path];
    if (folder === "." || folder === "") break;
  }
  return citation.cited.includes("/") ? [] : (byName.get(citation.cited) ?? []);
}

/** Whether a citation names a file of the clone (and, with an anchor, a heading of it). */
export function citationHolds(root: string, citation: Citation, byName: Map<string, string[]>, anchorCache = new Map<string, Set<string>>()): boolean {
  const files = candidates(root, citation, byName);
  if (citation.anchor === null || !citation.cited.endsWith(".md")) return files.length > 0;
  return files.some((file) => {
    let anchors = anchorCache.get(file);
    if (anchors === undefined) anchorCache.set(file, (anchors = anchorsOf(readFileSync(join(root, file), "utf8"))));
    return anchors.has(citation.anchor!);
  });
}

/** The citations under `root` that name no file of the clone. */
export function brokenCitations(root: string): { files: number; citations: number; broken: Citation[] } {
  const names = documentsByName(root);
  const anchorCache = new Map<string, Set<string>>();
  const files = listProseFiles(root);
  let count = 0;
  const broken: Citation[] = [];
  for (const file of files) {
    for (const citation of citationsIn(file, readFileSync(join(root, file), "utf8"))) {
      count++;
      if (!citationHolds(root, citation, names, anchorCache)) broken.push(citation);
    }
  }
  return { files: files.length, citations: count, broken };
}
