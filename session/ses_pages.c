/* ses_pages.c: the session's pages, built in or from the researcher's
 * directory (ses_pages.h). */
#include "ses_pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char ses_page_game[], ses_page_consent[], ses_page_instructions[],
    ses_page_comprehension[], ses_page_lobby[], ses_page_declined[], ses_page_left[],
    ses_page_closed[], ses_page_end[], ses_page_experimenter[];

static const struct {
    const char *name;
    const char *text;
} s_pages[] = {
    {"game", ses_page_game},
    {"consent", ses_page_consent},
    {"instructions", ses_page_instructions},
    {"comprehension", ses_page_comprehension},
    {"lobby", ses_page_lobby},
    {"declined", ses_page_declined},
    {"left", ses_page_left},
    {"closed", ses_page_closed},
    {"end", ses_page_end},
    {"experimenter", ses_page_experimenter},
};

static const char *s_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof s_pages / sizeof s_pages[0]; i++)
        if (strcmp(s_pages[i].name, name) == 0) return s_pages[i].text;
    return NULL;
}

int ses_page_known(const char *name)
{
    return s_builtin(name) != NULL;
}

char *ses_page_load(const char *dir, const char *name, char *err, size_t errlen)
{
    const char *builtin = s_builtin(name);
    if (!builtin) {
        snprintf(err, errlen, "no page named '%s'", name);
        return NULL;
    }
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.html", dir, name);
        FILE *f = fopen(path, "rb");
        if (f) {
            char *buf = NULL;
            long n = -1;
            if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
            if (n >= 0 && n < (16L << 20) && fseek(f, 0, SEEK_SET) == 0 &&
                (buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
                buf[n] = '\0';
                fclose(f);
                return buf;
            }
            free(buf);
            fclose(f);
            snprintf(err, errlen, "%s: cannot read", path);
            return NULL;
        }
        if (errno != ENOENT) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return NULL;
        }
    }
    char *copy = strdup(builtin);
    if (!copy) snprintf(err, errlen, "out of memory");
    return copy;
}

/* Appends src[0..n) to the growing buffer; 0 or -1. */
static int s_put(char **buf, size_t *len, size_t *cap, const char *src, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*cap ? *cap : 256);
        while (*len + n + 1 > c) c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return -1;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, src, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static int s_put_escaped(char **buf, size_t *len, size_t *cap, const char *v)
{
    for (; *v; v++) {
        const char *e = *v == '<'    ? "&lt;"
                        : *v == '>'  ? "&gt;"
                        : *v == '&'  ? "&amp;"
                        : *v == '"'  ? "&quot;"
                        : *v == '\'' ? "&#39;"
                                     : NULL;
        if (s_put(buf, len, cap, e ? e : v, e ? strlen(e) : 1) != 0) return -1;
    }
    return 0;
}

char *ses_page_fill(const char *text, const char *const *keys, const char *const *vals, int n)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    const char *p = text;
    while (*p) {
        const char *m = strstr(p, "{{");
        if (!m) {
            if (s_put(&buf, &len, &cap, p, strlen(p)) != 0) goto fail;
            break;
        }
        if (s_put(&buf, &len, &cap, p, (size_t)(m - p)) != 0) goto fail;
        const char *end = strstr(m + 2, "}}");
        int k = -1;
        for (int i = 0; end && i < n; i++)
            if ((size_t)(end - m - 2) == strlen(keys[i]) &&
                strncmp(m + 2, keys[i], strlen(keys[i])) == 0)
                k = i;
        if (k < 0) {
            if (s_put(&buf, &len, &cap, m, 2) != 0) goto fail;
            p = m + 2;
            continue;
        }
        if (s_put_escaped(&buf, &len, &cap, vals[k] ? vals[k] : "") != 0) goto fail;
        p = end + 2;
    }
    if (!buf && s_put(&buf, &len, &cap, "", 0) != 0) goto fail;
    return buf;
fail:
    free(buf);
    return NULL;
}
