/* cli_session.c: `parley session CONFIG... --participants N`, a human-subject
 * session (session/, docs/HUMANS.md). Parses the options, builds the session
 * server on this process's event loop and runs it until Ctrl-C or SIGTERM,
 * which stop the running games (their brokers record partial runs) and write
 * the final tables. */
#include "cli.h"
#include "cli_proc.h"
#include "pl_policy.h"
#include "ses_server.h"

#include <event2/event.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: parley session CONFIG [CONFIG...] --participants N [--out DIR] [--seed N]\n"
            "                      [--http ADDR:PORT] [--pages DIR] [--fallback POLICY]\n"
            "                      [--dropout-after S] [--max-missed N] [--lobby-timeout S]\n"
            "                      [--lobby-close] [--comprehension] [--set key=value]...\n"
            "  CONFIG           a game configuration whose seats for people have policy human;\n"
            "                   several CONFIGs are conditions, one drawn per game from the seed\n"
            "  --participants   how many links to hand out (written to DIR/links.csv)\n"
            "  --out            the session directory (default sessions/<timestamp>-<seed>)\n"
            "  --seed           assignment of people to seats, conditions and game seeds (1)\n"
            "  --http           where to serve (default 127.0.0.1:0: loopback, a free port)\n"
            "  --pages          a directory whose NAME.html replace the built-in pages (consent,\n"
            "                   instructions, comprehension, lobby, game, end, declined, left,\n"
            "                   closed, experimenter)\n"
            "  --fallback       the policy that takes the seat of a person who left, for human\n"
            "                   seats that declare none (a seat's `fallback:` wins; perfect)\n"
            "  --dropout-after  seconds without a word from the person's page: they left\n"
            "                   (default session.dropout_after of the configuration, 20)\n"
            "  --max-missed     turns missed in total: the person left (0: never; default\n"
            "                   session.max_missed of the configuration, 2)\n"
            "  --lobby-timeout  seconds the first person waits before a game starts anyway, the\n"
            "                   empty seats played by their fallbacks (0: wait for ever; default\n"
            "                   session.lobby_timeout of the configuration, 0)\n"
            "  --lobby-close    at the lobby timeout send the waiting to the closed page instead\n"
            "  --comprehension  a comprehension check after the instructions\n"
            "  --set            override one key of every CONFIG (repeatable)\n"
            "Prints \"SESSION <url> <experimenter url> <dir>\" on stdout when it serves.\n");
}

static struct event_base *s_base;

static void s_on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    event_base_loopexit(s_base, NULL);
}

static int s_number(const char *opt, const char *v, double lo, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || d < lo) {
        fprintf(stderr, "parley session: %s takes a number >= %g, not '%s'\n", opt, lo, v);
        return -1;
    }
    *out = d;
    return 0;
}

int cli_session_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"participants", required_argument, NULL, 'n'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"http", required_argument, NULL, 'H'},
                                             {"pages", required_argument, NULL, 'p'},
                                             {"fallback", required_argument, NULL, 'f'},
                                             {"dropout-after", required_argument, NULL, 'd'},
                                             {"max-missed", required_argument, NULL, 'm'},
                                             {"lobby-timeout", required_argument, NULL, 'l'},
                                             {"lobby-close", no_argument, NULL, 'c'},
                                             {"comprehension", no_argument, NULL, 'C'},
                                             {"set", required_argument, NULL, 'S'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    if (!sets) return 2;
    /* Unset (NULL, -1, 0): each configuration's session.* keys and seats decide. */
    ses_options_t o = {.fallback = NULL,
                       .dropout_s = 0,
                       .max_missed = -1,
                       .lobby_timeout_s = -1,
                       .seed = 1,
                       .proc = {.spawn = cli_spawn, .wait = cli_wait}};
    double d;
    int rc = 2, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "n:o:s:H:p:f:d:m:l:cCS:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            if (s_number("--participants", optarg, 1, &d) != 0) goto done;
            o.participants = (int)d;
            break;
        case 'o':
            o.out = optarg;
            break;
        case 's':
            if (s_number("--seed", optarg, 0, &d) != 0) goto done;
            o.seed = strtoull(optarg, NULL, 10);
            break;
        case 'H':
            o.listen = optarg;
            break;
        case 'p':
            o.pages = optarg;
            break;
        case 'f':
            o.fallback = optarg;
            break;
        case 'd':
            if (s_number("--dropout-after", optarg, 1, &o.dropout_s) != 0) goto done;
            break;
        case 'm':
            if (s_number("--max-missed", optarg, 0, &d) != 0) goto done;
            o.max_missed = (int)d;
            break;
        case 'l':
            if (s_number("--lobby-timeout", optarg, 0, &o.lobby_timeout_s) != 0) goto done;
            break;
        case 'c':
            o.lobby_close = true;
            break;
        case 'C':
            o.comprehension = true;
            break;
        case 'S':
            sets[o.n_sets++] = optarg;
            break;
        case 'h':
            s_usage(stdout);
            rc = 0;
            goto done;
        default:
            s_usage(stderr);
            goto done;
        }
    }
    o.configs = (const char *const *)argv + optind;
    o.n_configs = argc - optind;
    o.sets = sets;
    if (o.n_configs < 1 || o.participants < 1) {
        fprintf(stderr, "parley session: needs CONFIG and --participants N\n");
        s_usage(stderr);
        goto done;
    }
    const pl_policy_t *fb = o.fallback ? pl_policy_find(o.fallback) : NULL;
    if (o.fallback && (!fb || fb->kind == PL_POLICY_PERSON)) {
        fprintf(stderr,
                "parley session: --fallback %s: not a policy a program plays (%s; not human)\n",
                o.fallback, pl_policy_names());
        goto done;
    }
    char dir[PATH_MAX], bin[PATH_MAX], err[512] = "";
    if (!o.out) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(dir, sizeof dir, "sessions/%s-%llu", stamp, o.seed);
        o.out = dir;
    }
    if (cli_bin_dir(bin, sizeof bin) != 0) {
        fprintf(stderr, "parley session: cannot find the parley programs (set PARLEY_BIN)\n");
        goto done;
    }
    o.bin_dir = bin;
    signal(SIGPIPE, SIG_IGN);
    s_base = o.base = event_base_new();
    struct event *sigint = s_base ? evsignal_new(s_base, SIGINT, s_on_signal, NULL) : NULL;
    struct event *sigterm = s_base ? evsignal_new(s_base, SIGTERM, s_on_signal, NULL) : NULL;
    ses_server_t *srv = NULL;
    if (!sigint || !sigterm || event_add(sigint, NULL) != 0 || event_add(sigterm, NULL) != 0) {
        fprintf(stderr, "parley session: cannot set up the event loop\n");
    } else if (!(srv = ses_server_new(&o, err, sizeof err))) {
        fprintf(stderr, "parley session: %s\n", err);
    } else {
        fprintf(stderr, "parley session: %d links in %s/links.csv\n", o.participants, o.out);
        fprintf(stderr, "experimenter: %s/x?key=%s\n", ses_server_url(srv), ses_server_key(srv));
        printf("SESSION %s %s/x?key=%s %s\n", ses_server_url(srv), ses_server_url(srv),
               ses_server_key(srv), o.out);
        fflush(stdout);
        rc = event_base_dispatch(s_base) < 0 ? 2 : 0;
        ses_server_destroy(&srv);
        fprintf(stderr, "parley session: ended; the record is in %s\n", o.out);
    }
    if (sigint) event_free(sigint);
    if (sigterm) event_free(sigterm);
    if (s_base) event_base_free(s_base);
    s_base = NULL;
done:
    free(sets);
    return rc;
}
