import { describe, expect, it } from "vitest";
import {
  evaluateExpression,
  objectScope,
  parseCondition,
  parseExpression,
  parseTemplate,
  renderTemplate,
  rootNames,
} from "../../../agents/expressions/index.js";
import { ExpressionError } from "../../../agents/errors.js";

const scope = objectScope({
  step: { url: "https://x/1", user: { email: "a@b" }, items: [{ name: "first" }, { name: "second" }], success: true },
  count: 7,
  ok: false,
  words: ["a", "b"],
});
const render = (t: string) => renderTemplate(parseTemplate(t), scope, 'step "s"');

describe("templates", () => {
  it("substitutes variables, fields, nested fields and indices", () => {
    expect(render("PR: {{step.url}}")).toBe("PR: https://x/1");
    expect(render("{{step.user.email}}")).toBe("a@b");
    expect(render("{{step.items[0].name}} and {{step.items[1].name}}")).toBe("first and second");
    expect(render("{{count}}")).toBe(7); // a lone hole keeps its type
    expect(render("n={{count}}")).toBe("n=7");
  });

  it("supports default, ternary and other filters", () => {
    expect(render("{{missing | default: 'fallback'}}")).toBe("fallback");
    expect(render("{{step.nothere | default: 'fb'}}")).toBe("fb");
    expect(render("{{step.url | default: 'fb'}}")).toBe("https://x/1");
    expect(render("{{ok ? 'yes' : 'no'}}")).toBe("no");
    expect(render("{{step.success ? 'yes' : 'no'}}")).toBe("yes");
    expect(render("{{words | join: '+'}}")).toBe("a+b");
    expect(render("{{step.user.email | upper}}")).toBe("A@B");
    expect(render("{{ step.items | length }}")).toBe(2);
    expect(render("{{a || b}}".replace("a", "ok").replace("b", "count"))).toBe(7); // `||` is not a pipe
  });

  it("does not close a hole at }} inside quotes", () => {
    expect(render("{{missing | default: '}}'}}!")).toBe("}}!");
  });

  it("names the place and the expression for an unknown name", () => {
    expect(() => render("hello {{nobody.name}}")).toThrowError(ExpressionError);
    expect(() => render("hello {{nobody.name}}")).toThrowError(/step "s": expression "nobody.name": unknown name "nobody"/);
  });

  it("refuses function calls and the prototype chain (no eval, no escape)", () => {
    expect(() => render("{{step.url.constructor}}")).toThrowError(/constructor/);
    expect(() => render("{{step.__proto__}}")).toThrowError(/__proto__/);
    expect(() => render("{{step.url.toString()}}")).toThrowError(/function calls are not allowed/);
    expect(() => render("{{this}}")).toThrowError(/not allowed/);
  });

  it("reports parse errors and unknown filters with the expression", () => {
    expect(() => parseTemplate("{{a +}}", "w")).toThrowError(/w: expression "a \+": does not parse/);
    expect(() => parseTemplate("{{a | shout}}", "w")).toThrowError(/unknown filter "shout"/);
    expect(() => parseTemplate("{{a", "w")).toThrowError(/never closed/);
  });
});

describe("conditions", () => {
  it("evaluates templated conditions and $variables", () => {
    expect(evaluateExpression(parseCondition("{{step.success}} == true"), scope, "")).toBe(true);
    expect(evaluateExpression(parseCondition("$count > 5"), scope, "")).toBe(true);
    expect(evaluateExpression(parseCondition("$count > 5 && !ok"), scope, "")).toBe(true);
    expect(evaluateExpression(parseCondition("{{step.items[1].name}} === 'first'"), scope, "")).toBe(false);
  });

  it("reports the root names an expression reads", () => {
    expect([...rootNames(parseCondition("{{a.b[c]}} == $d"))].sort()).toEqual(["$d", "a", "c"]);
    expect([...rootNames(parseExpression("x | default: y"))].sort()).toEqual(["x", "y"]);
  });
});
