/* pl_fs.c: folders with their parents (pl_fs.h). */
#include "pl_fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int pl_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (!path || !*path || snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = path && *path ? ENAMETOOLONG : ENOENT;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    struct stat st;
    if (stat(buf, &st) != 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int pl_dirname(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int n = !slash          ? snprintf(out, cap, ".")
            : slash == path ? snprintf(out, cap, "/")
                            : snprintf(out, cap, "%.*s", (int)(slash - path), path);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int pl_mkdirs_for(const char *path)
{
    char dir[PATH_MAX];
    if (pl_dirname(path, dir, sizeof dir) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return strcmp(dir, ".") == 0 ? 0 : pl_mkdirs(dir);
}
