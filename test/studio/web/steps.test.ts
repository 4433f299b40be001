/**
 * Component tests of the Steps tab without a browser: rendered to HTML by react-dom/server (no
 * DOM emulation is installed; the e2e test covers interaction in Chromium).
 */
import { createElement, type FunctionComponent } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { AgentDoc, AgentInfo } from "../../../studio/logic/types.js";
import { catalogOf } from "../../../studio/logic/types.js";

// Imported by URL: the root tsconfig has no JSX; the web app is type-checked by `tsc -p studio`.
const { StepsTab } = (await import(/* @vite-ignore */ new URL("../../../studio/web/steps.tsx", import.meta.url).href)) as {
  StepsTab: FunctionComponent<Record<string, unknown>>;
};

const agents: AgentInfo[] = [
  { name: "greet", kind: "template", help: "Says hello", inputs: [{ name: "name", help: "who to greet" }], optionalInputs: [], outputs: [{ name: "text", help: "the greeting" }] },
  { name: "shout", kind: "template", help: "Shouts", inputs: [{ name: "text", help: "the text to shout" }], optionalInputs: [], outputs: [{ name: "text", help: "" }] },
];

function render(doc: AgentDoc, allowedEnv: string[] = []): string {
  return renderToStaticMarkup(
    createElement(StepsTab, {
      doc,
      catalog: catalogOf(agents),
      agents,
      allowedEnv,
      problems: [{ step: "b", code: "unknown-agent", message: 'agent "nope" is not registered' }],
      onChange: () => {},
      onExtracted: async () => {},
      onError: () => {},
    }),
  );
}

describe("Steps tab", () => {
  const doc: AgentDoc = {
    name: "w",
    inputs: { who: { help: "a person" } },
    steps: [
      { id: "a", agent: "greet", inputs: { name: "{{who}}" } },
      { id: "s", agent: "shout" },
      { id: "b", agent: "nope" },
    ],
  };
  const html = render(doc, ["HOME_DIR"]);

  it("marks steps with unwired inputs or problems red and says why", () => {
    expect(html).toMatch(/<li class="step  focused" aria-invalid="false" data-step="a"/);
    expect(html).toMatch(/<li class="step broken " aria-invalid="true" data-step="s"/);
    expect(html).toContain("unwired: text");
    expect(html).toMatch(/data-step="b"[^>]*>.*agent &quot;nope&quot; is not registered/s);
  });

  it("offers a searchable palette with help as tooltips, and output chips for point-and-click wiring", () => {
    expect(html).toContain('aria-label="Search agents"');
    expect(html).toContain('title="Says hello" aria-label="Add step greet"');
    expect(html).toContain("a.text →");
  });

  it("shows the focused step's inputs with the wiring dropdown: workflow inputs marked, the environment with $", () => {
    expect(html).toContain('aria-label="Wire input name of a"');
    expect(html).toMatch(/<optgroup label="workflow inputs"><option value="\{\{who\}\}" title="a person" selected="">⇥ who<\/option><\/optgroup>/);
    expect(html).toMatch(/<optgroup label="environment"><option value="\{\{\$HOME_DIR\}\}"[^>]*>\$HOME_DIR<\/option>/);
    expect(html).toContain('title="who to greet"');
  });
});
