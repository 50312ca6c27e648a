/* pl_meta.c: run metadata (pl_meta.h): meta.json, the configuration's hash.
 * --version and the build's facts are in pl_meta_version.c, apart from this
 * file's libcrypto: a program that only prints its version (every agent seat)
 * never loads it. */
#include "pl_meta.h"
#include "pl_gitinfo.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

bool pl_meta_file_sets_seed(const char *path)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return false;
    yaml_parser_t p;
    yaml_document_t doc;
    bool found = false;
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        return false;
    }
    yaml_parser_set_input_file(&p, f);
    if (yaml_parser_load(&p, &doc)) {
        yaml_node_t *root = yaml_document_get_root_node(&doc);
        if (root && root->type == YAML_MAPPING_NODE)
            for (yaml_node_pair_t *q = root->data.mapping.pairs.start;
                 q < root->data.mapping.pairs.top && !found; q++) {
                yaml_node_t *k = yaml_document_get_node(&doc, q->key);
                found = k && k->type == YAML_SCALAR_NODE &&
                        strcmp((const char *)k->data.scalar.value, "seed") == 0;
            }
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return found;
}

int pl_meta_config_hash(const pl_config_t *c, char out[65])
{
    json_t *j = pl_config_to_json(c);
    /* The file it came from is not part of what was played. */
    if (j) json_object_del(j, "path");
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!text) return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    free(text);
    if (!ok || n != 32) return -1;
    for (unsigned i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

json_t *pl_meta_json(const pl_config_t *c, pl_seed_source_t seed_source, const char *program,
                     int argc, char *const argv[])
{
    json_t *m = json_object(), *libs = json_object(), *args = json_array();
    if (!m || !libs || !args) goto fail;
    for (size_t i = 0; i < pl_meta_n_libs(); i++) {
        const char *version = NULL, *name = pl_meta_lib(i, &version);
        if (json_object_set_new(libs, name, json_string(version))) goto fail;
    }
    for (int i = 0; i < argc; i++)
        if (json_array_append_new(args, json_string(argv[i]))) goto fail;
    struct utsname u;
    char host[256] = "?", os[512] = "?", machine[128] = "?";
    if (uname(&u) == 0) {
        snprintf(host, sizeof host, "%s", u.nodename);
        snprintf(os, sizeof os, "%s %s", u.sysname, u.release);
        snprintf(machine, sizeof machine, "%s", u.machine);
    }
    char when[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char hash[65] = "";
    if (pl_meta_config_hash(c, hash) != 0) goto fail;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (json_object_set_new(m, "parley_version", json_string(PL_VERSION)) ||
        json_object_set_new(m, "git_commit", json_string(PL_GIT_COMMIT)) ||
        json_object_set_new(m, "git_dirty", json_boolean(PL_GIT_DIRTY)) ||
        json_object_set_new(m, "build_type", json_string(pl_meta_build_type())) ||
        json_object_set_new(m, "sanitizers", json_boolean(PL_SANITIZE)) ||
        json_object_set_new(m, "compiler", json_string(__VERSION__)) ||
        json_object_set_new(m, "libraries", libs))
        goto fail;
    libs = NULL;
    if (json_object_set_new(m, "host",
                            json_pack("{s:s, s:s, s:s, s:i}", "name", host, "os", os, "machine",
                                      machine, "cpus", (int)(cpus > 0 ? cpus : 0))) ||
        json_object_set_new(m, "created", json_string(when)) ||
        json_object_set_new(m, "program", json_string(program ? program : "?")) ||
        json_object_set_new(m, "argv", args))
        goto fail;
    args = NULL;
    if (json_object_set_new(m, "config_sha256", json_string(hash)) ||
        json_object_set_new(m, "seed", json_integer((json_int_t)c->game.seed)) ||
        json_object_set_new(m, "seed_source", json_string(pl_seed_source_name(seed_source))))
        goto fail;
    const char *sweep = getenv("PARLEY_SWEEP"), *run = getenv("PARLEY_SWEEP_RUN");
    if (sweep && *sweep &&
        json_object_set_new(m, "sweep", json_pack("{s:s, s:s?}", "file", sweep, "run", run)))
        goto fail;
    return m;
fail:
    json_decref(libs);
    json_decref(args);
    json_decref(m);
    return NULL;
}

int pl_meta_write(const char *dir, const pl_config_t *c, pl_seed_source_t seed_source,
                  const char *program, int argc, char *const argv[], bool keep_existing, char *err,
                  size_t errlen)
{
    char path[4096], tmp[4096];
    int n1 = snprintf(path, sizeof path, "%s/meta.json", dir);
    int n2 = snprintf(tmp, sizeof tmp, "%s/.meta.json.tmp", dir);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof path || (size_t)n2 >= sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", dir);
        return -1;
    }
    if (keep_existing && access(path, F_OK) == 0) return 0;
    json_t *m = pl_meta_json(c, seed_source, program, argc, argv);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = json_dump_file(m, tmp, JSON_INDENT(2)) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    if (rc) snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
    json_decref(m);
    return rc;
}
