/* ana_sweep.h: `parley sweep FILE`: a study as one command.
 *
 * The sweep file (YAML, libyaml):
 *   base: paper.yaml            # the configuration every run starts from (relative
 *                               # to the sweep file), or omitted for the default
 *   set: {simulation.rounds: 5} # fixed overrides, applied first
 *   factors:                    # crossed: one run per combination, in this order
 *     automation: [none, auto_fulfill, auto_request]
 *     seed: [1, 2, 3]
 *     seats: ["[{policy: helper, count: 10}]", ...]   # any key of pl_config_set;
 *                                                     # lists and maps are allowed too
 *   concurrency: 4              # runs at once (default: online CPUs)
 *   executor: process           # process: `parley run` per run; inprocess: built-in
 *                               # policies played here, no broker (fast, offline);
 *                               # slurm, kube: handed to a cluster (docs/CLUSTER.md,
 *                               # keys slurm:, kube:, prologue:; ana_slurm.h, ana_kube.h)
 *   out: runs/study             # relative to the current directory; --out wins
 *   margin: 5                   # verdict margin, points of % of optimal
 *
 * Every run has its own directory out/run-NNNN; out/sweep.json lists them with
 * their factor values and status. Resumable: a run whose directory holds
 * summary.json is done and never redone; any other directory is wiped and run
 * again. A failed run is recorded (status, error) and the others go on. At the
 * end the CSV tables and the report are written into out/ and the verdict table
 * is printed. Workers die with the sweep, and the directory's lock lasts until
 * the last of them is gone (ana_lock.h). */
#ifndef PARLEY_ANA_SWEEP_H
#define PARLEY_ANA_SWEEP_H

/* The `parley sweep` command: argv[0] is "sweep". Returns the exit status
 * (docs/CLI.md): 0 all runs done, 1 some failed or the sweep was stopped (tables
 * written all the same), 2 bad usage, 3 the sweep file, a configuration or an
 * API key refused, 4 a system error. Never exits. */
int ana_sweep_main(int argc, char **argv);

#endif
