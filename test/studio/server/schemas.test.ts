import { describe, expect, it } from "vitest";
import { generateOpenApi } from "../../../scripts/openapi.js";
import { studioApi, studioRoutes } from "../../../studio/server/schemas.js";

describe("the studio's OpenAPI share", () => {
  it("describes every route with component schemas the generator resolves", () => {
    const doc = generateOpenApi([studioApi]) as { paths: Record<string, Record<string, any>>; components: { schemas: Record<string, any> } };
    for (const r of studioRoutes) {
      const op = doc.paths[r.path]![r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      const target = op.responses["200"].content["application/json"].schema.$ref.split("/").pop();
      expect(doc.components.schemas[target], target).toBeDefined();
    }
    expect(doc.components.schemas.StudioRunRequest.properties.agent).toMatchObject({ type: "string", maxLength: 200 });
    expect(doc.paths["/api/inspect/stream"]!.get.parameters.map((p: { name: string }) => p.name)).toEqual(["path", "stream"]);
  });
});
