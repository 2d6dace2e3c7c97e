// Evaluate the population (JSON array of situations on stdin's file) with Publicodes, one
// case at a time as a simulator does; print {eligible, annual_aid} per case and timings.
import { readFileSync } from "node:fs";
import Engine from "publicodes";
import { parse } from "yaml";

const here = new URL(".", import.meta.url);
const rules = parse(readFileSync(new URL("rules.yaml", here), "utf8"));
const situations = JSON.parse(readFileSync(process.argv[2], "utf8"));
const engine = new Engine(rules);

function run(situation) {
  engine.setSituation(situation);
  return [engine.evaluate("eligible").nodeValue === true, engine.evaluate("annual_aid").nodeValue];
}
for (const s of situations.slice(0, 200)) run(s); // warm-up (JIT)
const t0 = process.hrtime.bigint();
const results = situations.map(run);
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(JSON.stringify({ seconds, results }));
