// Sandbox runner: the child process that runs one user proc agent. Plain JS (no tsx), started
// by sandbox.ts inside the process-level limits (permission model, heap cap, CPU rlimit,
// network namespace). Here the user's code runs in a fresh `vm` context that holds only the
// JavaScript built-ins plus `fs`/`log`/`fetchText` shims created INSIDE that context. The shims
// reach the host through one closure-held bridge that takes and returns strings only, so no
// host object (and with it the host `Function` / `process`) is ever reachable from user code.
//
// Files: the permission model grants the allowed folders, but Node follows symbolic links
// (documented), so `allowed/link → /etc/passwd` would pass it. Every file operation of the
// shims therefore resolves the real path first and refuses one outside the real allowed roots
// (sent by the parent, already resolved), opens with O_NOFOLLOW and checks that what it opened
// is what it checked — so a link that leaves the roots is refused even when it appears while
// the code runs.
import vm from "node:vm";
import fs from "node:fs";
import path from "node:path";

/** Real allowed roots (the parent resolved them before granting): reading, writing. */
let readRoots = [];
let writeRoots = [];
/** [as given, real] for roots given through a link: paths under the given form are mapped onto the real one. */
let aliases = [];

function within(real, roots) {
  return roots.some((root) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
}

/**
 * Real path of `p`: that of its nearest existing ancestor plus the rest (nothing there to follow
 * yet); a dangling link counts as its target, since writing through it would create the target.
 */
function realish(p, depth = 0) {
  let at = path.resolve(p);
  const rest = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync(at), ...rest);
    } catch (error) {
      if (error.code !== "ENOENT" && error.code !== "ENOTDIR") throw error;
      let target = null;
      try {
        if (fs.lstatSync(at).isSymbolicLink()) target = fs.readlinkSync(at);
      } catch {
        /* not there, or not ours to look at */
      }
      if (target !== null) {
        if (depth >= 40) throw Object.assign(new Error(`too many levels of symbolic links at "${at}"`), { code: "ELOOP" });
        return realish(path.join(path.resolve(realish(path.dirname(at), depth + 1), target), ...rest), depth + 1);
      }
      const parent = path.dirname(at);
      if (parent === at) return path.resolve(p);
      rest.unshift(path.basename(at));
      at = parent;
    }
  }
}

function denied(message) {
  const error = new Error(message);
  error.code = "ERR_ACCESS_DENIED";
  return error;
}

/** The real path of `given`, or an ERR_ACCESS_DENIED error when it lies outside `roots`. */
function guard(given, roots, verb) {
  let lexical = path.resolve(given);
  for (const [alias, real] of aliases) {
    if (within(lexical, [alias])) {
      lexical = real + lexical.slice(alias.length);
      break;
    }
  }
  const real = realish(lexical);
  if (within(real, roots)) return real;
  if (within(lexical, roots)) {
    throw denied(`"${given}" is a symbolic link (or lies under one) that leads outside the folders this agent may ${verb}, to "${real}"`);
  }
  throw denied(`"${given}" is outside the folders this agent may ${verb}`);
}

/** Open the checked real path without following a link, and make sure nothing was swapped in between. */
function openChecked(given, real, flags, roots, verb) {
  const swapped = () => denied(`"${given}" changed while it was being opened (a symbolic link was swapped in); refused to ${verb} it`);
  let fd;
  try {
    fd = fs.openSync(real, flags | fs.constants.O_NOFOLLOW, 0o666);
  } catch (error) {
    if (error.code === "ELOOP") throw swapped();
    throw error;
  }
  try {
    const opened = fs.fstatSync(fd);
    const now = fs.statSync(real);
    if (realish(real) !== real || opened.ino !== now.ino || opened.dev !== now.dev || !within(real, roots)) throw swapped();
    return fd;
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

function readChecked(given) {
  const real = guard(given, readRoots, "read");
  const fd = openChecked(given, real, fs.constants.O_RDONLY, readRoots, "read");
  try {
    return fs.readFileSync(fd, "utf8");
  } finally {
    fs.closeSync(fd);
  }
}

function writeChecked(given, data) {
  const real = guard(given, writeRoots, "write");
  // No O_TRUNC before the check: a refused open must not have emptied anything.
  const fd = openChecked(given, real, fs.constants.O_WRONLY | fs.constants.O_CREAT, writeRoots, "write");
  try {
    fs.ftruncateSync(fd, 0);
    fs.writeFileSync(fd, data); // writes it all (writeSync may write part)
  } finally {
    fs.closeSync(fd);
  }
}

function readdirChecked(given) {
  const real = guard(given, readRoots, "read");
  const names = fs.readdirSync(real);
  if (realish(real) !== real) throw denied(`"${given}" changed while it was being listed (a symbolic link was swapped in)`);
  return names;
}

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
        return reply(readChecked(String(args[0])));
      case "writeFile":
        writeChecked(String(args[0]), String(args[1]));
        return reply(true);
      case "readdir":
        return reply(readdirChecked(String(args[0])));
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
  readRoots = Array.isArray(job.readRoots) ? job.readRoots.map(String) : [];
  writeRoots = Array.isArray(job.writeRoots) ? job.writeRoots.map(String) : [];
  aliases = Array.isArray(job.aliases) ? job.aliases.map(([a, r]) => [String(a), String(r)]) : [];
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
