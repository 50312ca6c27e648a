/* bench_proc.h: what the broker benchmarks share (bench_broker.c, bench_turn.c):
 * spawning parley's programs, one game of them with its agents' logs read
 * back, and raw ZeroMQ ping-pongs to compare a turn with. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The directory of parley's programs ($PARLEY_BIN or beside the benchmark). */
extern char bench_bin[2048];

/* Sets bench_bin from $PARLEY_BIN or argv0's directory; 0 on success. */
int bench_bin_init(void);

double bench_now(void);     /* CLOCK_MONOTONIC, seconds */
double bench_cpu_now(void); /* this thread's CPU time, seconds */
/* The p-quantile (0..1) of v (sorted in place); 0 when n is 0. */
double bench_pct(double *v, size_t n, double p);

/* posix_spawn of argv with stdout to a pipe (*out_fd) or /dev/null, stderr to
 * err_path or /dev/null, and up to two extra environment entries. */
pid_t bench_spawn_log(char *const argv[], int *out_fd, const char *env_extra,
                      const char *env_extra2, const char *err_path);
pid_t bench_spawn(char *const argv[], int *out_fd, const char *env_extra);
int bench_read_line(int fd, char *buf, size_t cap);
/* Writes text to dir/name; the path (static storage) or NULL. */
const char *bench_write(const char *dir, const char *name, const char *text);
char *bench_tmpdir(const char *tag); /* static storage */
void bench_rmtree(const char *dir);

/* iters round trips (after 200 for warm-up) of payload bytes out and, reply 0,
 * the same back, else reply bytes back; their times in v (us). peers echo
 * processes (ROUTER, bound) are asked in turn by one DEALER each in this
 * process; curve: CURVE on every socket. */
void bench_raw_samples_ex(int iters, size_t payload, size_t reply, int peers, bool curve,
                          double *v);
void bench_raw_samples(int iters, size_t payload, size_t reply, double *v);
void bench_raw_pingpong(int iters, size_t payload, double *p50, double *p99);

typedef struct {
    double wall_s;
    double round_s;     /* mean wall time per round (progress events) */
    double rss_mean_mb; /* agents' peak RSS */
    double rss_max_mb;
    double broker_rss_mb;
    int tasks;
    json_t *decisions; /* decision events */
} bench_game_t;

/* Broker + one agent process per seat; obs_env (e.g. PARLEY_OBSERVATION=delta)
 * also keeps each agent's log in dir. keep: g->decisions gets the decision
 * events. */
int bench_game_mode(const char *dir, const char *config, int n, const char *policy, bool keep,
                    const char *obs_env, bench_game_t *g);
int bench_game(const char *dir, const char *config, int n, const char *policy, bool keep,
               bench_game_t *g);

/* A seat's AGT-OBSERVATIONS line, which it logs at its game's end. */
typedef struct {
    int whole, deltas, resyncs;
    long long turn_bytes, decision_bytes, handling_us;
} bench_obs_line_t;
/* The fields read from line (6; 5 from a seat before the handling time, which
 * is then 0), or 0 when it is not such a line. */
int bench_obs_line(const char *line, bench_obs_line_t *o);

/* What the agents' AGT-OBSERVATIONS lines and the decisions' rtt_us add up to
 * over the games of one mode. */
typedef struct {
    double *rtt;
    size_t n;
    long long turn_bytes, decision_bytes, handling_us;
    int whole, deltas, resyncs, games, logs;
} bench_mode_t;

void bench_collect(const char *dir, int n, const bench_game_t *g, bench_mode_t *m);

#endif
