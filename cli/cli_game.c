/* cli_game.c: the game behind `parley compose` and `parley kube` (cli_game.h). */
#include "cli_game.h"

#include "env.h"
#include "llm_provider.h"
#include "pl_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cli_game {
    pl_config_t *cfg;
    char (*seat)[32];
    char (*token)[33];
    /* CURVE (docs/SECURITY.md): the broker's keypair and one per seat; the
     * experimenter's token for the web side's full event stream. */
    pl_keypair_t broker_key, *seat_key;
    char experimenter[33];
};

static int s_random_hex(char *out, size_t bytes)
{
    unsigned char buf[64];
    if (bytes > sizeof buf) return -1;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, bytes);
    close(fd);
    if (n != (ssize_t)bytes) return -1;
    for (size_t i = 0; i < bytes; i++) snprintf(out + 2 * i, 3, "%02x", buf[i]);
    return 0;
}

cli_game_t *cli_game_new(const char *config_path, const char *seed, char *const *sets, int n_sets,
                         char *err, size_t errlen)
{
    cli_game_t *g = calloc(1, sizeof *g);
    if (!g) goto oom;
    g->cfg = config_path ? pl_config_load(config_path, err, errlen) : pl_config_default();
    if (!g->cfg) {
        if (!err[0]) snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (seed) {
        char a[64];
        snprintf(a, sizeof a, "seed=%s", seed);
        if (pl_config_set(g->cfg, a, err, errlen) != 0) goto fail;
    }
    for (int i = 0; i < n_sets; i++)
        if (pl_config_set(g->cfg, sets[i], err, errlen) != 0) goto fail;
    if (env_config_check(&g->cfg->game, err, errlen) != ENV_OK) goto fail;
    int n = g->cfg->n_seats;
    g->seat = calloc((size_t)n, sizeof *g->seat);
    g->token = calloc((size_t)n, sizeof *g->token);
    g->seat_key = calloc((size_t)n, sizeof *g->seat_key);
    if (!g->seat || !g->token || !g->seat_key) goto oom;
    if (pl_keys_new(&g->broker_key, err, errlen) != 0) goto fail;
    if (s_random_hex(g->experimenter, 16) != 0) {
        snprintf(err, errlen, "cannot read /dev/urandom for the experimenter's token");
        goto fail;
    }
    for (int i = 0; i < n; i++) {
        snprintf(g->seat[i], sizeof g->seat[i], "agent_%d", i + 1);
        if (s_random_hex(g->token[i], 16) != 0) {
            snprintf(err, errlen, "cannot read /dev/urandom for the seat tokens");
            goto fail;
        }
        if (pl_keys_new(&g->seat_key[i], err, errlen) != 0) goto fail;
        /* A model seat's missing key is said now, naming the variable, as
         * `parley run` does: not later in a container's log. */
        char why[384];
        if (cli_game_is_llm(g, i) && llm_check_seat(&g->cfg->seats[i], why, sizeof why) != 0) {
            snprintf(err, errlen, "%s: %s", g->seat[i], why);
            goto fail;
        }
    }
    return g;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    cli_game_destroy(&g);
    return NULL;
}

void cli_game_destroy(cli_game_t **g)
{
    if (!g || !*g) return;
    pl_config_destroy(&(*g)->cfg);
    free((*g)->seat);
    free((*g)->token);
    free((*g)->seat_key);
    free(*g);
    *g = NULL;
}

const pl_config_t *cli_game_config(const cli_game_t *g)
{
    return g->cfg;
}

int cli_game_seats(const cli_game_t *g)
{
    return g->cfg->n_seats;
}

const char *cli_game_seat(const cli_game_t *g, int i)
{
    return g->seat[i];
}

const char *cli_game_policy(const cli_game_t *g, int i)
{
    const char *p = g->cfg->seats[i].policy;
    return p ? p : "passive";
}

bool cli_game_is_llm(const cli_game_t *g, int i)
{
    return strcmp(cli_game_policy(g, i), "llm") == 0;
}

const char *cli_game_token(const cli_game_t *g, int i)
{
    return g->token[i];
}

int cli_game_set_base_url(cli_game_t *g, int i, const char *url)
{
    char *copy = strdup(url);
    if (!copy) return -1;
    free(g->cfg->seats[i].base_url);
    g->cfg->seats[i].base_url = copy;
    return 0;
}

json_t *cli_game_seat_env(const cli_game_t *g, int i)
{
    json_t *o = json_object();
    if (!o || json_object_set_new(o, "PARLEY_TOKEN", json_string(g->token[i])) != 0 ||
        json_object_set_new(o, "PARLEY_CURVE_SERVER", json_string(g->broker_key.pub)) != 0 ||
        json_object_set_new(o, "PARLEY_CURVE_PUBLIC", json_string(g->seat_key[i].pub)) != 0 ||
        json_object_set_new(o, "PARLEY_CURVE_SECRET", json_string(g->seat_key[i].sec)) != 0)
        goto fail;
    const char *var = g->cfg->seats[i].api_key_env;
    if (cli_game_is_llm(g, i) && var && *var) {
        const char *key = getenv(var); /* present: cli_game_new checked */
        if (json_object_set_new(o, var, json_string(key ? key : "")) != 0) goto fail;
    }
    return o;
fail:
    json_decref(o);
    return NULL;
}

json_t *cli_game_broker_env(const cli_game_t *g)
{
    json_t *o = json_object();
    if (o && (json_object_set_new(o, "PARLEY_CURVE_BROKER_SECRET",
                                  json_string(g->broker_key.sec)) != 0 ||
              json_object_set_new(o, "PARLEY_EXPERIMENTER_TOKEN", json_string(g->experimenter)))) {
        json_decref(o);
        return NULL;
    }
    for (int i = 0; o && i < g->cfg->n_seats; i++) {
        char name[48], key[64];
        snprintf(name, sizeof name, "TOKEN_%s", g->seat[i]);
        snprintf(key, sizeof key, "CURVE_PUBLIC_%s", g->seat[i]);
        if (json_object_set_new(o, name, json_string(g->token[i])) != 0 ||
            json_object_set_new(o, key, json_string(g->seat_key[i].pub)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *cli_game_config_json(const cli_game_t *g)
{
    return pl_config_to_json(g->cfg);
}

void cli_game_object_name(char *out, size_t len, const char *prefix, const char *what)
{
    if (snprintf(out, len, "%s-%s", prefix, what) >= (int)len) out[len - 1] = '\0';
    for (char *p = out; *p; p++)
        if (*p == '_') *p = '-';
}

int cli_path(char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(path, PATH_MAX, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int cli_deploy_opt(cli_deploy_opts_t *o, int opt, const char *arg, const char *cmd)
{
    char *end = NULL;
    switch (opt) {
    case 'o':
        o->out = arg;
        return 1;
    case 's':
        o->seed = arg;
        return 1;
    case 'S':
        o->sets[o->n_sets++] = (char *)arg;
        return 1;
    case 'i':
        o->image = arg;
        return 1;
    case 'p': {
        long port = strtol(arg, &end, 10);
        if (!*arg || *end || port < 0 || port > 65535) {
            fprintf(stderr, "%s: --port takes 0..65535, not '%s'\n", cmd, arg);
            return -1;
        }
        o->port = (int)port;
        return 1;
    }
    case 't':
        if (strtod(arg, &end) <= 0 || *end) {
            fprintf(stderr, "%s: --start-timeout takes seconds, not '%s'\n", cmd, arg);
            return -1;
        }
        o->start_timeout = arg;
        return 1;
    case 'F':
        o->fake_llm = true;
        return 1;
    case 'f':
        o->force = true;
        return 1;
    default:
        return 0;
    }
}

int cli_write_file(const char *path, const char *text, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return -1;
    /* An existing file keeps its old mode through O_CREAT: set it. */
    size_t len = strlen(text), off = 0;
    int rc = fchmod(fd, (mode_t)mode);
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            rc = -1;
            break;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) rc = -1;
    return rc;
}

int cli_write_env_file(const char *path, const json_t *obj)
{
    size_t cap = 256, len = 0;
    char *text = malloc(cap);
    const char *k;
    json_t *v;
    if (!text) return -1;
    text[0] = '\0';
    json_object_foreach((json_t *)obj, k, v)
    {
        const char *s = json_string_value(v);
        size_t need = strlen(k) + strlen(s ? s : "") + 3;
        if (len + need > cap) {
            while (len + need > cap) cap *= 2;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                return -1;
            }
            text = t;
        }
        len += (size_t)snprintf(text + len, cap - len, "%s=%s\n", k, s ? s : "");
    }
    int rc = cli_write_file(path, text, 0600);
    free(text);
    return rc;
}
