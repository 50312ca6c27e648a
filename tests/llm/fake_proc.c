/* fake_proc.c: start and stop parley-fake-llm from a test (fake_proc.h). */
#include "fake_proc.h"

#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t fake_start(const char *const *args, int *port)
{
    const char *bin = getenv("PARLEY_BIN");
    char path[4096];
    snprintf(path, sizeof path, "%s/parley-fake-llm", bin ? bin : ".");
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a failed test */
        const char *argv[64] = {path};
        int n = 1;
        for (int i = 0; args && args[i] && n < 63; i++) argv[n++] = args[i];
        argv[n] = NULL;
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *fp = fdopen(fds[0], "r");
    char line[256] = "";
    if (!fp || !fgets(line, sizeof line, fp) || sscanf(line, "listening 127.0.0.1:%d", port) != 1) {
        if (fp) fclose(fp);
        fake_stop(pid);
        return -1;
    }
    fclose(fp);
    return pid;
}

void fake_stop(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
}
