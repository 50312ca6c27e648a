/* pl_meta.h: what produced a run, and the conventions every parley program
 * shares (--version, exit statuses; docs/CLI.md).
 *
 * A run directory holds meta.json beside config.json (docs/EVENTS.md lists its
 * keys): the parley version, the git commit and dirty flag of the tree the
 * binaries were built from (captured at build time, not at configure time),
 * the build type, the versions of the libraries it was built against, the host,
 * the SHA-256 of the resolved configuration, the seed and how it was chosen. */
#ifndef PARLEY_PL_META_H
#define PARLEY_PL_META_H

#include "pl_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit statuses of every command and program (docs/CLI.md). */
enum {
    PL_EXIT_OK = 0,     /* done, everything complete */
    PL_EXIT_FAILED = 1, /* it ran, but not everything completed (a stopped game, a failed run) */
    PL_EXIT_USAGE = 2,  /* bad command line: unknown option, missing argument */
    PL_EXIT_CONFIG = 3, /* a configuration or sweep file refused, a missing API key */
    PL_EXIT_SYSTEM = 4  /* the machine said no: a file not written, a program not started */
};

/* Where a run's seed came from, as meta.json records it. */
typedef enum {
    PL_SEED_DEFAULT = 0, /* nothing said: the preset's fixed seed (reproducible) */
    PL_SEED_CONFIG,      /* the configuration file's `seed:` */
    PL_SEED_OPTION,      /* --seed N or --set seed=N */
    PL_SEED_SWEEP        /* a sweep's `seed` factor or fixed `set:` */
} pl_seed_source_t;

const char *pl_seed_source_name(pl_seed_source_t s); /* "default", "config", "--seed", "sweep" */

const char *pl_meta_version(void);    /* "0.1.0" */
const char *pl_meta_commit(void);     /* full hash, or "unknown" outside git */
bool pl_meta_dirty(void);             /* the tree had uncommitted changes at build time */
const char *pl_meta_build_type(void); /* "RelWithDebInfo" ... */

/* The libraries it was built against: how many; the i-th one's name (NULL past
 * the end), its version in *version when version is not NULL. */
size_t pl_meta_n_libs(void);
const char *pl_meta_lib(size_t i, const char **version);

/* Prints "PROGRAM 0.1.0 (commit abcdef0123ab[-dirty], RelWithDebInfo)" and the
 * library versions, one line each, to f: what `--version` prints everywhere. */
void pl_meta_print_version(FILE *f, const char *program);

/* Whether the YAML file at path sets `seed` at its top level (so the seed came
 * from the file, not from the preset). False when the file cannot be read. */
bool pl_meta_file_sets_seed(const char *path);

/* SHA-256 (64 hex digits) of the configuration as compact JSON with sorted
 * keys: two runs with one hash played the same configuration. Returns 0 or -1. */
int pl_meta_config_hash(const pl_config_t *c, char out[65]);

/* The metadata object (owned by the caller): version, commit, build, libraries,
 * host, time, the configuration's hash, the seed and its source, the program and
 * its argv (argc 0: none), and, when $PARLEY_SWEEP is set (parley sweep sets it
 * for its runs), the sweep file and run id. NULL when out of memory. */
json_t *pl_meta_json(const pl_config_t *c, pl_seed_source_t seed_source, const char *program,
                     int argc, char *const argv[]);

/* Writes pl_meta_json(...) to dir/meta.json (through a temporary name). With
 * keep_existing, an existing meta.json is left as it is (the broker adds one only
 * when it was started by hand). Returns 0, or -1 with err. */
int pl_meta_write(const char *dir, const pl_config_t *c, pl_seed_source_t seed_source,
                  const char *program, int argc, char *const argv[], bool keep_existing, char *err,
                  size_t errlen);

#endif
