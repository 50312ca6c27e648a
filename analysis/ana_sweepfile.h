/* ana_sweepfile.h: a sweep file (the YAML of `parley sweep FILE`, keys in
 * ana_sweep.h) read into its parts. */
#ifndef PARLEY_ANA_SWEEPFILE_H
#define PARLEY_ANA_SWEEPFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *base; /* resolved path or NULL */
    char *out;
    char *executor;
    int concurrency;
    double margin;
    bool have_margin;
    json_t *fixed;   /* key -> value text */
    json_t *factors; /* key -> [value text] (ordered object) */
    /* executor: slurm: partition, time, mem, gpus (strings) and sbatch_args
     * ([strings]); executor: kube: image, pvc, namespace, name. NULL if absent. */
    json_t *slurm, *kube;
    long runs_per_task; /* slurm: runs per array task (0: one) */
    char *prologue;     /* a script run before each cluster run, resolved path */
} ana_sweepfile_t;

/* Reads `file` (whose directory is file_dir) into sw; fixed and factors must be
 * empty objects already. Keys already set (out, executor, concurrency: from the
 * command line) are kept. Returns 0, or -1 with err as "FILE:LINE: what". */
int ana_sweepfile_load(const char *file, const char *file_dir, ana_sweepfile_t *sw, char *err,
                       size_t errlen);

#endif
