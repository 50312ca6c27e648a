/* ana_study.c: runs grouped into conditions, the decomposition, the CSV tables
 * (ana_study.h; definitions in docs/ANALYSIS.md). */
#include "ana_study.h"
#include "ana_timing.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char *id, *dir, *error;
    json_t *factors; /* owned; object key -> string */
    ana_run_t *run;  /* NULL: failed */
    size_t cond;
    bool in_means; /* counted in its condition's statistics */
} s_entry_t;

typedef struct {
    char key[512];
    int64_t revenue;
    int tasks;
} s_ceiling_t;

struct ana_study {
    s_entry_t *e;
    size_t n, cap;
    double margin;
    bool include_incomplete;
    ana_cond_t *conds;
    size_t **cond_runs; /* storage behind conds[i].runs */
    size_t n_conds;
    ana_decomp_t *decomps;
    size_t n_decomps;
    char **factor_keys; /* union of the sweep's factor keys, first-seen order */
    size_t n_factor_keys;
    s_ceiling_t *ceilings; /* memo: one perfect game per distinct configuration */
    size_t n_ceilings;
};

static const char *const s_metric_names[ANA_M_COUNT] = {"pct_optimal",
                                                        "tasks",
                                                        "task_revenue",
                                                        "group_revenue",
                                                        "gini",
                                                        "zero_revenue_agents",
                                                        "messages_per_task",
                                                        "transfer_rate",
                                                        "misreport_rate",
                                                        "requests_made",
                                                        "fulfil_rate",
                                                        "ttf_mean",
                                                        "requested_share",
                                                        "needed_never_shared",
                                                        "calls",
                                                        "tokens_in",
                                                        "tokens_out",
                                                        "cost_usd"};

const char *ana_metric_name(ana_metric_t m)
{
    return (unsigned)m < ANA_M_COUNT ? s_metric_names[m] : "?";
}

static double s_metric(const ana_metrics_t *m, ana_metric_t k)
{
    switch (k) {
    case ANA_M_PCT_OPTIMAL:
        return m->pct_optimal;
    case ANA_M_TASKS:
        return m->tasks;
    case ANA_M_TASK_REVENUE:
        return (double)m->task_revenue;
    case ANA_M_GROUP_REVENUE:
        return (double)m->group_revenue;
    case ANA_M_GINI:
        return m->gini;
    case ANA_M_ZERO_REVENUE:
        return m->zero_revenue_agents;
    case ANA_M_MESSAGES_PER_TASK:
        return m->messages_per_task;
    case ANA_M_TRANSFER_RATE:
        return m->transfer_rate;
    case ANA_M_MISREPORT_RATE:
        return m->misreport_rate;
    case ANA_M_REQUESTS_MADE:
        return m->requests_made;
    case ANA_M_FULFIL_RATE:
        return m->fulfil_rate;
    case ANA_M_TTF_MEAN:
        return m->ttf_mean;
    case ANA_M_REQUESTED_SHARE:
        return m->requested_share;
    case ANA_M_NEEDED_NEVER_SHARED:
        return m->needed_never_shared;
    case ANA_M_CALLS:
        return m->use.calls;
    case ANA_M_TOKENS_IN:
        return (double)m->use.tokens_in;
    case ANA_M_TOKENS_OUT:
        return (double)m->use.tokens_out;
    case ANA_M_COST_USD:
        return m->use.cost_usd;
    default:
        return NAN;
    }
}

const char *ana_verdict_rule(void)
{
    return "baseline = normal play, competence = auto_fulfill, cooperation = auto_request, each "
           "the mean over seeds of task revenue / perfect-play task revenue on the same "
           "configuration and seed (100 = optimal). Verdict with margin m (points): "
           "'at ceiling' if both competence and cooperation >= 100 - m; else "
           "'cooperation-limited' if cooperation < competence - m; 'competence-limited' if "
           "competence < cooperation - m; otherwise 'balanced'";
}

ana_study_t *ana_study_new(void)
{
    ana_study_t *s = calloc(1, sizeof *s);
    if (s) s->margin = 5.0;
    return s;
}

static void s_clear_computed(ana_study_t *s)
{
    for (size_t i = 0; i < s->n_conds; i++) free(s->cond_runs[i]);
    free(s->cond_runs);
    free(s->conds);
    free(s->decomps);
    s->cond_runs = NULL;
    s->conds = NULL;
    s->decomps = NULL;
    s->n_conds = s->n_decomps = 0;
}

void ana_study_destroy(ana_study_t **ps)
{
    if (!ps || !*ps) return;
    ana_study_t *s = *ps;
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i].id);
        free(s->e[i].dir);
        free(s->e[i].error);
        json_decref(s->e[i].factors);
        ana_run_destroy(&s->e[i].run);
    }
    free(s->e);
    for (size_t i = 0; i < s->n_factor_keys; i++) free(s->factor_keys[i]);
    free(s->factor_keys);
    free(s->ceilings);
    s_clear_computed(s);
    free(s);
    *ps = NULL;
}

void ana_study_set_include_incomplete(ana_study_t *s, bool include)
{
    s->include_incomplete = include;
}
bool ana_study_includes_incomplete(const ana_study_t *s)
{
    return s->include_incomplete;
}
size_t ana_study_n_excluded(const ana_study_t *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) k += s->e[i].run && !s->e[i].in_means;
    return k;
}
bool ana_study_run_in_means(const ana_study_t *s, size_t i)
{
    return s->e[i].run && s->e[i].in_means;
}

void ana_study_set_margin(ana_study_t *s, double points)
{
    s->margin = points;
}
double ana_study_margin(const ana_study_t *s)
{
    return s->margin;
}

static int s_note_factor_key(ana_study_t *s, const char *key)
{
    for (size_t i = 0; i < s->n_factor_keys; i++)
        if (strcmp(s->factor_keys[i], key) == 0) return 0;
    char **nk = realloc(s->factor_keys, sizeof *nk * (s->n_factor_keys + 1));
    if (!nk) return -1;
    s->factor_keys = nk;
    if (!(nk[s->n_factor_keys] = strdup(key))) return -1;
    s->n_factor_keys++;
    return 0;
}

/* Every field perfect play could depend on, automation aside (the ceiling is
 * played without it). Printed rather than compared with memcmp: padding. */
static void s_ceiling_key(const env_config_t *c, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%llu|%d|%d|%d|%d|%d|%d|%lld|%lld|%.17g|%d%d%d%d%d|%d%d%d%d",
                     (unsigned long long)c->seed, c->rounds, c->n_agents, c->total_pieces,
                     c->pieces_per_agent, c->pieces_per_task, c->active_per_agent,
                     (long long)c->task_reward, (long long)c->sharing_bonus, c->misreport_rate,
                     c->show_revenue_board, c->show_exchanges, c->show_public_notices,
                     c->show_receipt_notice, c->show_thoughts, c->submit_fallback_first,
                     c->tell_failed_submission, c->report_invalid_actions, c->truncate_history);
    for (int t = 0; t < ENV_TYPE_COUNT && n > 0 && (size_t)n < cap; t++)
        n += snprintf(out + n, cap - (size_t)n, "|%d", c->type_counts[t]);
    /* The study's mechanics and options (docs/FIDELITY.md); templates by a hash. */
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < c->n_info_templates + c->n_task_templates; i++) {
        const char *p = i < c->n_info_templates ? c->info_templates[i]
                                                : c->task_templates[i - c->n_info_templates];
        for (; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ (unsigned)(i < c->n_info_templates ? 1 : 2)) * 1099511628211ULL;
    }
    if (n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, "|%d%d%d%d%d%d%d|%lld|%d|%d|%llx",
                 c->instant_perfect_only, c->submit_exact_names, c->automated_as_agents,
                 c->auto_request_once, c->count_failed_sends, c->new_task_on_completion,
                 c->unique_distribution, (long long)c->first_bonus, c->min_pieces_per_task,
                 c->max_actions_per_turn, (unsigned long long)h);
}

static int64_t s_ceiling(void *ctx, const env_config_t *c, int *tasks)
{
    ana_study_t *s = ctx;
    char key[512];
    s_ceiling_key(c, key, sizeof key);
    for (size_t i = 0; i < s->n_ceilings; i++)
        if (!strcmp(s->ceilings[i].key, key)) {
            *tasks = s->ceilings[i].tasks;
            return s->ceilings[i].revenue;
        }
    int64_t rev = env_perfect_task_revenue(c, tasks);
    s_ceiling_t *nc = realloc(s->ceilings, sizeof *nc * (s->n_ceilings + 1));
    if (nc && rev >= 0) {
        s->ceilings = nc;
        snprintf(nc[s->n_ceilings].key, sizeof nc->key, "%s", key);
        nc[s->n_ceilings].revenue = rev;
        nc[s->n_ceilings++].tasks = *tasks;
    } else if (nc)
        s->ceilings = nc;
    return rev;
}

int ana_study_add(ana_study_t *s, const char *id, const char *dir, const json_t *factors,
                  const char *error, ana_diag_fn diag, void *ctx)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 32;
        s_entry_t *ne = realloc(s->e, sizeof *ne * ncap);
        if (!ne) return -1;
        s->e = ne;
        s->cap = ncap;
    }
    s_entry_t *e = &s->e[s->n];
    memset(e, 0, sizeof *e);
    e->id = strdup(id ? id : dir);
    e->dir = strdup(dir);
    e->factors = factors ? json_deep_copy(factors) : json_object();
    if (!e->id || !e->dir || !e->factors) goto oom;
    const char *k;
    json_t *v;
    json_object_foreach(e->factors, k, v) if (s_note_factor_key(s, k)) goto oom;
    if (error) {
        if (!(e->error = strdup(error))) goto oom;
    } else {
        char err[1024] = "";
        e->run = ana_run_load_with(dir, diag, ctx, s_ceiling, s, err, sizeof err);
        if (!e->run && !(e->error = strdup(err))) goto oom;
    }
    s->n++;
    return 0;
oom:
    free(e->id);
    free(e->dir);
    json_decref(e->factors);
    return -1;
}

/* dir/name into out; false when it does not fit. */
static bool s_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

static bool s_is_file(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    return s_join(path, sizeof path, dir, name) && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int s_add_sweep(ana_study_t *s, const char *path, ana_diag_fn diag, void *ctx, char *err,
                       size_t errlen)
{
    char file[4096];
    json_error_t jerr;
    if (!s_join(file, sizeof file, path, "sweep.json")) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    json_t *root = json_load_file(file, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s:%d: %s", file, jerr.line, jerr.text);
        return -1;
    }
    int rc = 0;
    size_t i;
    json_t *run;
    json_array_foreach(json_object_get(root, "runs"), i, run)
    {
        const char *id = json_string_value(json_object_get(run, "id"));
        const char *dir = json_string_value(json_object_get(run, "dir"));
        const char *status = json_string_value(json_object_get(run, "status"));
        const char *error = json_string_value(json_object_get(run, "error"));
        if (!id || !dir) continue;
        char rd[4096];
        if (!s_join(rd, sizeof rd, path, dir)) continue;
        if (status && strcmp(status, "done") != 0 && !error)
            error = strcmp(status, "failed") == 0 ? "failed" : "not run yet";
        if (ana_study_add(s, id, rd, json_object_get(run, "set"), error, diag, ctx)) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
    }
    json_decref(root);
    return rc;
}

int ana_study_add_path(ana_study_t *s, const char *path, ana_diag_fn diag, void *ctx, char *err,
                       size_t errlen)
{
    if (s_is_file(path, "sweep.json")) return s_add_sweep(s, path, diag, ctx, err, errlen);
    if (s_is_file(path, "events.jsonl")) {
        const char *id = strrchr(path, '/');
        id = id && id[1] ? id + 1 : path;
        if (ana_study_add(s, id, path, NULL, NULL, diag, ctx)) goto oom;
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char sub[4096];
        if (!s_join(sub, sizeof sub, path, de->d_name) || !s_is_file(sub, "events.jsonl")) continue;
        char **nn = realloc(names, sizeof *nn * (n + 1));
        if (!nn) break;
        names = nn;
        if (!(names[n] = strdup(de->d_name))) break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, s_cmp_str); /* readdir order is arbitrary */
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char sub[4096];
        if (!rc && s_join(sub, sizeof sub, path, names[i]) &&
            ana_study_add(s, names[i], sub, NULL, NULL, diag, ctx))
            rc = -1;
        free(names[i]);
    }
    free(names);
    if (rc) goto oom;
    if (n == 0) {
        snprintf(err, errlen, "%s: no run directory (events.jsonl) or sweep.json here", path);
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* Sweep factors already reflected in the model, the intervention or the seed
 * do not split conditions a second time. */
static bool s_factor_is_described(const char *key)
{
    static const char *const sections[] = {"seed",         "automation",  "seats",      "revenue",
                                           "transparency", "agent_types", "simulation", "rules",
                                           "history",      "information", "tasks",      "scenario"};
    size_t n = strcspn(key, ".");
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strlen(sections[i]) == n && strncmp(key, sections[i], n) == 0) return true;
    /* timing: the mode is in the intervention, the rest in the timing key. */
    return strncmp(key, "timing", 6) == 0 && (key[6] == '\0' || key[6] == '.');
}

static void s_extra(const s_entry_t *e, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    const char *key;
    json_t *v;
    json_object_foreach(e->factors, key, v)
    {
        if (s_factor_is_described(key) || k >= cap) continue;
        k += (size_t)snprintf(out + k, cap - k, "%s%s=%s", k ? ";" : "", key,
                              json_is_string(v) ? json_string_value(v) : "?");
    }
    /* Every timing key is part of the condition, swept or not (ana_timing.h). */
    char t[192];
    const pl_config_t *c = e->run ? ana_run_config(e->run) : NULL;
    if (c && ana_timing_key(c, t, sizeof t) > 0 && k < cap)
        snprintf(out + k, cap - k, "%s%s", k ? ";" : "", t);
}

int ana_study_compute(ana_study_t *s)
{
    s_clear_computed(s);
    s->conds = calloc(s->n + 1, sizeof *s->conds);
    s->cond_runs = calloc(s->n + 1, sizeof *s->cond_runs);
    s->decomps = calloc(s->n + 1, sizeof *s->decomps);
    double *vals = malloc(sizeof *vals * (s->n + 1));
    if (!s->conds || !s->cond_runs || !s->decomps || !vals) goto fail;
    for (size_t i = 0; i < s->n; i++) {
        s_entry_t *e = &s->e[i];
        if (!e->run) continue;
        char extra[256];
        s_extra(e, extra, sizeof extra);
        const char *model = ana_run_model(e->run), *iv = ana_run_intervention(e->run),
                   *au = ana_run_automation(e->run);
        size_t c = 0;
        for (; c < s->n_conds; c++) {
            ana_cond_t *x = &s->conds[c];
            if (!strcmp(x->model, model) && !strcmp(x->intervention, iv) &&
                !strcmp(x->automation, au) && !strcmp(x->extra, extra))
                break;
        }
        if (c == s->n_conds) {
            ana_cond_t *x = &s->conds[s->n_conds++];
            snprintf(x->model, sizeof x->model, "%s", model);
            snprintf(x->intervention, sizeof x->intervention, "%s", iv);
            snprintf(x->automation, sizeof x->automation, "%s", au);
            snprintf(x->extra, sizeof x->extra, "%s", extra);
            snprintf(x->label, sizeof x->label, "%s | %s | %s%s%s", model, iv, au,
                     extra[0] ? " | " : "", extra);
            if (!(s->cond_runs[c] = calloc(s->n, sizeof **s->cond_runs))) goto fail;
            x->runs = s->cond_runs[c];
        }
        e->cond = c;
        /* A stopped or partial run would pull its condition's mean down for a
         * reason that has nothing to do with the agents: it is listed, not
         * counted, unless asked for. */
        e->in_means = s->include_incomplete || ana_run_metrics(e->run)->status == ANA_STATUS_OK;
        if (e->in_means)
            s->cond_runs[c][s->conds[c].n_runs++] = i;
        else
            s->conds[c].n_excluded++;
    }
    for (size_t c = 0; c < s->n_conds; c++) {
        ana_cond_t *x = &s->conds[c];
        for (int m = 0; m < ANA_M_COUNT; m++) {
            for (size_t k = 0; k < x->n_runs; k++)
                vals[k] = s_metric(ana_run_metrics(s->e[x->runs[k]].run), (ana_metric_t)m);
            ana_summarise(vals, x->n_runs, &x->stat[m]);
        }
    }
    /* The decomposition: one row per (model, intervention, extra), arms side by side. */
    for (size_t c = 0; c < s->n_conds; c++) {
        ana_cond_t *x = &s->conds[c];
        size_t d = 0;
        for (; d < s->n_decomps; d++) {
            ana_decomp_t *y = &s->decomps[d];
            if (!strcmp(y->model, x->model) && !strcmp(y->intervention, x->intervention) &&
                !strcmp(y->extra, x->extra))
                break;
        }
        ana_decomp_t *y = &s->decomps[d];
        if (d == s->n_decomps) {
            s->n_decomps++;
            snprintf(y->model, sizeof y->model, "%s", x->model);
            snprintf(y->intervention, sizeof y->intervention, "%s", x->intervention);
            snprintf(y->extra, sizeof y->extra, "%s", x->extra);
        }
        int arm = env_automation_from_name(x->automation);
        ana_arm_t a = arm == ENV_AUTO_FULFILL   ? ANA_ARM_COMPETENCE
                      : arm == ENV_AUTO_REQUEST ? ANA_ARM_COOPERATION
                                                : ANA_ARM_BASELINE;
        y->arm[a] = x->stat[ANA_M_PCT_OPTIMAL];
        y->n_excluded[a] = x->n_excluded;
    }
    for (size_t d = 0; d < s->n_decomps; d++) {
        ana_decomp_t *y = &s->decomps[d];
        double comp = y->arm[ANA_ARM_COMPETENCE].mean, coop = y->arm[ANA_ARM_COOPERATION].mean;
        if (!y->arm[ANA_ARM_COMPETENCE].n || !y->arm[ANA_ARM_COOPERATION].n)
            y->verdict = "incomplete";
        else if (comp >= 100 - s->margin && coop >= 100 - s->margin)
            y->verdict = "at ceiling";
        else if (coop < comp - s->margin)
            y->verdict = "cooperation-limited";
        else if (comp < coop - s->margin)
            y->verdict = "competence-limited";
        else
            y->verdict = "balanced";
    }
    free(vals);
    return 0;
fail:
    free(vals);
    s_clear_computed(s);
    return -1;
}

size_t ana_study_n_runs(const ana_study_t *s)
{
    return s->n;
}
const ana_run_t *ana_study_run(const ana_study_t *s, size_t i)
{
    return s->e[i].run;
}
const char *ana_study_run_id(const ana_study_t *s, size_t i)
{
    return s->e[i].id;
}
const char *ana_study_run_error(const ana_study_t *s, size_t i)
{
    return s->e[i].error;
}
size_t ana_study_n_failed(const ana_study_t *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++) k += s->e[i].run == NULL;
    return k;
}
size_t ana_study_n_conds(const ana_study_t *s)
{
    return s->n_conds;
}
const ana_cond_t *ana_study_cond(const ana_study_t *s, size_t i)
{
    return &s->conds[i];
}
size_t ana_study_n_decomps(const ana_study_t *s)
{
    return s->n_decomps;
}
const ana_decomp_t *ana_study_decomp(const ana_study_t *s, size_t i)
{
    return &s->decomps[i];
}
const char *ana_study_run_dir(const ana_study_t *s, size_t i)
{
    return s->e[i].dir;
}
const json_t *ana_study_run_factors(const ana_study_t *s, size_t i)
{
    return s->e[i].factors;
}
const ana_cond_t *ana_study_run_cond(const ana_study_t *s, size_t i)
{
    return s->e[i].run && s->conds ? &s->conds[s->e[i].cond] : NULL;
}
size_t ana_study_n_factor_keys(const ana_study_t *s)
{
    return s->n_factor_keys;
}
const char *ana_study_factor_key(const ana_study_t *s, size_t k)
{
    return s->factor_keys[k];
}
