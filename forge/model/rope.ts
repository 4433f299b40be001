/**
 * RoPE inverse frequencies, the one place both engines take them from (decoder.ts, chunk.ts,
 * prefill.ts and the ONNX graph's cos/sin caches), with Hugging Face's `rope_scaling` kinds
 * "linear" and "llama3" (transformers' modeling_rope_utils: `_compute_linear_scaling_rope_parameters`,
 * `_compute_llama3_parameters`). Both leave the attention scale at 1, so only inv_freq changes.
 */
/** `rope_scaling` of a config.json, validated (configFromHf). */
export type RopeScaling =
  /** Positions divided by `factor` (every frequency divided by it). */
  | { kind: "linear"; factor: number }
  /**
   * Llama 3.1+: wavelengths longer than originalMaxPositions / lowFreqFactor are divided by
   * `factor`, those shorter than originalMaxPositions / highFreqFactor are kept, and the band
   * between is interpolated smoothly.
   */
  | { kind: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };

/** The fields of a DecoderConfig (config.ts) that RoPE reads; spelled out so that config.ts may import RopeScaling from here without a cycle. */
export interface RopeConfig {
  headDim: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling | null;
}

const f32 = Math.fround;

/**
 * inv_freq[j] for j < headDim / 2, in float32 as transformers computes it (each operation
 * rounded to float32, in the same order), so both engines see the same angles.
 */
export function ropeInvFreq(config: RopeConfig): Float32Array {
  const D = config.headDim;
  const half = D / 2;
  const inv = new Float32Array(half);
  for (let j = 0; j < half; j++) inv[j] = f32(1 / Math.pow(config.ropeTheta, (2 * j) / D));
  const s = config.ropeScaling;
  if (s === undefined || s === null) return inv;
  if (s.kind === "linear") {
    for (let j = 0; j < half; j++) inv[j] = f32(inv[j]! / s.factor);
    return inv;
  }
  // _compute_llama3_parameters, step by step.
  const lowFreqWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highFreqWavelen = s.originalMaxPositions / s.highFreqFactor;
  for (let j = 0; j < half; j++) {
    const f = inv[j]!;
    const wavelen = f32((2 * Math.PI) / f);
    // wavelen > low_freq_wavelen: divide by factor; wavelen < high_freq_wavelen: keep.
    const scaled = wavelen > lowFreqWavelen ? f32(f / s.factor) : f;
    const medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
    if (!medium) {
      inv[j] = scaled;
      continue;
    }
    const smooth = f32(f32(f32(s.originalMaxPositions / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
    inv[j] = f32(f32(f32(f32(1 - smooth) * scaled) / s.factor) + f32(smooth * scaled));
  }
  return inv;
}

/** Angle of position p at frequency j: float32 p × inv_freq[j], as transformers' rotary embedding. */
export function ropeAngle(position: number, invFreq: number): number {
  return f32(position * invFreq);
}
