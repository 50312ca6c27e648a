// validate_indexed_job.mjs: the Indexed Job of `executor: kube` checked offline
// (no API server) against Kubernetes' own schemas, with the kubernetes-models
// package of tests/containers/kube (npm ci there).
//
//   node validate_indexed_job.mjs JOB.yaml RUNS...
//
// Checks: the schema accepts the Job and refuses the same Job broken; it is
// Indexed with one completion per run listed (RUNS: the 1-based run numbers
// expected, in order), restartPolicy Never, and each index's shell command
// picks the run at that position of PARLEY_RUNS (played here with sh).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

const require = createRequire(new URL("../containers/kube/package.json", import.meta.url));
const { parseAllDocuments } = require("yaml");
const { Job } = require("kubernetes-models/batch/v1");

function fail(msg) {
  console.error(`validate_indexed_job: ${msg}`);
  process.exit(1);
}

const [file, ...want] = process.argv.slice(2);
if (!file || file === "--help") {
  console.log("usage: node validate_indexed_job.mjs JOB.yaml RUN...");
  process.exit(file ? 0 : 2);
}
const docs = parseAllDocuments(readFileSync(file, "utf8"));
if (docs.length !== 1 || docs[0].errors.length) fail(`${file}: one YAML document expected`);
const job = docs[0].toJS();
try {
  new Job(job).validate();
} catch (e) {
  fail(`${file}: the schema refuses the Job: ${e.message}`);
}
for (const [what, mutate] of [
  ["completions as a word", (j) => (j.spec.completions = "all")],
  ["a container without a name", (j) => delete j.spec.template.spec.containers[0].name],
]) {
  const broken = structuredClone(job);
  mutate(broken);
  let refused = false;
  try {
    new Job(broken).validate();
  } catch {
    refused = true;
  }
  if (!refused) fail(`the schema accepts a broken Job (${what})`);
}
const s = job.spec;
if (s.completionMode !== "Indexed") fail(`completionMode is ${s.completionMode}, not Indexed`);
if (s.completions !== want.length) fail(`${s.completions} completions for ${want.length} runs`);
const pod = s.template.spec;
if (pod.restartPolicy !== "Never") fail(`restartPolicy ${pod.restartPolicy}`);
const c = pod.containers[0];
const env = Object.fromEntries(c.env.map((e) => [e.name, e.value]));
if (!pod.volumes.some((v) => v.persistentVolumeClaim?.claimName))
  fail("no persistent volume claim for the sweep directory");
// Each index runs the right run: the container's command, with `parley` a
// function that prints its arguments.
for (let i = 0; i < want.length; i++) {
  const script = `parley() { echo "$@"; }; ${c.command[2].replace(/^exec /, "").replace(/; exec /g, "; ")}`;
  const got = execFileSync("sh", ["-c", script], {
    env: { ...env, JOB_COMPLETION_INDEX: String(i), PATH: process.env.PATH },
  }).toString().trim();
  const expect = `sweep ${env.PARLEY_SWEEP_FILE} --out ${env.PARLEY_SWEEP_OUT} --run-one ${want[i]}`;
  if (got !== expect) fail(`index ${i} runs '${got}', not '${expect}'`);
}
console.log(`validate_indexed_job: ${file}: a valid Indexed Job, ${want.length} completions, each index its run`);
