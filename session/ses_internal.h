/* ses_internal.h: the session's state, shared by its files: ses_server.c (the
 * HTTP side and the participants' flow), ses_game.c (starting, watching and
 * ending games), ses_record.c (the session's record and tables). */
#ifndef PARLEY_SES_INTERNAL_H
#define PARLEY_SES_INTERNAL_H

#include "ses_server.h"

#include <event2/http.h>
#include <jansson.h>
#include <stdint.h>

typedef enum {
    SES_P_NEW,       /* has the link, not yet answered the consent page */
    SES_P_CONSENTED, /* reading the instructions */
    SES_P_CHECK,     /* the comprehension check */
    SES_P_WAITING,   /* in the lobby */
    SES_P_PLAYING,   /* has a seat in a running game */
    SES_P_DONE,      /* the game ended: the end page with a completion code */
    SES_P_DECLINED,  /* declined consent: nothing more is recorded */
    SES_P_LEFT,      /* left the game; a fallback policy took the seat */
    SES_P_CLOSED,    /* the lobby closed before a game started */
} ses_pstate_t;

typedef struct {
    char id[16];     /* pseudonymous: P001 ... */
    char secret[40]; /* the link's unguessable part */
    ses_pstate_t state;
    int game;             /* index into games, -1 */
    int seat;             /* 0-based seat index in that game, -1 */
    int64_t last_seen_ms; /* monotonic: the last request from the person's page */
    int64_t since_ms;     /* monotonic: when the current state began */
    char page[24];        /* the last page shown (recorded only when it changes) */
    uint64_t turn_id;     /* the open turn the page last saw */
    int64_t turn_seen_ms; /* when the page first saw it */
    int decisions;
    char code[16]; /* completion code, when done */
    long long revenue;
    int tasks;
    char left_reason[24]; /* page_closed | missed_turns */
    char fallback[24];    /* the policy that took the seat over */
    int sub_round;        /* the broker's round when it did */
} ses_person_t;

typedef enum { SES_G_STARTING, SES_G_PLAYING, SES_G_OVER } ses_gstate_t;

struct ses_proxy;

typedef struct ses_game {
    struct ses_server *srv;
    int index;
    int condition;
    unsigned long long seed;
    ses_gstate_t state;
    char dir[1024];
    char config_json[1100];
    pid_t broker;
    int ready_fd;
    struct event *ready_ev;
    char ready_buf[2048];
    size_t ready_len;
    char router[256], web[256];
    struct evhttp_connection *conn;
    int n_seats;
    char **policies;   /* [n_seats] configured policy */
    char **tokens;     /* [n_seats] */
    int *person;       /* [n_seats] participant index, or -1 */
    pid_t *agents;     /* [n_seats] agent processes (0: none) */
    int *missed;       /* [n_seats] from the broker's /api/status */
    bool *substituted; /* [n_seats] handed to the fallback policy */
    char **fallbacks;  /* [n_seats] human seats: the policy that takes the seat over */
    int max_missed;    /* this game's dropout rules (flag, else configuration) */
    double dropout_s;
    int round;                 /* the broker's round in progress, from /api/status */
    double elapsed_s;          /* the broker's time since game_start, from /api/status */
    int64_t clock_ms;          /* the game's length by the broker's clock (events.jsonl) */
    struct ses_proxy *pending; /* requests on their way to the broker */
    bool status_pending;
    long long group_revenue;
    int tasks;
    char reason[32];
} ses_game_t;

struct ses_server {
    ses_options_t opts;
    char out[1024];
    struct evhttp *http;
    char url[300];
    char key[40];
    ses_person_t *people;
    int n_people;
    ses_game_t **games;
    int n_games;
    struct event *tick_ev;
    uint64_t rng;
    FILE *record;           /* session.jsonl */
    int humans_per_game;    /* seats whose policy is human (the same in every condition) */
    double lobby_timeout_s; /* the flag, else session.lobby_timeout (the same in every condition) */
    int rounds;             /* of the first condition, for the pages */
    long long task_reward;
};

int64_t ses_mono_ms(void);
/* Wall-clock time as "2026-12-01T20:05:49.123Z" into out[32]. */
void ses_now_iso(char *out, size_t len);
/* The session's seeded generator (assignment, conditions, game seeds). */
uint64_t ses_rand(ses_server_t *s);
/* Fresh unguessable hex from the kernel: 2*nbytes characters. 0 or -1. */
int ses_random_hex(char *out, size_t nbytes);

/* ses_record.c: appends {"event": name, "t": ..., ...fields} to session.jsonl
 * (takes the reference to fields; may be NULL). */
void ses_record(ses_server_t *s, const char *name, json_t *fields);
/* Rewrites participants.csv from the current state. 0 or -1. */
int ses_write_tables(ses_server_t *s);
/* participants.csv as text (owned by the caller), or NULL. */
char *ses_tables_text(ses_server_t *s);
const char *ses_pstate_name(ses_pstate_t st);

/* ses_game.c */
/* Starts a game for the n people listed (n may be below the seats it has for
 * people: the rest are played by the fallback policy). 0 or -1 (logged). */
int ses_game_start(ses_server_t *s, const int *people, int n);
/* Periodic: reaps processes, asks the broker for its status, applies the
 * dropout rules, notices the end of the game. */
void ses_game_tick(ses_game_t *g);
/* Hands the seat of participant p to the fallback policy (reason recorded). */
void ses_game_substitute(ses_game_t *g, int seat, const char *reason);
/* Stops a running game (its broker records a partial run). */
void ses_game_stop(ses_game_t *g);
/* Ends whatever still runs (broker first, then the agents, waiting for each)
 * and records the game's end if that was not done yet. */
void ses_game_finish(ses_game_t *g);
void ses_game_destroy(ses_game_t **g);
/* Forwards a person's request to the broker's seat API: what is "state" or
 * "decision"; body (may be NULL) is sent as is. The reply goes to req. */
void ses_game_proxy(ses_game_t *g, int p, struct evhttp_request *req, const char *what,
                    const char *body, size_t len);

#endif
