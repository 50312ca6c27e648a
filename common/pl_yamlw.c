/* pl_yamlw.c: JSON tree -> YAML text through libyaml's emitter (pl_yamlw.h).
 * The renderers build their documents as jansson values, which keeps every
 * key in insertion order and leaves quoting to one place: here. */
#include "pl_yamlw.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

/* Plain style only for strings no YAML 1.1 resolver turns into another type:
 * a letter or '/' first, then a conservative alphabet, and none of the
 * boolean/null words. Everything else is double-quoted. */
static bool s_plain_safe(const char *s)
{
    static const char *const words[] = {"y",   "n",    "yes",   "no",   "on",
                                        "off", "true", "false", "null", "~"};
    if (!isalpha((unsigned char)s[0]) && s[0] != '/') return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./=-", *p)) return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(s, words[i]) == 0) return false;
    return true;
}

static int s_scalar(yaml_emitter_t *e, const char *text, yaml_scalar_style_t style)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), 1, 1,
                                      style))
        return -1;
    return yaml_emitter_emit(e, &ev) ? 0 : -1;
}

static int s_node(yaml_emitter_t *e, const json_t *j)
{
    yaml_event_t ev;
    char num[64];
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
            !yaml_emitter_emit(e, &ev))
            return -1;
        json_object_foreach((json_t *)j, k, v)
        {
            if (s_scalar(e, k,
                         s_plain_safe(k) ? YAML_PLAIN_SCALAR_STYLE
                                         : YAML_DOUBLE_QUOTED_SCALAR_STYLE) != 0 ||
                s_node(e, v) != 0)
                return -1;
        }
        if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev)) return -1;
        return 0;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        /* Short lists of scalars read best inline: ["--seat", "agent_1"]. */
        bool flow = json_array_size(j) > 0;
        json_array_foreach(j, i, v) if (json_is_object(v) || json_is_array(v)) flow = false;
        if (!yaml_sequence_start_event_initialize(
                &ev, NULL, NULL, 1, flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) ||
            !yaml_emitter_emit(e, &ev))
            return -1;
        json_array_foreach(j, i, v) if (s_node(e, v) != 0) return -1;
        if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev)) return -1;
        return 0;
    }
    case JSON_STRING: {
        const char *s = json_string_value(j);
        /* A file's text (a ConfigMap's config.json) reads best as a block. */
        if (strchr(s, '\n')) return s_scalar(e, s, YAML_LITERAL_SCALAR_STYLE);
        return s_scalar(
            e, s, s_plain_safe(s) ? YAML_PLAIN_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    }
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        return s_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(j));
        return s_scalar(e, num, YAML_PLAIN_SCALAR_STYLE);
    case JSON_TRUE:
        return s_scalar(e, "true", YAML_PLAIN_SCALAR_STYLE);
    case JSON_FALSE:
        return s_scalar(e, "false", YAML_PLAIN_SCALAR_STYLE);
    case JSON_NULL:
        return s_scalar(e, "null", YAML_PLAIN_SCALAR_STYLE);
    }
    return -1;
}

int pl_yamlw_write(FILE *f, const json_t *doc, int separator, char *err, size_t errlen)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    int rc = -1;
    if (!yaml_emitter_initialize(&e)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    yaml_emitter_set_output_file(&e, f);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, 100);
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&e, &ev))
        goto fail;
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, separator ? 0 : 1) ||
        !yaml_emitter_emit(&e, &ev))
        goto fail;
    if (s_node(&e, doc) != 0) goto fail;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev)) goto fail;
    if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev)) goto fail;
    if (!yaml_emitter_flush(&e)) goto fail;
    rc = 0;
fail:
    if (rc != 0) snprintf(err, errlen, "YAML: %s", e.problem ? e.problem : "cannot write");
    yaml_emitter_delete(&e);
    return rc;
}

int pl_yamlw_write_file(const char *path, const char *header, json_t *const *docs, size_t n,
                        char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    err[0] = '\0';
    if (!f) {
        int e = errno;
        if (snprintf(err, errlen, "%s: %s", path, strerror(e)) >= (int)errlen)
            err[errlen - 1] = '\0';
        return -1;
    }
    int rc = fputs(header, f) < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) rc = pl_yamlw_write(f, docs[i], i > 0, err, errlen);
    if (fclose(f) != 0) rc = -1;
    if (rc != 0 && !err[0] && snprintf(err, errlen, "%s: cannot write", path) >= (int)errlen)
        err[errlen - 1] = '\0';
    return rc;
}

int pl_yamlw_append(json_t *arr, const char *s)
{
    return json_array_append_new(arr, json_string(s));
}

json_t *pl_yamlw_list(const char *const *items)
{
    json_t *a = json_array();
    for (size_t i = 0; a && items[i]; i++)
        if (pl_yamlw_append(a, items[i]) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}
