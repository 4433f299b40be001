/** forge/server/openapi.json documents every route, and real answers match its schemas. */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Ajv2020 from "ajv/dist/2020.js";
import * as forge from "../../../forge/index.js";
import { RemoteServer, type HttpForgeServer } from "../../../forge/server/index.js";
import { seedExample, testBackend } from "./helpers.js";

const spec = JSON.parse(readFileSync(new URL("../../../forge/server/openapi.json", import.meta.url), "utf8"));
let server: HttpForgeServer;

beforeAll(async () => {
  server = await forge.makeServer(await testBackend(), { address: "127.0.0.1:0", log: () => {} });
});
afterAll(() => server?.close());

function validator(name: string) {
  const ajv = new Ajv2020.default({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "spec", components: spec.components });
  const validate = ajv.getSchema(`spec#/components/schemas/${name}`)!;
  return (value: unknown) => {
    const ok = validate(value);
    return ok ? "valid" : JSON.stringify(validate.errors?.slice(0, 3));
  };
}

describe("openapi.json", () => {
  it("documents exactly the routes the server serves", () => {
    const documented = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...documented].sort()).toEqual([...server.routes].sort());
  });

  it("matches real answers: info, job summary, events, run and errors", async () => {
    const client = new RemoteServer(server.url);
    expect(validator("ServerInfo")(await client.info())).toBe("valid");
    const workflow = seedExample(4).factory();
    expect(validator("SubmitBody")(JSON.parse(JSON.stringify({ workflow, options: { batchSize: 2, seed: 1 } })))).toBe("valid");
    const summary = await client.enqueue(workflow, { batchSize: 2, seed: 1 });
    expect(validator("JobSummary")(summary)).toBe("valid");
    const run = await (await fetch(`${server.url}/jobs/${summary.id}/result?wait=true`)).json();
    expect(validator("Run")(run)).toBe("valid");
    expect(validator("JobSummary")(await client.job(summary.id))).toBe("valid");
    const lines = (await (await fetch(`${server.url}/jobs/${summary.id}/events`)).text()).trim().split("\n");
    for (const line of lines) expect(validator("JobEvent")(JSON.parse(line))).toBe("valid");
    const refused = await fetch(`${server.url}/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(validator("Error")(await refused.json())).toBe("valid");
    expect(validator("Run")({ format: "forge.run" })).not.toBe("valid");
  });
});
