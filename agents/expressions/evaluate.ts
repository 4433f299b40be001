/**
 * Evaluating parsed expressions by walking jsep's AST — no `eval`, no `new Function`.
 * Only data is reachable: own properties, array/string indices and `length`; function
 * calls, `this` and the prototype chain (`constructor`, `__proto__`, `prototype`) are refused.
 *
 * Templates yield data only: a name or member whose value is a function is an error, and so
 * is a single-hole template whose value holds a function anywhere inside its plain objects
 * and arrays (`{{step}}` where one output is a callback). Values that are not plain objects or
 * arrays (Arrow tables, dates, byte arrays, class instances) pass as they are, unwalked.
 */
import { ExpressionError } from "../errors.js";
import type { Ast, Expression, Template } from "./parse.js";

/** Returned by a scope for a name it does not know. */
export const MISSING: unique symbol = Symbol("missing");

/** Names an expression can read. `$name` is passed with its `$`. */
export interface Scope {
  get(name: string): unknown;
}

/** A plain object as a scope (`$name` reads `name`). */
export function objectScope(values: Record<string, unknown>): Scope {
  return {
    get(name) {
      const key = name.startsWith("$") ? name.slice(1) : name;
      return Object.hasOwn(values, key) ? values[key] : MISSING;
    },
  };
}

const FORBIDDEN = new Set(["__proto__", "prototype", "constructor", "__defineGetter__", "__lookupGetter__"]);

/** Thrown inside evaluation for a missing name/member; `default` turns it into its fallback. */
class Missing extends Error {}

function notData(what: string): Error {
  return new Error(`"${what}" is a function: templates yield data only`);
}

/**
 * Throws when a function sits anywhere inside the plain objects and arrays of `value`.
 * Primitives return at once (the chained-template fast path); other objects are not walked.
 */
function assertData(value: unknown, what: string, seen?: Set<object>): void {
  if (typeof value === "function") throw notData(what);
  if (value === null || typeof value !== "object") return;
  const isArray = Array.isArray(value);
  if (!isArray) {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return;
  }
  seen ??= new Set();
  if (seen.has(value)) return;
  seen.add(value);
  if (isArray) {
    for (let i = 0; i < value.length; i++) assertData(value[i], `${what}[${i}]`, seen);
  } else {
    for (const key of Object.keys(value)) assertData((value as Record<string, unknown>)[key], `${what}.${key}`, seen);
  }
}

function readMember(object: unknown, key: unknown, describe: () => string): unknown {
  if (object === null || object === undefined) throw new Missing(`${describe()} is ${object}`);
  const k = typeof key === "number" ? key : String(key);
  if (typeof k === "string" && FORBIDDEN.has(k)) throw new Error(`access to "${k}" is not allowed`);
  if (typeof object === "string" || Array.isArray(object) || ArrayBuffer.isView(object)) {
    if (k === "length") return (object as { length: number }).length;
    const index = typeof k === "number" ? k : Number(k);
    if (Number.isInteger(index)) {
      const value = (object as ArrayLike<unknown>)[index < 0 ? (object as ArrayLike<unknown>).length + index : index];
      return value;
    }
    return undefined;
  }
  if (typeof object === "object") {
    return Object.hasOwn(object, k) ? (object as Record<string | number, unknown>)[k] : undefined;
  }
  return undefined;
}

function describeNode(node: Ast): string {
  switch (node.type) {
    case "Identifier":
      return node.name as string;
    case "Literal":
      return String(node.raw);
    case "MemberExpression":
      return node.computed
        ? `${describeNode(node.object as Ast)}[${describeNode(node.property as Ast)}]`
        : `${describeNode(node.object as Ast)}.${(node.property as Ast).name as string}`;
    default:
      return node.type;
  }
}

function binary(op: string, a: unknown, b: unknown): unknown {
  const x = a as number;
  const y = b as number;
  switch (op) {
    case "==":
      // eslint-disable-next-line eqeqeq
      return a == b;
    case "!=":
      // eslint-disable-next-line eqeqeq
      return a != b;
    case "===":
      return a === b;
    case "!==":
      return a !== b;
    case "<":
      return x < y;
    case ">":
      return x > y;
    case "<=":
      return x <= y;
    case ">=":
      return x >= y;
    case "+":
      return x + y;
    case "-":
      return x - y;
    case "*":
      return x * y;
    case "/":
      return x / y;
    case "%":
      return x % y;
    default:
      throw new Error(`operator "${op}" is not supported`);
  }
}

function evalNode(node: Ast, scope: Scope, expr: Expression): unknown {
  switch (node.type) {
    case "Literal":
      return node.value;
    case "Identifier": {
      const name = node.name as string;
      const hole = expr.holes.get(name);
      if (hole) return evaluateExpression(hole, scope, "");
      const value = scope.get(name);
      if (value === MISSING) throw new Missing(`unknown name "${name}"`);
      if (typeof value === "function") throw notData(name);
      return value;
    }
    case "MemberExpression": {
      const object = evalNode(node.object as Ast, scope, expr);
      const property = node.property as Ast;
      const key = node.computed ? evalNode(property, scope, expr) : (property.name as string);
      const value = readMember(object, key, () => describeNode(node.object as Ast));
      if (typeof value === "function") throw notData(describeNode(node));
      return value;
    }
    case "BinaryExpression": {
      const op = node.operator as string;
      if (op === "&&") return evalNode(node.left as Ast, scope, expr) && evalNode(node.right as Ast, scope, expr);
      if (op === "||") return evalNode(node.left as Ast, scope, expr) || evalNode(node.right as Ast, scope, expr);
      return binary(op, evalNode(node.left as Ast, scope, expr), evalNode(node.right as Ast, scope, expr));
    }
    case "UnaryExpression": {
      const value = evalNode(node.argument as Ast, scope, expr);
      switch (node.operator) {
        case "!":
          return !value;
        case "-":
          return -(value as number);
        case "+":
          return +(value as number);
        default:
          throw new Error(`operator "${node.operator as string}" is not supported`);
      }
    }
    case "ConditionalExpression":
      return evalNode(node.test as Ast, scope, expr)
        ? evalNode(node.consequent as Ast, scope, expr)
        : evalNode(node.alternate as Ast, scope, expr);
    case "ArrayExpression":
      return (node.elements as Ast[]).map((e) => evalNode(e, scope, expr));
    case "CallExpression":
      throw new Error("function calls are not allowed");
    default:
      throw new Error(`${node.type} is not allowed in an expression`);
  }
}

function applyFilter(name: string, value: unknown, arg: unknown): unknown {
  switch (name) {
    case "default":
      return value === undefined || value === null ? (arg ?? "") : value;
    case "json":
      return JSON.stringify(value);
    case "upper":
      return String(value).toUpperCase();
    case "lower":
      return String(value).toLowerCase();
    case "join":
      if (!Array.isArray(value)) throw new Error(`"join" needs a list, got ${typeof value}`);
      return value.join(arg === undefined ? ", " : String(arg));
    case "length":
      return (value as { length?: number } | null)?.length ?? 0;
    default:
      throw new Error(`unknown filter "${name}"`);
  }
}

/** Evaluate; `where` (e.g. `workflow "w", step "s", input "x"`) prefixes any error. */
export function evaluateExpression(expr: Expression, scope: Scope, where: string): unknown {
  try {
    let value: unknown;
    try {
      value = evalNode(expr.ast, scope, expr);
    } catch (error) {
      // `x | default: 'y'` covers a missing name or member as well as a null value.
      if (error instanceof Missing && expr.filters[0]?.name === "default") value = undefined;
      else throw error;
    }
    for (const filter of expr.filters) {
      const arg = filter.arg ? evalNode(filter.arg, scope, expr) : undefined;
      value = applyFilter(filter.name, value, arg);
    }
    return value;
  } catch (error) {
    if (error instanceof ExpressionError) throw error;
    throw new ExpressionError(where, expr.source, (error as Error).message);
  }
}

function toText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  return JSON.stringify(value);
}

/**
 * A single-hole template keeps its value's type (data only: a value holding a function is an
 * error); otherwise the parts are joined as text.
 */
export function renderTemplate(template: Template, scope: Scope, where: string): unknown {
  if (template.single) {
    const value = evaluateExpression(template.single, scope, where);
    if (value !== null && (typeof value === "object" || typeof value === "function")) {
      try {
        assertData(value, template.single.source.trim());
      } catch (error) {
        throw new ExpressionError(where, template.single.source, (error as Error).message);
      }
    }
    return value;
  }
  let text = "";
  for (const part of template.parts) {
    if (typeof part === "string") {
      text += part;
      continue;
    }
    const value = evaluateExpression(part, scope, where);
    if (value === undefined) {
      throw new ExpressionError(where, part.source, "is undefined (add `| default: …` to allow that)");
    }
    text += toText(value);
  }
  return text;
}
