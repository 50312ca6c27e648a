/* ana_fs.h: the file-system steps the analysis commands share: creating an
 * output folder with its parents (`--out a/b/c`), and the folder of a file. */
#ifndef PARLEY_ANA_FS_H
#define PARLEY_ANA_FS_H

#include <stddef.h>

/* mkdir -p: creates path and every missing parent. Returns 0, or -1 (errno). */
int ana_mkdirs(const char *path);
/* Creates the folder that will hold the file `path` (nothing for a bare name).
 * Returns 0, or -1 (errno). */
int ana_mkdirs_for(const char *path);
/* The folder of `path` into out ("." for a bare name). Returns 0, or -1 when
 * it does not fit. */
int ana_dirname(const char *path, char *out, size_t cap);

#endif
