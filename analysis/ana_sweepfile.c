/* ana_sweepfile.c: the sweep file read with libyaml (ana_sweepfile.h). Factor
 * values are kept as the text of one YAML value each, for pl_config_set. */
#include "ana_sweepfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* A YAML node written back as one line of YAML (flow style), for pl_config_set,
 * which reads its value as YAML: scalars keep their quoting style. */
static int s_node_text(yaml_document_t *doc, yaml_node_t *n, char **buf, size_t *len, size_t *cap);

static int s_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t nc = (*cap ? *cap : 64);
        while (nc < *len + n + 1) nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

static int s_node_text(yaml_document_t *doc, yaml_node_t *n, char **buf, size_t *len, size_t *cap)
{
    if (!n) return -1;
    if (n->type == YAML_SCALAR_NODE) {
        const char *v = (const char *)n->data.scalar.value;
        size_t vl = n->data.scalar.length;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) return s_put(buf, len, cap, v, vl);
        /* Quoted in the file: keep it a string, double-quoted with escapes. */
        if (s_put(buf, len, cap, "\"", 1)) return -1;
        for (size_t i = 0; i < vl; i++) {
            if ((v[i] == '"' || v[i] == '\\') && s_put(buf, len, cap, "\\", 1)) return -1;
            if (v[i] == '\n' ? s_put(buf, len, cap, "\\n", 2) : s_put(buf, len, cap, v + i, 1))
                return -1;
        }
        return s_put(buf, len, cap, "\"", 1);
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        if (s_put(buf, len, cap, "[", 1)) return -1;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            if (it != n->data.sequence.items.start && s_put(buf, len, cap, ", ", 2)) return -1;
            if (s_node_text(doc, yaml_document_get_node(doc, *it), buf, len, cap)) return -1;
        }
        return s_put(buf, len, cap, "]", 1);
    }
    if (n->type == YAML_MAPPING_NODE) {
        if (s_put(buf, len, cap, "{", 1)) return -1;
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
             p++) {
            if (p != n->data.mapping.pairs.start && s_put(buf, len, cap, ", ", 2)) return -1;
            if (s_node_text(doc, yaml_document_get_node(doc, p->key), buf, len, cap) ||
                s_put(buf, len, cap, ": ", 2) ||
                s_node_text(doc, yaml_document_get_node(doc, p->value), buf, len, cap))
                return -1;
        }
        return s_put(buf, len, cap, "}", 1);
    }
    return -1;
}

/* A factor value as the text of an assignment. A scalar at the top is taken as
 * written, quoted or not, so that "[{policy: helper, count: 10}]" in quotes is
 * YAML for pl_config_set to read; lists and maps are written back in flow style. */
static char *s_text_of(yaml_document_t *doc, yaml_node_t *n)
{
    if (n && n->type == YAML_SCALAR_NODE) return strdup((const char *)n->data.scalar.value);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (s_node_text(doc, n, &buf, &len, &cap)) {
        free(buf);
        return NULL;
    }
    return buf ? buf : strdup("");
}

static const char *s_scalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *s_resolve(const char *dir, const char *path)
{
    if (path[0] == '/') return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, path);
    return p;
}

/* slurm: {partition, time, mem, gpus, runs_per_task, sbatch_args: [...]} or
 * kube: {image, pvc, namespace, name}: scalars kept as text for the executor. */
static int s_cluster_opts(yaml_document_t *doc, yaml_node_t *v, const char *file, const char *key,
                          ana_sweepfile_t *sw, char *err, size_t errlen)
{
    static const char *const slurm_keys[] = {"partition", "time", "mem", "gpus", NULL};
    static const char *const kube_keys[] = {"image", "pvc", "namespace", "name", NULL};
    bool slurm = key[0] == 's';
    const char *const *keys = slurm ? slurm_keys : kube_keys;
    if (v->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s:%zu: %s is a mapping (%s)", file, v->start_mark.line + 1, key,
                 slurm ? "partition, time, mem, gpus, runs_per_task, sbatch_args"
                       : "image, pvc, namespace, name");
        return -1;
    }
    json_t *o = json_object();
    if (!o) goto oom;
    json_decref(slurm ? sw->slurm : sw->kube);
    if (slurm)
        sw->slurm = o;
    else
        sw->kube = o;
    for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
        yaml_node_t *fk = yaml_document_get_node(doc, q->key);
        yaml_node_t *fv = yaml_document_get_node(doc, q->value);
        const char *name = s_scalar(fk), *val = s_scalar(fv);
        size_t line = fk->start_mark.line + 1;
        bool known = false;
        for (size_t i = 0; keys[i]; i++) known |= name && !strcmp(name, keys[i]);
        if (known && val && *val) {
            if (json_object_set_new(o, name, json_string(val))) goto oom;
        } else if (slurm && name && !strcmp(name, "runs_per_task")) {
            char *end;
            long n = val ? strtol(val, &end, 10) : 0;
            if (!val || *end || n < 1 || n > 100000) {
                snprintf(err, errlen, "%s:%zu: runs_per_task is a number from 1 to 100000", file,
                         line);
                return -1;
            }
            sw->runs_per_task = n;
        } else if (slurm && name && !strcmp(name, "sbatch_args")) {
            json_t *a = json_array();
            if (!a || json_object_set_new(o, name, a)) goto oom;
            if (fv->type != YAML_SEQUENCE_NODE) goto bad_list;
            for (yaml_node_item_t *it = fv->data.sequence.items.start;
                 it < fv->data.sequence.items.top; it++) {
                const char *s = s_scalar(yaml_document_get_node(doc, *it));
                if (!s) goto bad_list;
                if (json_array_append_new(a, json_string(s))) goto oom;
            }
        } else if (known) {
            snprintf(err, errlen, "%s:%zu: %s.%s takes a single non-empty value", file, line, key,
                     name);
            return -1;
        } else {
            snprintf(err, errlen, "%s:%zu: unknown key '%s' under %s: (%s)", file, line,
                     name ? name : "?", key,
                     slurm ? "partition, time, mem, gpus, runs_per_task, sbatch_args"
                           : "image, pvc, namespace, name");
            return -1;
        }
        continue;
    bad_list:
        snprintf(err, errlen, "%s:%zu: sbatch_args is a list of options, e.g. [--qos=short]", file,
                 line);
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int ana_sweepfile_load(const char *file, const char *file_dir, ana_sweepfile_t *sw, char *err,
                       size_t errlen)
{
    FILE *f = fopen(file, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    yaml_parser_t p;
    yaml_document_t doc;
    bool have_doc = false;
    int rc = -1;
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    yaml_parser_set_input_file(&p, f);
    if (!yaml_parser_load(&p, &doc)) {
        snprintf(err, errlen, "%s:%zu: %s", file, p.problem_mark.line + 1,
                 p.problem ? p.problem : "YAML error");
        goto done;
    }
    have_doc = true;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        snprintf(err, errlen, "%s:1: a sweep file is a mapping (base, factors, ...)", file);
        goto done;
    }
    for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(&doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(&doc, pr->value);
        const char *key = s_scalar(k);
        size_t line = k->start_mark.line + 1;
        const char *sv = s_scalar(v);
        if (!key) {
            snprintf(err, errlen, "%s:%zu: keys are plain words", file, line);
            goto done;
        }
        if (!strcmp(key, "base")) {
            if (!sv) goto bad_scalar;
            free(sw->base);
            if (!(sw->base = s_resolve(file_dir, sv))) goto oom;
        } else if (!strcmp(key, "out")) {
            if (!sv) goto bad_scalar;
            /* Relative to the current directory, like --out and like `parley
             * report DIR` after it: results land where the user stands, never
             * beside the examples. */
            if (!sw->out && !(sw->out = strdup(sv))) goto oom;
        } else if (!strcmp(key, "executor")) {
            if (!sv || (strcmp(sv, "process") && strcmp(sv, "inprocess") && strcmp(sv, "slurm") &&
                        strcmp(sv, "kube"))) {
                snprintf(err, errlen, "%s:%zu: executor is process, inprocess, slurm or kube", file,
                         line);
                goto done;
            }
            if (!sw->executor && !(sw->executor = strdup(sv))) goto oom;
        } else if (!strcmp(key, "concurrency")) {
            char *end;
            long n = sv ? strtol(sv, &end, 10) : 0;
            if (!sv || *end || n < 1 || n > 4096) {
                snprintf(err, errlen, "%s:%zu: concurrency is a number from 1 to 4096", file, line);
                goto done;
            }
            if (!sw->concurrency) sw->concurrency = (int)n;
        } else if (!strcmp(key, "margin")) {
            char *end;
            double m = sv ? strtod(sv, &end) : -1;
            if (!sv || *end || m < 0) {
                snprintf(err, errlen, "%s:%zu: margin is a number of points >= 0", file, line);
                goto done;
            }
            sw->margin = m;
            sw->have_margin = true;
        } else if (!strcmp(key, "prologue")) {
            if (!sv) goto bad_scalar;
            free(sw->prologue);
            if (!(sw->prologue = s_resolve(file_dir, sv))) goto oom;
        } else if (!strcmp(key, "slurm") || !strcmp(key, "kube")) {
            if (s_cluster_opts(&doc, v, file, key, sw, err, errlen)) goto done;
        } else if (!strcmp(key, "set") || !strcmp(key, "factors")) {
            bool factors = key[0] == 'f';
            if (v->type != YAML_MAPPING_NODE) {
                snprintf(err, errlen, "%s:%zu: %s is a mapping of configuration keys", file, line,
                         key);
                goto done;
            }
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top;
                 q++) {
                yaml_node_t *fk = yaml_document_get_node(&doc, q->key);
                yaml_node_t *fv = yaml_document_get_node(&doc, q->value);
                const char *fname = s_scalar(fk);
                size_t fline = fk->start_mark.line + 1;
                if (!fname) {
                    snprintf(err, errlen, "%s:%zu: a configuration key is a word", file, fline);
                    goto done;
                }
                if (!factors) {
                    char *t = s_text_of(&doc, fv);
                    if (!t || json_object_set_new(sw->fixed, fname, json_string(t))) {
                        free(t);
                        goto oom;
                    }
                    free(t);
                    continue;
                }
                if (fv->type != YAML_SEQUENCE_NODE ||
                    fv->data.sequence.items.top == fv->data.sequence.items.start) {
                    snprintf(err, errlen, "%s:%zu: factor %s needs a non-empty list of values",
                             file, fline, fname);
                    goto done;
                }
                json_t *vals = json_array();
                if (!vals || json_object_set_new(sw->factors, fname, vals)) goto oom;
                for (yaml_node_item_t *it = fv->data.sequence.items.start;
                     it < fv->data.sequence.items.top; it++) {
                    char *t = s_text_of(&doc, yaml_document_get_node(&doc, *it));
                    if (!t || json_array_append_new(vals, json_string(t))) {
                        free(t);
                        goto oom;
                    }
                    free(t);
                }
            }
        } else {
            snprintf(err, errlen,
                     "%s:%zu: unknown key '%s' (base, set, factors, concurrency, executor, out, "
                     "margin, slurm, kube, prologue)",
                     file, line, key);
            goto done;
        }
        continue;
    bad_scalar:
        snprintf(err, errlen, "%s:%zu: %s takes a single value", file, line, key);
        goto done;
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    if (have_doc) yaml_document_delete(&doc);
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}
