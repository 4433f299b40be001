/**
 * forge/transport/http/openapi.json is what scripts/openapi.ts generates from the zod schemas
 * (so it cannot go stale), it is a well-formed OpenAPI 3.1 document, it documents every route
 * the server serves, and real answers match its schemas.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Ajv2020 from "ajv/dist/2020.js";
import * as forge from "../../../../forge/index.js";
import { HttpClient, type HttpForgeServer } from "../../../../forge/transport/http/index.js";
import { seedExample, testBackend } from "./helpers.js";
import { generateOpenApi, openApiText, OPENAPI_PATH, API_MODULES } from "../../../../scripts/openapi.js";
import { studioRoutes } from "../../../../studio/server/schemas.js";

/** "METHOD /path" of every documented operation, the studio's (tag "studio") or the Forge server's. */
function documentedRoutes(studio: boolean): string[] {
  return Object.entries(spec.paths as Record<string, Record<string, { tags?: string[] }>>).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, operation]) => (operation.tags?.includes("studio") ?? false) === studio)
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
}

const spec = JSON.parse(readFileSync(OPENAPI_PATH, "utf8"));
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
  it("is what npm run openapi generates from the schemas (run it after changing a schema or route)", () => {
    expect(readFileSync(OPENAPI_PATH, "utf8")).toBe(openApiText());
    expect(spec).toEqual(generateOpenApi());
  });

  it("is a well-formed OpenAPI 3.1 document: every schema compiles, every $ref resolves, every route but /health documents 401, every error answer is the Error schema (the studio's: StudioError)", () => {
    expect(spec.openapi).toBe("3.1.0");
    expect(spec.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const ajv = new Ajv2020.default({ strict: false, validateFormats: false });
    ajv.addSchema({ $id: "spec", components: spec.components });
    for (const name of Object.keys(spec.components.schemas)) expect(ajv.getSchema(`spec#/components/schemas/${name}`), name).toBeTypeOf("function");
    const refs = [...JSON.stringify(spec).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const ref of refs) expect(spec.components.schemas, ref).toHaveProperty(ref);
    for (const [route, item] of Object.entries(spec.paths as Record<string, Record<string, { tags?: string[]; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const errorSchema = operation.tags?.includes("studio") ? "StudioError" : "Error";
        const errors = Object.entries(operation.responses).filter(([status]) => Number(status) >= 400);
        // Every route but /health needs credentials on a server with auth: 401 is documented there.
        if (route !== "/health") expect(operation.responses, `${method} ${route}`).toHaveProperty("401");
        for (const [status, answer] of errors) expect(answer.content?.["application/json"]?.schema, `${method} ${route} ${status}`).toEqual({ $ref: `#/components/schemas/${errorSchema}` });
      }
    }
    // Every example in the document is valid against the schema it illustrates.
    const examples = Object.entries(spec.components.schemas as Record<string, { examples?: unknown[] }>).flatMap(([name, schema]) => (schema.examples ?? []).map((e) => [name, e] as const));
    expect(examples.map(([name]) => name)).toEqual(expect.arrayContaining(["Error", "RequestOptions", "Limits"]));
    for (const [name, example] of examples) expect(validator(name)(example), name).toBe("valid");
    // The options a body may carry are the one schema's, field for field.
    expect(Object.keys(spec.components.schemas.RequestOptions.properties)).toEqual(Object.keys(forge.requestOptionsSchema.shape));
  });

  it("takes its APIs from a list of modules, refusing two that claim one route", () => {
    expect(API_MODULES.length).toBeGreaterThanOrEqual(1);
    const extra = { schemas: {}, paths: { "/studio/health": { get: { responses: { "200": { description: "ok" } } } } } };
    expect(Object.keys(generateOpenApi([...API_MODULES, extra]).paths as object)).toContain("/studio/health");
    expect(() => generateOpenApi([...API_MODULES, { schemas: {}, paths: { "/health": {} } }])).toThrow(/two modules define the route "\/health"/);
  });

  it("documents exactly the routes the server serves, and Forge Studio's API beside them", () => {
    expect(documentedRoutes(false).sort()).toEqual([...server.routes].sort());
    expect(documentedRoutes(true).sort()).toEqual(studioRoutes.map((r) => `${r.method} ${r.path}`).sort());
  });

  it("matches real answers: info, job summary, events, run and errors", async () => {
    const client = new HttpClient(server.url);
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
