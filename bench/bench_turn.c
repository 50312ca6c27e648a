/* bench_turn.c: the goal "turn round trip <= 2x raw ZeroMQ with the paper
 * observation" measured so that its two figures can be compared on a shared
 * host (bench/RESULTS.md, "Turn round trip, third pass").
 *
 * One run is a number of blocks; a block is one game of each build given
 * (`parley run` of the paper preset with 10 perfect seats: CURVE on, deltas,
 * the seat launcher, as a user runs it), then raw ZeroMQ under the same
 * conditions: this process as the broker (one context: main, I/O and reaper
 * threads, as parley-broker has) asking 10 forked peer processes (each one
 * context, the same three threads, as a seat has) in turn over CURVE, with the
 * game's mean TurnRequest and Decision sizes. Blocks alternate game, raw, game,
 * raw, ..., so that the host's drift between minutes hits both alike; each
 * block's ratio is its turn p50 over its raw p50, and the run reports their
 * median and spread. --cpus pins every process of both (sched_setaffinity is
 * inherited); --spin keeps each CPU of the set from halting with a SCHED_IDLE
 * busy loop (it yields at once to any other task), to tell a halted vCPU's
 * wake-up from the work itself.
 *
 * The turn's round trip is the broker's rtt_us of every decision
 * (docs/EVENTS.md); the raw one is zmq_send to zmq_recv in this process. CPU
 * and context switches per round trip are getrusage of the block's
 * processes over its round trips: a game's children (parley run and all it
 * started, spawn and join included), the raw side's peers and this process. */
#define _GNU_SOURCE /* sched_setaffinity, SCHED_IDLE */
#include "bench_proc.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_BINS 4
#define S_SEATS    10

static const char *s_usage =
    "usage: bench_turn [--blocks N] [--samples N] [--bin DIR]... [--cpus LIST] [--spin]\n"
    "                  [--raw-only REQ,REP] [--peers N] [--no-curve]\n"
    "  --blocks N   game / raw pairs (default 6)\n"
    "  --samples N  raw round trips per block, after 200 to warm up (default 600)\n"
    "  --bin DIR    parley's programs to play the games with (repeatable, up to 4: each\n"
    "               block plays one game of each, in turn; default: $PARLEY_BIN or the\n"
    "               programs beside this one)\n"
    "  --cpus LIST  pin every process of both measurements to these CPUs (e.g. 0 or 0,1)\n"
    "  --spin       a SCHED_IDLE busy loop on each CPU of the set for the whole run\n"
    "  --raw-only REQ,REP  no games: raw blocks alone, REQ bytes out and REP back\n"
    "  --peers N    raw peer processes asked in turn (default 10, as the game's seats)\n"
    "  --no-curve   raw sockets without CURVE (parley run's have it)\n"
    "Prints markdown on stdout. Timed: run it on a machine doing nothing else.\n";

typedef struct {
    double cpu_s; /* user + system */
    long nvcsw, nivcsw;
} s_usage_t;

/* The CPU and context switches of this process's waited-for children, and
 * with self, its own too (the raw measurement's "broker" is this process). */
static s_usage_t s_rusage(bool self)
{
    struct rusage ru, me;
    s_usage_t u = {0, 0, 0};
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0) return u;
    if (self && getrusage(RUSAGE_SELF, &me) == 0) {
        ru.ru_utime.tv_sec += me.ru_utime.tv_sec;
        ru.ru_utime.tv_usec += me.ru_utime.tv_usec;
        ru.ru_stime.tv_sec += me.ru_stime.tv_sec;
        ru.ru_stime.tv_usec += me.ru_stime.tv_usec;
        ru.ru_nvcsw += me.ru_nvcsw;
        ru.ru_nivcsw += me.ru_nivcsw;
    }
    u.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    u.nvcsw = ru.ru_nvcsw;
    u.nivcsw = ru.ru_nivcsw;
    return u;
}

static s_usage_t s_since(s_usage_t a, bool self)
{
    s_usage_t b = s_rusage(self);
    b.cpu_s -= a.cpu_s;
    b.nvcsw -= a.nvcsw;
    b.nivcsw -= a.nivcsw;
    return b;
}

/* "0", "0,1", "0-1": the set; 0 on success. */
static int s_parse_cpus(const char *list, cpu_set_t *set)
{
    CPU_ZERO(set);
    const char *p = list;
    while (*p) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0 || a >= CPU_SETSIZE) return -1;
        if (*end == '-') {
            p = end + 1;
            b = strtol(p, &end, 10);
            if (end == p || b < a || b >= CPU_SETSIZE) return -1;
        }
        for (long c = a; c <= b; c++) CPU_SET((int)c, set);
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return CPU_COUNT(set) ? 0 : -1;
}

/* A SCHED_IDLE loop on one CPU: the CPU never halts, and any task woken there
 * takes it at once. Ends with this process (or after 10 minutes). */
static pid_t s_spinner(int cpu)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    struct sched_param sp = {0};
    if (sched_setaffinity(0, sizeof one, &one) != 0 || sched_setscheduler(0, SCHED_IDLE, &sp) != 0)
        _exit(1);
    alarm(600);
    pid_t parent = getppid();
    for (volatile unsigned long i = 0;; i++)
        if ((i & 0xfffff) == 0 && getppid() != parent) _exit(0);
}

typedef struct {
    double *p50;   /* per block */
    double *share; /* the agent's share per turn (us), per block */
    double *all;   /* every turn's rtt_us */
    size_t n_all;
    double cpu_us, cs_vol, cs_invol; /* summed per-turn figures */
    int turns, blocks;
    long long req_bytes, rep_bytes, msgs;
} s_side_t;

/* Reads a finished game's decisions and its agents' logs into side; the
 * block's turn p50 or -1. */
static double s_read_game(const char *out, s_side_t *side)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/events.jsonl", out);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *l = NULL;
    size_t cap = 0;
    size_t first = side->n_all;
    while (getline(&l, &cap, f) > 0) {
        if (!strstr(l, "\"decision\"")) continue;
        json_t *ev = json_loads(l, 0, NULL);
        const char *t = json_string_value(json_object_get(ev, "type"));
        json_t *rtt = json_object_get(ev, "rtt_us");
        if (t && strcmp(t, "decision") == 0 && json_is_integer(rtt)) {
            double *v = realloc(side->all, (side->n_all + 1) * sizeof *v);
            if (v) {
                side->all = v;
                side->all[side->n_all++] = (double)json_integer_value(rtt);
            }
        }
        json_decref(ev);
    }
    free(l);
    fclose(f);
    long long handling = 0, msgs = 0;
    for (int i = 1; i <= S_SEATS; i++) {
        snprintf(path, sizeof path, "%s/agents/agent_%d.log", out, i);
        FILE *a = fopen(path, "r");
        char line[1024];
        bench_obs_line_t o;
        while (a && fgets(line, sizeof line, a)) {
            if (bench_obs_line(line, &o) != 6) continue;
            side->req_bytes += o.turn_bytes;
            side->rep_bytes += o.decision_bytes;
            msgs += o.whole + o.deltas;
            handling += o.handling_us;
        }
        if (a) fclose(a);
    }
    side->msgs += msgs;
    size_t n = side->n_all - first;
    if (n == 0) return -1;
    double *copy = malloc(n * sizeof *copy);
    if (!copy) return -1;
    memcpy(copy, side->all + first, n * sizeof *copy);
    double p50 = bench_pct(copy, n, 0.5);
    free(copy);
    side->share[side->blocks] = msgs ? (double)handling / (double)msgs : 0;
    side->turns += (int)n;
    return p50;
}

/* One `parley run` of the paper preset with 10 perfect seats from bin. */
static double s_game(const char *bin, const char *dir, const char *cfg, int k, s_side_t *side)
{
    char out[PATH_MAX], parley[PATH_MAX + 16], env[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/game-%d-%d", dir, k, side->blocks);
    snprintf(parley, sizeof parley, "%s/parley", bin);
    snprintf(env, sizeof env, "PARLEY_BIN=%s", bin);
    char *argv[] = {parley, "run", (char *)cfg, "--out", out, "--quiet", NULL};
    s_usage_t u0 = s_rusage(false);
    pid_t pid = bench_spawn(argv, NULL, env);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench_turn: the game in %s failed\n", out);
        return -1;
    }
    s_usage_t u = s_since(u0, false);
    int before = side->turns;
    double p50 = s_read_game(out, side);
    int turns = side->turns - before;
    if (p50 >= 0 && turns > 0) {
        side->cpu_us += u.cpu_s * 1e6;
        side->cs_vol += (double)u.nvcsw;
        side->cs_invol += (double)u.nivcsw;
        side->p50[side->blocks++] = p50;
    }
    bench_rmtree(out);
    return p50;
}

static double s_mean(const double *v, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    return n ? sum / n : 0;
}

static void s_summary(const char *what, double *v, int n, int prec)
{
    double *c = malloc((size_t)(n ? n : 1) * sizeof *c);
    if (!c) return;
    memcpy(c, v, (size_t)n * sizeof *c);
    printf("%s %.*f (%.*f-%.*f)", what, prec, bench_pct(c, (size_t)n, 0.5), prec,
           bench_pct(c, (size_t)n, 0.0), prec, bench_pct(c, (size_t)n, 1.0));
    free(c);
}

int main(int argc, char **argv)
{
    int blocks = 6, samples = 600, n_bins = 0;
    const char *bins[S_MAX_BINS], *cpus = NULL;
    bool spin = false, curve = true;
    int peers = S_SEATS;
    long raw_req = -1, raw_rep = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0) {
            fputs(s_usage, stdout);
            return 0;
        } else if (strcmp(a, "--spin") == 0) {
            spin = true;
        } else if (strcmp(a, "--no-curve") == 0) {
            curve = false;
        } else if (v && strcmp(a, "--peers") == 0 && (peers = atoi(v)) > 0 && peers <= 16) {
            i++;
        } else if (v && strcmp(a, "--raw-only") == 0 &&
                   sscanf(v, "%ld,%ld", &raw_req, &raw_rep) == 2 && raw_req > 0 && raw_rep >= 0) {
            i++;
        } else if (v && strcmp(a, "--blocks") == 0 && (blocks = atoi(v)) > 0 && blocks <= 100) {
            i++;
        } else if (v && strcmp(a, "--samples") == 0 && (samples = atoi(v)) > 0 &&
                   samples <= 100000) {
            i++;
        } else if (v && strcmp(a, "--bin") == 0 && n_bins < S_MAX_BINS) {
            bins[n_bins++] = v;
            i++;
        } else if (v && strcmp(a, "--cpus") == 0) {
            cpus = v;
            i++;
        } else {
            fprintf(stderr, "bench_turn: bad argument %s\n%s", a, s_usage);
            return 2;
        }
    }
    if (raw_req > 0)
        n_bins = 0; /* no games */
    else if (n_bins == 0) {
        if (bench_bin_init() != 0) return 1;
        bins[n_bins++] = bench_bin;
    }
    cpu_set_t set;
    if (cpus && (s_parse_cpus(cpus, &set) != 0 || sched_setaffinity(0, sizeof set, &set) != 0)) {
        fprintf(stderr, "bench_turn: --cpus %s: %s\n", cpus, errno ? strerror(errno) : "bad list");
        return 2;
    }
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    pid_t spinners[CPU_SETSIZE];
    int n_spin = 0;
    for (int c = 0; spin && c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set) && (spinners[n_spin] = s_spinner(c)) > 0) n_spin++;

    char *dir = bench_tmpdir("turn"), cfg[PATH_MAX];
    const char *c =
        dir ? bench_write(dir, "paper.yaml", "seats:\n  - {policy: perfect, count: 10}\n") : NULL;
    if (!c) return 1;
    snprintf(cfg, sizeof cfg, "%s", c);
    s_side_t side[S_MAX_BINS];
    memset(side, 0, sizeof side);
    for (int b = 0; b < n_bins; b++) {
        side[b].p50 = calloc((size_t)blocks, sizeof(double));
        side[b].share = calloc((size_t)blocks, sizeof(double));
        if (!side[b].p50 || !side[b].share) return 1;
    }
    double *raw_all = calloc((size_t)(blocks * samples), sizeof(double));
    double *raw_p50 = calloc((size_t)blocks, sizeof(double));
    double *ratio[S_MAX_BINS];
    for (int b = 0; b < n_bins; b++) ratio[b] = calloc((size_t)blocks, sizeof(double));
    double raw_cpu_us = 0, raw_cs_vol = 0, raw_cs_invol = 0;
    if (!raw_all || !raw_p50) return 1;

    printf("## Turn round trip against raw ZeroMQ, %d blocks interleaved\n\n", blocks);
    printf("Each block: one `parley run` of the paper preset (10 perfect seats, CURVE, deltas) "
           "per build, then %d raw round trips: %d peer processes asked in turn, %s, %s. "
           "CPUs: %s%s.\n\n",
           samples, peers, curve ? "CURVE" : "no CURVE",
           raw_req > 0 ? "sizes given" : "the game's mean TurnRequest / Decision sizes",
           cpus ? cpus : "all", spin ? ", a SCHED_IDLE spinner on each" : "");
    printf("| block |");
    for (int b = 0; b < n_bins; b++) printf(" turn p50 (%s) |", bins[b]);
    printf(" raw p50 | sizes |");
    for (int b = 0; b < n_bins; b++) printf(" ratio (%s) |", bins[b]);
    printf("\n|---|");
    for (int b = 0; b < 2 * n_bins + 2; b++) printf("---:|");
    printf("\n");
    fflush(stdout);
    int done = 0;
    for (int k = 0; k < blocks; k++) {
        double p[S_MAX_BINS];
        bool ok = true;
        for (int j = 0; j < n_bins; j++) {
            int b = (j + k) % n_bins; /* each build plays first in turn */
            p[b] = s_game(bins[b], dir, cfg, b, &side[b]);
            ok = ok && p[b] >= 0;
        }
        if (!ok) { /* a failed game makes the run's comparison meaningless */
            fprintf(stderr, "bench_turn: block %d: a game failed, run stopped\n", k + 1);
            for (int i = 0; i < n_spin; i++) kill(spinners[i], SIGKILL);
            bench_rmtree(dir);
            return 1;
        }
        /* The sizes of every game so far, all builds: the same game, the same bytes. */
        long long msgs = 0, req = 0, rep = 0;
        for (int b = 0; b < n_bins; b++) {
            msgs += side[b].msgs;
            req += side[b].req_bytes;
            rep += side[b].rep_bytes;
        }
        size_t rq = msgs ? (size_t)(req / msgs) : (size_t)raw_req;
        size_t rp = msgs ? (size_t)(rep / msgs) : (size_t)raw_rep;
        s_usage_t u0 = s_rusage(true);
        bench_raw_samples_ex(samples, rq, rp, peers, curve, raw_all + (size_t)done * samples);
        s_usage_t u = s_since(u0, true);
        raw_cpu_us += u.cpu_s * 1e6 / (samples + 200);
        raw_cs_vol += (double)u.nvcsw / (samples + 200);
        raw_cs_invol += (double)u.nivcsw / (samples + 200);
        double *copy = malloc((size_t)samples * sizeof *copy);
        if (!copy) return 1;
        memcpy(copy, raw_all + (size_t)done * samples, (size_t)samples * sizeof *copy);
        raw_p50[done] = bench_pct(copy, (size_t)samples, 0.5);
        free(copy);
        printf("| %d |", k + 1);
        for (int b = 0; b < n_bins; b++) printf(" %.0f us |", p[b]);
        printf(" %.0f us | %zu / %zu |", raw_p50[done], rq, rp);
        for (int b = 0; b < n_bins; b++) {
            ratio[b][done] = p[b] / raw_p50[done];
            printf(" %.2fx |", ratio[b][done]);
        }
        printf("\n");
        fflush(stdout);
        done++;
    }
    printf("\nOver %d blocks: ", done);
    s_summary("raw p50 median (min-max)", raw_p50, done, 0);
    printf(" us; raw per round trip: %.1f us CPU, %.1f voluntary + %.1f involuntary context "
           "switches (this process and its peers, their setup included).\n\n",
           raw_cpu_us / (done ? done : 1), raw_cs_vol / (done ? done : 1),
           raw_cs_invol / (done ? done : 1));
    for (int b = 0; b < n_bins; b++) {
        double pooled_turn = bench_pct(side[b].all, side[b].n_all, 0.5);
        double pooled_raw = bench_pct(raw_all, (size_t)done * samples, 0.5);
        printf("- %s: ", bins[b]);
        s_summary("turn p50 median (min-max)", side[b].p50, done, 0);
        printf(" us; ");
        s_summary("**ratio per block, median (min-max)", ratio[b], done, 2);
        printf("x**; pooled p50 %.0f / %.0f us = %.2fx; the agent's share %.1f us a turn; per "
               "turn, the whole game's processes (spawn and join included): %.0f us CPU, %.1f "
               "voluntary + %.1f involuntary context switches\n",
               pooled_turn, pooled_raw, pooled_raw > 0 ? pooled_turn / pooled_raw : 0,
               s_mean(side[b].share, side[b].blocks),
               side[b].turns ? side[b].cpu_us / side[b].turns : 0,
               side[b].turns ? side[b].cs_vol / side[b].turns : 0,
               side[b].turns ? side[b].cs_invol / side[b].turns : 0);
    }
    for (int i = 0; i < n_spin; i++) {
        kill(spinners[i], SIGKILL);
        waitpid(spinners[i], NULL, 0);
    }
    bench_rmtree(dir);
    for (int b = 0; b < n_bins; b++) {
        free(side[b].p50);
        free(side[b].share);
        free(side[b].all);
        free(ratio[b]);
    }
    free(raw_all);
    free(raw_p50);
    return 0;
}
