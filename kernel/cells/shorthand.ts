/**
 * tslab's converter renames a cell's references to earlier cells' variables, but misses
 * shorthand properties: `runAgent(flow, {}, { registry })` fails at run time with
 * "registry is not defined" when `registry` came from an earlier cell. Expanding every
 * shorthand property to `name: name` before conversion sidesteps it (same meaning in
 * object literals and in destructuring assignments).
 */
import { tslabTypeScript } from "./tslab.js";

// The TypeScript build tslab bundles, with the parts of its API this pass walks.
interface TsNode {
  kind: number;
  pos: number;
  end: number;
  name?: TsNode;
  getStart(): number;
  forEachChild(visit: (node: TsNode) => void): void;
}
interface TsApi {
  createSourceFile(name: string, text: string, target: number, setParents: boolean, kind: number): TsNode;
  SyntaxKind: { ShorthandPropertyAssignment: number };
  ScriptTarget: { Latest: number };
  ScriptKind: { TS: number };
}
// Loaded on first use (0.2–0.5 s): not while the kernel starts and answers kernel_info.
let typeScript: TsApi | null = null;

export function expandShorthandProperties(code: string): string {
  if (!/[{,]\s*[A-Za-z_$][\w$]*\s*[,}=]/.test(code)) return code; // nothing that could be one: skip the parse
  // The instance tslab uses (patched, with V8's code cache: tslab.ts), not a second copy.
  const ts = (typeScript ??= tslabTypeScript() as unknown as TsApi);
  const source = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names: Array<{ start: number; end: number }> = [];
  const visit = (node: TsNode): void => {
    if (node.kind === ts.SyntaxKind.ShorthandPropertyAssignment && node.name) names.push({ start: node.name.getStart(), end: node.name.end });
    node.forEachChild(visit);
  };
  source.forEachChild(visit);
  let out = code;
  for (const { start, end } of names.sort((a, b) => b.start - a.start)) {
    const name = code.slice(start, end);
    out = `${out.slice(0, end)}: ${name}${out.slice(end)}`;
  }
  return out;
}
