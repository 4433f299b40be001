/** The in-process ForgeServer: no serialization, the backend is called directly. */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { Run } from "../run/types.js";
import type { RequestOptions } from "../engine/options.js";
import type { BackendInfo, ForgeServer } from "./contract.js";
import type { ForgeBackend } from "./backend.js";

export class DirectServer implements ForgeServer {
  readonly address = null;
  constructor(readonly backend: ForgeBackend) {}

  async info(): Promise<BackendInfo> {
    return this.backend.info();
  }

  submit(workflow: SzcpWorkflow, options: RequestOptions): Promise<Run> {
    return this.backend.run(workflow, options);
  }
}
