/* pl_config_internal.h: what the files of the configuration module share.
 *
 * pl_config is one module split over several files (pl_config.c: the key tables
 * and scalar readers; pl_config_seat.c; pl_config_load.c; pl_config_set.c;
 * pl_config_json.c). This header is theirs alone: nothing outside common/pl_config*.c
 * includes it; the public API stays in pl_config.h. The key kinds keep their short
 * S_ names because every row of the key tables spells them.
 */
#ifndef PL_CONFIG_INTERNAL_H
#define PL_CONFIG_INTERNAL_H

#include "pl_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#define PL_CFG_MAX_SEEN 256

typedef struct {
    const char *name, *base_url, *api_key_env;
} pl_cfg_provider_t;

typedef enum {
    S_INT,      /* int, whole number in [min, max] */
    S_I64,      /* int64_t */
    S_U64,      /* uint64_t (the seed) */
    S_NUM,      /* double in [min, max]; `strict` excludes min */
    S_BOOL,     /* bool */
    S_STR,      /* char *, owned; a plain null/~/empty value means NULL */
    S_AUTO,     /* env_automation_t by name */
    S_TIMING,   /* pl_timing_t by name */
    S_TRANSP,   /* transparency.show_full_revenue: sets all five parts */
    S_HEADERS,  /* seat headers: a mapping name -> value */
    S_COUNT,    /* seat group count: handled by the group reader */
    S_INFO_TPL, /* information.info_templates: a list of strings */
    S_TASK_TPL, /* tasks.task_templates: a list of strings */
    S_ZERO,     /* an option of the study parley does not support yet: only 0/false */
    S_GONE,     /* a name with another meaning before: refused, saying what to write */
} pl_cfg_kind_t;

typedef struct {
    const char *key; /* full path ("simulation.rounds"), or a field name */
    pl_cfg_kind_t kind;
    size_t off; /* offset in the struct the table describes */
    double min, max;
    bool strict; /* min itself is refused */
    int pass;    /* keys of pass 1 are applied after pass 0 in the same section */
} pl_cfg_key_t;

typedef struct {
    char key[80];
    int line;
} pl_cfg_seen_t;

/* One load or one override: where messages go and what they may cite. */
typedef struct {
    const char *name; /* file name, or the assignment of an override */
    bool lines;       /* false for overrides: their "lines" mean nothing */
    char *err;
    size_t errlen;
    yaml_document_t *doc;
    pl_cfg_seen_t seen[PL_CFG_MAX_SEEN]; /* lines of the keys read, to place env's messages */
    size_t n_seen;
    int seats_line;  /* line of `seats:`, 0 when the file has none */
    int *seat_line;  /* [n_seats] line of each seat's group, or NULL */
    bool seats_read; /* the file gave a seats list */
} pl_cfg_ctx_t;

/* ------------------------------------------------- the key tables (pl_config.c) -- */

/* Every scalar key of the file under the root. */
extern const pl_cfg_key_t pl_cfg_keys[];
extern const size_t pl_cfg_n_keys;
/* The fields of one seat. */
extern const pl_cfg_key_t pl_cfg_seat_keys[];
extern const size_t pl_cfg_n_seat_keys;
/* The fields of one prices.<model> entry. */
extern const pl_cfg_key_t pl_cfg_price_keys[];
extern const size_t pl_cfg_n_price_keys;

/* context, helpers, scalar readers, prices (pl_config.c) */

int pl_cfg_line(const pl_cfg_ctx_t *x, const yaml_node_t *n);
__attribute__((format(printf, 3, 4))) int pl_cfg_fail(pl_cfg_ctx_t *x, int line, const char *fmt,
                                                      ...);
void pl_cfg_seen(pl_cfg_ctx_t *x, const char *key, const yaml_node_t *n);
char *pl_cfg_strdup(const char *s);
/* Edit distance, for "did you mean". Long strings are never close enough. */
size_t pl_cfg_distance(const char *a, const char *b);
/* Remembers `cand` as the suggestion when it is closer to `given` than the best so far. */
void pl_cfg_suggest(const char *given, const char *cand, const char **best, size_t *best_d);
/* " (did you mean 'x'?)" or "" */
const char *pl_cfg_hint(char *buf, size_t len, const char *best);
const char *pl_cfg_node_kind(const yaml_node_t *n);
/* The text of a scalar node; an absent node (an empty override) reads as "". */
int pl_cfg_scalar(pl_cfg_ctx_t *x, const yaml_node_t *n, const char *key, const char **out,
                  bool *plain);
/* A mapping, or a null value read as an empty mapping ("simulation:" alone). */
int pl_cfg_want_map(pl_cfg_ctx_t *x, const yaml_node_t *n, const char *key);
const char *pl_cfg_key_text(const yaml_document_t *doc, const yaml_node_pair_t *p);
/* Every key of a mapping is a plain string and appears once. */
int pl_cfg_check_keys(pl_cfg_ctx_t *x, const yaml_node_t *map, const char *where);
int pl_cfg_parse_i64(const char *v, int64_t *out);
int pl_cfg_apply(pl_cfg_ctx_t *x, const pl_cfg_key_t *k, void *base, const yaml_node_t *n,
                 const char *key);
const pl_cfg_key_t *pl_cfg_find(const pl_cfg_key_t *table, size_t n, const char *key);
void pl_cfg_prices_free(pl_price_t *p, size_t n);
/* The entry for model, created (all zero) if absent. */
pl_price_t *pl_cfg_price_get(pl_config_t *c, const char *model);
/* prices.<model>: {input, output, cached_input}; cached_input defaults to input
 * (no discount is known unless it is written). */
int pl_cfg_price_read(pl_cfg_ctx_t *x, pl_config_t *c, const char *model, const yaml_node_t *n);
int pl_cfg_prices_read(pl_cfg_ctx_t *x, pl_config_t *c, const yaml_node_t *n);

/* seats (pl_config_seat.c) */

void pl_cfg_seat_init(pl_seat_t *s);
int pl_cfg_seat_copy(pl_seat_t *dst, const pl_seat_t *src);
bool pl_cfg_str_eq(const char *a, const char *b);
bool pl_cfg_seat_equal(const pl_seat_t *a, const pl_seat_t *b);
void pl_cfg_seats_free(pl_seat_t *seats, int n);
/* The built-in seats: the first half perfect (rounded up), the rest selfish. */
pl_seat_t *pl_cfg_default_seats(int n);
bool pl_cfg_seats_are_default(const pl_seat_t *seats, int n);
const pl_cfg_provider_t *pl_cfg_provider(const char *name);
/* Fills the llm defaults that depend on the provider, once every key is read. */
int pl_cfg_seat_resolve(pl_seat_t *s);
/* Closest name of a list, for messages. */
const char *pl_cfg_closest(const char *given, const char *const *names, size_t n);
/* The default seconds a seat has for one turn (timing.turn_timeout). */
#define PL_CFG_TURN_TIMEOUT 60.0
#define PL_CFG_MAX_UNJOINED 256  /* security.max_unjoined, as brk_peers.h */
#define PL_CFG_JOIN_TIMEOUT 10.0 /* security.join_timeout, seconds */
/* parley session's defaults for session.* (docs/HUMANS.md) */
#define PL_CFG_SESSION_MAX_MISSED 2
#define PL_CFG_SESSION_DROPOUT    20.0

int pl_cfg_seat_check_timing(pl_cfg_ctx_t *x, const pl_config_t *c, const pl_seat_t *s, int i,
                             int line);
int pl_cfg_seat_check(pl_cfg_ctx_t *x, const pl_seat_t *s, int i, int line);
/* One field of one seat (file group or override). */
int pl_cfg_seat_field(pl_cfg_ctx_t *x, pl_seat_t *s, const char *field, const yaml_node_t *v,
                      const char *where, int line);
/* seats: a list of groups, assigned to agent_1.. in order. */
int pl_cfg_seats_read(pl_cfg_ctx_t *x, pl_config_t *c, const yaml_node_t *n, int line);

/* the document walk and the whole-file checks (pl_config_load.c) */

int pl_cfg_type_count(pl_cfg_ctx_t *x, pl_config_t *c, const char *name, const yaml_node_t *v,
                      int line);
bool pl_cfg_is_section(const char *name);
/* "unknown key" with the closest known key of the same section, or the same key
 * of another section ("simulation.total_pieces" -> "information.total_pieces"). */
int pl_cfg_unknown(pl_cfg_ctx_t *x, int line, const char *section, const char *key);
/* One top-level key with its value (file or override). */
int pl_cfg_top_read(pl_cfg_ctx_t *x, pl_config_t *c, const char *key, const yaml_node_t *v,
                    int line);
void pl_cfg_config_clear(pl_config_t *c);
/* Everything that involves more than one key, after the whole file is read. */
int pl_cfg_finish(pl_cfg_ctx_t *x, pl_config_t *c);
/* Loads one YAML document from text; *root is NULL for an empty document. */
int pl_cfg_load(pl_cfg_ctx_t *x, yaml_document_t *doc, const char *text, size_t len,
                yaml_node_t **root);

#endif
