/**
 * Run by program.test.ts under plain tsx (not vitest): the `using` form of `loop` must work
 * on Node 20, which has no native Symbol.dispose. Prints the loop's edges as JSON.
 */
import { newProgram } from "../../../forge/sfcs/index.js";
import { parseUdplFile } from "../../../forge/udpl/index.js";

const { sequences, config } = parseUdplFile("test/fixtures/udpl/seed-fixed.toml");
const program = newProgram(sequences, {}, config);
program.run("setup");
{
  using loop = program.loop("control", { min: 1, max: 6 });
  loop.run("reasoning", { question: "Are you alive?" });
}
program.run("conclusion");
const w = program.compile()();
console.log(JSON.stringify({ next: w.zones.map((z) => z.next), jump: w.zones.map((z) => z.jump), loop: w.zones[3].loop }));
