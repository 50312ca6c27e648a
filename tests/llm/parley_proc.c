/* parley_proc.c: run `parley run` from an end-to-end test (parley_proc.h). */
#include "parley_proc.h"
#include "e2e.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int parley_run(const char *dir, const char *const *args, int timeout_ms, char *out, size_t outlen,
               char *err, size_t errlen)
{
    char prog[1024], out_path[1200], err_path[1200];
    const char *bin = getenv("PARLEY_BIN");
    snprintf(prog, sizeof prog, "%s/parley", bin ? bin : "./bin");
    snprintf(out_path, sizeof out_path, "%s/parley.out", dir);
    snprintf(err_path, sizeof err_path, "%s/parley.err", dir);
    const char *argv[32] = {prog, "run"};
    int n = 2;
    for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(127);
        dup2(o, 1);
        dup2(e, 2);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    if (pid < 0) return -1;
    int rc = e2e_wait(pid, timeout_ms);
    if (rc < 0) e2e_reap(pid); /* parley run's children die with it */
    const char *paths[2] = {out_path, err_path};
    char *bufs[2] = {out, err};
    size_t lens[2] = {outlen, errlen};
    for (int i = 0; i < 2; i++) {
        bufs[i][0] = '\0';
        FILE *f = fopen(paths[i], "r");
        if (!f) continue;
        size_t got = fread(bufs[i], 1, lens[i] - 1, f);
        bufs[i][got] = '\0';
        fclose(f);
    }
    return rc;
}
