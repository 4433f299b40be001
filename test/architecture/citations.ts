/**
 * Citations of documents in the repository's prose, searched for names and paths of `.md`
 * and `.yaml` files (`README.md`, `docs/engine.md#the-step`, `../README.md`,
 * `forge/transport/queue/README.md`). Prose is the text of every Markdown file and the
 * comments and strings of every source file (error messages cite documents too); under
 * test/ only the comments, its strings being inputs. A citation holds when the file exists
 * relative to the citing file's folder or to one of the folders above it up to the
 * repository root (so `docs/README.md` from `forge/index.ts` and `language.md` from
 * `docs/README.md` both hold); a bare name also holds when a file of that name is anywhere
 * in the repository. Web addresses are not citations of the clone and are skipped.
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
}

/**
 * A document name or path: path segments of word characters, dots and dashes, ending in
 * `.md`, `.yaml` or `.yml`, not glued to a longer word or path on either side. `*.md` (a
 * pattern, not a citation) does not match: `*` is not a name character.
 */
const CITATION = /(?<![\w.\/@*-])((?:\.{1,2}\/)*(?:[\w@-][\w.@-]*\/)*[\w-][\w.-]*\.(?:md|yaml|yml))(?![\w\/-]|\.\w)/g;
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
    for (const match of prose.matchAll(CITATION)) citations.push({ file, line: lineOf(part.offset + match.index), cited: match[1]! });
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

/** Names of every document (.md/.yaml/.yml) in the repository, for bare-name citations. */
function documentNames(root: string): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith(".") && entry.name !== ".github") continue;
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name)) walk(join(dir, entry.name));
      } else if (/\.(md|ya?ml)$/.test(entry.name)) names.add(entry.name);
    }
  };
  walk(root);
  return names;
}

/** Whether a citation names a file of the clone. */
export function citationHolds(root: string, citation: Citation, names: Set<string>): boolean {
  if (!citation.cited.includes("/") && names.has(citation.cited)) return true;
  for (let folder = posix.dirname(citation.file); ; folder = posix.dirname(folder)) {
    const path = posix.normalize(posix.join(folder, citation.cited));
    if (!path.startsWith("../") && existsSync(join(root, path)) && statSync(join(root, path)).isFile()) return true;
    if (folder === "." || folder === "") return false;
  }
}

/** The citations under `root` that name no file of the clone. */
export function brokenCitations(root: string): { files: number; citations: number; broken: Citation[] } {
  const names = documentNames(root);
  const files = listProseFiles(root);
  let count = 0;
  const broken: Citation[] = [];
  for (const file of files) {
    for (const citation of citationsIn(file, readFileSync(join(root, file), "utf8"))) {
      count++;
      if (!citationHolds(root, citation, names)) broken.push(citation);
    }
  }
  return { files: files.length, citations: count, broken };
}
