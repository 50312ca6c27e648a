/* ana_kube.c: a sweep as a Kubernetes Indexed Job (ana_kube.h), built as a
 * JSON tree and written as YAML by pl_yamlw (the writer `parley kube` uses). */
#include "ana_kube.h"
#include "pl_fs.h"
#include "pl_yamlw.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Kubernetes names: lower-case letters, digits and '-'. */
static void s_dns_name(char *out, size_t cap, const char *in)
{
    size_t n = 0;
    for (; *in && n + 1 < cap && n < 52; in++) {
        char c = *in >= 'A' && *in <= 'Z' ? (char)(*in - 'A' + 'a') : *in;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (ok || (n && out[n - 1] != '-')) out[n++] = ok ? c : '-';
    }
    while (n && out[n - 1] == '-') n--;
    out[n] = '\0';
}

int ana_kube_write(const char *file, const char *out, const ana_sweepfile_t *spec,
                   const size_t *todo, size_t n_todo, char *path, size_t path_cap, char *err,
                   size_t errlen)
{
    json_t *job = NULL;
    char *runs = NULL;
    if (file[0] == '/' || out[0] == '/') {
        snprintf(err, errlen,
                 "executor: kube: the sweep file and out: are paths inside the shared volume, "
                 "relative to it (not %s)",
                 file[0] == '/' ? file : out);
        return -1;
    }
    const char *image = json_string_value(json_object_get(spec->kube, "image"));
    const char *pvc = json_string_value(json_object_get(spec->kube, "pvc"));
    const char *ns = json_string_value(json_object_get(spec->kube, "namespace"));
    const char *name = json_string_value(json_object_get(spec->kube, "name"));
    if (!image || !pvc) {
        snprintf(err, errlen,
                 "%s: executor: kube needs kube: {image: IMAGE, pvc: CLAIM} (the image with "
                 "parley, the claim holding this directory)",
                 file);
        return -1;
    }
    char dir[PATH_MAX], jname[64], base[64];
    int dn = snprintf(dir, sizeof dir, "%s/kube", out);
    if (dn < 0 || (size_t)dn >= sizeof dir || pl_mkdirs(dir) != 0) {
        snprintf(err, errlen, "%s/kube: cannot create: %s", out, strerror(errno));
        return -1;
    }
    /* job-N.yaml: the Nth rendering; N from the files already there. */
    int n_job = 1;
    for (;; n_job++) {
        int pn = snprintf(path, path_cap, "%s/job-%d.yaml", dir, n_job);
        if (pn < 0 || (size_t)pn >= path_cap) {
            snprintf(err, errlen, "%s: path too long", dir);
            return -1;
        }
        if (access(path, F_OK) != 0) break;
    }
    s_dns_name(base, sizeof base, name ? name : "parley-sweep");
    snprintf(jname, sizeof jname, "%.40s-%d", base[0] ? base : "parley-sweep", n_job);
    size_t cap = n_todo * 8 + 1, len = 0;
    if (!(runs = malloc(cap))) goto oom;
    runs[0] = '\0';
    for (size_t i = 0; i < n_todo; i++)
        len += (size_t)snprintf(runs + len, cap - len, "%s%zu", i ? " " : "", todo[i]);
    /* The index picks the run: the list is the runs still to play, in order. */
    const char *script = "set -- $PARLEY_RUNS; shift \"$JOB_COMPLETION_INDEX\"; "
                         "exec parley sweep \"$PARLEY_SWEEP_FILE\" --out \"$PARLEY_SWEEP_OUT\" "
                         "--run-one \"$1\"";
    json_t *meta = json_pack("{s:s,s:{s:s,s:s}}", "name", jname, "labels", "app.kubernetes.io/name",
                             "parley", "app.kubernetes.io/component", "sweep");
    if (meta && ns) json_object_set_new(meta, "namespace", json_string(ns));
    int conc = spec->concurrency > 0 ? spec->concurrency : 1;
    job = json_pack(
        "{s:s,s:s,s:o?,s:{s:s,s:I,s:I,s:I,s:{s:{s:{s:s,s:s}},s:{s:s,s:[{s:s,s:s,s:s,"
        "s:[s,s,s],s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}],s:[{s:s,s:s}]}],s:[{s:s,s:{s:s}}]}}}}",
        "apiVersion", "batch/v1", "kind", "Job", "metadata", meta, "spec", "completionMode",
        "Indexed", "completions", (json_int_t)n_todo, "parallelism",
        (json_int_t)(conc < (int)n_todo ? conc : (int)n_todo), "backoffLimit", (json_int_t)n_todo,
        "template", "metadata", "labels", "app.kubernetes.io/name", "parley",
        "app.kubernetes.io/component", "sweep-run", "spec", "restartPolicy", "Never", "containers",
        "name", "run", "image", image, "workingDir", "/work", "command", "sh", "-c", script, "env",
        "name", "PARLEY_RUNS", "value", runs, "name", "PARLEY_SWEEP_FILE", "value", file, "name",
        "PARLEY_SWEEP_OUT", "value", out, "volumeMounts", "name", "work", "mountPath", "/work",
        "volumes", "name", "work", "persistentVolumeClaim", "claimName", pvc);
    if (!job) goto oom;
    char header[512];
    snprintf(header, sizeof header,
             "# parley sweep %s: %zu run(s) still to play, one completion each.\n"
             "# kubectl apply -f %s; then parley sweep --status %s\n",
             file, n_todo, path, out);
    if (pl_yamlw_write_file(path, header, &job, 1, err, errlen) != 0) goto fail;
    json_decref(job);
    free(runs);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(job);
    free(runs);
    return -1;
}
