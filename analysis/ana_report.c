/* ana_report.c: the HTML report and the markdown summary (ana_report.h).
 * Hand-written SVG keeps the file self-contained: it opens offline, in any
 * browser, years later, and nothing is fetched. */
#include "ana_report.h"
#include "ana_timing.h"
#include "ana_chart.h"
#include "pl_fs.h"
#include "pl_meta.h"
#include "ana_tables.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Markdown table cells: a pipe would end the cell. */
static void s_md(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
}

static void s_num(FILE *f, double v, const char *fmt)
{
    if (isnan(v))
        fputs("–", f);
    else
        fprintf(f, fmt, v);
}

/* ------------------------------------------------------------- documents -- */

/* --------------------------------------------------------- provenance -- */

typedef struct {
    size_t ok, stopped, partial, failed;
} s_counts_t;

static s_counts_t s_count(const ana_study_t *s)
{
    s_counts_t c = {0};
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r)
            c.failed++;
        else if (ana_run_metrics(r)->status == ANA_STATUS_OK)
            c.ok++;
        else if (ana_run_metrics(r)->status == ANA_STATUS_STOPPED)
            c.stopped++;
        else
            c.partial++;
    }
    return c;
}

/* "parley 0.1.0, commit 0123456789ab (dirty)" of a run's meta.json. */
static void s_producer(const json_t *meta, char *out, size_t cap)
{
    if (!meta) {
        snprintf(out, cap, "unknown (no meta.json)");
        return;
    }
    const char *v = json_string_value(json_object_get(meta, "parley_version"));
    const char *c = json_string_value(json_object_get(meta, "git_commit"));
    snprintf(out, cap, "parley %s, commit %.12s%s, %s", v ? v : "?", c ? c : "?",
             json_is_true(json_object_get(meta, "git_dirty")) ? " (dirty)" : "",
             json_string_value(json_object_get(meta, "build_type"))
                 ? json_string_value(json_object_get(meta, "build_type"))
                 : "?");
}

/* What produced the report and its runs, what was played, and which runs the
 * statistics count: written at the top of both documents (md: markdown). */
static void s_provenance(FILE *f, const ana_study_t *s, bool md)
{
    char when[40] = "?";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
    const char *p = md ? "" : "<p>", *q = md ? "\n\n" : "</p>\n";
    fprintf(f, "%sWritten %s by parley %s (commit %.12s%s, %s) on the runs below.%s", p, when,
            pl_meta_version(), pl_meta_commit(), pl_meta_dirty() ? ", dirty" : "",
            pl_meta_build_type(), q);
    /* The programs that played the runs: distinct producers, with counts. */
    char seen[8][256];
    size_t counts[8] = {0}, n_seen = 0, hashes = 0;
    char hash_seen[64][65];
    const ana_run_t *first = NULL;
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        if (!r) continue;
        if (!first) first = r;
        char who[256];
        s_producer(ana_run_meta(r), who, sizeof who);
        size_t k = 0;
        while (k < n_seen && strcmp(seen[k], who)) k++;
        if (k == n_seen && n_seen < 8) snprintf(seen[n_seen++], sizeof seen[0], "%s", who);
        if (k < 8) counts[k]++;
        const char *h = json_string_value(json_object_get(ana_run_meta(r), "config_sha256"));
        size_t j = 0;
        while (h && j < hashes && strcmp(hash_seen[j], h)) j++;
        if (h && j == hashes && hashes < 64) snprintf(hash_seen[hashes++], 65, "%s", h);
    }
    fprintf(f, "%sRuns played by: ", p);
    for (size_t k = 0; k < n_seen; k++) {
        fputs(k ? "; " : "", f);
        if (md)
            s_md(f, seen[k]);
        else
            ana_html_esc(f, seen[k]);
        fprintf(f, " (%zu run%s)", counts[k], counts[k] == 1 ? "" : "s");
    }
    if (!n_seen) fputs("none could be read", f);
    fputs(".", f);
    if (hashes)
        fprintf(f, " %zu%s distinct configuration%s (config_sha256).", hashes,
                hashes == 64 ? "+" : "", hashes == 1 ? "" : "s");
    fputs(q, f);
    if (first) {
        const pl_config_t *c = ana_run_config(first);
        fprintf(f,
                "%sConfiguration (first run): %d agents, %d rounds, %d pieces (%d per agent, %d "
                "per task), task reward %lld, sharing bonus %lld, timing %s.",
                p, c->game.n_agents, c->game.rounds, c->game.total_pieces, c->game.pieces_per_agent,
                c->game.pieces_per_task, (long long)c->game.task_reward,
                (long long)c->game.sharing_bonus, pl_timing_name(c->timing));
        if (ana_study_n_factor_keys(s)) {
            fputs(" Varied: ", f);
            for (size_t k = 0; k < ana_study_n_factor_keys(s); k++) {
                fputs(k ? ", " : "", f);
                if (md)
                    s_md(f, ana_study_factor_key(s, k));
                else
                    ana_html_esc(f, ana_study_factor_key(s, k));
            }
            fputs(".", f);
        }
        fputs(q, f);
    }
    s_counts_t n = s_count(s);
    size_t ex = ana_study_n_excluded(s);
    fprintf(f, "%s%zu runs: %zu ok, %zu stopped, %zu partial, %zu failed. ", p, ana_study_n_runs(s),
            n.ok, n.stopped, n.partial, n.failed);
    if (ana_study_includes_incomplete(s))
        fprintf(f, "The means include the %zu stopped and partial runs (--include-incomplete).%s",
                n.stopped + n.partial, q);
    else
        fprintf(f,
                "The means exclude %zu incomplete run%s (stopped or partial; "
                "`parley report --include-incomplete` counts them) and the failed ones.%s",
                ex, ex == 1 ? "" : "s", q);
}

/* Every run with its status, so a stopped one is seen, not averaged away. */
static void s_runs_table(FILE *f, const ana_study_t *s, bool md)
{
    if (md)
        fputs("## Runs\n\n| run | status | in means | condition | seed | % of optimal | rounds | "
              "calls | tokens in | tokens out | cost (USD) |\n|---|---|---|---|---|---|---|---|---|"
              "---|---|\n",
              f);
    else
        fputs("<h2>Runs</h2>\n<table><tr><th>run</th><th>status</th><th>in means</th>"
              "<th>condition</th><th>seed</th><th>% of optimal</th><th>rounds</th><th>calls</th>"
              "<th>tokens in</th><th>tokens out</th><th>cost (USD)</th></tr>\n",
              f);
    const char *a = md ? "| " : "<tr><td>", *b = md ? " | " : "</td><td>",
               *e = md ? " |\n" : "</td></tr>\n";
    for (size_t i = 0; i < ana_study_n_runs(s); i++) {
        const ana_run_t *r = ana_study_run(s, i);
        const ana_cond_t *c = ana_study_run_cond(s, i);
        const ana_metrics_t *m = r ? ana_run_metrics(r) : NULL;
        void (*esc)(FILE *, const char *) = md ? s_md : ana_html_esc;
        fputs(a, f);
        esc(f, ana_study_run_id(s, i));
        fputs(b, f);
        fputs(!m ? "failed" : ana_status_name(m->status), f);
        if (m && m->resumed) fputs(", resumed", f);
        if (m && m->forked) fputs(", forked", f);
        fprintf(f, "%s%s%s", b, ana_study_run_in_means(s, i) ? "yes" : "no", b);
        esc(f, c ? c->label : ana_study_run_error(s, i));
        fputs(b, f);
        if (!m) {
            for (int k = 0; k < 6; k++) fputs(b, f); /* seed .. cost: none */
            fputs(e, f);
            continue;
        }
        fprintf(f, "%llu%s", (unsigned long long)ana_run_config(r)->game.seed, b);
        s_num(f, m->pct_optimal, "%.1f");
        fprintf(f, "%s%d/%d%s%d%s%lld%s%lld%s%.4f%s", b, m->rounds_played,
                ana_run_config(r)->game.rounds, b, m->use.calls, b, (long long)m->use.tokens_in, b,
                (long long)m->use.tokens_out, b, m->use.cost_usd, e);
    }
    if (!md) fputs("</table>\n", f);
}

static const char *s_css =
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
    "figure{margin:2em 0}figcaption{font-weight:600;margin-bottom:.5em}"
    ".grid{stroke:#e5e5e5}.ref{stroke:#999;stroke-dasharray:4 3}.ci{stroke:#222;stroke-width:1.5}"
    ".tick{font-size:11px;fill:#555;text-anchor:middle}.label{font-size:11px;fill:#333;"
    "text-anchor:end}.val{font-size:11px;fill:#333}.legend{font-size:12px;fill:#333}"
    ".line{stroke-width:2}.verdict{font-weight:600}.rule{color:#555;font-size:.9em}"
    ".panel{font-size:12px;font-weight:600;fill:#333}";

static void s_html(FILE *f, const ana_study_t *s)
{
    size_t n = ana_study_n_runs(s), nf = ana_study_n_failed(s);
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>parley "
            "report</title><style>%s</style></head><body>\n<h1>parley report</h1>\n",
            s_css);
    s_provenance(f, s, false);
    fprintf(f, "<p>%zu conditions.</p>\n", ana_study_n_conds(s));
    fputs("<h2>Causal decomposition</h2>\n<table><tr><th>model</th><th>intervention</th>"
          "<th>baseline</th><th>competence</th><th>cooperation</th><th>verdict</th></tr>\n",
          f);
    for (size_t i = 0; i < ana_study_n_decomps(s); i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        fputs("<tr><td>", f);
        ana_html_esc(f, d->model);
        fputs("</td><td>", f);
        ana_html_esc(f, d->intervention);
        if (d->extra[0]) fputs(" · ", f), ana_html_esc(f, d->extra);
        fputs("</td>", f);
        for (int a = 0; a < ANA_ARM_COUNT; a++) {
            const ana_summary_t *x = &d->arm[a];
            fputs("<td>", f);
            if (x->n) {
                s_num(f, x->mean, "%.1f");
                fputs(" [", f);
                s_num(f, x->ci_lo, "%.1f");
                fputs(", ", f);
                s_num(f, x->ci_hi, "%.1f");
                fprintf(f, "] n=%zu", x->n);
            } else
                fputs("–", f);
            fputs("</td>", f);
        }
        fprintf(f, "<td class=\"verdict\">%s</td></tr>\n", d->verdict);
    }
    fprintf(f, "</table>\n<p class=\"rule\">Definitions: ");
    ana_html_esc(f, ana_verdict_rule());
    fprintf(f, "; here m = %g. Intervals: 95%% CI of the mean, Student's t.</p>\n",
            ana_study_margin(s));
    ana_chart_pct(f, s);
    ana_chart_decomp(f, s);
    ana_chart_rounds(f, s);
    ana_chart_matrix(f, s);
    ana_timing_report_html(f, s);
    fputs("<h2>Conditions</h2>\n<table><tr><th>condition</th><th>n</th><th>left out</th>"
          "<th>% of optimal</th><th>tasks</th><th>Gini</th><th>zero-revenue agents</th>"
          "<th>messages/task</th><th>misreport rate</th><th>requests fulfilled</th>"
          "<th>requested share</th><th>calls/run</th><th>tokens in/run</th><th>tokens "
          "out/run</th><th>cost/run (USD)</th><th>cost (USD)</th></tr>\n",
          f);
    for (size_t i = 0; i < ana_study_n_conds(s); i++) {
        const ana_cond_t *c = ana_study_cond(s, i);
        fputs("<tr><td>", f);
        ana_html_esc(f, c->label);
        fprintf(f, "</td><td>%zu</td><td>%zu</td><td>", c->n_runs, c->n_excluded);
        s_num(f, c->stat[ANA_M_PCT_OPTIMAL].mean, "%.1f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_TASKS].mean, "%.1f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_GINI].mean, "%.3f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_ZERO_REVENUE].mean, "%.1f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_MESSAGES_PER_TASK].mean, "%.2f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_MISREPORT_RATE].mean, "%.3f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_FULFIL_RATE].mean, "%.3f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_REQUESTED_SHARE].mean, "%.3f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_CALLS].mean, "%.1f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_TOKENS_IN].mean, "%.0f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_TOKENS_OUT].mean, "%.0f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_COST_USD].mean, "%.4f");
        fputs("</td><td>", f);
        s_num(f, c->stat[ANA_M_COST_USD].mean * (double)c->stat[ANA_M_COST_USD].n, "%.4f");
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
    s_runs_table(f, s, false);
    if (nf) {
        fputs("<h2>Failed runs</h2>\n<ul>\n", f);
        for (size_t i = 0; i < n; i++)
            if (!ana_study_run(s, i)) {
                fputs("<li>", f);
                ana_html_esc(f, ana_study_run_id(s, i));
                fputs(": ", f);
                ana_html_esc(f, ana_study_run_error(s, i));
                fputs("</li>\n", f);
            }
        fputs("</ul>\n", f);
    }
    fputs("<p class=\"rule\">Metric definitions: docs/ANALYSIS.md. Tables: runs.csv, "
          "agents.csv, transfers.csv, rounds.csv, aggregates.csv, decomposition.csv, "
          "timing.csv, timing_share.csv (docs/TIMING.md).</p>\n"
          "</body></html>\n",
          f);
}

static void s_markdown(FILE *f, const ana_study_t *s)
{
    fputs("# parley report\n\n", f);
    s_provenance(f, s, true);
    fprintf(f, "%zu conditions.\n\n", ana_study_n_conds(s));
    fputs("## Causal decomposition (% of optimal, mean [95% CI] n)\n\n"
          "| model | intervention | baseline | competence | cooperation | verdict |\n"
          "|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < ana_study_n_decomps(s); i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        fputs("| ", f);
        s_md(f, d->model);
        fputs(" | ", f);
        s_md(f, d->intervention);
        if (d->extra[0]) fputs(" · ", f), s_md(f, d->extra);
        for (int a = 0; a < ANA_ARM_COUNT; a++) {
            const ana_summary_t *x = &d->arm[a];
            fputs(" | ", f);
            if (!x->n) {
                fputs("–", f);
                continue;
            }
            s_num(f, x->mean, "%.1f");
            fputs(" [", f);
            s_num(f, x->ci_lo, "%.1f");
            fputs(", ", f);
            s_num(f, x->ci_hi, "%.1f");
            fprintf(f, "] %zu", x->n);
        }
        fprintf(f, " | **%s** |\n", d->verdict);
    }
    fprintf(f, "\nDefinitions: %s; here m = %g.\n\n", ana_verdict_rule(), ana_study_margin(s));
    fputs("## Conditions\n\n| condition | n | left out | % of optimal | CI | tasks | Gini | "
          "zero-revenue agents | messages/task | calls/run | cost/run (USD) | cost (USD) |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < ana_study_n_conds(s); i++) {
        const ana_cond_t *c = ana_study_cond(s, i);
        const ana_summary_t *p = &c->stat[ANA_M_PCT_OPTIMAL];
        fputs("| ", f);
        s_md(f, c->label);
        fprintf(f, " | %zu | %zu | ", c->n_runs, c->n_excluded);
        s_num(f, p->mean, "%.1f");
        fputs(" | ", f);
        s_num(f, p->ci_lo, "%.1f");
        fputs("–", f);
        s_num(f, p->ci_hi, "%.1f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_TASKS].mean, "%.1f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_GINI].mean, "%.3f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_ZERO_REVENUE].mean, "%.1f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_MESSAGES_PER_TASK].mean, "%.2f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_CALLS].mean, "%.1f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_COST_USD].mean, "%.4f");
        fputs(" | ", f);
        s_num(f, c->stat[ANA_M_COST_USD].mean * (double)c->stat[ANA_M_COST_USD].n, "%.4f");
        fputs(" |\n", f);
    }
    fputc('\n', f);
    s_runs_table(f, s, true);
    if (ana_study_n_failed(s)) {
        fputs("\n## Failed runs\n\n", f);
        for (size_t i = 0; i < ana_study_n_runs(s); i++)
            if (!ana_study_run(s, i))
                fprintf(f, "- %s: %s\n", ana_study_run_id(s, i), ana_study_run_error(s, i));
    }
}

static int s_write(const char *path, void (*fn)(FILE *, const ana_study_t *), const ana_study_t *s,
                   char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    fn(f, s);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

int ana_report_write(const ana_study_t *s, const char *html_path, const char *md_path, char *err,
                     size_t errlen)
{
    if (html_path && s_write(html_path, s_html, s, err, errlen)) return -1;
    if (md_path && s_write(md_path, s_markdown, s, err, errlen)) return -1;
    return 0;
}

void ana_report_print_verdicts(FILE *f, const ana_study_t *s)
{
    int w = 5;
    for (size_t i = 0; i < ana_study_n_decomps(s); i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        int n = (int)(strlen(d->model) + strlen(d->intervention) + 3);
        if (n > w) w = n < 60 ? n : 60;
    }
    fprintf(f, "\n%-*s  %-14s %-14s %-14s %s\n", w, "agents", "baseline", "competence",
            "cooperation", "verdict");
    for (size_t i = 0; i < ana_study_n_decomps(s); i++) {
        const ana_decomp_t *d = ana_study_decomp(s, i);
        char name[600];
        snprintf(name, sizeof name, "%s%s%s", d->model,
                 strcmp(d->intervention, "paper") ? " · " : "",
                 strcmp(d->intervention, "paper") ? d->intervention : "");
        fprintf(f, "%-*.*s  ", w, w, name);
        for (int a = 0; a < ANA_ARM_COUNT; a++) {
            char cell[32];
            if (d->arm[a].n)
                snprintf(cell, sizeof cell, "%6.1f (n=%zu)", d->arm[a].mean, d->arm[a].n);
            else
                snprintf(cell, sizeof cell, "     - ");
            fprintf(f, "%-14s ", cell);
        }
        fprintf(f, "%s\n", d->verdict);
    }
    fprintf(f,
            "(%% of optimal, mean over seeds; verdict margin %g points; %zu run%s left out "
            "of the means)\n",
            ana_study_margin(s), ana_study_n_excluded(s) + ana_study_n_failed(s),
            ana_study_n_excluded(s) + ana_study_n_failed(s) == 1 ? "" : "s");
}

/* -------------------------------------------------------------- command -- */

static void s_on_diag(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "warning: %s\n", msg);
}

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: parley report DIR... [--out FILE.html] [--csv DIR] [--include-incomplete]\n"
            "                    [--margin POINTS] [--quiet]\n"
            "Reads run directories, sweep directories (sweep.json) or directories of runs and\n"
            "writes one self-contained HTML report, its markdown summary (FILE.md) and the\n"
            "tables (runs.csv, agents.csv, transfers.csv, rounds.csv, aggregates.csv,\n"
            "decomposition.csv; timing.csv and timing_share.csv: docs/TIMING.md).\n"
            "  --out FILE.html        the report (default: report.html in the first DIR, beside\n"
            "                         its data); its folder is created\n"
            "  --csv DIR              where the tables go (default: the report's folder)\n"
            "  --include-incomplete   count stopped and partial runs in the means (by default\n"
            "                         they are listed, marked and left out, and the report says\n"
            "                         how many)\n"
            "  --margin POINTS        the verdict margin in points of %% of optimal (default 5)\n"
            "  --quiet                no summary line on stderr\n"
            "Exit status: 0 written, 2 bad usage, 3 nothing readable in a DIR, 4 cannot write\n"
            "(docs/CLI.md).\n");
}

int ana_report_main(int argc, char **argv)
{
    const char *out = NULL, *csv = NULL;
    double margin = -1;
    bool quiet = false, incomplete = false;
    ana_study_t *s = ana_study_new();
    char err[2048] = "", md[4096], html[4096], csvdir[4096];
    int rc = PL_EXIT_USAGE;
    static const struct option longopts[] = {{"out", required_argument, NULL, 'o'},
                                             {"csv", required_argument, NULL, 'c'},
                                             {"margin", required_argument, NULL, 'm'},
                                             {"include-incomplete", no_argument, NULL, 'i'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    if (!s) goto oom;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:c:m:iqh", longopts, NULL)) != -1) {
        char *end;
        switch (opt) {
        case 'o':
            out = optarg;
            break;
        case 'c':
            csv = optarg;
            break;
        case 'm':
            margin = strtod(optarg, &end);
            if (*end || margin < 0) {
                fprintf(stderr, "parley report: --margin takes a number >= 0, not '%s'\n", optarg);
                goto done;
            }
            break;
        case 'i':
            incomplete = true;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            s_usage(stdout);
            rc = PL_EXIT_OK;
            goto done;
        default:
            s_usage(stderr);
            goto done;
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        goto done;
    }
    if (margin >= 0) ana_study_set_margin(s, margin);
    ana_study_set_include_incomplete(s, incomplete);
    rc = PL_EXIT_CONFIG;
    for (int i = optind; i < argc; i++)
        if (ana_study_add_path(s, argv[i], s_on_diag, NULL, err, sizeof err)) goto fail;
    if (ana_study_compute(s)) goto oom;
    /* Beside the data: the first DIR holds the report unless --out says otherwise. */
    rc = PL_EXIT_SYSTEM;
    int n = out ? snprintf(html, sizeof html, "%s", out)
                : snprintf(html, sizeof html, "%s/report.html", argv[optind]);
    size_t hl = strlen(html);
    int m = hl > 5 && !strcmp(html + hl - 5, ".html")
                ? snprintf(md, sizeof md, "%.*s.md", (int)(hl - 5), html)
                : snprintf(md, sizeof md, "%s.md", html);
    if (n < 0 || (size_t)n >= sizeof html || m < 0 || (size_t)m >= sizeof md ||
        pl_dirname(html, csvdir, sizeof csvdir) != 0) {
        snprintf(err, sizeof err, "%s: name too long", out ? out : argv[optind]);
        goto fail;
    }
    if (csv) snprintf(csvdir, sizeof csvdir, "%s", csv);
    if (pl_mkdirs_for(html) != 0 || pl_mkdirs(csvdir) != 0) {
        snprintf(err, sizeof err, "%.1024s: %s", pl_mkdirs_for(html) != 0 ? html : csvdir,
                 strerror(errno));
        goto fail;
    }
    if (ana_report_write(s, html, md, err, sizeof err)) goto fail;
    if (ana_tables_write(s, csvdir, err, sizeof err)) goto fail;
    for (size_t i = 0; i < ana_study_n_runs(s); i++)
        if (!ana_study_run(s, i))
            fprintf(stderr, "warning: %s: %s\n", ana_study_run_id(s, i), ana_study_run_error(s, i));
    if (!quiet)
        fprintf(stderr, "report: %s and %s, tables in %s (%zu runs, %zu left out of the means)\n",
                html, md, csvdir, ana_study_n_runs(s), ana_study_n_excluded(s));
    rc = PL_EXIT_OK;
    goto done;
oom:
    snprintf(err, sizeof err, "out of memory");
    rc = PL_EXIT_SYSTEM;
fail:
    fprintf(stderr, "parley report: %s\n", err);
done:
    ana_study_destroy(&s);
    return rc;
}
