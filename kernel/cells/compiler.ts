/**
 * The cell compiler: type-checks, completes, inspects and compiles cells with the project's
 * TypeScript (typescript.ts) through a LanguageService, against lib es2023 and @types/node —
 * what the kernel's Node 20 runs.
 *
 * Files (virtual, in `<root>/__forge_cells__/`, so that imports resolve as from the repository):
 * - `prelude.ts`: the globals (prelude.ts) and `tslab.ts`: the `tslab` module (tslab-compat.ts);
 * - `cell.ts`: the cell being checked, followed by `;export { <its top-level names> };` on a line
 *   of its own (so positions in the cell are the user's, and its names are exported);
 * - `cell-<n>.d.ts`: the declaration output of each cell that ran;
 * - `scope.d.ts`: the names earlier cells declared, as globals (`export import x = __forge_cell_3.x`,
 *   or `let x: typeof __forge_cell_3.x` for a `let`/`var`, which later cells may assign), each from the last
 *   cell that declared it. A cell's own declarations shadow them.
 *
 * A cell compiles to CommonJS (imports become `require`) in which references to earlier cells'
 * names read `exports.<name>` (the kernel's store of cell variables), the cell's own top-level
 * names are exported into that store, and its last expression statement's value is kept in
 * `__forge_cell__.value`; the source map maps the output back to the cell.
 */
import { join } from "node:path";
import type * as TS from "typescript";
import type { CellDiagnostic } from "./errors.js";
import { TSLAB_DECLARATIONS } from "./tslab-compat.js";
import type { TypeScriptApi } from "./typescript.js";

export interface TsDisplayPart {
  text: string;
  kind: string;
}

/** TypeScript's QuickInfo, the fields the kernel reads. */
export interface TsQuickInfo {
  kind: string;
  textSpan: { start: number; length: number };
  displayParts?: TsDisplayPart[];
  documentation?: TsDisplayPart[];
  tags?: { name: string; text?: TsDisplayPart[] }[];
}

export interface CellCompletion {
  /** UTF-16 offsets into the cell: the text the candidates replace. */
  start: number;
  end: number;
  candidates: string[];
}

export type CompiledCell =
  | { ok: false; diagnostics: CellDiagnostic[] }
  | {
      ok: true;
      /** Pass to accept() once the cell ran: its declarations become visible to later cells. */
      id: number;
      /** CommonJS function body: expects `exports`, `require` and `__forge_cell__` in scope. */
      js: string;
      /** Source map (JSON) from `js` to the cell. */
      map: string;
    };

/** What the kernel calls (checker-thread.ts: from the main thread, answered on the checker's). */
export interface CellConverter {
  convert(src: string): CompiledCell;
  accept(id: number): void;
  complete(src: string, position: number): CellCompletion;
  inspect(src: string, position: number): TsQuickInfo | undefined;
  close(): void;
}

/** The wrapper parameter holding a cell's last expression value. */
export const CELL_RESULT_PARAM = "__forge_cell__";

/** A cell cannot declare more top-level names than this (each is a line of the scope file). */
const MAX_NAMES_PER_CELL = 10_000;

// Top-level await is allowed in cells (they run in an async function); in a CommonJS module
// TypeScript reports it (1378: await, 1432: for await, 1309/1376: await in a non-module).
const TOP_LEVEL_AWAIT_CODES = new Set([1378, 1432, 2854]);

interface DeclaredName {
  name: string;
  /** `let`/`var` stay assignable from later cells. */
  assignable: boolean;
  /** Declared with `export` by the cell itself (not exported again). */
  exported: boolean;
}

export interface CellCompilerOptions {
  /** Where cells live for module resolution (the repository root). */
  rootDir: string;
  /** The globals' declarations (a `declare global { … }` block, prelude.ts). */
  prelude: string;
}

export function createCellCompiler(ts: TypeScriptApi, options: CellCompilerOptions): CellConverter & { preludeProblems(): string[] } {
  const dir = join(options.rootDir, "__forge_cells__");
  const outDir = join(dir, "out");
  // .ts, not .d.ts: declaration files are not checked (skipLibCheck), and the prelude must be.
  const preludeFile = join(dir, "prelude.ts");
  const tslabFile = join(dir, "tslab.ts");
  const scopeFile = join(dir, "scope.d.ts");
  const cellFile = join(dir, "cell.ts");
  const files = new Map<string, { text: string; version: number }>();
  const setFile = (path: string, text: string) => {
    const old = files.get(path);
    if (old?.text !== text) files.set(path, { text, version: (old?.version ?? 0) + 1 });
  };
  setFile(preludeFile, `${options.prelude}\nexport {};\n`);
  setFile(tslabFile, TSLAB_DECLARATIONS);
  setFile(scopeFile, "export {};\n");
  setFile(cellFile, "export {};\n");

  const compilerOptions: TS.CompilerOptions = {
    target: ts.ScriptTarget.ES2023,
    lib: ["lib.es2023.d.ts"],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    resolveJsonModule: true,
    experimentalDecorators: true,
    jsx: ts.JsxEmit.React,
    declaration: true,
    sourceMap: true,
    newLine: ts.NewLineKind.LineFeed,
    skipLibCheck: true,
    // Cells get Node's globals; any other package's types come with its import (the dozen
    // @types that development tools bring would slow every start).
    types: ["node"],
    typeRoots: [join(options.rootDir, "node_modules", "@types")],
    rootDir: options.rootDir,
    outDir,
  };

  /**
   * A file on disk's version: its modification time (a module a cell imports may be edited
   * between cells) — except under node_modules (lib, @types, packages, the type surface in
   * node_modules/.cache), taken as fixed for the session: hundreds of files, and a stat of each
   * for every cell's check was a third of its time.
   */
  const diskVersion = (path: string): string => (/[\\/]node_modules[\\/]/.test(path) ? "0" : String(ts.sys.getModifiedTime?.(path)?.getTime() ?? 0));
  /** Snapshots of files on disk by version: TypeScript asks for every file's snapshot on every check. */
  const snapshots = new Map<string, { version: string; snapshot: TS.IScriptSnapshot }>();

  const host: TS.LanguageServiceHost = {
    getCompilationSettings: () => compilerOptions,
    getScriptFileNames: () => [preludeFile, tslabFile, scopeFile, cellFile],
    getScriptVersion: (path) => {
      const virtual = files.get(path);
      return virtual ? `v${virtual.version}` : diskVersion(path);
    },
    getScriptSnapshot: (path) => {
      const virtual = files.get(path);
      if (virtual) return ts.ScriptSnapshot.fromString(virtual.text);
      const version = diskVersion(path);
      const cached = snapshots.get(path);
      if (cached?.version === version) return cached.snapshot;
      const text = ts.sys.readFile(path);
      if (text === undefined) return undefined;
      const snapshot = ts.ScriptSnapshot.fromString(text);
      snapshots.set(path, { version, snapshot });
      return snapshot;
    },
    getCurrentDirectory: () => options.rootDir,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists: (path) => files.has(path) || ts.sys.fileExists(path),
    readFile: (path, encoding) => files.get(path)?.text ?? ts.sys.readFile(path, encoding),
    readDirectory: (...args) => ts.sys.readDirectory(...args),
    directoryExists: (path) => path === dir || ts.sys.directoryExists(path),
    getDirectories: (path) => ts.sys.getDirectories(path),
    useCaseSensitiveFileNames: () => true,
  };
  const service = ts.createLanguageService(host, ts.createDocumentRegistry(true, options.rootDir));

  /** Names declared by the cells that ran, each from the last cell that declared it. */
  const scope = new Map<string, { cell: number; assignable: boolean }>();
  /** The declaration output of the cell compiled last, until accepted. */
  let pending: { id: number; dts: string; names: DeclaredName[] } | null = null;
  let nextId = 1;
  /** Names of the globals before any cell (lib, @types/node, prelude): a cell's name that is one of them stays the global. */
  let builtinGlobals: Set<string> | null = null;

  function program(): TS.Program {
    const p = service.getProgram();
    if (!p) throw new Error("the cell type checker has no program");
    return p;
  }

  function globalsBeforeCells(): Set<string> {
    if (!builtinGlobals) {
      const p = program();
      const flags = ts.SymbolFlags.Value | ts.SymbolFlags.Type | ts.SymbolFlags.Namespace;
      builtinGlobals = new Set(p.getTypeChecker().getSymbolsInScope(p.getSourceFile(scopeFile)!, flags).map((s) => s.name));
    }
    return builtinGlobals;
  }

  function preludeProblems(): string[] {
    const p = program();
    globalsBeforeCells();
    const options = p.getOptionsDiagnostics().map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    return options.concat(...[preludeFile, tslabFile].map((path) => {
      const file = p.getSourceFile(path)!;
      return [...p.getSyntacticDiagnostics(file), ...p.getSemanticDiagnostics(file)].map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    }));
  }

  /** Top-level names a cell declares. */
  function declaredNames(file: TS.SourceFile): DeclaredName[] {
    const found = new Map<string, DeclaredName>();
    let exported = false;
    const add = (name: TS.Identifier | TS.BindingName | TS.ModuleName | undefined, assignable = false) => {
      if (!name) return;
      if (ts.isIdentifier(name)) {
        if (!found.has(name.text)) found.set(name.text, { name: name.text, assignable, exported });
      } else if (ts.isObjectBindingPattern(name) || ts.isArrayBindingPattern(name)) {
        for (const element of name.elements) if (!ts.isOmittedExpression(element)) add(element.name, assignable);
      }
    };
    for (const statement of file.statements) {
      const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
      exported = modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) ?? false;
      if (modifiers?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) continue;
      if (ts.isVariableStatement(statement)) {
        const assignable = (statement.declarationList.flags & (ts.NodeFlags.Const | ts.NodeFlags.Using | ts.NodeFlags.AwaitUsing)) === 0;
        for (const declaration of statement.declarationList.declarations) add(declaration.name, assignable);
      } else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) {
        add(statement.name);
      } else if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name)) {
        add(statement.name);
      } else if (ts.isImportEqualsDeclaration(statement)) {
        add(statement.name);
      } else if (ts.isImportDeclaration(statement) && statement.importClause) {
        const clause = statement.importClause;
        add(clause.name);
        if (clause.namedBindings && ts.isNamespaceImport(clause.namedBindings)) add(clause.namedBindings.name);
        else if (clause.namedBindings) for (const element of clause.namedBindings.elements) add(element.name);
      }
    }
    if (found.size > MAX_NAMES_PER_CELL) throw new Error(`a cell may declare at most ${MAX_NAMES_PER_CELL} top-level names (this one declares ${found.size})`);
    return [...found.values()];
  }

  function scopeText(): string {
    const cells = [...new Set([...scope.values()].map((s) => s.cell))].sort((a, b) => a - b);
    const lines = cells.map((cell) => `import * as __forge_cell_${cell} from "./cell-${cell}";`);
    lines.push("declare global {");
    for (const [name, { cell, assignable }] of scope) {
      lines.push(assignable ? `  let ${name}: typeof __forge_cell_${cell}.${name};` : `  export import ${name} = __forge_cell_${cell}.${name};`);
    }
    lines.push("}", "export {};", "");
    return lines.join("\n");
  }

  function diagnosticOf(file: TS.SourceFile, d: TS.Diagnostic, srcLength: number): CellDiagnostic {
    const start = Math.min(d.start ?? 0, srcLength);
    const { line, character } = file.getLineAndCharacterOfPosition(start);
    return { file: "", line: line + 1, column: character + 1, message: ts.flattenDiagnosticMessageText(d.messageText, "\n") };
  }

  /** Whether `symbol` is one of the earlier cells' names (declared in the scope file). */
  function isEarlierCellName(symbol: TS.Symbol | undefined): boolean {
    return symbol?.declarations?.some((d) => d.getSourceFile().fileName === scopeFile) ?? false;
  }

  /**
   * Before TypeScript's own transforms: references to earlier cells' names read the store
   * (`exports.x`), and the last expression statement's value is kept.
   */
  function cellTransformer(checker: TS.TypeChecker, file: TS.SourceFile, lastStatement: TS.Statement | undefined): TS.TransformerFactory<TS.SourceFile> {
    return (context) => {
      const f = context.factory;
      const storeRef = (id: TS.Identifier) => ts.setOriginalNode(ts.setTextRange(f.createPropertyAccessExpression(f.createIdentifier("exports"), id.text), id), id);
      const visit = (node: TS.Node): TS.Node => {
        if (ts.isTypeNode(node) && !ts.isExpressionWithTypeArguments(node)) return node;
        if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isExportDeclaration(node) || ts.isImportDeclaration(node)) return node;
        if (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ImplementsKeyword) return node;
        if (ts.isShorthandPropertyAssignment(node) && !node.objectAssignmentInitializer && isEarlierCellName(checker.getShorthandAssignmentValueSymbol(node))) {
          return ts.setTextRange(f.createPropertyAssignment(node.name.text, storeRef(node.name)), node);
        }
        if (ts.isIdentifier(node)) {
          if (!isEarlierCellName(checker.getSymbolAtLocation(node))) return node;
          // A function called as `(0, exports.f)()`, as TypeScript calls imports: not as a method
          // of the store (its `this` stays undefined, and its frames read `f`, not `Proxy.f`).
          const parent = node.parent;
          const called = (ts.isCallExpression(parent) && parent.expression === node) || (ts.isTaggedTemplateExpression(parent) && parent.tag === node);
          if (!called) return storeRef(node);
          // V8 places such a call at its argument list: the callee's source map range ends where
          // the name starts, so that the call maps to the name, as `f()` does.
          const start = node.getStart(file);
          return ts.setSourceMapRange(f.createParenthesizedExpression(f.createComma(f.createNumericLiteral(0), storeRef(node))), { pos: start, end: start });
        }
        return ts.visitEachChild(node, visit, context);
      };
      return (source) => {
        if (source.fileName !== file.fileName) return source;
        const statements = source.statements.map((statement) => {
          const visited = visit(statement) as TS.Statement;
          if (statement === lastStatement && ts.isExpressionStatement(statement)) {
            const expression = (visited as TS.ExpressionStatement).expression;
            const keep = f.createAssignment(f.createPropertyAccessExpression(f.createIdentifier(CELL_RESULT_PARAM), "value"), expression);
            return ts.setTextRange(f.createExpressionStatement(ts.setTextRange(keep, statement.expression)), statement);
          }
          return visited;
        });
        return f.updateSourceFile(source, statements);
      };
    };
  }

  function convert(src: string): CompiledCell {
    pending = null;
    const parsed = ts.createSourceFile(cellFile, src, ts.ScriptTarget.ES2023, false, ts.ScriptKind.TS);
    const names = declaredNames(parsed);
    setFile(cellFile, `${src}\n;export { ${names.filter((n) => !n.exported).map((n) => n.name).join(", ")} };\n`);
    const p = program();
    const file = p.getSourceFile(cellFile)!;
    const diagnostics = [...p.getSyntacticDiagnostics(file), ...p.getSemanticDiagnostics(file)]
      .filter((d) => d.category === ts.DiagnosticCategory.Error && !TOP_LEVEL_AWAIT_CODES.has(d.code))
      .map((d) => diagnosticOf(file, d, src.length));
    if (diagnostics.length > 0) return { ok: false, diagnostics };

    // The cell's last statement: the appended `;` and `export { … }` start after the cell
    // (the `;` may also end the cell's last statement, as in `x\n;`).
    const lastStatement = file.statements.filter((s) => s.getStart(file) < src.length).at(-1);
    let js = "";
    let map = "";
    let dts = "";
    const emitted = p.emit(
      file,
      (path, data) => {
        if (path.endsWith(".js")) js = data;
        else if (path.endsWith(".js.map")) map = data;
        else if (path.endsWith(".d.ts")) dts = data;
      },
      undefined,
      false,
      { before: [cellTransformer(p.getTypeChecker(), file, lastStatement)] },
    );
    // Declaration problems (a type a later cell could not name) do not stop the cell: only a
    // missing output does.
    if (js === "") {
      const problems = emitted.diagnostics.filter((d) => d.file?.fileName === cellFile).map((d) => diagnosticOf(file, d, src.length));
      return { ok: false, diagnostics: problems.length > 0 ? problems : [{ file: "", line: 1, column: 1, message: "TypeScript emitted no code for the cell" }] };
    }
    const id = nextId++;
    pending = { id, dts, names };
    return { ok: true, id, js: js.replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n"), map };
  }

  function accept(id: number): void {
    if (pending?.id !== id) return;
    const { dts, names } = pending;
    pending = null;
    if (names.length === 0) return;
    const builtins = globalsBeforeCells();
    setFile(join(dir, `cell-${id}.d.ts`), dts);
    for (const { name, assignable } of names) {
      if (builtins.has(name)) continue;
      scope.delete(name); // re-inserted last: a Map keeps insertion order
      scope.set(name, { cell: id, assignable });
    }
    // Declaration files no name points to any more are dropped.
    const live = new Set([...scope.values()].map((s) => s.cell));
    for (const path of [...files.keys()]) {
      const m = /[\\/]cell-(\d+)\.d\.ts$/.exec(path);
      if (m && !live.has(Number(m[1]))) files.delete(path);
    }
    setFile(scopeFile, scopeText());
  }

  /** The cell file for completion and inspection: the cell, a module, positions unchanged. */
  function setQueryCell(src: string): void {
    setFile(cellFile, `${src}\n;export {};\n`);
  }

  function complete(src: string, position: number): CellCompletion {
    setQueryCell(src);
    const info = service.getCompletionsAtPosition(cellFile, position, { includeCompletionsWithInsertText: false, includeCompletionsForModuleExports: false });
    const entries = info?.entries ?? [];
    // The identifier the cursor is in: candidates replace it, and are those that match it.
    let start = position;
    let end = position;
    while (start > 0 && /[\w$]/.test(src[start - 1]!)) start--;
    while (end < src.length && /[\w$]/.test(src[end]!)) end++;
    if (start === end || /\d/.test(src[start]!)) {
      const sorted = [...entries].sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
      return { start: position, end: position, candidates: sorted.map((e) => e.name) };
    }
    const word = src.slice(start, end);
    const lower = word.toLowerCase();
    const ranked = entries
      .map((e, index) => {
        const name = e.name.toLowerCase();
        const rank = e.name.startsWith(word) ? "0" : name.startsWith(lower) ? "1" : name.includes(lower) ? "2" : "";
        return { name: e.name, key: rank + e.sortText, index, rank };
      })
      .filter((e) => e.rank !== "")
      .sort((a, b) => a.key.localeCompare(b.key) || a.index - b.index);
    return { start, end, candidates: ranked.map((e) => e.name) };
  }

  function inspect(src: string, position: number): TsQuickInfo | undefined {
    setQueryCell(src);
    const info = service.getQuickInfoAtPosition(cellFile, position);
    if (!info) return undefined;
    // Plain data: it crosses threads.
    return {
      kind: info.kind,
      textSpan: { start: info.textSpan.start, length: info.textSpan.length },
      displayParts: info.displayParts?.map((p) => ({ text: p.text, kind: p.kind })),
      documentation: info.documentation?.map((p) => ({ text: p.text, kind: p.kind })),
      tags: info.tags?.map((t) => ({ name: t.name, text: t.text?.map((p) => ({ text: p.text, kind: p.kind })) })),
    };
  }

  return { convert, accept, complete, inspect, close: () => service.dispose(), preludeProblems };
}
