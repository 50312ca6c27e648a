/* parley-broker: serves one game to agent processes over ZeroMQ.
 *
 *   parley-broker [--config FILE] [--out DIR] [--seed N] [--set key=value]...
 *                 [--bind EP] [--ipc PATH] [--pub EP | --no-pub] [--http ADDR:PORT | --no-http]
 *                 [--web-seats] [--start-timeout S] [--log-level L]
 *                 [--curve] [--pub-private EP] [--insecure]
 *                 [--max-unjoined N] [--join-timeout S]
 *
 * Secure by default (docs/SECURITY.md): every socket binds 127.0.0.1 unless
 * told otherwise, and one that others can reach needs --curve (CURVE keys in
 * the run directory's keys.json, a ZAP handler mapping each key to its seat)
 * or --insecure.
 *
 * --ipc PATH: agents on this host may connect to the ROUTER over a Unix
 * socket at PATH too (mode 0700; parley run's seats do), with the same
 * CURVE and tokens as over --bind; with --ipc-no-curve, without CURVE there
 * (each seat held by its token and the process that showed it;
 * docs/SECURITY.md "The Unix socket").
 *
 * --web-seats: seats whose configured policy is `human` are played from the
 * browser (/seat/ID?token=T on the web side) instead of by a parley-agent.
 *
 * When the sockets are bound it prints one line on stdout,
 *   READY <agent endpoint> <event endpoint> <run directory> <web URL or -> <private events or ->
 * so that a parent (parley run, tests) can use ephemeral ports (tcp://127.0.0.1:*).
 * A run directory (--out) whose game did not finish is resumed: the game is
 * rebuilt from its events.jsonl and played on (broker/brk_resume.c); a finished
 * one is refused.
 * Exit status: 0 the game finished, 1 it was stopped, 2 bad usage or setup. */
#include "brk_server.h"
#include "pl_log.h"
#include "pl_meta.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* A number in [lo, hi] from a whole option value, or -1. */
static int s_number(const char *text, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

static void s_usage(FILE *f)
{
    fprintf(f, "usage: parley-broker [--config FILE] [--out DIR] [--seed N] [--set key=value]...\n"
               "                     [--bind tcp://*:5555] [--ipc PATH [--ipc-no-curve]]\n"
               "                     [--pub tcp://*:5556 | --no-pub]\n"
               "                     [--http 127.0.0.1:0 | --no-http]  (port 0: any free port)\n"
               "                     [--web-seats]  (human seats play in the browser)\n"
               "                     [--start-timeout SECONDS] [--log-level debug|info|warn]\n"
               "                     [--curve] [--keys DIR] [--pub-private tcp://127.0.0.1:5557]\n"
               "                     [--insecure] [--max-unjoined N] [--join-timeout S]\n"
               "                     [--version]\n"
               "--ipc PATH: agents on this host may also connect over a Unix socket at PATH\n"
               "(ipc://PATH; mode 0700, removed at exit), with the same CURVE and tokens;\n"
               "--ipc-no-curve: without CURVE there, each seat held by its token and the\n"
               "process that showed it (only this user can reach the socket; docs/SECURITY.md\n"
               "\"The Unix socket\").\n"
               "Sockets bind 127.0.0.1 by default. --curve: CURVE on every socket, keys in\n"
               "DIR/keys.json (0600; CURVE_PUBLIC_<name> and PARLEY_CURVE_BROKER_SECRET in\n"
               "the environment supply them instead; --keys DIR: broker.key and NAME.pub from\n"
               "`parley keygen`, implies --curve); each seat's key may hold only its seat.\n"
               "--pub carries the public view of events; --pub-private (needs --curve) every\n"
               "event, for the experimenter's key only. A non-loopback bind without --curve is\n"
               "refused unless --insecure.\n"
               "--max-unjoined N (default 256): agent connections that have not joined a seat\n"
               "at once; past it the oldest is dropped. --join-timeout S (default 10): a\n"
               "connection that has not joined within S seconds is dropped (docs/SECURITY.md).\n"
               "--out DIR with the record of a game that did not finish resumes it (sequential\n"
               "or simultaneous timing): the game is rebuilt from DIR/events.jsonl, each recorded "
               "effect checked,\n"
               "the seats take their places back with the tokens of DIR/seats.json, and play\n"
               "goes on. The configuration must be the one the run started with. A finished\n"
               "run (DIR/summary.json) is refused.\n");
}

int main(int argc, char **argv)
{
    const char *config_path = NULL, *out = NULL, *bind = "tcp://127.0.0.1:5555",
               *pub = "tcp://127.0.0.1:5556", *pub_private = NULL, *keys_dir = NULL, *ipc = NULL;
    const char *seed = NULL, *http = "127.0.0.1:0";
    double start_timeout = 30.0, max_unjoined = 0, join_timeout = 0;
    bool web_seats = false, curve = false, insecure = false, ipc_no_curve = false;
    char **sets = calloc((size_t)argc, sizeof *sets);
    int n_sets = 0;
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"set", required_argument, NULL, 'S'},
                                             {"bind", required_argument, NULL, 'b'},
                                             {"ipc", required_argument, NULL, 'i'},
                                             {"ipc-no-curve", no_argument, NULL, 'n'},
                                             {"pub", required_argument, NULL, 'p'},
                                             {"no-pub", no_argument, NULL, 'P'},
                                             {"start-timeout", required_argument, NULL, 't'},
                                             {"http", required_argument, NULL, 'H'},
                                             {"no-http", no_argument, NULL, 'N'},
                                             {"web-seats", no_argument, NULL, 'W'},
                                             {"log-level", required_argument, NULL, 'l'},
                                             {"curve", no_argument, NULL, 'C'},
                                             {"insecure", no_argument, NULL, 'I'},
                                             {"pub-private", required_argument, NULL, 'Q'},
                                             {"keys", required_argument, NULL, 'K'},
                                             {"max-unjoined", required_argument, NULL, 'U'},
                                             {"join-timeout", required_argument, NULL, 'J'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    int opt;
    if (!sets) return 2;
    pl_log_set_component("broker");
    while ((opt = getopt_long(argc, argv, "c:o:s:S:b:i:np:Pt:l:hH:NWCIQ:K:U:J:", longopts, NULL)) !=
           -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 's':
            seed = optarg;
            break;
        case 'S':
            sets[n_sets++] = optarg;
            break;
        case 'b':
            bind = optarg;
            break;
        case 'i':
            ipc = optarg;
            break;
        case 'n':
            ipc_no_curve = true;
            break;
        case 'p':
            pub = optarg;
            break;
        case 'P':
            pub = NULL;
            break;
        case 'H':
            http = optarg;
            break;
        case 'N':
            http = NULL;
            break;
        case 'W':
            web_seats = true;
            break;
        case 'C':
            curve = true;
            break;
        case 'I':
            insecure = true;
            break;
        case 'Q':
            pub_private = optarg;
            break;
        case 'K':
            keys_dir = optarg;
            curve = true;
            break;
        case 't':
            start_timeout = atof(optarg);
            break;
        case 'U':
            if (s_number(optarg, 1, 100000, &max_unjoined) != 0 ||
                max_unjoined != (double)(int)max_unjoined) {
                fprintf(stderr,
                        "parley-broker: --max-unjoined takes a whole count from 1 to 100000, not "
                        "'%s'\n",
                        optarg);
                free(sets);
                return 2;
            }
            break;
        case 'J':
            if (s_number(optarg, 0.1, 3600, &join_timeout) != 0) {
                fprintf(stderr,
                        "parley-broker: --join-timeout takes seconds from 0.1 to 3600, not '%s'\n",
                        optarg);
                free(sets);
                return 2;
            }
            break;
        case 'l':
            if (pl_log_set_level(optarg) != 0) {
                fprintf(stderr, "parley-broker: unknown log level '%s'\n", optarg);
                free(sets);
                return 2;
            }
            break;
        case 'h':
            s_usage(stdout);
            free(sets);
            return 0;
        case 'V':
            pl_meta_print_version(stdout, "parley-broker");
            free(sets);
            return 0;
        default:
            s_usage(stderr);
            free(sets);
            return 2;
        }
    }
    if (ipc_no_curve && !ipc) {
        fprintf(stderr, "parley-broker: --ipc-no-curve is about the Unix socket: it needs --ipc "
                        "PATH\n");
        free(sets);
        return 2;
    }
    char err[512] = "";
    pl_config_t *cfg =
        config_path ? pl_config_load(config_path, err, sizeof err) : pl_config_default();
    if (!cfg) {
        fprintf(stderr, "parley-broker: %s\n", err[0] ? err : "out of memory");
        free(sets);
        return 2;
    }
    char assignment[64];
    if (seed) {
        snprintf(assignment, sizeof assignment, "seed=%s", seed);
        if (pl_config_set(cfg, assignment, err, sizeof err) != 0) goto bad_config;
    }
    for (int i = 0; i < n_sets; i++)
        if (pl_config_set(cfg, sets[i], err, sizeof err) != 0) goto bad_config;

    char dir[512];
    if (!out) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(dir, sizeof dir, "runs/%s-%llu", stamp, (unsigned long long)cfg->game.seed);
        out = dir;
    }
    brk_options_t opts = {.router_endpoint = bind,
                          .router_ipc_path = ipc,
                          .ipc_no_curve = ipc_no_curve,
                          .pub_endpoint = pub,
                          .run_dir = out,
                          .start_timeout = start_timeout,
                          .http_listen = http,
                          .web_seats = web_seats,
                          .curve = curve,
                          .insecure = insecure,
                          .pub_private_endpoint = pub_private,
                          .keys_dir = keys_dir,
                          /* The flags win over the configuration. */
                          .max_unjoined = max_unjoined > 0 ? (int)max_unjoined : cfg->max_unjoined,
                          .join_timeout = join_timeout > 0 ? join_timeout : cfg->join_timeout};
    /* Every connection costs a descriptor: take what the hard limit allows
     * (the default soft limit, often 1024, is for select()-era programs). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "parley-broker: warning: cannot raise the descriptor limit\n");
    }
    brk_server_t *s = brk_server_new(cfg, &opts, err, sizeof err);
    /* meta.json beside config.json, unless the front door wrote it already. */
    if (s && pl_meta_write(brk_server_run_dir(s), cfg, seed ? PL_SEED_OPTION : PL_SEED_CONFIG,
                           "parley-broker", argc, argv, true, err, sizeof err) != 0)
        fprintf(stderr, "parley-broker: warning: %s\n", err);
    pl_config_destroy(&cfg);
    free(sets);
    if (!s) {
        fprintf(stderr, "parley-broker: %s\n", err);
        return 2;
    }
    printf("READY %s %s %s %s %s\n", brk_server_endpoint(s),
           brk_server_pub_endpoint(s)[0] ? brk_server_pub_endpoint(s) : "-", brk_server_run_dir(s),
           brk_server_http_url(s)[0] ? brk_server_http_url(s) : "-",
           brk_server_pub_private_endpoint(s)[0] ? brk_server_pub_private_endpoint(s) : "-");
    fflush(stdout);
    int rc = brk_server_run(s);
    brk_server_destroy(&s);
    return rc < 0 ? 2 : rc;
bad_config:
    fprintf(stderr, "parley-broker: %s\n", err);
    pl_config_destroy(&cfg);
    free(sets);
    return 2;
}
