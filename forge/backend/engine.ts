/**
 * Which engine computes the model in the generation loop (issue 17):
 * - "onnx": the decoder as an ONNX Runtime graph on the CPU (forge/backend/onnx), built from
 *   the same weights; 3.9–4.7× the tfjs engine at batch 64 on a SmolLM2-135M-shaped model
 *   (bench/engine/README.md);
 * - "tfjs": the tfjs decoder (forge/model) on the tfjs backend initBackend chose.
 * The sampler and the automaton run on tfjs / the host either way.
 *
 * `makeBackend(..., { engine })` or $FORGE_ENGINE picks one. "auto" takes onnx
 * for a model loaded from a folder (the default model, a checkpoint) when onnxruntime-node
 * loads and the tfjs backend is a host-memory one (wasm, cpu; a native TensorFlow backend may
 * be a GPU), and tfjs otherwise — in particular for a DecoderModel object passed in: the ONNX
 * graph is a snapshot of the weights when the backend is made, and an object's owner may go on
 * changing them (training), so it gets onnx only when asked by name. A requested onnx that
 * cannot start falls back to tfjs with a note on stderr, as initBackend does.
 */
import type { DecoderModel } from "../model/decoder.js";
import type { StepModel } from "../model/step-model.js";
import { BackendError } from "./select.js";
import type { OnnxOptions } from "./onnx/model.js";

export type EngineName = "onnx" | "tfjs";
export type EnginePreference = EngineName | "auto";
/** Environment variable that overrides the engine asked for in code. */
export const ENGINE_ENV = "FORGE_ENGINE";
/**
 * What makeBackend uses when neither code nor $FORGE_ENGINE says: the fastest engine that
 * starts here (ONNX for a model folder on a host-memory backend), tfjs otherwise.
 */
export const DEFAULT_ENGINE: EnginePreference = "auto";

export interface ChosenEngine {
  name: EngineName;
  /** The loop's model for onnx; undefined for tfjs (the loop wraps the decoder itself). */
  step?: StepModel;
}

let announced = false;

function parse(value: string, where: string): EnginePreference {
  const v = value.trim().toLowerCase();
  if (v === "onnx" || v === "tfjs" || v === "auto") return v;
  throw new BackendError(`${where}: unknown engine "${value}"; expected onnx, tfjs or auto`);
}

/**
 * Picks and starts the engine for `model` (see the file comment). `tfjsBackend`: initBackend's
 * choice; `fromFolder`: the model was loaded from a folder here (not handed in as an object).
 */
export async function selectEngine(model: DecoderModel, tfjsBackend: string, preference?: EnginePreference, fromFolder = false, onnx: OnnxOptions = {}): Promise<ChosenEngine> {
  const env = process.env[ENGINE_ENV];
  const wanted = env !== undefined && env !== "" ? parse(env, `environment variable ${ENGINE_ENV}`) : parse(preference ?? DEFAULT_ENGINE, "makeBackend engine");
  if (wanted === "tfjs") return { name: "tfjs" };
  if (wanted === "auto" && (!fromFolder || (tfjsBackend !== "wasm" && tfjsBackend !== "cpu"))) return { name: "tfjs" };
  try {
    const { OnnxStepModel } = await import("./onnx/model.js");
    const step = await OnnxStepModel.fromDecoder(model, onnx);
    // A model this process loaded from a folder is held by nobody else: once ONNX Runtime has
    // its copy, the tfjs one would only double the weights' memory.
    if (fromFolder && onnx.keepTfjsWeights !== true) model.releaseWeights();
    if (!announced) process.stderr.write(`forge: engine onnxruntime on ${step.device} (${step.threads} threads)\n`);
    announced = true;
    return { name: "onnx", step };
  } catch (error) {
    process.stderr.write(`forge: engine onnx could not start (${(error as Error).message.split("\n")[0]}); using tfjs\n`);
    return { name: "tfjs" };
  }
}
