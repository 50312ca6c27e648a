/* ana_lock.c: the sweep directory's lock (ana_lock.h). */
#include "ana_lock.h"
#include "pl_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int ana_lock_sweep(const char *lock, const char *out, bool quiet, int *fd_out, char *err,
                   size_t errlen)
{
    int fd = open(lock, O_RDWR | O_CREAT, 0666); /* no O_CLOEXEC: see above */
    *fd_out = fd;
    if (fd < 0) {
        snprintf(err, errlen, "%.1024s: %s", lock, strerror(errno));
        return PL_EXIT_SYSTEM;
    }
    bool said = false;
    for (int waited_ms = 0;; waited_ms += 20) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(err, errlen, "%.1024s: %s", lock, strerror(errno));
            return PL_EXIT_SYSTEM;
        }
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
        if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM)) {
            snprintf(err, errlen, "%s: another sweep (pid %ld) is running in this directory", out,
                     pid);
            return PL_EXIT_FAILED;
        }
        if (waited_ms >= 30000) {
            snprintf(err, errlen,
                     "%s: the workers of a stopped sweep still hold the directory after 30 s", out);
            return PL_EXIT_FAILED;
        }
        if (!said && !quiet) {
            fprintf(stderr, "sweep: waiting for the workers of a stopped sweep to exit\n");
            said = true;
        }
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        snprintf(err, errlen, "%.1024s: %s", lock, strerror(errno));
        return PL_EXIT_SYSTEM;
    }
    return 0;
}
