/**
 * The Steps tab of a workflow: the searchable agent palette, the ordered step list (drag and
 * drop to reorder; steps with unwired required inputs in red), the graph, the selected step's
 * inputs (a dropdown per input: earlier steps' outputs by step, workflow inputs, allowed `$ENV`
 * variables, or a literal; point-and-click wiring), and extract-to-sub-workflow.
 */
import { useMemo, useState } from "react";
import { freshStepId, unwiredSteps, wiringOptions } from "../logic/resolution.js";
import type { AgentDoc, AgentInfo, Catalog, StepDef } from "../logic/types.js";
import { Api, type Problem } from "./api.js";
import { StepGraph } from "./graph.js";

export function StepsTab(props: {
  doc: AgentDoc;
  catalog: Catalog;
  agents: AgentInfo[];
  allowedEnv: string[];
  problems: Problem[];
  onChange(doc: AgentDoc): void;
  onExtracted(parent: AgentDoc, file: string): Promise<void>;
  onError(e: unknown): void;
}) {
  const { doc, catalog } = props;
  const steps = doc.steps ?? [];
  const [query, setQuery] = useState("");
  const [focus, setFocus] = useState<string | null>(steps[0]?.id ?? null);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [pendingWire, setPendingWire] = useState<string | null>(null);
  const [extractName, setExtractName] = useState<string | null>(null);
  const [dragging, setDragging] = useState<number | null>(null);

  const unwired = useMemo(() => unwiredSteps(doc, catalog), [doc, catalog]);
  const problemsByStep = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const p of props.problems) {
      if (!p.step) continue;
      const list = m.get(p.step);
      if (list) list.push(p.message);
      else m.set(p.step, [p.message]);
    }
    return m;
  }, [props.problems]);
  const broken = useMemo(() => new Set([...unwired.keys(), ...problemsByStep.keys()]), [unwired, problemsByStep]);

  const setSteps = (next: StepDef[]) => props.onChange({ ...doc, steps: next });
  const addStep = (agent: string, at = steps.length) => {
    const id = freshStepId(doc, agent);
    const next = [...steps];
    next.splice(at, 0, { id, agent });
    setSteps(next);
    setFocus(id);
  };
  const move = (from: number, to: number) => {
    if (from === to || to < 0 || to >= steps.length) return;
    const next = [...steps];
    const [s] = next.splice(from, 1);
    next.splice(to, 0, s!);
    setSteps(next);
  };
  const remove = (id: string) => {
    setSteps(steps.filter((s) => s.id !== id));
    if (focus === id) setFocus(null);
  };
  const setInput = (stepId: string, input: string, value: string | undefined) => {
    setSteps(
      steps.map((s) => {
        if (s.id !== stepId) return s;
        const inputs = { ...(s.inputs ?? {}) };
        if (value === undefined) delete inputs[input];
        else inputs[input] = value;
        const next: StepDef = { ...s, inputs };
        if (Object.keys(inputs).length === 0) delete next.inputs;
        return next;
      }),
    );
  };

  const palette = props.agents.filter((a) => a.name !== doc.name && (a.name + " " + a.help).toLowerCase().includes(query.toLowerCase()));
  const focused = steps.findIndex((s) => s.id === focus);

  const extract = async () => {
    if (!extractName) return;
    try {
      const order = steps.filter((s) => chosen.has(s.id)).map((s) => s.id);
      const r = await Api.extract(doc, order, extractName);
      setChosen(new Set());
      setExtractName(null);
      setFocus(r.stepId);
      await props.onExtracted(r.parent, r.file);
    } catch (e) {
      props.onError(e);
    }
  };

  return (
    <div className="steps-tab" onKeyDown={(e) => { if (e.key === "Escape") setPendingWire(null); }}>
      <div className="palette" aria-label="Agent palette">
        <input type="search" aria-label="Search agents" placeholder="Search agents…" value={query} onChange={(e) => setQuery(e.target.value)} />
        <ul>
          {palette.map((a) => (
            <li key={a.name}>
              <button
                className="palette-item"
                draggable
                onDragStart={(e) => e.dataTransfer.setData("application/x-forge-agent", a.name)}
                onClick={() => addStep(a.name)}
                title={a.help}
                aria-label={`Add step ${a.name}`}
              >
                <span className={`kind-dot ${a.kind}`} aria-hidden /> {a.name}
              </button>
            </li>
          ))}
        </ul>
      </div>

      <div className="step-column">
        <div className="toolbar">
          <span className="muted">{steps.length} steps</span>
          {extractName === null ? (
            <button disabled={chosen.size === 0} onClick={() => setExtractName(`${doc.name}_part`)}>Extract to sub-workflow…</button>
          ) : (
            <form className="inline" onSubmit={(e) => { e.preventDefault(); void extract(); }}>
              <input aria-label="Sub-workflow name" value={extractName} onChange={(e) => setExtractName(e.target.value)} autoFocus />
              <button type="submit" className="primary">Extract</button>
              <button type="button" onClick={() => setExtractName(null)}>Cancel</button>
            </form>
          )}
        </div>
        {pendingWire && (
          <div className="wire-banner" role="status">
            Wiring <code>{pendingWire}</code>: click an input’s “wire here” (Esc cancels)
          </div>
        )}
        <ol
          className="step-list"
          aria-label="Steps"
          onDragOver={(e) => e.preventDefault()}
          onDrop={(e) => {
            const agent = e.dataTransfer.getData("application/x-forge-agent");
            if (agent) addStep(agent);
          }}
        >
          {steps.map((s, i) => {
            const missing = unwired.get(s.id) ?? [];
            const probs = problemsByStep.get(s.id) ?? [];
            const agent = catalog.get(s.agent);
            return (
              <li
                key={s.id}
                className={`step ${broken.has(s.id) ? "broken" : ""} ${focus === s.id ? "focused" : ""}`}
                aria-invalid={broken.has(s.id)}
                data-step={s.id}
                draggable
                onDragStart={(e) => { setDragging(i); e.dataTransfer.setData("text/plain", s.id); }}
                onDragOver={(e) => e.preventDefault()}
                onDrop={(e) => {
                  const agentName = e.dataTransfer.getData("application/x-forge-agent");
                  e.stopPropagation();
                  if (agentName) addStep(agentName, i);
                  else if (dragging !== null) move(dragging, i);
                  setDragging(null);
                }}
              >
                <div className="step-head">
                  <input type="checkbox" aria-label={`Select step ${s.id} for extraction`} checked={chosen.has(s.id)} onChange={(e) => {
                    const next = new Set(chosen);
                    if (e.target.checked) next.add(s.id);
                    else next.delete(s.id);
                    setChosen(next);
                  }} />
                  <button className="step-title" onClick={() => setFocus(s.id)} aria-label={`Step ${s.id} (${s.agent})${broken.has(s.id) ? ", has problems" : ""}`}>
                    <b>{s.id}</b> <span className="muted">{s.agent}</span>
                  </button>
                  <span className="step-actions">
                    <button aria-label={`Move ${s.id} up`} onClick={() => move(i, i - 1)} disabled={i === 0}>↑</button>
                    <button aria-label={`Move ${s.id} down`} onClick={() => move(i, i + 1)} disabled={i === steps.length - 1}>↓</button>
                    <button aria-label={`Remove step ${s.id}`} onClick={() => remove(s.id)}>✕</button>
                  </span>
                </div>
                {missing.length > 0 && <div className="unwired-note">unwired: {missing.join(", ")}</div>}
                {probs.filter((p) => !/is not wired/.test(p)).map((p, k) => <div key={k} className="problem-note">{p}</div>)}
                {agent && agent.outputs.length > 0 && (
                  <div className="outputs" aria-label={`Outputs of ${s.id}`}>
                    {agent.outputs.map((o) => (
                      <button key={o.name} className={`out-chip ${pendingWire === `{{${s.id}.${o.name}}}` ? "armed" : ""}`} title={o.help} onClick={() => setPendingWire(`{{${s.id}.${o.name}}}`)}>
                        {s.id}.{o.name} →
                      </button>
                    ))}
                  </div>
                )}
              </li>
            );
          })}
          {steps.length === 0 && <li className="muted drop-hint">Add steps from the palette (click, or drag here).</li>}
        </ol>
      </div>

      <div className="right-column">
        <StepGraph doc={doc} broken={broken} selected={focus} onSelect={setFocus} />
        {focused >= 0 && (
          <StepInputs
            doc={doc}
            index={focused}
            catalog={catalog}
            allowedEnv={props.allowedEnv}
            pendingWire={pendingWire}
            onWire={(input) => { if (pendingWire) setInput(steps[focused]!.id, input, pendingWire); setPendingWire(null); }}
            setInput={(input, value) => setInput(steps[focused]!.id, input, value)}
            setStep={(next) => setSteps(steps.map((x, k) => (k === focused ? next : x)))}
          />
        )}
      </div>
    </div>
  );
}

const LITERAL = "__literal__";

function StepInputs(props: {
  doc: AgentDoc;
  index: number;
  catalog: Catalog;
  allowedEnv: string[];
  pendingWire: string | null;
  onWire(input: string): void;
  setInput(input: string, value: string | undefined): void;
  setStep(step: StepDef): void;
}) {
  const step = props.doc.steps![props.index]!;
  const agent = props.catalog.get(step.agent);
  const groups = wiringOptions(props.doc, props.index, props.catalog, props.allowedEnv);
  if (!agent) return <div className="step-inputs">Agent <code>{step.agent}</code> is not registered.</div>;
  const rows = [...agent.inputs.map((p) => ({ ...p, required: true })), ...agent.optionalInputs.map((p) => ({ ...p, required: false }))];
  return (
    <div className="step-inputs" aria-label={`Inputs of step ${step.id}`} role="group">
      <div className="section-title">INPUTS OF {step.id.toUpperCase()} <span className="muted">({step.agent})</span></div>
      {rows.map((p) => {
        const raw = step.inputs?.[p.name];
        const value = raw === undefined ? "" : typeof raw === "string" ? raw : JSON.stringify(raw);
        const known = groups.some((g) => g.options.some((o) => o.value === value));
        const missing = p.required && value === "";
        return (
          <div key={p.name} className={`input-row ${missing ? "unwired" : ""}`}>
            <label className="input-name" title={p.help} htmlFor={`in-${step.id}-${p.name}`}>
              {p.name}{p.required ? " *" : ""}
            </label>
            <select
              id={`in-${step.id}-${p.name}`}
              aria-label={`Wire input ${p.name} of ${step.id}`}
              aria-invalid={missing}
              aria-description={p.help}
              title={p.help}
              value={value === "" ? "" : known ? value : LITERAL}
              onChange={(e) => {
                const v = e.target.value;
                if (v === "") props.setInput(p.name, undefined);
                else if (v === LITERAL) props.setInput(p.name, value && !known ? value : " ");
                else props.setInput(p.name, v);
              }}
            >
              <option value="">— not wired —</option>
              {groups.map((g) => (
                <optgroup key={g.label} label={g.label}>
                  {g.options.map((o) => <option key={o.value} value={o.value} title={o.help}>{o.label}</option>)}
                </optgroup>
              ))}
              <option value={LITERAL}>✎ literal / template…</option>
            </select>
            {value !== "" && !known && (
              <input className="mono" aria-label={`Literal value of ${p.name}`} value={value} onChange={(e) => props.setInput(p.name, e.target.value)} />
            )}
            {props.pendingWire && <button className="wire-here" onClick={() => props.onWire(p.name)} aria-label={`Wire here: ${p.name}`}>wire here</button>}
          </div>
        );
      })}
      <details className="step-options">
        <summary>Condition, retries, timeout, on failure</summary>
        <label className="input-row">
          <span className="input-name">condition</span>
          <input className="mono" aria-label={`Condition of ${step.id}`} placeholder="e.g. {{check.ok}} == true" value={step.condition ?? ""}
            onChange={(e) => props.setStep(withField(step, "condition", e.target.value || undefined))} />
        </label>
        <label className="input-row">
          <span className="input-name">retries</span>
          <input type="number" min={0} aria-label={`Retries of ${step.id}`} value={step.retry?.maxRetries === undefined ? "" : String(step.retry.maxRetries)}
            onChange={(e) => props.setStep(withField(step, "retry", e.target.value === "" ? undefined : { ...(step.retry ?? {}), maxRetries: Math.max(0, Math.floor(Number(e.target.value))) }))} />
        </label>
        <label className="input-row">
          <span className="input-name">timeout (s)</span>
          <input type="number" min={0} aria-label={`Timeout of ${step.id}`} value={step.timeoutSeconds ?? ""}
            onChange={(e) => props.setStep(withField(step, "timeoutSeconds", e.target.value === "" || Number(e.target.value) <= 0 ? undefined : Number(e.target.value)))} />
        </label>
        <label className="input-row">
          <span className="input-name">on failure</span>
          <select aria-label={`On failure of ${step.id}`} value={typeof step.onFailure === "string" ? step.onFailure : step.onFailure ? "handler" : ""}
            disabled={!!step.onFailure && typeof step.onFailure !== "string"}
            onChange={(e) => props.setStep(withField(step, "onFailure", e.target.value === "" ? undefined : (e.target.value as "abort" | "skip")))}>
            <option value="">abort (default)</option>
            <option value="skip">skip</option>
            <option value="abort">abort</option>
            {step.onFailure && typeof step.onFailure !== "string" && <option value="handler">{JSON.stringify(step.onFailure)}</option>}
          </select>
        </label>
      </details>
    </div>
  );
}

/** `step` with `key` set, or removed when `value` is undefined (no empty fields written to the file). */
function withField<K extends keyof StepDef>(step: StepDef, key: K, value: StepDef[K] | undefined): StepDef {
  const next = { ...step };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}
