/**
 * Parsing templates and conditions. The expression grammar is jsep's (a maintained
 * JavaScript-expression parser): member access, indexing, literals, comparison, logical
 * operators, ternary, `$name` identifiers. Around it we parse two things jsep does not:
 *  - `{{ … }}` holes in text (templates), and
 *  - pipes `expr | default: 'x'` (a filter chain split off before jsep sees the text).
 * A condition may mix both (`{{step1.success}} == true`): each hole becomes a hidden
 * variable bound to the hole's value, never pasted back in as text.
 */
import jsep from "jsep";
import { ExpressionError } from "../errors.js";

export type Ast = jsep.Expression;

export interface Filter {
  name: string;
  arg: Ast | null;
}

export interface Expression {
  source: string;
  ast: Ast;
  filters: Filter[];
  /** Condition holes: hidden variable name → the hole's expression. */
  holes: Map<string, Expression>;
}

/** Text with holes; `single` is set when the whole template is one hole (its value keeps its type). */
export interface Template {
  source: string;
  parts: Array<string | Expression>;
  single: Expression | null;
}

export const FILTERS = new Set(["default", "json", "upper", "lower", "join", "length"]);

/** Split at top-level single `|` (not `||`), outside quotes and brackets. */
function splitPipes(source: string): string[] {
  const pieces: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === "|" && depth === 0) {
      if (source[i + 1] === "|") {
        i++;
        continue;
      }
      pieces.push(source.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(source.slice(start));
  return pieces;
}

function jsepParse(text: string, where: string, source: string): Ast {
  try {
    return jsep(text);
  } catch (error) {
    throw new ExpressionError(where, source, `does not parse: ${(error as Error).message}`);
  }
}

/** Parse one expression with optional filters: `a.b[0] | default: 'x'`. */
export function parseExpression(source: string, where = ""): Expression {
  const [head, ...rest] = splitPipes(source);
  if (!head || head.trim() === "") throw new ExpressionError(where, source, "is empty");
  const ast = jsepParse(head, where, source);
  const filters = rest.map((piece): Filter => {
    const colon = piece.indexOf(":");
    const name = (colon < 0 ? piece : piece.slice(0, colon)).trim();
    if (!FILTERS.has(name)) {
      throw new ExpressionError(where, source, `unknown filter "${name}" (known: ${[...FILTERS].join(", ")})`);
    }
    const argText = colon < 0 ? "" : piece.slice(colon + 1).trim();
    return { name, arg: argText ? jsepParse(argText, where, source) : null };
  });
  return { source, ast, filters, holes: new Map() };
}

/** Positions of `{{ … }}` holes; `}}` inside quotes does not close a hole. */
function scanHoles(source: string, where: string): Array<{ start: number; end: number; inner: string }> {
  const holes: Array<{ start: number; end: number; inner: string }> = [];
  let i = 0;
  while (true) {
    const open = source.indexOf("{{", i);
    if (open < 0) break;
    let quote: string | null = null;
    let j = open + 2;
    for (; j < source.length - 1; j++) {
      const c = source[j]!;
      if (quote) {
        if (c === "\\") j++;
        else if (c === quote) quote = null;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === "}" && source[j + 1] === "}") break;
    }
    if (j >= source.length - 1) throw new ExpressionError(where, source, `"{{" at offset ${open} is never closed`);
    holes.push({ start: open, end: j + 2, inner: source.slice(open + 2, j) });
    i = j + 2;
  }
  return holes;
}

export function parseTemplate(source: string, where = ""): Template {
  const parts: Array<string | Expression> = [];
  let last = 0;
  for (const hole of scanHoles(source, where)) {
    if (hole.start > last) parts.push(source.slice(last, hole.start));
    parts.push(parseExpression(hole.inner.trim(), where));
    last = hole.end;
  }
  if (last < source.length) parts.push(source.slice(last));
  const single = parts.length === 1 && typeof parts[0] !== "string" ? parts[0]! : null;
  return { source, parts, single };
}

/** A condition: an expression whose `{{ … }}` holes are evaluated as values. */
export function parseCondition(source: string, where = ""): Expression {
  const holes = new Map<string, Expression>();
  let text = "";
  let last = 0;
  for (const hole of scanHoles(source, where)) {
    const name = `__hole${holes.size}`;
    holes.set(name, parseExpression(hole.inner.trim(), where));
    text += source.slice(last, hole.start) + name;
    last = hole.end;
  }
  text += source.slice(last);
  const parsed = parseExpression(text, where);
  return { ...parsed, source, holes };
}

/** True when a string contains a template hole (other strings are plain literals). */
export function hasHoles(text: string): boolean {
  return text.includes("{{");
}

/** Root names an expression reads (`a.b[c]` reads `a` and `c`), including those of holes and filters. */
export function rootNames(expression: Expression): Set<string> {
  const names = new Set<string>();
  const visit = (node: Ast | null | undefined): void => {
    if (!node || typeof node !== "object") return;
    switch (node.type) {
      case "Identifier":
        if (!(node.name as string).startsWith("__hole")) names.add(node.name as string);
        return;
      case "MemberExpression":
        visit(node.object as Ast);
        if (node.computed) visit(node.property as Ast);
        return;
      default:
        for (const value of Object.values(node)) {
          if (Array.isArray(value)) value.forEach((v) => visit(v as Ast));
          else if (value && typeof value === "object" && "type" in value) visit(value as Ast);
        }
    }
  };
  visit(expression.ast);
  for (const f of expression.filters) visit(f.arg);
  for (const hole of expression.holes.values()) for (const n of rootNames(hole)) names.add(n);
  return names;
}

export function templateRootNames(template: Template): Set<string> {
  const names = new Set<string>();
  for (const part of template.parts) if (typeof part !== "string") for (const n of rootNames(part)) names.add(n);
  return names;
}
