/* brk_resume.c: a broker started on a run directory whose game did not finish
 * picks the game up from events.jsonl; parley replay checks a record the same
 * way (brk_internal.h).
 *
 * The replay runs the broker's own scheduling code, not a copy of it: the game
 * is rebuilt from the seed, and every time the scheduler would open a turn the
 * recorded outcome of that turn (the decision as written, or the missed turn)
 * is applied instead of asking an agent. Every event the engine and the broker
 * emit meanwhile is compared with the next recorded one (timing fields aside)
 * instead of being written, so the rebuilt state is checked, effect by effect,
 * against the record. Seat events (joined, lost, left), which depend on
 * connections and not on the game, are read back as they come and set the
 * seats' states, which the scheduler consults. When the record runs out the
 * broker goes live: it writes one run_resumed event and plays on; what is
 * still to be written of a half-recorded turn is written then, so the record
 * ends as an uninterrupted game's would.
 *
 * Sequential and simultaneous timing: a simultaneous round opens every turn
 * first, then applies the recorded outcomes in their arrival order. Realtime
 * is refused: when a turn opens there depends on the clock. */
#include "brk_internal.h"
#include "pl_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fields that depend on the clock or the connection, not on the game. */
static const char *const s_timing_keys[] = {
    "t_ms",        "rtt_us",      "think_s", "calls", "decided_s", "held_s", "latency_s",
    "bank_used_s", "bank_left_s", "version", "stale", "arrived",   NULL};

static json_t *s_strip(const json_t *ev)
{
    json_t *c = json_deep_copy(ev);
    for (int i = 0; c && s_timing_keys[i]; i++) json_object_del(c, s_timing_keys[i]);
    return c;
}

bool brk_event_equal(const json_t *a, const json_t *b)
{
    json_t *x = s_strip(a), *y = s_strip(b);
    bool eq = x && y && json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

static const char *s_str(const json_t *ev, const char *key)
{
    const char *v = json_string_value(json_object_get(ev, key));
    return v ? v : "";
}

static bool s_from_broker(const json_t *ev)
{
    return strcmp(s_str(ev, "source"), "broker") == 0;
}

/* Seat events, earlier run_resumed lines and the clock's events (turns
 * offered, late decisions, abandoned calls, turns open at the end:
 * docs/TIMING.md): not produced by the replay. */
static bool s_is_connection_event(const json_t *ev)
{
    const char *t = s_str(ev, "type");
    return s_from_broker(ev) &&
           (strcmp(t, "seat_joined") == 0 || strcmp(t, "seat_lost") == 0 ||
            strcmp(t, "seat_left") == 0 || strcmp(t, "run_resumed") == 0 ||
            strcmp(t, "turn_offered") == 0 || strcmp(t, "decision_late") == 0 ||
            strcmp(t, "call_abandoned") == 0 || strcmp(t, "notice") == 0 ||
            strcmp(t, "turn_superseded") == 0 || strcmp(t, "turn_open_at_end") == 0);
}

static void s_fail(brk_server_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_fail(brk_server_t *s, const char *fmt, ...)
{
    if (s->replay_failed) return;
    s->replay_failed = true;
    int line = (int)s->log_at + 1;
    int at = snprintf(s->replay_err, sizeof s->replay_err,
                      "%s/events.jsonl:%d: ", brk_rundir_path(s->rundir), line);
    va_list ap;
    va_start(ap, fmt);
    if (at > 0 && (size_t)at < sizeof s->replay_err)
        vsnprintf(s->replay_err + at, sizeof s->replay_err - (size_t)at, fmt, ap);
    va_end(ap);
    s->replaying = false;
    s->phase = BRK_OVER; /* the scheduler stops; nothing more is recorded */
}

static const json_t *s_peek(brk_server_t *s)
{
    return s->log && s->log_at < json_array_size(s->log) ? json_array_get(s->log, s->log_at) : NULL;
}

/* Applies the seat events at the cursor (states the scheduler looks at). */
void brk_replay_sync(brk_server_t *s)
{
    const json_t *ev;
    while (s->replaying && (ev = s_peek(s)) && s_is_connection_event(ev)) {
        const char *type = s_str(ev, "type");
        int idx = env_agent_index(s->game, s_str(ev, "agent"));
        s->log_at++;
        if (idx < 0) continue;
        brk_seat_t *seat = &s->seats[idx];
        if (strcmp(type, "seat_joined") == 0) {
            seat->state = BRK_SEAT_ON;
            seat->ever_joined = true;
            snprintf(seat->policy, sizeof seat->policy, "%s", s_str(ev, "policy"));
            snprintf(seat->model, sizeof seat->model, "%s", s_str(ev, "model"));
            seat->reactive = json_is_true(json_object_get(ev, "reactive"));
            seat->human = json_is_true(json_object_get(ev, "human"));
            if (s->cfg->timing == PL_TIMING_SEQUENTIAL)
                env_set_reactive(s->game, idx, brk_seat_reactive(s, idx, seat->reactive));
        } else if (strcmp(type, "seat_lost") == 0) {
            if (seat->state == BRK_SEAT_ON) seat->state = BRK_SEAT_LOST;
        } else if (strcmp(type, "seat_left") == 0) {
            seat->state = BRK_SEAT_GONE;
        }
    }
}

/* The record has run out: from here on the game is live. */
static void s_go_live(brk_server_t *s, const char *where)
{
    if (!s->replaying) return;
    s->replaying = false;
    s->resumed = true;
    if (s->opts.verify_only) {
        s->phase = BRK_OVER; /* parley replay: nothing more to check */
        s->replay_open = true;
        return;
    }
    /* No seat is connected to this process yet: each takes its seat back
     * with its token, and an open turn waits for it until its deadline. */
    for (int i = 0; i < s->n_seats; i++) {
        brk_seat_t *seat = &s->seats[i];
        if (seat->state == BRK_SEAT_ON) seat->state = BRK_SEAT_LOST;
        seat->rid_len = 0;
        seat->last_seen_ms = brk_mono_ms();
        if (seat->turn_id != 0 && s->cfg->timing == PL_TIMING_SIMULTANEOUS)
            brk_sched_offered(s, seat); /* opened during the replay: the clock starts now */
    }
    json_t *ev = brk_event(s, "run_resumed");
    brk_set(s, ev, "replayed", json_integer((json_int_t)json_array_size(s->log)));
    brk_set(s, ev, "at", json_string(s->fork_round ? "fork" : where));
    if (s->torn_bytes) brk_set(s, ev, "torn_line_bytes", json_integer((json_int_t)s->torn_bytes));
    brk_record(s, ev);
    PL_INFO("BRK-RESUMED", "game %s resumed after %zu recorded events (%s)", s->game_id,
            json_array_size(s->log), where);
}

bool brk_replay_take(brk_server_t *s, json_t *ev)
{
    if (s->replay_failed) return true; /* swallowed: the run is not trusted */
    brk_replay_sync(s);
    const json_t *want = s_peek(s);
    if (!want) {
        if (s->opts.verify_only) {
            s_fail(s, "the replay goes on with a %s event the record does not have",
                   s_str(ev, "type"));
            return true;
        }
        s_go_live(s, "mid-turn");
        return false;
    }
    if (!brk_event_equal(ev, want)) {
        char *got = json_dumps(ev, JSON_COMPACT), *rec = json_dumps(want, JSON_COMPACT);
        s_fail(s, "recorded %s differs from the replay:\n  recorded %.600s\n  replayed %.600s",
               s_str(want, "type"), rec ? rec : "?", got ? got : "?");
        free(got);
        free(rec);
        return true;
    }
    s->log_at++;
    return true;
}

/* The actions of a recorded decision (its `input`), strings borrowed from it. */
static int s_actions_from_json(wire_arena_t *a, const json_t *input, env_action_t **out, int **raw,
                               size_t *n)
{
    size_t k = json_array_size(input);
    env_action_t *acts = wire_arena_alloc(a, (k ? k : 1) * sizeof *acts);
    int *kinds = wire_arena_alloc(a, (k ? k : 1) * sizeof *kinds);
    if (!acts || !kinds) return -1;
    for (size_t i = 0; i < k; i++) {
        const json_t *j = json_array_get(input, i);
        const char *type = s_str(j, "type");
        int kind = env_act_from_name(type);
        acts[i].kind = kind >= 0 ? (env_act_kind_t)kind : ENV_ACT_COUNT;
        kinds[i] = kind >= 0 ? kind : (int)json_integer_value(json_object_get(j, "kind"));
        acts[i].to = json_string_value(json_object_get(j, "to"));
        acts[i].content = json_string_value(json_object_get(j, "content"));
        const json_t *info = json_object_get(j, "information");
        const json_t *vals = json_object_get(j, "values");
        size_t ni = json_array_size(info), nv = json_array_size(vals);
        const char **names = wire_arena_alloc(a, (ni ? ni : 1) * sizeof *names);
        const char **vnames = wire_arena_alloc(a, (nv ? nv : 1) * sizeof *vnames);
        int64_t *values = wire_arena_alloc(a, (nv ? nv : 1) * sizeof *values);
        if (!names || !vnames || !values) return -1;
        for (size_t m = 0; m < ni; m++) names[m] = json_string_value(json_array_get(info, m));
        for (size_t m = 0; m < nv; m++) {
            const json_t *pair = json_array_get(vals, m);
            vnames[m] = json_string_value(json_array_get(pair, 0));
            values[m] = (int64_t)json_integer_value(json_array_get(pair, 1));
        }
        acts[i].n_info = ni;
        acts[i].info = names;
        acts[i].n_values = nv;
        acts[i].value_names = vnames;
        acts[i].values = values;
    }
    *out = acts;
    *raw = kinds;
    *n = k;
    return 0;
}

/* Applies ev, the recorded outcome of seat's open turn (a decision or a missed
 * turn). Returns 1 when ev was that, 0 when ev is no outcome of seat's. */
static int s_apply_outcome(brk_server_t *s, brk_seat_t *seat, const json_t *ev)
{
    const char *type = s_str(ev, "type"), *agent = s_str(ev, "agent");
    const char *me = env_agent_id(s->game, seat->index);
    if (s_from_broker(ev) && strcmp(type, "decision") == 0 && strcmp(agent, me) == 0) {
        const char *kind_name = s_str(ev, "kind");
        env_turn_kind_t want = strcmp(kind_name, "reply") == 0 ? ENV_TURN_REPLY : ENV_TURN_NORMAL;
        if (want != seat->turn_kind ||
            (uint64_t)json_integer_value(json_object_get(ev, "turn_id")) != seat->turn_id) {
            s_fail(s,
                   "decision of %s: recorded for turn %lld (%s), the replay opens turn %llu (%s)",
                   me, (long long)json_integer_value(json_object_get(ev, "turn_id")), kind_name,
                   (unsigned long long)seat->turn_id,
                   seat->turn_kind == ENV_TURN_REPLY ? "reply" : "normal");
            return 1;
        }
        if (!json_is_array(json_object_get(ev, "input"))) {
            s_fail(s, "decision of %s has no input (recorded by an older broker)", me);
            return 1;
        }
        wire_arena_t *a = wire_arena_new();
        env_action_t *acts = NULL;
        int *raw = NULL;
        size_t n = 0;
        env_result_t *res = NULL;
        if (!a || s_actions_from_json(a, json_object_get(ev, "input"), &acts, &raw, &n) != 0 ||
            !(res = wire_arena_alloc(a, (n ? n : 1) * sizeof *res))) {
            wire_arena_destroy(&a);
            s_fail(s, "out of memory");
            return 1;
        }
        s->log_at++; /* the decision line itself */
        env_turn_kind_t kind = seat->turn_kind;
        brk_close_turn(seat);
        seat->turns++;
        const char *thoughts = json_string_value(json_object_get(ev, "thoughts"));
        brk_apply_decision(s, seat, kind, acts, raw, n, thoughts, res, a);
        wire_arena_destroy(&a);
        if (!s->replay_failed) brk_after_turn(s, seat, kind);
        return 1;
    }
    if (!s_from_broker(ev) && strcmp(type, "missed_turn") == 0 && strcmp(agent, me) == 0) {
        env_turn_kind_t kind = seat->turn_kind;
        char why[128];
        snprintf(why, sizeof why, "%s", s_str(ev, "why"));
        brk_close_turn(seat);
        brk_miss(s, seat, why); /* its missed_turn event is compared with the record */
        if (!s->replay_failed) brk_after_turn(s, seat, kind);
        return 1;
    }
    return 0;
}

int brk_replay_turn(brk_server_t *s, brk_seat_t *seat)
{
    brk_replay_sync(s);
    const json_t *ev = s_peek(s);
    if (!ev) {
        s_go_live(s, "open turn");
        return 0;
    }
    if (s_apply_outcome(s, seat, ev)) return 1;
    const char *type = s_str(ev, "type"), *agent = s_str(ev, "agent");
    s_fail(s, "the replay opens a turn of %s, the record has %s%s%s",
           env_agent_id(s->game, seat->index), type, agent[0] ? " of " : "", agent);
    return 1;
}

/* Simultaneous timing: a round's turns are all open at once and their
 * outcomes come in arrival order; each recorded outcome is applied to the
 * seat it names, until the record runs out (the open turns then go live). */
static void s_replay_simultaneous(brk_server_t *s)
{
    while (s->replaying && !s->replay_failed && s->phase == BRK_PLAYING) {
        brk_replay_sync(s);
        const json_t *ev = s_peek(s);
        if (!ev) {
            s_go_live(s, "open turns");
            return;
        }
        int idx = env_agent_index(s->game, s_str(ev, "agent"));
        brk_seat_t *seat = idx >= 0 ? &s->seats[idx] : NULL;
        if (seat && seat->turn_id != 0) {
            /* The arrival counter goes on from the record's. */
            json_t *arr = json_object_get(ev, "arrival");
            if (arr) s->arrival = (int)json_integer_value(arr);
            if (s_apply_outcome(s, seat, ev)) continue;
        }
        s_fail(s, "the record has %s%s%s, which is no outcome of an open turn", s_str(ev, "type"),
               idx >= 0 ? " of " : "", s_str(ev, "agent"));
    }
}

/* Reads the record; handles a torn last line. */
static json_t *s_read_log(brk_server_t *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return json_array();
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    json_t *log = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long good = 0; /* bytes of complete lines */
    int lineno = 0;
    while (log && (len = getline(&line, &cap, f)) > 0) {
        lineno++;
        bool complete = line[len - 1] == '\n';
        json_error_t je;
        json_t *ev = complete ? json_loadb(line, (size_t)len - 1, 0, &je) : NULL;
        if (!ev) {
            /* Only the last line may be torn (a broker killed mid-write). */
            int c = fgetc(f);
            if (c != EOF) {
                snprintf(err, errlen, "%s:%d: not a JSON event: %s", path, lineno,
                         complete ? je.text : "no end of line");
                json_decref(log);
                log = NULL;
                break;
            }
            s->torn_bytes = (size_t)len;
            break;
        }
        json_array_append_new(log, ev);
        good += (long)len;
    }
    free(line);
    fclose(f);
    s->good_bytes = good; /* cut there once the record is accepted (brk_resume_load) */
    if (log && s->torn_bytes && s->opts.verify_only)
        fprintf(stderr, "%s: the last line is torn (%zu bytes): ignored\n", path, s->torn_bytes);
    return log;
}

int brk_resume_load(brk_server_t *s, char *err, size_t errlen)
{
    char path[4096];
    const char *dir = brk_rundir_path(s->rundir);
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    json_t *log = s_read_log(s, path, err, errlen);
    if (!log) return -1;
    if (json_array_size(log) == 0) {
        json_decref(log);
        if (s->opts.verify_only) {
            snprintf(err, errlen, "%s: no events", path);
            return -1;
        }
        return 0; /* a new run */
    }
    const json_t *first = json_array_get(log, 0);
    if (strcmp(s_str(first, "type"), "run_start") != 0) {
        snprintf(err, errlen, "%s:1: the record does not begin with run_start", path);
        json_decref(log);
        return -1;
    }
    size_t n = json_array_size(log);
    bool finished = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(s_str(json_array_get(log, i), "type"), "run_end") == 0) finished = true;
    char sum[4096];
    snprintf(sum, sizeof sum, "%s/summary.json", dir);
    /* run_end without summary.json: the broker was killed while finishing;
     * the replay ends the game again and writes the summary. */
    if (!s->opts.verify_only && access(sum, F_OK) == 0) {
        snprintf(err, errlen,
                 "%s: this game finished (summary.json exists%s); a finished run is never "
                 "played again: use a new run directory, or parley fork to play on from a round",
                 dir, finished ? ", events.jsonl has its run_end" : "");
        json_decref(log);
        return -1;
    }
    if (s->cfg->timing == PL_TIMING_REALTIME) {
        snprintf(err, errlen,
                 "%s: only sequential and simultaneous games can be resumed or replayed (this one "
                 "is realtime: its turns follow the clock)",
                 dir);
        json_decref(log);
        return -1;
    }
    /* The configuration must be the one the game started with. */
    json_t *cj = pl_config_to_json(s->cfg);
    const json_t *was = json_object_get(first, "config");
    if (!cj || !json_equal(cj, was)) {
        const char *key = "?";
        const char *k;
        json_t *v;
        json_object_foreach(cj, k, v)
        {
            if (!json_equal(v, json_object_get(was, k))) {
                key = k;
                break;
            }
        }
        snprintf(err, errlen,
                 "%s: the configuration differs from the one this run started with (key %s)", dir,
                 key);
        json_decref(cj);
        json_decref(log);
        return -1;
    }
    json_decref(cj);
    const char *gid = s_str(first, "game_id");
    if (strlen(gid) != 16) {
        snprintf(err, errlen, "%s:1: run_start has no game id", path);
        json_decref(log);
        return -1;
    }
    if (s->torn_bytes && !s->opts.verify_only) {
        /* Only now, with the record accepted: a broker that refuses it leaves
         * it as it found it. */
        if (truncate(path, (off_t)s->good_bytes) != 0) {
            snprintf(err, errlen, "%s: cannot cut the torn last line: %s", path, strerror(errno));
            json_decref(log);
            return -1;
        }
        fprintf(stderr,
                "parley-broker: %s: the last line was torn (%zu bytes, the broker was killed "
                "while writing it): cut\n",
                path, s->torn_bytes);
    }
    memcpy(s->game_id, gid, 17); /* agents echo it */
    /* A fork (parley fork): the rounds before fork.round were played under
     * the source's rules, which the replay must use until then. */
    const json_t *fork = json_object_get(first, "fork");
    if (fork) {
        char *text = json_dumps(json_object_get(fork, "source_config"), JSON_COMPACT);
        pl_config_t *src =
            text ? pl_config_parse(text, strlen(text), "run_start.fork.source_config", err, errlen)
                 : NULL;
        free(text);
        s->fork_round = (int)json_integer_value(json_object_get(fork, "round"));
        if (!src || s->fork_round < 1) {
            if (!src && !err[0]) snprintf(err, errlen, "%s:1: a fork without its source", path);
            if (src) snprintf(err, errlen, "%s:1: a fork without its round", path);
            pl_config_destroy(&src);
            json_decref(log);
            return -1;
        }
        s->fork_source = src->game;
        pl_config_destroy(&src);
    }
    s->log = log;
    s->log_at = 1; /* past run_start */
    s->replaying = true;
    return 0;
}

int brk_resume_run(brk_server_t *s, char *err, size_t errlen)
{
    if (!s->log) return 0;
    brk_replay_sync(s);
    const json_t *ev = s_peek(s);
    if (!s->replay_failed && ev && strcmp(s_str(ev, "type"), "game_start") == 0) {
        brk_start(s); /* game_start is compared, then the scheduler replays every turn */
        if (s->cfg->timing == PL_TIMING_SIMULTANEOUS) s_replay_simultaneous(s);
    } else if (!s->replay_failed && ev)
        s_fail(s, "expected game_start, the record has %s", s_str(ev, "type"));
    else if (!s->replay_failed)
        s_go_live(s, "before the game started");
    if (s->replay_failed) {
        snprintf(err, errlen, "%s", s->replay_err);
        return -1;
    }
    if (!s->opts.verify_only && s->log_at < json_array_size(s->log) && s->replaying) {
        snprintf(err, errlen, "%s/events.jsonl:%zu: the replay ended before the record",
                 brk_rundir_path(s->rundir), s->log_at + 1);
        return -1;
    }
    return 0;
}
