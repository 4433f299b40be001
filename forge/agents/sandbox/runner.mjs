// Sandbox runner: the child process that runs one user proc agent. Plain JS (no tsx), started
// by sandbox.ts inside the process-level limits (permission model, heap cap, CPU rlimit,
// network namespace). Here the user's code runs in a fresh `vm` context that holds only the
// JavaScript built-ins plus `fs`/`log`/`fetchText` shims created INSIDE that context. The shims
// reach the host through one closure-held bridge that takes and returns strings only, so no
// host object (and with it the host `Function` / `process`) is ever reachable from user code.
import vm from "node:vm";
import fs from "node:fs";

const hostFetch = globalThis.fetch;
// Defence in depth, should the context ever be escaped: nothing network- or native-related left.
for (const name of ["fetch", "WebSocket", "EventSource", "XMLHttpRequest", "Request", "Response"]) delete globalThis[name];
process.binding = () => {
  throw new Error("process.binding is disabled in the sandbox");
};
process._linkedBinding = process.binding;
process.dlopen = process.binding;

const BOOTSTRAP = `(function (bridge, allowNetwork) {
  "use strict";
  const parse = JSON.parse, stringify = JSON.stringify, ErrorCtor = Error, PromiseCtor = Promise;
  const call = (op, args) => {
    const reply = parse(bridge(op, stringify(args), 0));
    if (reply.error !== undefined) throw new ErrorCtor(reply.error);
    return reply.value;
  };
  const pending = new Map();
  let nextId = 0;
  const callAsync = (op, args) => new PromiseCtor((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject });
    bridge(op, stringify(args), id);
  });
  globalThis.fs = Object.freeze({
    readFile: (path) => call("readFile", [String(path)]),
    writeFile: (path, data) => call("writeFile", [String(path), String(data)]),
    readdir: (path) => call("readdir", [String(path)]),
  });
  globalThis.log = (...parts) => call("log", parts.map((p) => typeof p === "string" ? p : stringify(p)));
  if (allowNetwork) globalThis.fetchText = (url) => callAsync("fetch", [String(url)]);
  return Object.freeze({
    deliver(id, json) {
      const p = pending.get(id);
      if (!p) return;
      pending.delete(id);
      const reply = parse(json);
      if (reply.error !== undefined) p.reject(new ErrorCtor(reply.error));
      else p.resolve(reply.value);
    },
    start(inputsJson) {
      const run = globalThis.run;
      if (typeof run !== "function") {
        bridge("done", stringify({ error: "the sandboxed code must define \`async function run(inputs)\`" }), 0);
        return;
      }
      PromiseCtor.resolve()
        .then(() => run(parse(inputsJson)))
        .then(
          (out) => bridge("done", stringify({ value: out === undefined ? null : out }), 0),
          (e) => bridge("done", stringify({ error: String(e && e.message !== undefined ? e.message : e) }), 0),
        );
    },
  });
})`;

const logs = [];
let api = null;
let finished = false;

function reply(value) {
  return JSON.stringify({ value });
}

function fail(error) {
  const code = error && error.code ? `${error.code}: ` : "";
  return JSON.stringify({ error: code + String(error && error.message !== undefined ? error.message : error) });
}

// The user's code may wait on nothing at all (a promise that never settles): keep the process
// alive so that the wall-time limit, not an empty event loop, ends it.
const keepAlive = setInterval(() => {}, 1 << 30);

function finish(message) {
  if (finished) return;
  finished = true;
  clearInterval(keepAlive);
  process.send(message, () => process.exit(0));
}

// The only host function the context can reach. Strings in, strings out; it never throws.
function bridge(op, argsJson, id) {
  try {
    const args = JSON.parse(String(argsJson));
    switch (String(op)) {
      case "readFile":
        return reply(fs.readFileSync(args[0], "utf8"));
      case "writeFile":
        fs.writeFileSync(args[0], args[1]);
        return reply(true);
      case "readdir":
        return reply(fs.readdirSync(args[0]));
      case "log":
        logs.push(args.join(" "));
        return reply(true);
      case "fetch": {
        const n = Number(id);
        hostFetch(args[0])
          .then(async (r) => reply({ status: r.status, body: await r.text() }), (e) => fail(e.cause ?? e))
          .then((json) => api.deliver(n, json));
        return reply(null);
      }
      case "done": {
        const result = JSON.parse(String(argsJson));
        finish(result.error !== undefined ? { ok: false, error: result.error, logs } : { ok: true, outputs: result.value, logs });
        return reply(true);
      }
      default:
        return fail(new Error(`unknown operation ${op}`));
    }
  } catch (error) {
    return fail(error);
  }
}

process.once("message", (job) => {
  try {
    const context = vm.createContext(Object.create(null), {
      name: "sandbox",
      codeGeneration: { strings: true, wasm: false },
    });
    const factory = vm.runInContext(BOOTSTRAP, context, { filename: "sandbox-bootstrap.js" });
    api = factory(bridge, job.allowNetwork === true);
    vm.runInContext(job.code, context, { filename: "user-agent.js" });
    api.start(JSON.stringify(job.inputs ?? {}));
  } catch (error) {
    // A syntax error or a throw at the top level of the user's code: a context error, so only its message crosses.
    finish({ ok: false, error: `the sandboxed code failed to load: ${String(error && error.message)}`, logs });
  }
});
