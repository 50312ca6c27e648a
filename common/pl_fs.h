/* pl_fs.h: the file-system steps every command shares: creating a folder with
 * its parents (a run directory, `--out a/b/c`), and the folder of a file. */
#ifndef PARLEY_PL_FS_H
#define PARLEY_PL_FS_H

#include <stddef.h>

/* mkdir -p: creates path and every missing parent (mode 0755 before the
 * umask); an existing non-folder is ENOTDIR. Returns 0, or -1 (errno). */
int pl_mkdirs(const char *path);
/* Creates the folder that will hold the file `path` (nothing for a bare name).
 * Returns 0, or -1 (errno). */
int pl_mkdirs_for(const char *path);
/* The folder of `path` into out ("." for a bare name). Returns 0, or -1 when
 * it does not fit. */
int pl_dirname(const char *path, char *out, size_t cap);

#endif
