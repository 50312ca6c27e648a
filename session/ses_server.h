/* ses_server.h: a human-subject session (`parley session`). One evhttp server
 * hands out participant links, keeps a lobby, walks each person through the
 * consent, instructions and lobby pages, starts a game (parley-broker with its
 * web seats, plus one parley-agent per built-in seat) whenever enough people
 * wait, proxies the person's game page to the broker's seat API, hands a seat
 * whose person left to a fallback policy, and records everything in the
 * session directory (docs/HUMANS.md). */
#ifndef PARLEY_SES_SERVER_H
#define PARLEY_SES_SERVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct ses_server ses_server_t;

/* How the session starts its sibling programs (the cli's own helpers). */
typedef struct {
    pid_t (*spawn)(const char *bin_dir, const char *prog, char *const argv[], int *out_fd,
                   const char *log_path, const char *env_extra, bool interactive);
    int (*wait)(pid_t pid, int timeout_ms); /* exit status, or -1 while running */
} ses_proc_t;

typedef struct {
    struct event_base *base;
    const char *const *configs; /* the conditions: one configuration file each */
    int n_configs;
    char *const *sets; /* --set key=value overrides for every condition */
    int n_sets;
    int participants;        /* links to hand out */
    unsigned long long seed; /* assignment, conditions and game seeds */
    const char *out;         /* the session directory */
    const char *listen;      /* ADDR:PORT, default 127.0.0.1:0 */
    const char *pages;       /* a directory whose NAME.html replace the built-in pages, or NULL */
    const char *bin_dir;     /* where parley-broker and parley-agent are */
    /* NULL or < 0: not given; then the configuration decides (a seat's fallback,
     * session.dropout_after, session.max_missed, session.lobby_timeout). */
    const char *fallback;   /* the policy of a human seat that declares none (perfect) */
    double dropout_s;       /* a page silent this long: the person left */
    int max_missed;         /* turns missed in total: the person left (0: never) */
    double lobby_timeout_s; /* 0: wait for ever */
    bool lobby_close;       /* at the timeout: send the waiting to the closed page (else fill) */
    bool comprehension;     /* show the comprehension check after the instructions */
    ses_proc_t proc;
} ses_options_t;

/* Checks the configurations, makes the session directory (links.csv,
 * experimenter.key) and starts listening. NULL with a sentence (FILE:LINE for
 * a configuration) in err. */
ses_server_t *ses_server_new(const ses_options_t *opts, char *err, size_t errlen);
/* Stops every game (brokers first), writes the final tables, frees. */
void ses_server_destroy(ses_server_t **s);

/* "http://ADDR:PORT" of the running server. */
const char *ses_server_url(const ses_server_t *s);
/* The experimenter's key (the page is URL/x?key=KEY). */
const char *ses_server_key(const ses_server_t *s);

#endif
