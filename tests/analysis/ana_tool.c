/* ana_tool.c: `parley sweep` and `parley report` without the parley front door,
 * for the analysis tests (the sweep test kills and restarts it as a process),
 * and a stand-in for `parley run` (built-in policies only, played in-process)
 * so that the sweep's process executor is tested without the broker:
 *   ana_tool run [CONFIG] --out DIR [--seed N] [--set KEY=VALUE]... [--quiet]
 * With ANA_TOOL_HOLD=N in the environment, the run of seed N writes its pid to
 * DIR.pid and then waits for a signal (pause) instead of playing: a worker that
 * is certainly still running when the test kills the sweep. */
#include "ana_exec.h"
#include "ana_report.h"
#include "ana_sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int s_run(int argc, char **argv)
{
    const char *out = NULL, *file = NULL;
    char err[1024] = "";
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out = argv[++i];
        else if ((!strcmp(argv[i], "--set") || !strcmp(argv[i], "--seed")) && i + 1 < argc)
            i++;
        else if (argv[i][0] != '-')
            file = argv[i];
    if (!out) {
        fprintf(stderr, "run: --out DIR is required\n");
        return 1;
    }
    pl_config_t *c = file ? pl_config_load(file, err, sizeof err) : pl_config_default();
    int rc = 1;
    if (!c) goto done;
    for (int i = 2; i < argc; i++) {
        char seed[64];
        const char *a = NULL;
        if (!strcmp(argv[i], "--set") && i + 1 < argc)
            a = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            snprintf(seed, sizeof seed, "seed=%s", argv[++i]);
            a = seed;
        }
        if (a && pl_config_set(c, a, err, sizeof err)) goto done;
    }
    const char *hold = getenv("ANA_TOOL_HOLD");
    if (hold && strtoull(hold, NULL, 10) == c->game.seed) {
        /* Written whole, then renamed: a reader never sees an empty file. */
        char path[4096], tmp[4100];
        snprintf(path, sizeof path, "%s.pid", out);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0 ||
            rename(tmp, path) != 0)
            goto done;
        for (;;) pause();
    }
    rc = ana_exec_inprocess(c, out, PL_SEED_SWEEP, err, sizeof err) ? 1 : 0;
done:
    if (rc) fprintf(stderr, "run: %s\n", err);
    pl_config_destroy(&c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "sweep") == 0) return ana_sweep_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "report") == 0) return ana_report_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "run") == 0) return s_run(argc, argv);
    fprintf(stderr, "usage: ana_tool sweep|report|run ...\n");
    return 1;
}
