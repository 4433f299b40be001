/**
 * `makeBackend` — a model, its tokenizer and the tools, ready to run SZCP workflows
 * (the seed's `forge.make_backend(model, tokenizer, config, tools)`).
 */
import type { SzcpWorkflow } from "../szcp/types.js";
import type { ForgeTokenizer } from "../tokenizer/types.js";
import type { Run } from "../run/types.js";
import { DecoderModel, loadModel, type SamplingDefaults } from "../model/index.js";
import { initBackend, type BackendName } from "../backend/index.js";
import { selectEngine, type EnginePreference } from "../backend/engine.js";
import { engineIdentity } from "../model/step-model.js";
import { loadTokenizer } from "../tokenizer/index.js";
import { generateRun, prepareProgram, type EngineParts } from "../engine/generate.js";
import type { RequestOptions, ToolRegistry } from "../engine/types.js";
import type { BackendInfo } from "./contract.js";
import { defaultModelFolder } from "./default-model.js";
import { BackendConfigError } from "./errors.js";

export type { BackendInfo } from "./contract.js";

export interface BackendOptions {
  /** "default": the embedded engine in this process (the only type so far). */
  type?: "default";
  /** Tools the workflows may capture to / feed from. */
  tools?: ToolRegistry;
  /** tfjs backend; default: tensorflow → wasm → cpu, or $FORGE_BACKEND. */
  device?: BackendName;
  /**
   * Sampling for requests that set none of their own, field by field; default: the model
   * folder's generation_config.json (as Transformers reads it), else temperature 1.
   */
  sampling?: SamplingDefaults;
  /**
   * What computes the model: "onnx" (ONNX Runtime, CPU), "tfjs", or "auto": onnx for a model
   * loaded from a folder when onnxruntime-node loads and the tfjs backend is wasm or cpu, tfjs
   * for a DecoderModel object (the ONNX graph would be a snapshot of weights its owner may
   * change). $FORGE_ENGINE overrides. Default: DEFAULT_ENGINE in forge/backend/engine.ts.
   */
  engine?: EnginePreference;
  /** The ONNX engine's weights: "f32" (default, or $FORGE_ONNX_WEIGHTS) or "int8" (forge/backend/onnx/graph.ts). */
  weights?: "f32" | "int8";
  /** The ONNX engine's KV cache: "f32" (default, or $FORGE_ONNX_KV) or "int8" (forge/backend/onnx/model.ts OnnxOptions.kvCache). */
  kvCache?: "f32" | "int8";
}

export class ForgeBackend {
  constructor(
    private readonly parts: EngineParts,
    private readonly sampling: SamplingDefaults = {},
  ) {}

  get tokenizer(): ForgeTokenizer {
    return this.parts.tokenizer;
  }

  get model(): DecoderModel {
    return this.parts.model;
  }

  /** What computes the model in the loop: "tfjs" or "onnxruntime" (the sampler runs on tfjs's `info().backend` either way). */
  get engine(): string {
    return this.parts.engine?.engine ?? "tfjs";
  }

  info(): BackendInfo {
    return {
      model: this.parts.model.name,
      tokenizer: this.parts.tokenizer.identity,
      backend: this.parts.backend,
      ...engineIdentity(this.parts.engine, this.parts.backend),
      contextLength: this.parts.model.config.maxPositions,
      vocabSize: this.parts.model.config.vocabSize,
      tools: Object.keys(this.parts.tools),
      sampling: { ...this.sampling },
    };
  }

  /** Lowers the workflow for this backend's tokenizer and checks its tools; throws RequestError. */
  check(workflow: SzcpWorkflow): void {
    prepareProgram(this.parts, workflow);
  }

  /** Runs a request; the sampling fields it leaves out come from the backend's defaults. */
  run(workflow: SzcpWorkflow, options: RequestOptions = {}): Promise<Run> {
    const merged = { ...options };
    for (const key of ["temperature", "topK", "topP"] as const) merged[key] ??= this.sampling[key];
    return generateRun(this.parts, workflow, merged);
  }
}

/**
 * `makeBackend()` loads the project's own model (models/forge-tiny); `makeBackend(folder)`
 * a Hugging Face layout folder; `makeBackend(model, tokenizer)` objects already in memory.
 */
export async function makeBackend(
  model?: DecoderModel | string,
  tokenizer?: ForgeTokenizer | string,
  options: BackendOptions = {},
): Promise<ForgeBackend> {
  if (options.type !== undefined && options.type !== "default") {
    throw new BackendConfigError("makeBackend(options.type)", `unknown backend type "${String(options.type)}" (known: "default")`);
  }
  const backend = await initBackend(options.device);
  let decoder: DecoderModel;
  let tok: ForgeTokenizer | undefined = typeof tokenizer === "object" ? tokenizer : undefined;
  let sampling: SamplingDefaults = {};
  if (model instanceof DecoderModel) {
    decoder = model;
  } else {
    const loaded = await loadModel(model ?? (await defaultModelFolder()));
    decoder = loaded.model;
    sampling = loaded.sampling;
    tok ??= await loadTokenizer(typeof tokenizer === "string" ? tokenizer : loaded.tokenizerJsonPath);
  }
  if (!tok) tok = await loadTokenizer(tokenizer as string);
  if (tok.vocabSize > decoder.config.vocabSize) {
    throw new BackendConfigError(
      "makeBackend(tokenizer)",
      `the tokenizer (${tok.identity}) has ${tok.vocabSize} tokens but the model's vocabulary has ${decoder.config.vocabSize}`,
    );
  }
  const engine = await selectEngine(decoder, backend, options.engine, !(model instanceof DecoderModel), { weights: options.weights, kvCache: options.kvCache });
  return new ForgeBackend({ model: decoder, tokenizer: tok, tools: options.tools ?? {}, backend, engine: engine.step }, options.sampling ?? sampling);
}
