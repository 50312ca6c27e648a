/* e2e.h: helpers for end-to-end tests that start the real programs from
 * $PARLEY_BIN on ephemeral ports (tests/broker, tests/agent, tests/cli). */
#ifndef PARLEY_TEST_E2E_H
#define PARLEY_TEST_E2E_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;
    char router[256], pub[256], dir[1024];
} e2e_broker_t;

/* A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); static storage.
 * Removed with what it holds when the test process exits, unless
 * PARLEY_KEEP_TMP is set (to look at a failed test's runs). */
const char *e2e_tmpdir(const char *tag);
/* Writes text to dir/name; returns the path (valid for the next 31 calls). */
const char *e2e_write(const char *dir, const char *name, const char *text);
/* Starts parley-broker with the config file and extra arguments (NULL-terminated
 * list) on tcp://127.0.0.1:*, run directory dir; waits for READY. 0 or -1. */
int e2e_broker_start(e2e_broker_t *b, const char *config, const char *dir, const char *bind,
                     const char *const *extra);
/* The token of seat ("agent_3") from dir/seats.json (static storage). */
const char *e2e_token(const char *dir, const char *seat);
/* Starts parley-agent for a seat; stderr to dir/<seat>.<n>.log. Returns the pid. */
pid_t e2e_agent(const char *router, const char *dir, const char *seat, const char *policy);
/* Starts every seat agent_1..agent_n with policies[i % n_policies]; pids out. */
int e2e_agents(const e2e_broker_t *b, int n, const char *const *policies, int n_policies,
               pid_t *pids);
/* Waits for pid up to timeout_ms: exit status, 128+signal, or -1 (still running). */
int e2e_wait(pid_t pid, int timeout_ms);
/* Kills and reaps (SIGKILL) if still running. */
void e2e_reap(pid_t pid);
/* dir/name as JSON, or NULL. */
json_t *e2e_json(const char *dir, const char *name);
/* Every line of dir/events.jsonl whose "type" is type (all if NULL); caller
 * decrefs the array. Returns NULL if a line is not JSON. */
json_t *e2e_events(const char *dir, const char *type);
/* The number of lines of dir/events.jsonl (0 when there is none). */
size_t e2e_event_lines(const char *dir);
/* The game's events of dir/events.jsonl: those whose type is not in skip (a
 * NULL-terminated list, may be NULL), with the fields that measure time
 * (t_ms, rtt_us, think_s, decided_s, bank_left_s, ...) removed, so that two
 * games of one seed compare equal. Caller decrefs; NULL if unreadable. */
json_t *e2e_game_events(const char *dir, const char *const *skip);
/* 0 when dir's summary.json is "ok" and has ref's totals, rounds, tasks,
 * revenues and board rows; else -1 with what differs in why. */
int e2e_same_summary(const char *dir, const char *ref, char *why, size_t whylen);
/* An in-process game of the same configuration file played with env_play and
 * these policies (one per seat, cycling): tasks and task revenue. 0 or -1. */
int e2e_inprocess(const char *config, const char *const *policies, int n_policies, int *tasks,
                  long long *task_revenue);
/* Starts `parley run` with args (NULL-terminated, after "run"), its stdout and
 * stderr to out_path; killed if the test dies. Returns the pid (or -1). */
pid_t e2e_parley_run(const char *const *args, const char *out_path);
/* Waits (bounded: 30 s) until dir/events.jsonl has `want` round_start events;
 * returns how many it has. */
size_t e2e_wait_rounds(const char *dir, size_t want);
/* Runs `parley replay dir`: its exit status, its output in out (may be NULL). */
int e2e_replay(const char *dir, char *out, size_t outlen);
/* A free TCP port on 127.0.0.1 below the ephemeral range, for a broker that
 * is killed and started again on the same port. */
int e2e_restart_port(void);
/* A free TCP port on 127.0.0.1 (bound, then released). */
int e2e_free_port(void);

/* How many lines of the file at path hold want (0 when it cannot be read). */
int e2e_count_lines(const char *path, const char *want);

/* A process as /proc/PID/stat says: "pid (comm) state ppid pgrp ...". */
typedef struct {
    pid_t pid, ppid, pgid;
    char comm[64];
} e2e_proc_t;
int e2e_proc_stat(pid_t pid, e2e_proc_t *p);
/* The processes whose parent is parent and whose name is comm: how many (up
 * to cap) into out. */
int e2e_children(pid_t parent, const char *comm, pid_t *out, int cap);

#endif
