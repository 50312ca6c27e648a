// validate_kube.mjs: offline checks of `parley kube` output (no API server).
//
//   node validate_kube.mjs DIR
//
// 1. Every document of DIR/game.yaml, DIR/secrets.yaml and DIR/collect.yaml is
//    validated against Kubernetes' own API schemas (kubernetes-models); a
//    manifest broken on purpose must fail the same validation, so the check
//    can fail.
// 2. What the game relies on: the broker is a Job that never starts a second
//    game (backoffLimit 0, restartPolicy Never, a fixed PARLEY_RUN_ID); every
//    seat of config.json that is not human has a Job restarting on failure;
//    every secretKeyRef names a Secret and key that secrets.yaml holds; no
//    token or key appears in game.yaml; the NetworkPolicies deny by default
//    and let agents out only to the broker's port and DNS.
// Prints what it checked; exits 1 with the first failure.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ConfigMap, PersistentVolumeClaim, Pod, Secret, Service } from "kubernetes-models/v1";
import { Job } from "kubernetes-models/batch/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";

const KINDS = { ConfigMap, PersistentVolumeClaim, Pod, Secret, Service, Job, Deployment, NetworkPolicy };

function fail(msg) {
  console.error(`validate_kube: ${msg}`);
  process.exit(1);
}

function load(path) {
  const docs = parseAllDocuments(readFileSync(path, "utf8"));
  return docs.map((d, i) => {
    if (d.errors.length) fail(`${path}: document ${i + 1}: ${d.errors[0].message}`);
    return d.toJS();
  });
}

function validate(obj, where) {
  const Model = KINDS[obj.kind];
  if (!Model) throw new Error(`${where}: kind ${obj.kind} is not one parley renders`);
  new Model(obj).validate(); // throws with the schema's complaint
}

const dir = process.argv[2];
if (!dir || dir === "--help") {
  console.log("usage: node validate_kube.mjs DIR   (DIR: `parley kube` output)");
  process.exit(dir ? 0 : 2);
}
const game = load(`${dir}/game.yaml`);
const secrets = load(`${dir}/secrets.yaml`);
const collect = load(`${dir}/collect.yaml`);
let n = 0;
for (const [file, docs] of [["game.yaml", game], ["secrets.yaml", secrets], ["collect.yaml", collect]]) {
  docs.forEach((d, i) => {
    try {
      validate(d, `${file}#${i + 1}`);
    } catch (e) {
      fail(`${file}: ${d.kind} ${d.metadata?.name}: ${e.message}`);
    }
    n++;
  });
}

// The validation must be able to fail: the same broker Job, broken.
const brokerJob = game.find((d) => d.kind === "Job" && d.metadata.labels["app.kubernetes.io/component"] === "broker");
if (!brokerJob) fail("game.yaml has no broker Job");
for (const [what, mutate] of [
  ["backoffLimit as a word", (j) => (j.spec.backoffLimit = "none")],
  ["a container without image name", (j) => delete j.spec.template.spec.containers[0].name],
  ["a port out of type", (j) => (j.spec.template.spec.containers[0].ports[0].containerPort = "5555x")],
]) {
  const broken = structuredClone(brokerJob);
  mutate(broken);
  let refused = false;
  try {
    validate(broken, "broken");
  } catch {
    refused = true;
  }
  if (!refused) fail(`the schema check accepts a broken Job (${what})`);
}

// The broker: one game.
const bspec = brokerJob.spec.template.spec;
if (brokerJob.spec.backoffLimit !== 0) fail("the broker Job's backoffLimit is not 0");
if (bspec.restartPolicy !== "Never") fail("the broker's restartPolicy is not Never");
const runId = bspec.containers[0].env.find((e) => e.name === "PARLEY_RUN_ID");
if (!runId || !runId.value) fail("the broker has no PARLEY_RUN_ID (a restart would start a new game)");

// Seats: one Job each, restarting on failure, for every seat that is not human.
const cm = game.find((d) => d.kind === "ConfigMap");
const config = JSON.parse(cm.data["config.json"]);
const seats = [];
for (const g of config.seats) for (let i = 0; i < (g.count ?? 1); i++) seats.push(g.policy);
seats.forEach((policy, i) => {
  const seat = `agent-${i + 1}`;
  const job = game.find((d) => d.kind === "Job" && d.metadata.labels["parley/seat"] === seat);
  if (policy === "human") {
    if (job) fail(`${seat} is human but has a Job`);
    return;
  }
  if (!job) fail(`${seat} (${policy}) has no Job`);
  if (job.spec.template.spec.restartPolicy !== "OnFailure") fail(`${seat}: restartPolicy is not OnFailure`);
  const args = job.spec.template.spec.containers[0].args;
  if (args[args.indexOf("--policy") + 1] !== policy) fail(`${seat}: policy is not ${policy}`);
});

// Secrets: every reference resolves; nothing secret in game.yaml.
const held = new Map(secrets.map((s) => [s.metadata.name, s.stringData ?? {}]));
const text = readFileSync(`${dir}/game.yaml`, "utf8");
for (const d of game) {
  const spec = d.kind === "Pod" ? d.spec : d.spec?.template?.spec;
  for (const c of spec?.containers ?? [])
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (!ref) continue;
      if (!held.has(ref.name) || !(ref.key in held.get(ref.name)))
        fail(`${d.metadata.name}: ${e.name} refers to ${ref.name}/${ref.key}, which secrets.yaml lacks`);
    }
}
for (const [name, vars] of held)
  for (const [k, v] of Object.entries(vars))
    if (String(v).length >= 8 && text.includes(String(v))) fail(`game.yaml contains the value of ${name}/${k}`);

// Isolation: deny by default; agents out only to the broker's 5555 and DNS.
const pols = game.filter((d) => d.kind === "NetworkPolicy");
const deny = pols.find((p) => !p.spec.ingress && !p.spec.egress && p.spec.policyTypes.includes("Egress"));
if (!deny || Object.keys(deny.spec.podSelector.matchLabels).join() !== "app.kubernetes.io/part-of")
  fail("no default-deny NetworkPolicy over the whole game");
const agents = pols.find((p) => p.spec.podSelector.matchLabels["app.kubernetes.io/component"] === "agent" && !p.spec.podSelector.matchLabels["parley/seat"]);
if (!agents) fail("no NetworkPolicy for the agents");
const ports = agents.spec.egress.flatMap((r) => r.ports.map((p) => p.port)).sort();
if (ports.join() !== "53,53,5555") fail(`agents may reach ports ${ports.join()} (want 5555 and DNS)`);
console.log(`validate_kube: ${n} objects valid against the Kubernetes API schemas; broken ones refused; ` +
  `broker Job runs once (run ${runId.value}); ${seats.length} seats; secrets resolve; isolation policies present`);
