/* pl_yamlw.h: writes a JSON tree (jansson) as block-style YAML with libyaml's
 * emitter, for the files `parley compose`, `parley kube` and the sweep's cluster
 * executors render. Strings
 * that a YAML 1.1 reader would take for something else (numbers, booleans,
 * "8080:80" sexagesimals, "null") are quoted. */
#ifndef PARLEY_PL_YAMLW_H
#define PARLEY_PL_YAMLW_H

#include <jansson.h>
#include <stdio.h>

/* Writes one YAML document holding doc to f (a "---" line first when
 * `separator`). Returns 0, or -1 with a sentence in err. */
int pl_yamlw_write(FILE *f, const json_t *doc, int separator, char *err, size_t errlen);

/* Writes header (comment lines) and then the n documents to path, "---"
 * between them. Returns 0, or -1 with a sentence in err. */
int pl_yamlw_write_file(const char *path, const char *header, json_t *const *docs, size_t n,
                        char *err, size_t errlen);

/* ["a", "b", ...] from a NULL-terminated list; NULL when out of memory. */
json_t *pl_yamlw_list(const char *const *items);
/* Appends the string s to arr. 0 or -1. */
int pl_yamlw_append(json_t *arr, const char *s);

#endif
