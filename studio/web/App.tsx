/**
 * Forge Studio: the workflow editor (agent files in the studio's folder, one at a time, in tabs
 * shared by the three agent kinds) and the run inspector (Arrow run exports).
 */
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { catalogOf, type AgentDoc, type AgentInfo, type Catalog } from "../logic/types.js";
import { Api, setToken, StudioApiError, type FileEntry, type Problem } from "./api.js";
// CodeMirror and the inspector load when first shown: the editor's first paint does not wait for them.
const CodeEditor = lazy(() => import("./editors.js").then((m) => ({ default: m.CodeEditor })));
const Inspector = lazy(() => import("./inspector.js").then((m) => ({ default: m.Inspector })));
import { RunPanel } from "./run-panel.js";
import { StepsTab } from "./steps.js";

export interface OpenFile {
  path: string;
  kind: "data" | "code";
  /** For .toml/.json files: the agent as data. */
  doc?: AgentDoc;
  /** For code files: the source. */
  text?: string;
  /** What is saved, to tell whether the editor changed anything. */
  saved: string;
  isNew: boolean;
  /** A file with several agents: shown, not edited. */
  readOnly?: string;
}

const snapshot = (f: Pick<OpenFile, "doc" | "text">) => JSON.stringify(f.doc ?? f.text ?? "");

type TabName = "settings" | "inputs" | "optionalInputs" | "outputs" | "last";

export function App() {
  const [mode, setMode] = useState<"editor" | "inspector">("editor");
  const [agents, setAgents] = useState<AgentInfo[]>([]);
  const [allowedEnv, setAllowedEnv] = useState<string[]>([]);
  const [loadProblems, setLoadProblems] = useState<Record<string, string>>({});
  const [files, setFiles] = useState<FileEntry[]>([]);
  const [open, setOpen] = useState<OpenFile | null>(null);
  const [tab, setTab] = useState<TabName>("last");
  const [problems, setProblems] = useState<Problem[]>([]);
  const [status, setStatus] = useState<string>("");
  const [error, setError] = useState<string | null>(null);
  const [needToken, setNeedToken] = useState(false);
  const [newName, setNewName] = useState<string | null>(null);

  const catalog: Catalog = useMemo(() => catalogOf(agents), [agents]);
  const dirty = open ? snapshot(open) !== open.saved || open.isNew : false;

  const report = useCallback((e: unknown) => {
    if (e instanceof StudioApiError && e.status === 401) setNeedToken(true);
    setError(e instanceof Error ? e.message : String(e));
  }, []);

  const refresh = useCallback(async () => {
    try {
      const [a, f] = await Promise.all([Api.agents(), Api.files()]);
      setAgents(a.agents);
      setAllowedEnv(a.allowedEnv);
      setLoadProblems(a.problems);
      setFiles(f.files);
    } catch (e) {
      report(e);
    }
  }, [report]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Validation as you type: the planner's problems, a moment after the last edit.
  useEffect(() => {
    if (!open?.doc || open.readOnly) {
      setProblems([]);
      return;
    }
    const doc = open.doc;
    const timer = setTimeout(() => {
      Api.validate(doc).then((r) => setProblems(r.problems), report);
    }, 250);
    return () => clearTimeout(timer);
  }, [open?.doc, open?.readOnly, report]);

  const openFile = async (path: string) => {
    if (open && dirty && open.path !== path && !window.confirm(`Discard the unsaved changes to ${open.path}?`)) return;
    try {
      const f = await Api.open(path);
      const kind = path.endsWith(".toml") || path.endsWith(".json") ? "data" : "code";
      const data = f.data as (AgentDoc & { agents?: unknown[] }) | undefined;
      const next: OpenFile =
        kind === "data"
          ? { path, kind, doc: data, saved: "", isNew: false, readOnly: Array.isArray(data?.agents) ? "this file holds several agents: the editor opens files of one agent" : undefined }
          : { path, kind, text: f.text, saved: "", isNew: false };
      next.saved = snapshot(next);
      setOpen(next);
      setTab("last");
      setError(null);
      setStatus(`opened ${path}`);
    } catch (e) {
      report(e);
    }
  };

  const save = useCallback(async (): Promise<boolean> => {
    if (!open || open.readOnly) return false;
    try {
      const r = await Api.save(open.path, open.kind === "data" ? { data: open.doc } : { text: open.text });
      setOpen({ ...open, saved: snapshot(open), isNew: false });
      setStatus(r.changed ? `saved ${open.path}` : `${open.path} unchanged`);
      setError(null);
      await refresh();
      return true;
    } catch (e) {
      report(e);
      return false;
    }
  }, [open, refresh, report]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        void save();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save]);

  const updateDoc = (doc: AgentDoc) => open && setOpen({ ...open, doc });

  const createWorkflow = (name: string) => {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
      setError(`"${name}" is not an agent name (letters, digits, _ . -)`);
      return;
    }
    const path = `${name}.toml`;
    if (files.some((f) => f.path === path)) {
      setError(`${path} exists already`);
      return;
    }
    const doc: AgentDoc = { name, steps: [] };
    setOpen({ path, kind: "data", doc, saved: snapshot({ doc }), isNew: true });
    setTab("last");
    setNewName(null);
    setError(null);
  };

  const procAgent = open?.kind === "code" ? agents.filter((a) => a.file === open.path) : [];
  const kind: "workflow" | "template" | "proc" | null = !open ? null : open.kind === "code" ? "proc" : open.doc?.kind === "template" ? "template" : "workflow";
  const lastTab = kind === "workflow" ? "Steps" : kind === "template" ? "Template" : "Code";
  const kindOfFile = new Map(agents.filter((a) => a.file).map((a) => [a.file!, a.kind]));
  const groups = {
    workflow: files.filter((f) => f.kind === "data" && kindOfFile.get(f.path) === "workflow"),
    template: files.filter((f) => f.kind === "data" && kindOfFile.get(f.path) === "template"),
    code: files.filter((f) => f.kind === "code"),
    other: files.filter((f) => f.kind === "data" && !kindOfFile.has(f.path)),
  };

  return (
    <div className="app">
      <header className="titlebar">
        <span className="brand">⚒ Forge Studio</span>
        <nav aria-label="Mode" className="modes">
          <button aria-pressed={mode === "editor"} onClick={() => setMode("editor")}>Workflow editor</button>
          <button aria-pressed={mode === "inspector"} onClick={() => setMode("inspector")}>Run inspector</button>
        </nav>
        <span className="status" role="status" aria-live="polite">{status}</span>
      </header>
      {needToken && <TokenPrompt onToken={(t) => { setToken(t); setNeedToken(false); setError(null); void refresh(); }} />}
      {error && (
        <div className="error-bar" role="alert">
          {error} <button aria-label="Dismiss error" onClick={() => setError(null)}>×</button>
        </div>
      )}
      {mode === "inspector" ? (
        <Suspense fallback={<div className="empty">Loading the inspector…</div>}>
          <Inspector files={files.filter((f) => f.kind === "arrow")} onError={report} />
        </Suspense>
      ) : (
        <div className="workbench">
          <aside className="explorer" aria-label="Explorer">
            <div className="section-title">EXPLORER</div>
            {newName === null ? (
              <button className="primary wide" onClick={() => setNewName("")}>+ New workflow</button>
            ) : (
              <form onSubmit={(e) => { e.preventDefault(); createWorkflow(newName); }} className="new-form">
                <input autoFocus aria-label="New workflow name" placeholder="workflow name" value={newName} onChange={(e) => setNewName(e.target.value)} />
                <button type="submit">Create</button>
              </form>
            )}
            <FileGroup title="Workflows" files={groups.workflow} open={open?.path} onOpen={openFile} problems={loadProblems} />
            <FileGroup title="Templates" files={groups.template} open={open?.path} onOpen={openFile} problems={loadProblems} />
            <FileGroup title="Proc agents (code)" files={groups.code} open={open?.path} onOpen={openFile} problems={loadProblems} />
            {groups.other.length > 0 && <FileGroup title="Other files" files={groups.other} open={open?.path} onOpen={openFile} problems={loadProblems} />}
          </aside>
          <main className="editor" aria-label="Editor">
            {!open ? (
              <div className="empty">Open an agent file from the explorer, or create a new workflow.</div>
            ) : (
              <>
                <div className="editor-head">
                  <span className="file-name">{open.path}{dirty ? " ●" : ""}</span>
                  <span className={`kind-badge ${kind}`}>{kind}</span>
                  <button className="primary" onClick={() => void save()} disabled={!!open.readOnly} aria-keyshortcuts="Control+S">Save</button>
                </div>
                {open.readOnly && <div className="note">{open.readOnly}</div>}
                <div
                  role="tablist"
                  aria-label="Agent sections"
                  className="tabs"
                  onKeyDown={(e) => {
                    // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab leaves the list.
                    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
                    const order: TabName[] = ["settings", "inputs", "optionalInputs", "outputs", "last"];
                    const next = order[(order.indexOf(tab) + (e.key === "ArrowRight" ? 1 : order.length - 1)) % order.length]!;
                    setTab(next);
                    document.getElementById(`tab-${next}`)?.focus();
                  }}
                >
                  {(
                    [
                      ["settings", "Settings"],
                      ["inputs", "Inputs"],
                      ["optionalInputs", "Optional inputs"],
                      ["outputs", "Outputs"],
                      ["last", lastTab],
                    ] as Array<[TabName, string]>
                  ).map(([id, label]) => (
                    <button key={id} role="tab" id={`tab-${id}`} aria-selected={tab === id} tabIndex={tab === id ? 0 : -1} aria-controls="tabpanel" onClick={() => setTab(id)}>
                      {label}
                    </button>
                  ))}
                </div>
                <section id="tabpanel" role="tabpanel" aria-labelledby={`tab-${tab}`} className="tabpanel">
                  <Suspense fallback={<div className="empty">Loading the editor…</div>}>
                  {open.kind === "code" ? (
                    tab === "last" ? (
                      <CodeEditor
                        path={open.path}
                        language="typescript"
                        label={`Code of ${open.path}`}
                        value={open.text ?? ""}
                        onChange={(text) => setOpen((o) => (o ? { ...o, text } : o))}
                      />
                    ) : (
                      <ProcInfo agents={procAgent} tab={tab} />
                    )
                  ) : open.doc ? (
                    tab === "settings" ? (
                      <Settings doc={open.doc} kind={kind!} onChange={updateDoc} />
                    ) : tab === "inputs" || tab === "optionalInputs" ? (
                      <PortsTable doc={open.doc} field={tab} onChange={updateDoc} />
                    ) : tab === "outputs" ? (
                      <OutputsTab doc={open.doc} onChange={updateDoc} />
                    ) : kind === "template" ? (
                      <CodeEditor
                        path={open.path}
                        language="template"
                        label={`Template of ${open.doc.name}`}
                        value={open.doc.template ?? ""}
                        onChange={(template) => setOpen((o) => (o && o.doc ? { ...o, doc: { ...o.doc, template } } : o))}
                      />
                    ) : (
                      <StepsTab
                        doc={open.doc}
                        catalog={catalog}
                        agents={agents}
                        allowedEnv={allowedEnv}
                        problems={problems}
                        onChange={updateDoc}
                        onExtracted={async (parent, file) => {
                          updateDoc(parent);
                          setStatus(`extracted to ${file}`);
                          await refresh();
                        }}
                        onError={report}
                      />
                    )
                  ) : null}
                  </Suspense>
                </section>
                <ProblemsPanel problems={problems} />
              </>
            )}
          </main>
          <aside className="side" aria-label="Run">
            {open && kind !== "proc" && open.doc ? (
              <RunPanel doc={open.doc} dirty={dirty} save={save} onError={report} />
            ) : (
              <RunPanel doc={null} dirty={false} save={save} onError={report} />
            )}
          </aside>
        </div>
      )}
    </div>
  );
}

function FileGroup(props: { title: string; files: FileEntry[]; open?: string; onOpen(path: string): void; problems: Record<string, string> }) {
  return (
    <div className="file-group">
      <div className="group-title">{props.title}</div>
      <ul>
        {props.files.map((f) => (
          <li key={f.path}>
            <button className={`file ${props.open === f.path ? "active" : ""}`} onClick={() => props.onOpen(f.path)} title={props.problems[f.path] ?? f.path}>
              {props.problems[f.path] ? "⚠ " : ""}
              {f.path}
            </button>
          </li>
        ))}
        {props.files.length === 0 && <li className="muted">none</li>}
      </ul>
    </div>
  );
}

function TokenPrompt(props: { onToken(token: string): void }) {
  const [value, setValue] = useState("");
  return (
    <form className="token-prompt" onSubmit={(e) => { e.preventDefault(); props.onToken(value); }}>
      <label>
        This studio asks for a bearer token: <input type="password" aria-label="Bearer token" value={value} onChange={(e) => setValue(e.target.value)} />
      </label>
      <button type="submit">Use token</button>
    </form>
  );
}

function Settings(props: { doc: AgentDoc; kind: string; onChange(doc: AgentDoc): void }) {
  const { doc } = props;
  return (
    <div className="form">
      <label>
        Name <input aria-label="Agent name" value={doc.name} onChange={(e) => props.onChange({ ...doc, name: e.target.value })} />
      </label>
      <label>
        Help <textarea aria-label="Agent help" rows={3} value={doc.help ?? ""} onChange={(e) => props.onChange(withOptional(doc, "help", e.target.value || undefined))} />
      </label>
      {props.kind === "workflow" && (
        <label>
          Concurrency
          <input
            aria-label="Concurrency"
            type="number"
            min={1}
            value={doc.concurrency ?? ""}
            placeholder="8"
            onChange={(e) => props.onChange(withOptional(doc, "concurrency", e.target.value ? Number(e.target.value) : undefined))}
          />
        </label>
      )}
    </div>
  );
}

/** `doc` with `key` set, or removed when `value` is undefined (no spurious empty fields in the file). */
function withOptional<K extends keyof AgentDoc>(doc: AgentDoc, key: K, value: AgentDoc[K] | undefined): AgentDoc {
  const next = { ...doc };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

function PortsTable(props: { doc: AgentDoc; field: "inputs" | "optionalInputs" | "outputs"; onChange(doc: AgentDoc): void }) {
  const ports = props.doc[props.field] ?? {};
  const [name, setName] = useState("");
  const set = (next: AgentDoc[typeof props.field]) => props.onChange(withOptional(props.doc, props.field, next && Object.keys(next).length ? next : undefined));
  return (
    <div className="form">
      <table className="ports">
        <thead>
          <tr>
            <th>Name</th>
            <th>Type</th>
            <th>Help</th>
            {props.field === "optionalInputs" && <th>Default</th>}
            <th />
          </tr>
        </thead>
        <tbody>
          {Object.entries(ports).map(([n, p]) => (
            <tr key={n}>
              <td className="mono">{n}</td>
              <td>
                <select aria-label={`Type of ${n}`} value={p.type ?? "json"} onChange={(e) => set({ ...ports, [n]: { ...p, type: e.target.value as "json" } })}>
                  {["string", "number", "boolean", "json"].map((t) => <option key={t}>{t}</option>)}
                </select>
              </td>
              <td>
                <input aria-label={`Help of ${n}`} value={p.help ?? ""} onChange={(e) => set({ ...ports, [n]: { ...p, help: e.target.value } })} />
              </td>
              {props.field === "optionalInputs" && (
                <td>
                  <input
                    aria-label={`Default of ${n}`}
                    value={p.default === undefined ? "" : JSON.stringify(p.default)}
                    onChange={(e) => {
                      let value: unknown = e.target.value;
                      try { value = JSON.parse(e.target.value); } catch { /* keep the text */ }
                      set({ ...ports, [n]: { ...p, default: value } });
                    }}
                  />
                </td>
              )}
              <td>
                <button aria-label={`Remove ${n}`} onClick={() => { const { [n]: _gone, ...rest } = ports; set(rest); }}>✕</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={(e) => { e.preventDefault(); if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !(name in ports)) { set({ ...ports, [name]: { help: "", type: "string" } }); setName(""); } }}>
        <input aria-label={`New ${props.field === "optionalInputs" ? "optional input" : props.field.slice(0, -1)} name`} placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit">Add</button>
      </form>
    </div>
  );
}

function OutputsTab(props: { doc: AgentDoc; onChange(doc: AgentDoc): void }) {
  const { doc } = props;
  const [name, setName] = useState("");
  if (doc.kind === "template") {
    return <div className="form"><p>A template agent has one output, <code>text</code>: its rendered template.</p><PortsTable {...props} field="outputs" /></div>;
  }
  const returns = doc.returns ?? {};
  const set = (next: Record<string, string>) => props.onChange(withOptional(doc, "returns", Object.keys(next).length ? next : undefined));
  return (
    <div className="form">
      <p className="muted">Each output is a template over the workflow's inputs and its steps' results.</p>
      <table className="ports">
        <tbody>
          {Object.entries(returns).map(([n, t]) => (
            <tr key={n}>
              <td className="mono">{n}</td>
              <td><input className="mono" aria-label={`Output ${n}`} value={t} onChange={(e) => set({ ...returns, [n]: e.target.value })} /></td>
              <td><button aria-label={`Remove output ${n}`} onClick={() => { const { [n]: _gone, ...rest } = returns; set(rest); }}>✕</button></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={(e) => { e.preventDefault(); if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !(name in returns)) { set({ ...returns, [name]: "" }); setName(""); } }}>
        <input aria-label="New output name" placeholder="name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit">Add output</button>
      </form>
    </div>
  );
}

function ProcInfo(props: { agents: AgentInfo[]; tab: TabName }) {
  if (props.agents.length === 0) return <p className="muted">No agent of this module is registered (see its problem in the explorer).</p>;
  return (
    <div className="form">
      {props.agents.map((a) => (
        <div key={a.name}>
          <h3 className="mono">{a.name}</h3>
          {props.tab === "settings" ? (
            <p>{a.help}</p>
          ) : (
            <ul>
              {(props.tab === "inputs" ? a.inputs : props.tab === "optionalInputs" ? a.optionalInputs : a.outputs).map((p) => (
                <li key={p.name}><code>{p.name}</code> — {p.help}</li>
              ))}
            </ul>
          )}
        </div>
      ))}
      <p className="muted">Proc agents are declared in code: edit them in the Code tab.</p>
    </div>
  );
}

function ProblemsPanel(props: { problems: Problem[] }) {
  const ref = useRef<HTMLDivElement>(null);
  return (
    <div className="problems" ref={ref} aria-label="Problems" role="region">
      <div className="section-title">PROBLEMS ({props.problems.length})</div>
      <ul>
        {props.problems.map((p, i) => (
          <li key={i} className="problem">
            <span className="sev">●</span> {p.step ? <b className="mono">{p.step}</b> : null} {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
