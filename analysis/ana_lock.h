/* ana_lock.h: one sweep per output directory at a time.
 *
 * One sweep per directory at a time: two would redo each other's runs. The
 * lock (flock on .sweep.lock, which holds the sweep's pid) is inherited by the
 * workers and lasts until the last of them is gone (ana_sweep.c starts them so). So when it
 * is busy: a live pid in the file is another sweep, refused; a dead one is a
 * killed sweep whose workers are dying with it (PR_SET_PDEATHSIG), and this
 * sweep waits for the lock to be released rather than run beside them. */
#ifndef PARLEY_ANA_LOCK_H
#define PARLEY_ANA_LOCK_H

#include <stdbool.h>
#include <stddef.h>

/* Takes the lock at `lock` for the sweep writing into `out` (named in
 * messages), waiting up to 30 s for the workers of a killed sweep. *fd_out gets
 * the lock's fd (the caller closes it at the end; workers inherit it). Returns
 * 0, or a PL_EXIT_ status with err. */
int ana_lock_sweep(const char *lock, const char *out, bool quiet, int *fd_out, char *err,
                   size_t errlen);

#endif
