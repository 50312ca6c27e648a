/* pl_config_set.c: `--set path=value` overrides (see pl_config.h).
 *
 * An override is one YAML value applied to a path below the root, through the same
 * key tables and readers as the file, so the two accept the same keys and values.
 * Changing the seat count or a seat's provider re-derives what depended on it.
 */
#include "pl_config.h"
#include "pl_config_internal.h"
#include "pl_policy.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* ------------------------------------------------------------ overrides -- */

/* Seat index from "3" (0-based, as in the header) or "agent_4"; -1 if neither. */
static int s_seat_index(const char *s, int n)
{
    const char *digits = strncmp(s, "agent_", 6) == 0 ? s + 6 : s;
    int64_t i;
    if (pl_cfg_parse_i64(digits, &i) || digits[0] == '+' || digits[0] == '-') return -1;
    if (digits != s) i -= 1;
    return i >= 0 && i < n ? (int)i : -1;
}

/* Applies a path below the root to the value node v. */
static int s_set_path(pl_cfg_ctx_t *x, pl_config_t *c, char *path, const yaml_node_t *v)
{
    char *dot = strchr(path, '.');
    if (!dot) return pl_cfg_top_read(x, c, path, v, 0);
    *dot = '\0';
    const char *head = path, *rest = dot + 1;
    if (strcmp(head, "agent_types") == 0) return pl_cfg_type_count(x, c, rest, v, 0);
    if (strcmp(head, "prices") == 0) {
        /* Model names may hold dots (gpt-4.1): the field, if any, is the last part. */
        char *last = strrchr((char *)rest, '.');
        if (last && pl_cfg_find(pl_cfg_price_keys, pl_cfg_n_price_keys, last + 1)) {
            *last = '\0';
            pl_price_t *p = pl_cfg_price_get(c, rest);
            if (!p) return pl_cfg_fail(x, 0, "out of memory");
            char key[200];
            snprintf(key, sizeof key, "prices.%s.%s", rest, last + 1);
            return pl_cfg_apply(x, pl_cfg_find(pl_cfg_price_keys, pl_cfg_n_price_keys, last + 1), p,
                                v, key);
        }
        return pl_cfg_price_read(x, c, rest, v);
    }
    if (strcmp(head, "seats") == 0) {
        char *fdot = strchr((char *)rest, '.');
        if (!fdot)
            return pl_cfg_fail(x, 0,
                               "seats: name a field, as in seats.0.model=NAME (seats are "
                               "numbered from 0, or agent_1..)");
        *fdot = '\0';
        int i = s_seat_index(rest, c->n_seats);
        if (i < 0)
            return pl_cfg_fail(x, 0, "seats: no seat \"%s\" (0 to %d, or agent_1 to agent_%d)",
                               rest, c->n_seats - 1, c->n_seats);
        const char *field = fdot + 1;
        pl_seat_t *s = &c->seats[i];
        char where[48];
        snprintf(where, sizeof where, "seats.%d", i);
        if (strncmp(field, "headers.", 8) == 0) {
            const char *hname = field + 8, *val;
            bool plain;
            if (pl_cfg_scalar(x, v, field, &val, &plain)) return -1;
            for (size_t k = 0; k < s->n_headers; k++)
                if (strcmp(s->headers[k].name, hname) == 0) {
                    char *nv = strdup(val);
                    if (!nv) return pl_cfg_fail(x, 0, "out of memory");
                    free(s->headers[k].value);
                    s->headers[k].value = nv;
                    return 0;
                }
            pl_header_t *nh = realloc(s->headers, (s->n_headers + 1) * sizeof *nh);
            if (!nh) return pl_cfg_fail(x, 0, "out of memory");
            s->headers = nh;
            nh[s->n_headers].name = strdup(hname);
            nh[s->n_headers].value = strdup(val);
            s->n_headers++;
            if (!nh[s->n_headers - 1].name || !nh[s->n_headers - 1].value)
                return pl_cfg_fail(x, 0, "out of memory");
            return 0;
        }
        if (strcmp(field, "provider") == 0) {
            /* Endpoint and key variable that were the old provider's defaults follow
             * the new provider; ones written by hand stay. */
            const pl_cfg_provider_t *old = pl_cfg_provider(s->provider);
            if (pl_cfg_seat_field(x, s, field, v, where, 0)) return -1;
            if (old && pl_cfg_str_eq(s->base_url, old->base_url)) {
                free(s->base_url);
                s->base_url = NULL;
            }
            if (old && pl_cfg_str_eq(s->api_key_env, old->api_key_env)) {
                free(s->api_key_env);
                s->api_key_env = NULL;
            }
            return 0;
        }
        return pl_cfg_seat_field(x, s, field, v, where, 0);
    }
    char full[160];
    snprintf(full, sizeof full, "%s.%s", head, rest);
    const pl_cfg_key_t *k = pl_cfg_find(pl_cfg_keys, pl_cfg_n_keys, full);
    if (!k)
        return pl_cfg_unknown(x, 0, pl_cfg_is_section(head) ? head : NULL,
                              pl_cfg_is_section(head) ? rest : full);
    return pl_cfg_apply(x, k, c, v, full);
}

/* After simulation.agents changes, seats that are the built-in split are redrawn
 * for the new count, and a list of identical seats grows or shrinks with it;
 * any other list must be rewritten by hand. */
static int s_reseat(pl_cfg_ctx_t *x, pl_config_t *c, const pl_config_t *before)
{
    int n = c->game.n_agents;
    if (c->n_seats == n) return 0;
    bool uniform = c->n_seats > 0;
    for (int i = 1; uniform && i < c->n_seats; i++)
        uniform = pl_cfg_seat_equal(&c->seats[i], &c->seats[0]);
    if (pl_cfg_seats_are_default(before->seats, before->n_seats)) {
        pl_seat_t *seats = pl_cfg_default_seats(n);
        if (!seats) return pl_cfg_fail(x, 0, "out of memory");
        pl_cfg_seats_free(c->seats, c->n_seats);
        c->seats = seats;
        c->n_seats = n;
        return 0;
    }
    if (!uniform)
        return pl_cfg_fail(x, 0,
                           "simulation.agents is now %d but the seats list gives %d seats of "
                           "different kinds; write the seats for %d agents in the file",
                           n, c->n_seats, n);
    pl_seat_t *seats = calloc((size_t)n, sizeof *seats);
    if (!seats) return pl_cfg_fail(x, 0, "out of memory");
    for (int i = 0; i < n; i++)
        if (pl_cfg_seat_copy(&seats[i], &c->seats[0])) {
            pl_cfg_seats_free(seats, i);
            return pl_cfg_fail(x, 0, "out of memory");
        }
    pl_cfg_seats_free(c->seats, c->n_seats);
    c->seats = seats;
    c->n_seats = n;
    return 0;
}

int pl_config_set(pl_config_t *c, const char *assignment, char *err, size_t errlen)
{
    pl_cfg_ctx_t x = {
        .name = assignment ? assignment : "(null)", .lines = false, .err = err, .errlen = errlen};
    pl_config_t *t = NULL;
    char *path = NULL;
    yaml_document_t doc;
    bool loaded = false;
    int rc = ENV_ECONFIG;
    if (err && errlen) err[0] = '\0';
    const char *eq = assignment ? strchr(assignment, '=') : NULL;
    if (!c || !eq) {
        pl_cfg_fail(&x, 0, "expected key.path=value");
        return ENV_EINVAL;
    }
    /* The key, without surrounding blanks. */
    const char *k0 = assignment, *k1 = eq;
    while (k0 < k1 && (*k0 == ' ' || *k0 == '\t')) k0++;
    while (k1 > k0 && (k1[-1] == ' ' || k1[-1] == '\t')) k1--;
    if (k0 == k1) {
        pl_cfg_fail(&x, 0, "expected key.path=value");
        return ENV_EINVAL;
    }
    path = strndup(k0, (size_t)(k1 - k0));
    t = pl_config_dup(c);
    if (!path || !t) {
        pl_cfg_fail(&x, 0, "out of memory");
        rc = ENV_ENOMEM;
        goto out;
    }
    /* The value is YAML too, so that lists and mappings can be given inline
     * ("seats=[{policy: perfect, count: 10}]"). */
    const char *val = eq + 1;
    yaml_node_t *v = NULL;
    if (pl_cfg_load(&x, &doc, val, strlen(val), &v)) goto out;
    loaded = true;
    if (s_set_path(&x, t, path, v)) goto out;
    if (strcmp(path, "seats") != 0 && s_reseat(&x, t, c)) goto out;
    if (pl_cfg_finish(&x, t)) goto out;
    /* Success: the new configuration takes the old one's place. */
    pl_cfg_config_clear(c);
    *c = *t;
    free(t);
    t = NULL;
    rc = ENV_OK;
out:
    if (loaded) yaml_document_delete(&doc);
    free(x.seat_line);
    pl_config_destroy(&t);
    free(path);
    return rc;
}
