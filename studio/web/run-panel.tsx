/**
 * Run the open workflow (saved first) or dry-run it, with live per-step status, retries and
 * failures read from the studio's SQLite tape; earlier runs, and resume for a killed one.
 */
import { useCallback, useEffect, useState } from "react";
import type { AgentDoc, PortDef } from "../logic/types.js";
import { Api, type RunView } from "./api.js";

function coerce(text: string, port: PortDef | undefined): unknown {
  const type = port?.type ?? "json";
  if (type === "string") return text;
  if (type === "number") return text === "" ? undefined : Number(text);
  if (type === "boolean") return text === "true";
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function RunPanel(props: { doc: AgentDoc | null; dirty: boolean; save(): Promise<boolean>; onError(e: unknown): void }) {
  const { doc } = props;
  const [values, setValues] = useState<Record<string, string>>({});
  const [current, setCurrent] = useState<RunView | null>(null);
  const [history, setHistory] = useState<RunView[]>([]);

  const loadHistory = useCallback(() => {
    Api.runs().then((r) => setHistory(r.runs.slice(0, 20)), () => {});
  }, []);
  useEffect(loadHistory, [loadHistory]);

  // Live status: poll the tape while the run is going.
  useEffect(() => {
    if (!current || current.status !== "running" || current.interrupted) return;
    const timer = setTimeout(() => {
      Api.runView(current.runId).then((v) => {
        setCurrent(v);
        if (v.status !== "running") loadHistory();
      }, props.onError);
    }, 200);
    return () => clearTimeout(timer);
  }, [current, loadHistory, props.onError]);

  const start = async (dryRun: boolean) => {
    if (!doc) return;
    if (props.dirty && !(await props.save())) return;
    const ports: Record<string, PortDef> = { ...(doc.inputs ?? {}), ...(doc.optionalInputs ?? {}) };
    const inputs: Record<string, unknown> = {};
    for (const [name, text] of Object.entries(values)) {
      if (!(name in ports) || text === "") continue;
      inputs[name] = coerce(text, ports[name]);
    }
    try {
      const { runId } = await Api.run(doc.name, inputs, dryRun);
      setCurrent(await Api.runView(runId));
      loadHistory();
    } catch (e) {
      props.onError(e);
    }
  };

  const resume = async (runId: string) => {
    try {
      await Api.resume(runId);
      setCurrent(await Api.runView(runId));
      loadHistory();
    } catch (e) {
      props.onError(e);
    }
  };

  const ports = doc ? [...Object.entries(doc.inputs ?? {}), ...Object.entries(doc.optionalInputs ?? {})] : [];
  return (
    <div className="run-panel">
      <div className="section-title">RUN</div>
      {doc ? (
        <form onSubmit={(e) => { e.preventDefault(); void start(false); }}>
          {ports.map(([name, port]) => (
            <label key={name} className="run-input" title={port.help}>
              <span className="mono">{name}</span>
              <input aria-label={`Run input ${name}`} value={values[name] ?? ""} placeholder={port.type ?? "json"} onChange={(e) => setValues({ ...values, [name]: e.target.value })} />
            </label>
          ))}
          <div className="run-buttons">
            <button type="submit" className="primary">▶ Run</button>
            <button type="button" onClick={() => void start(true)}>Dry run</button>
          </div>
        </form>
      ) : (
        <p className="muted">Open a workflow or template to run it.</p>
      )}
      {current && (
        <div className="run-view" aria-label="Current run" aria-live="polite">
          <div>
            <span className={`badge ${current.status}`}>{current.interrupted ? "interrupted" : current.status}</span> <span className="muted mono">{current.runId.slice(0, 8)}</span>
          </div>
          <ul className="step-status">
            {(current.steps ?? []).map((s) => (
              <li key={s.path} data-status={s.status}>
                <span className={`badge ${s.status}`}>{s.status}</span> <span className="mono">{s.path}</span>
                {s.retries > 0 && <span className="muted"> · {s.retries} retr{s.retries === 1 ? "y" : "ies"}</span>}
                {s.durationMs !== undefined && <span className="muted"> · {s.durationMs.toFixed(0)} ms</span>}
                {s.error && <div className="problem-note">{s.error}</div>}
              </li>
            ))}
          </ul>
          {current.error && <div className="problem-note" role="alert">{current.error}</div>}
          {current.outputs !== undefined && (
            <>
              <div className="section-title">OUTPUTS</div>
              <pre className="outputs-json" aria-label="Run outputs">{JSON.stringify(current.outputs, null, 2)}</pre>
            </>
          )}
        </div>
      )}
      <div className="section-title">RUNS</div>
      <ul className="run-history">
        {history.map((r) => (
          <li key={r.runId}>
            <button className="link" onClick={() => Api.runView(r.runId).then(setCurrent, props.onError)}>
              <span className={`badge ${r.interrupted ? "interrupted" : r.status}`}>{r.interrupted ? "interrupted" : r.status}</span> {r.agent} <span className="muted mono">{r.runId.slice(0, 8)}</span>
            </button>
            {(r.interrupted || r.status === "failed") && <button onClick={() => void resume(r.runId)} aria-label={`Resume run ${r.runId}`}>Resume</button>}
          </li>
        ))}
      </ul>
    </div>
  );
}
