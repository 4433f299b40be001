/**
 * Runs scripted token streams through a batched automaton (tensor or host) as one batch, with the same
 * conventions as runScripted (forge/ttfa/reference.ts): stream b's sampled token at its
 * recorded position i is scripts[b][i]; a capture at the stream's own step g delivers the
 * tool output before step g + delay; the run stops after maxSteps steps.
 */
import * as tf from "@tensorflow/tfjs";
import {
  HostAutomaton, TensorAutomaton, TraceRecorder, TtfaEvent, segmentTokens, type HostStepOutput, type ScriptedTool, type TtfaProgram,
} from "../../../forge/ttfa/index.js";
import type { StreamTrace } from "../../../forge/run/types.js";

/** What the harness needs from a batched automaton: the tensor one (read back each step) or the host one. */
export interface BatchStepper {
  readonly program: TtfaProgram;
  readonly batch: number;
  step(sampled: Int32Array): HostStepOutput;
  setToolOutput(slot: number, tokens: number[]): void;
  /** Each slot's constraint state before the next step (read back from the tensor automaton). */
  constraintStates(): ArrayLike<number>;
}

/** Chooses stream `slot`'s sampled token at its recorded position from its script, given its constraint state (masked sampling). */
export type ScriptPick = (slot: number, position: number, constraintState: number) => number;

/** Drive a TensorAutomaton with host arrays: upload the sampled tokens, step, read every output back. */
export function tensorStepper(automaton: TensorAutomaton): BatchStepper {
  return {
    program: automaton.program,
    batch: automaton.batch,
    setToolOutput: (slot, tokens) => automaton.setToolOutput(slot, tokens),
    constraintStates: () => {
      const t = automaton.constraintStates();
      const out = t.dataSync().slice();
      t.dispose();
      return out;
    },
    step: (sampled) => {
      const input = tf.tensor1d(sampled, "int32");
      const out = automaton.step(input);
      const host = {
        token: out.token.dataSync(), pc: out.pc.dataSync(), forced: out.forced.dataSync(), event: out.event.dataSync(),
        nextPc: out.nextPc.dataSync(), done: out.done.dataSync(), record: out.record.dataSync(),
      };
      input.dispose();
      Object.values(out).forEach((t) => t.dispose());
      return host;
    },
  };
}

export function runBatch(
  automaton: TensorAutomaton | HostAutomaton | BatchStepper,
  scripts: Int32Array[],
  maxSteps: number,
  tool?: ScriptedTool,
  pick?: ScriptPick,
): StreamTrace[] {
  const stepper = automaton instanceof TensorAutomaton ? tensorStepper(automaton) : automaton;
  const program: TtfaProgram = stepper.program;
  const B = stepper.batch;
  const recorder = new TraceRecorder(program.zoneCount, B);
  const pending: Array<{ slot: number; at: number; tokens: number[] }> = [];
  // Host copies of the recorded tokens per slot, for what a capture sends.
  const tokens: number[][] = Array.from({ length: B }, () => []);
  const pcs: number[][] = Array.from({ length: B }, () => []);
  const sampled = new Int32Array(B);
  for (let g = 0; g < maxSteps; g++) {
    for (let i = 0; i < pending.length; ) {
      if (pending[i]!.at <= g) {
        stepper.setToolOutput(pending[i]!.slot, pending[i]!.tokens);
        pending.splice(i, 1);
      } else i++;
    }
    const states = pick ? stepper.constraintStates() : null;
    for (let b = 0; b < B; b++) {
      const position = recorder.slot(b).length;
      sampled[b] = pick ? pick(b, position, states![b]!) : (scripts[b]![position] ?? 0);
    }
    const host = stepper.step(sampled);
    recorder.append(host);
    let allDone = true;
    for (let b = 0; b < B; b++) {
      if (!host.done[b]) allDone = false;
      if (!host.record[b]) continue;
      tokens[b]!.push(host.token[b]!);
      pcs[b]!.push(host.pc[b]!);
      if (host.event[b]! & TtfaEvent.CAPTURE && tool) {
        const zone = host.pc[b]!;
        const output = tool({ tool: program.capture[zone]!, zone, tokens: segmentTokens(tokens[b]!, pcs[b]!), step: g });
        if (output) pending.push({ slot: b, at: g + Math.max(1, output.delay), tokens: output.tokens });
      }
    }
    if (allDone) break;
  }
  return Array.from({ length: B }, (_, b) => recorder.take(b, b));
}

/** A deterministic scripted tool: echoes part of the capture, sometimes with a pattern in it. */
export function scriptedTool(patternTokens: number[][]): ScriptedTool {
  return ({ tokens, step, zone }) => {
    const h = (step * 31 + zone * 7 + tokens.length) % 11;
    if (h === 0) return null; // the tool never answers this one
    const out = Array.from(tokens.slice(0, h % 5));
    if (h % 3 === 0) out.push(...patternTokens[h % patternTokens.length]!);
    return { tokens: out, delay: 1 + (h % 4) };
  };
}
