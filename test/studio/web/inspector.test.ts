/**
 * Component tests of the run inspector's stream view without a browser (react-dom/server): a
 * stream with a tokens table renders one span per token, forced apart from generated, generated
 * ones coloured by logprob with a tooltip, hazard underlined, TOKEN_PAGE tokens a page; its
 * decisions listed; without a tokens table, the zones as forced text and extractions (as before).
 */
import { createElement, type FunctionComponent } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { InspectedRun, StreamDetail, StreamTokens } from "../../../studio/web/api.js";

// Imported by URL: the root tsconfig has no JSX; the web app is type-checked by `tsc -p studio`.
const { StreamView, TOKEN_PAGE, logprobColour } = (await import(/* @vite-ignore */ new URL("../../../studio/web/inspector.tsx", import.meta.url).href)) as {
  StreamView: FunctionComponent<Record<string, unknown>>;
  TOKEN_PAGE: number;
  logprobColour(logprob: number): string;
};

const run: InspectedRun = {
  file: "r.samples.arrow", runId: "r", meta: {}, streams: [], truncated: 0, hasLogprobs: true, hasTokens: true, hasTokenText: true, hasDecisions: true,
  zones: [{ id: 0, sequence: "ask", text: "[Prompt] Q? [Answer]", capture: "search", feed: null }, { id: 1, sequence: "answer", text: "[Prompt] A: [Answer]", capture: "answer", feed: "search" }],
};

/** `n` tokens: the first 3 of every 10 forced, the rest generated with logprob −i/100, a hazard on every 7th. */
function tokens(n: number): StreamTokens {
  const t: StreamTokens = { step: [], token: [], text: [], forced: [], logprob: [], sampling: [], hazard: [], top: [], truncated: 0 };
  for (let i = 0; i < n; i++) {
    const forced = i % 10 < 3;
    t.step.push(i);
    t.token.push(100 + i);
    t.text!.push(i === 4 ? "<b>" : `w${i} `);
    t.forced.push(forced);
    t.logprob.push(forced ? null : -i / 100);
    t.sampling.push(forced ? null : -i / 200);
    t.hazard.push(!forced && i % 7 === 0 ? 0.25 : null);
    t.top!.push(forced ? null : { ids: [100 + i, 5], logprobs: [-i / 100, -2.5], texts: [`w${i} `, null] });
  }
  return t;
}

function detail(n: number, extra: Partial<StreamDetail> = {}): StreamDetail {
  return {
    stream: 3, pathId: "ask > answer", status: "finished", segments: 2, jumps: 0, tokens: n, preview: "",
    segmentsList: [
      { segment: 0, stepStart: 0, stepEnd: Math.floor(n / 2), sequence: "ask", zoneId: 0, repetition: 0, jumped: false },
      { segment: 1, stepStart: Math.floor(n / 2), stepEnd: n, sequence: "answer", zoneId: 1, repetition: 0, jumped: false },
    ],
    extractions: [{ extraction: "answer", text: "forty-two", tokenCount: 3 }],
    ...extra,
  };
}

const render = (d: StreamDetail, r: InspectedRun = run) => renderToStaticMarkup(createElement(StreamView, { run: r, detail: d, onPick: () => {} }));
const count = (html: string, re: RegExp) => (html.match(re) ?? []).length;

describe("the inspector's stream view", () => {
  it("renders each token as a span: forced apart from generated, logprob colour and tooltip, hazard underlined, text escaped", () => {
    const html = render(detail(20, {
      tokenMarks: tokens(20),
      decisions: [{ zoneId: 0, site: "ask[0]", visit: 0, step: 7, pJump: 0.125, pPath: null, outcome: "forced_exit", taken: false }],
    }));
    expect(count(html, /class="tok forced"/g)).toBe(6);
    expect(count(html, /class="tok generated( hazard)?"/g)).toBe(14);
    expect(count(html, /class="tok generated hazard"/g)).toBe(2); // steps 7 and 14
    const five = /<span class="tok generated"[^>]*data-step="5"[^>]*>/.exec(html)![0];
    expect(five).toContain(`background:${logprobColour(-0.05)}`);
    expect(five).toMatch(/title="step 5 · token 105 &quot;w5 &quot; · generated\nlogprob -0.050 \(p 0.951\) · sampling logprob -0.025\ntop: &quot;w5 &quot; -0.050, #5 -2.500"/);
    expect(html).toContain("&lt;b&gt;");
    expect(html).not.toContain("<b>");
    expect(html).toContain('aria-label="logprob colours"');
    expect(html).toMatch(/aria-label="Decisions".*ask\[0\].*0\.1250.*forced_exit/s);
    expect(html).toContain("forced exit at ask[0] (visit 0, token 7)");
    expect(html).toContain("tool call: ask&#x27;s text sent to search at token 10");
    expect(html).toContain("tool result: search&#x27;s output fed at token 10");
    expect(logprobColour(0)).toBe("hsl(120 60% 30%)");
    expect(logprobColour(-20)).toBe("hsl(0 60% 30%)");
  });

  it("bounds what it renders: a stream of 2,500 tokens shows TOKEN_PAGE of them, in pages", () => {
    const html = render(detail(2_500, { tokenMarks: tokens(2_500) }));
    expect(count(html, /class="tok (forced|generated)/g)).toBe(TOKEN_PAGE);
    expect(html).toContain("tokens 0–1500 of 2500 (page 1 of 2)");
    expect(html).toContain("next 1000 tokens →");
    // The second zone (steps 1250–2500) starts on the first page; its head shows once.
    expect(count(html, /answer · zone 1/g)).toBe(1);
  });

  it("without a tokens table: the zone's forced text and the extraction, and says the export has no tokens table", () => {
    const html = render(detail(20), { ...run, hasTokens: false, hasLogprobs: false });
    expect(count(html, /class="tok (forced|generated)/g)).toBe(0);
    expect(html).toContain('<span class="forced">[Prompt] A: [Answer]</span><span class="generated">forty-two</span>');
    expect(html).toContain("no tokens table");
  });
});
