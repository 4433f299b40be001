/**
 * `npm run openapi`: writes the OpenAPI document (forge/transport/http/openapi.json) from the
 * API modules below — their routes as written, their bodies from the zod schemas the code
 * validates with (zod v4 `z.toJSONSchema`). test/forge/transport/http/openapi.test.ts fails when
 * the committed file differs from what this generates, so a schema change cannot go out with a
 * stale document. `npm run openapi -- --check` says whether it is stale without writing.
 *
 * Another API joins the document with one line in API_MODULES (its module exports an
 * OpenApiModule: `schemas` by component name, `paths`, optional `securitySchemes`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { HTTP_API_INFO, httpApi, type OpenApiModule } from "../forge/transport/http/openapi.js";
import { studioApi } from "../studio/server/schemas.js";

/** The APIs the document describes, in order; add one line per API. The Forge server's, then Forge Studio's (tag "studio", its own error body). */
export const API_MODULES: readonly OpenApiModule[] = [httpApi, studioApi as OpenApiModule];

export const OPENAPI_PATH = fileURLToPath(new URL("../forge/transport/http/openapi.json", import.meta.url));

/** The OpenAPI 3.1 document of `modules`; throws when two modules claim one route or schema name. */
export function generateOpenApi(modules: readonly OpenApiModule[] = API_MODULES): Record<string, unknown> {
  const registry = z.registry<{ id: string; description?: string }>();
  const paths: Record<string, unknown> = {};
  const securitySchemes: Record<string, unknown> = {};
  const claimed = new Set<string>();
  for (const module of modules) {
    for (const [name, { schema, description }] of Object.entries(module.schemas)) {
      if (claimed.has(name)) throw new Error(`openapi: two modules define the schema "${name}"`);
      claimed.add(name);
      registry.add(schema, description === undefined ? { id: name } : { id: name, description });
    }
    for (const [route, item] of Object.entries(module.paths)) {
      if (route in paths) throw new Error(`openapi: two modules define the route "${route}"`);
      paths[route] = item;
    }
    Object.assign(securitySchemes, module.securitySchemes ?? {});
  }
  // io "input": a body is described as what is accepted (objects not closed to fields a newer server adds).
  const generated = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io: "input",
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  });
  const schemas: Record<string, unknown> = {};
  for (const name of claimed) {
    const { $schema: _dialect, $id: _id, ...schema } = generated.schemas[name] as Record<string, unknown>;
    schemas[name] = schema;
  }
  return {
    openapi: "3.1.0",
    info: HTTP_API_INFO,
    servers: [{ url: "http://127.0.0.1:8080" }],
    components: { securitySchemes, schemas },
    // Credentials when the server has auth; none on a loopback server without it.
    security: [{}, { bearer: [] }],
    paths,
  };
}

/** The document as written to disk (2-space JSON, final newline). */
export function openApiText(modules: readonly OpenApiModule[] = API_MODULES): string {
  return `${JSON.stringify(generateOpenApi(modules), null, 2)}\n`;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  const text = openApiText();
  if (process.argv.includes("--check")) {
    const stale = readFileSync(OPENAPI_PATH, "utf8") !== text;
    console.log(stale ? `${OPENAPI_PATH} is stale: run npm run openapi` : `${OPENAPI_PATH} is up to date`);
    process.exitCode = stale ? 1 : 0;
  } else {
    writeFileSync(OPENAPI_PATH, text);
    console.log(`wrote ${OPENAPI_PATH} (${text.length} bytes)`);
  }
}
