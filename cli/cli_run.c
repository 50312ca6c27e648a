/* cli_run.c: `parley run [CONFIG]`, one game on this machine.
 *
 * Resolves the configuration (file or the built-in default, then --seed and
 * --set), writes it into the run directory, starts parley-broker on ephemeral
 * ports (it prints "READY <agents> <events> <dir>"), starts one parley-agent per
 * seat with the seat's token (from seats.json, passed in the environment), shows
 * progress from the broker's PUB socket, and prints the result with "% of
 * optimal" computed here, in-process, on the same configuration and seed.
 * Ctrl-C (or SIGTERM, as parley sweep sends) stops the broker first, which
 * records a partial run, then the agents.
 *
 * Human seats (policy `human`) play in the browser by default: the broker
 * plays them on its web side (--web-seats), no process is started for them,
 * and their page addresses (with the token) are printed. `--human terminal`
 * runs them as `parley-agent --policy human` in this terminal instead.
 *
 * Scripted seats are forked by one seat launcher (`parley-agent --launcher`,
 * agent/agt_launcher.h), started before the broker so that its loading
 * overlaps the broker's: a seat then costs a fork instead of an exec and a
 * dynamic load, and is still its own process and this one's child.
 * --no-launcher execs every seat; llm and terminal seats are always exec'd. */
#include "cli.h"
#include "cli_proc.h"

#include "env.h"
#include "llm_prompt.h"
#include "llm_provider.h"
#include "pl_config.h"
#include "pl_config_orig.h"
#include "pl_fs.h"
#include "pl_meta.h"
#include "pl_keys.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static volatile sig_atomic_t s_stop_signal = 0;

static void s_on_signal(int sig)
{
    s_stop_signal = sig;
}

/* A CURVE client socket holding client `name`'s keypair from keys.json's curve. */
static int s_curve_client(void *sock, const char *server, json_t *curve, const char *name)
{
    json_t *me = json_object_get(json_object_get(curve, "clients"), name);
    const char *p = json_string_value(json_object_get(me, "public"));
    const char *q = json_string_value(json_object_get(me, "secret"));
    if (!p || !q || strlen(q) != PL_KEY_LEN) return -1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, strlen(server) + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, p, strlen(p) + 1) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, q, strlen(q) + 1) != 0)
        return -1;
    return 0;
}

static void s_usage(FILE *f)
{
    fprintf(f, "usage: parley run [CONFIG] [--out DIR] [--seed N] [--set key=value]... [--quiet]\n"
               "                  [--human browser|terminal]\n"
               "  CONFIG   a YAML configuration (default: the paper preset, 5 perfect + 5 "
               "selfish seats),\n"
               "           in parley's format or the study's own (examples/original/, "
               "docs/FIDELITY.md)\n"
               "  --out    the run directory (default runs/<timestamp>-<seed>)\n"
               "  --seed   the game's seed\n"
               "  --set    override one key, e.g. simulation.rounds=5 (repeatable)\n"
               "  --quiet  no progress and no live-view address, only the result (a human\n"
               "           seat's page and the live view are printed when a person plays in\n"
               "           the browser: someone must open them)\n"
               "  --human  browser (default: human seats play at the printed address) or\n"
               "           terminal (this terminal plays the human seat)\n"
               "  --no-curve  no CURVE on the broker's sockets (default: CURVE when libzmq has\n"
               "           it; the keys are made in DIR/keys.json, docs/SECURITY.md)\n"
               "  --no-launcher  exec every seat's program (default: scripted seats are forked\n"
               "           by one loaded seat launcher, DIR/launcher.log; docs/CLI.md)\n"
               "  --no-ipc  the seats connect over TCP (default: over the broker's Unix socket\n"
               "           DIR/broker.ipc, mode 0700, the same CURVE and tokens; TCP for a run\n"
               "           directory whose path is too long for one, and for agents started\n"
               "           elsewhere)\n"
               "  --ipc-no-curve  no CURVE on that Unix socket: each seat is held by its\n"
               "           token and its process (only this user can reach the socket, and\n"
               "           could read the keys anyway: docs/SECURITY.md \"The Unix socket\");\n"
               "           TCP keeps CURVE\n"
               "A broker that dies (sequential or simultaneous timing) is started again (up to 3\n"
               "times) and resumes the game from the run directory; the agents reconnect.\n"
               "Without --seed the seed is the configuration's `seed:`, else the preset's fixed\n"
               "seed 1 (reproducible); meta.json in the run directory records which.\n"
               "Exit status: 0 finished, 1 stopped or failed, 2 bad usage, 3 configuration\n"
               "refused (or an API key missing), 4 system error (docs/CLI.md).\n");
}

static void s_money(char *out, size_t len, long long v)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v);
    size_t n = strlen(digits), o = 0;
    if (v < 0 && o + 1 < len) out[o++] = '-';
    if (o + 1 < len) out[o++] = '$';
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* run.agents[i] of a seat without a process (it plays in the browser), and of
 * one the launcher has been asked for but has not answered yet. */
#define S_NO_PROCESS (-1)
#define S_PENDING    (-2)
/* Requests to the launcher ahead of its replies: the replies (a few bytes
 * each) must fit its stdout pipe while this process is still writing. */
#define S_PIPELINE 256

/* Reads the launcher's replies for pending[*next .. upto): each seat's pid.
 * Once one fails the launcher is ended, and that seat and the rest go back to
 * "not started" (0), to be exec'd. */
static void s_launcher_replies(cli_launcher_t **l, const int *pending, int *next, int upto,
                               pid_t *agents)
{
    for (; *next < upto; (*next)++) {
        int k = pending[*next];
        char why[256] = "";
        pid_t pid = *l ? cli_launcher_recv(*l, why, sizeof why) : -1;
        if (pid < 0 && *l) {
            fprintf(stderr, "parley run: seat launcher: %s: exec'ing the seats\n", why);
            cli_launcher_destroy(l);
        }
        agents[k] = pid > 0 ? pid : 0;
    }
}

typedef struct {
    pid_t broker;
    pid_t *agents;
    int n_agents;
    void *zctx, *sub;
} s_run_t;

/* Stops whatever is still running: broker first (it records the partial run
 * and tells the agents), then the agents, then anything left, by force. */
static void s_shutdown(s_run_t *r, int grace_ms)
{
    if (r->broker > 0 && cli_wait(r->broker, 0) < 0) {
        kill(r->broker, SIGTERM);
        if (cli_wait(r->broker, 5000) < 0) {
            kill(r->broker, SIGKILL);
            cli_wait(r->broker, 1000);
        }
    }
    r->broker = 0;
    /* The grace is one deadline for all of them together. */
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < r->n_agents; i++) {
        if (r->agents[i] <= 0) continue;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long spent = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        int left = spent < grace_ms ? (int)(grace_ms - spent) : 0;
        if (cli_wait(r->agents[i], left) < 0) {
            kill(r->agents[i], SIGTERM);
            if (cli_wait(r->agents[i], 2000) < 0) {
                kill(r->agents[i], SIGKILL);
                cli_wait(r->agents[i], 1000);
            }
        }
        r->agents[i] = 0;
    }
}

static void s_show_progress(const char *json, bool tty)
{
    json_t *ev = json_loads(json, 0, NULL);
    if (!ev) return;
    char money[48];
    s_money(money, sizeof money,
            (long long)json_integer_value(json_object_get(ev, "group_revenue")));
    fprintf(stderr, "%sround %lld/%lld  tasks %lld  group revenue %s%s", tty ? "\r" : "",
            (long long)json_integer_value(json_object_get(ev, "round")),
            (long long)json_integer_value(json_object_get(ev, "rounds")),
            (long long)json_integer_value(json_object_get(ev, "tasks_total")), money,
            tty ? "   " : "\n");
    fflush(stderr);
    json_decref(ev);
}

/* The model use of the game, from the `calls` of its decision lines (the record
 * of truth): one line with calls, retries, tokens and cost. Nothing for a game
 * of built-in agents, which make no calls. */
static void s_print_model_use(const char *dir, const pl_config_t *cfg)
{
    bool llm = false;
    for (int i = 0; i < cfg->n_seats; i++)
        llm = llm || (cfg->seats[i].policy && strcmp(cfg->seats[i].policy, "llm") == 0);
    if (!llm) return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    long long calls = 0, retries = 0, in = 0, out = 0, cached = 0, reasoning = 0;
    double cost = 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!strstr(line, "\"calls\"")) continue; /* most lines have none: skip the parse */
        json_t *ev = json_loads(line, 0, NULL);
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(ev, "calls"), i, c)
        {
            long long att = (long long)json_integer_value(json_object_get(c, "attempts"));
            calls++;
            retries += att > 1 ? att - 1 : 0;
            in += (long long)json_integer_value(json_object_get(c, "tokens_in"));
            out += (long long)json_integer_value(json_object_get(c, "tokens_out"));
            cached += (long long)json_integer_value(json_object_get(c, "tokens_cached"));
            reasoning += (long long)json_integer_value(json_object_get(c, "tokens_reasoning"));
            cost += json_number_value(json_object_get(c, "cost_usd"));
        }
        json_decref(ev);
    }
    free(line);
    fclose(f);
    printf("model calls %lld (%lld retries), tokens in %lld (%lld cached), out %lld (%lld "
           "reasoning), cost $%.4f%s\n",
           calls, retries, in, cached, out, reasoning, cost,
           cfg->n_prices ? "" : " (no prices in the configuration: cost not counted)");
}

/* Appends the broker's Unix socket flags to argv at n (--ipc PATH, and
 * --ipc-no-curve when keyless; none when path is ""), for its first start
 * and a restart alike. Returns the new count. */
static int s_ipc_flags(char **argv, int n, char *path, bool keyless)
{
    if (path[0]) {
        argv[n++] = "--ipc";
        argv[n++] = path;
    }
    if (path[0] && keyless) argv[n++] = "--ipc-no-curve";
    return n;
}

int cli_run_main(int argc, char **argv)
{
    const char *config_path = NULL, *out = NULL, *seed = NULL;
    bool quiet = false, web_humans = true, use_launcher = true, use_ipc = true,
         ipc_no_curve = false;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0, rc = PL_EXIT_SYSTEM;
    static const struct option longopts[] = {{"out", required_argument, NULL, 'o'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"set", required_argument, NULL, 'S'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"human", required_argument, NULL, 'H'},
                                             {"no-curve", no_argument, NULL, 'K'},
                                             {"no-launcher", no_argument, NULL, 'L'},
                                             {"no-ipc", no_argument, NULL, 'I'},
                                             {"ipc-no-curve", no_argument, NULL, 'N'},
                                             {NULL, 0, NULL, 0}};
    char zerr[256];
    bool curve = pl_keys_available(zerr, sizeof zerr);
    if (!sets) return PL_EXIT_SYSTEM;
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "o:s:S:qhH:KLIN", longopts, NULL)) != -1) {
        switch (opt) {
        case 'K':
            curve = false;
            break;
        case 'L':
            use_launcher = false;
            break;
        case 'I':
            use_ipc = false;
            break;
        case 'N':
            ipc_no_curve = true;
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
        case 'q':
            quiet = true;
            break;
        case 'H':
            if (strcmp(optarg, "browser") != 0 && strcmp(optarg, "terminal") != 0) {
                fprintf(stderr, "parley run: --human takes browser or terminal, not '%s'\n",
                        optarg);
                free(sets);
                return PL_EXIT_USAGE;
            }
            web_humans = strcmp(optarg, "browser") == 0;
            break;
        case 'h':
            s_usage(stdout);
            free(sets);
            return 0;
        default:
            s_usage(stderr);
            free(sets);
            return PL_EXIT_USAGE;
        }
    }
    if (ipc_no_curve && !use_ipc) {
        fprintf(stderr, "parley run: --ipc-no-curve is about the Unix socket, which --no-ipc "
                        "turns off: one or the other\n");
        free(sets);
        return PL_EXIT_USAGE;
    }
    if (optind < argc) config_path = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "parley run: one CONFIG at most ('%s' is extra)\n", argv[optind]);
        s_usage(stderr);
        free(sets);
        return PL_EXIT_USAGE;
    }

    s_run_t run = {0};
    char ipc_path[PATH_MAX] = "", ipc_ep[PATH_MAX + 8] = ""; /* the broker's Unix socket */
    cli_launcher_t *launcher = NULL;
    int *pending = NULL, n_pending = 0, next_reply = 0; /* seats asked of the launcher */
    char err[512] = "", dir[2048], path[PATH_MAX], bin[PATH_MAX], line[1024];
    json_t *seats = NULL, *summary = NULL, *keys = NULL;
    int ready_fd = -1;
    pl_config_t *cfg =
        config_path ? pl_config_load_any(config_path, err, sizeof err) : pl_config_default();
    if (!cfg) {
        fprintf(stderr, "parley run: %s\n", err[0] ? err : "out of memory");
        if (err[0]) rc = PL_EXIT_CONFIG;
        goto done;
    }
    /* Where the seed came from, for meta.json: reproducibility needs a fixed
     * default, and a reader needs to know it was the default. */
    pl_seed_source_t seed_source =
        pl_meta_file_sets_seed(config_path) ? PL_SEED_CONFIG : PL_SEED_DEFAULT;
    bool seed_given = seed != NULL;
    for (int i = 0; i < n_sets; i++)
        if (strncmp(sets[i], "seed=", 5) == 0) seed_given = true;
    if (seed_given) seed_source = getenv("PARLEY_SWEEP") ? PL_SEED_SWEEP : PL_SEED_OPTION;
    if (seed) {
        char a[64];
        snprintf(a, sizeof a, "seed=%s", seed);
        if (pl_config_set(cfg, a, err, sizeof err) != 0) goto bad_config;
    }
    for (int i = 0; i < n_sets; i++)
        if (pl_config_set(cfg, sets[i], err, sizeof err) != 0) goto bad_config;
    if (env_config_check(&cfg->game, err, sizeof err) != ENV_OK) goto bad_config;
    /* Model seats: a missing API key is said now, naming the variable, before
     * any process starts (not in an agent's log while the broker waits). */
    for (int i = 0; i < cfg->n_seats; i++) {
        const pl_seat_t *st = &cfg->seats[i];
        char why[384];
        if (!st->policy || strcmp(st->policy, "llm") != 0) continue;
        if (llm_check_seat(st, why, sizeof why) != 0) {
            fprintf(stderr, "parley run: agent_%d: %s\n", i + 1, why);
            rc = PL_EXIT_CONFIG;
            goto done;
        }
        if (llm_prompt_check(cfg, i, why, sizeof why) != 0) { /* a template error, FILE:LINE */
            fprintf(stderr, "parley run: agent_%d: %s\n", i + 1, why);
            rc = PL_EXIT_CONFIG;
            goto done;
        }
    }
    if (cli_bin_dir(bin, sizeof bin) != 0) {
        fprintf(stderr, "parley run: cannot find the parley programs (set PARLEY_BIN)\n");
        goto done;
    }

    /* The run directory, with the resolved configuration in it. */
    if (out) {
        snprintf(dir, sizeof dir, "%s", out);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        char stamp[32];
        strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
        snprintf(dir, sizeof dir, "runs/%s-%llu", stamp, (unsigned long long)cfg->game.seed);
        for (int k = 2; access(dir, F_OK) == 0 && k < 100; k++)
            snprintf(dir, sizeof dir, "runs/%s-%llu-%d", stamp, (unsigned long long)cfg->game.seed,
                     k);
    }
    snprintf(path, sizeof path, "%s/agents", dir);
    if (pl_mkdirs(path) != 0) {
        fprintf(stderr, "parley run: %s: %s\n", path, strerror(errno));
        goto done;
    }
    json_t *cj = pl_config_to_json(cfg);
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!cj || json_dump_file(cj, path, JSON_INDENT(2)) != 0) {
        json_decref(cj);
        fprintf(stderr, "parley run: %s: cannot write\n", path);
        goto done;
    }
    json_decref(cj);
    char config_json[PATH_MAX];
    snprintf(config_json, sizeof config_json, "%s", path);
    if (pl_meta_write(dir, cfg, seed_source, "parley run", argc, argv, false, err, sizeof err) !=
        0) {
        fprintf(stderr, "parley run: %s\n", err);
        goto done;
    }

    /* Ctrl-C and SIGTERM from here on stop the game in order. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The seat launcher loads while the broker starts. Only for seats that
     * run parley-agent unattended: llm seats have their own binary, a
     * terminal seat needs the terminal. */
    bool forkable = false;
    for (int i = 0; i < cfg->n_seats; i++) {
        const char *pol = cfg->seats[i].policy ? cfg->seats[i].policy : "passive";
        forkable = forkable || (strcmp(pol, "llm") != 0 && strcmp(pol, "human") != 0);
    }
    if (use_launcher && forkable) {
        snprintf(path, sizeof path, "%s/launcher.log", dir);
        launcher = cli_launcher_new(bin, path);
        if (!launcher)
            fprintf(stderr, "parley run: no seat launcher (%s): each seat is exec'd\n",
                    strerror(errno));
    }

    /* The seats started here connect over a Unix socket in the run directory
     * (bench/RESULTS.md "The 1,000-seat join"): a path too long for one
     * (sun_path) leaves them on TCP, like agents from elsewhere. */
    if (use_ipc) {
        struct sockaddr_un sun;
        snprintf(ipc_path, sizeof ipc_path, "%s/broker.ipc", dir);
        if (strlen(ipc_path) >= sizeof sun.sun_path) {
            if (!quiet)
                fprintf(stderr, "parley run: %s is too long for a Unix socket: seats use TCP\n",
                        ipc_path);
            ipc_path[0] = '\0';
        } else {
            snprintf(ipc_ep, sizeof ipc_ep, "ipc://%s", ipc_path);
        }
    }

    char broker_log[PATH_MAX];
    snprintf(broker_log, sizeof broker_log, "%s/broker.log", dir);
    char *bargv[] = {"parley-broker",
                     "--config",
                     config_json,
                     "--out",
                     dir,
                     "--bind",
                     "tcp://127.0.0.1:*",
                     "--pub",
                     "tcp://127.0.0.1:*",
                     "--start-timeout",
                     "20",
                     NULL,
                     NULL,
                     NULL,
                     NULL,
                     NULL,
                     NULL};
    int nb = 11; /* the optional flags after the fixed ones */
    /* --ipc-no-curve: the seats on the socket show their tokens, no keys. */
    bool keyless = ipc_no_curve && ipc_path[0] && curve;
    nb = s_ipc_flags(bargv, nb, ipc_path, keyless);
    if (curve) bargv[nb++] = "--curve";
    if (web_humans) bargv[nb++] = "--web-seats";
    run.broker = cli_spawn(bin, "parley-broker", bargv, &ready_fd, broker_log, NULL, false);
    if (run.broker < 0 || cli_read_line(ready_fd, line, sizeof line, 20000) != 0) {
        fprintf(stderr, "parley run: the broker did not start (see %s)\n", broker_log);
        goto done;
    }
    char router_ep[256], pub_ep[256], web[256] = "-", ignored[1024];
    if (sscanf(line, "READY %255s %255s %1023s %255s", router_ep, pub_ep, ignored, web) < 2) {
        fprintf(stderr, "parley run: unexpected broker output: %s\n", line);
        goto done;
    }

    /* CURVE: the broker's public key and each client's keypair, from keys.json. */
    snprintf(path, sizeof path, "%s/keys.json", dir);
    keys = curve ? json_load_file(path, 0, NULL) : NULL;
    json_t *ck = json_object_get(keys, "curve");
    const char *srv = json_string_value(json_object_get(json_object_get(ck, "broker"), "public"));
    if (curve && !srv) {
        fprintf(stderr, "parley run: %s: no CURVE keys\n", path);
        goto done;
    }
    /* Progress comes from the PUB socket; subscribe before the agents start. */
    run.zctx = zmq_ctx_new();
    run.sub = run.zctx ? zmq_socket(run.zctx, ZMQ_SUB) : NULL;
    if (!run.sub || (curve && s_curve_client(run.sub, srv, ck, "watcher") != 0) ||
        zmq_connect(run.sub, pub_ep) != 0 ||
        zmq_setsockopt(run.sub, ZMQ_SUBSCRIBE, "progress", 8) != 0) {
        fprintf(stderr, "parley run: cannot watch %s: %s\n", pub_ep, zmq_strerror(errno));
        goto done;
    }

    snprintf(path, sizeof path, "%s/seats.json", dir);
    seats = json_load_file(path, 0, NULL);
    if (!seats) {
        fprintf(stderr, "parley run: %s: cannot read the seat tokens\n", path);
        goto done;
    }
    run.n_agents = cfg->n_seats;
    run.agents = calloc((size_t)run.n_agents, sizeof *run.agents);
    pending = calloc((size_t)run.n_agents + 1, sizeof *pending);
    if (!run.agents || !pending) goto done;
    /* agents[i]: 0 not started yet, a pid, S_NO_PROCESS or S_PENDING. The
     * launcher's requests are sent ahead of its replies (up to S_PIPELINE),
     * so that neither process waits for the other at every seat; a seat it
     * fails to start is started again on the second pass, exec'd. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < run.n_agents; i++) {
            if (run.agents[i] != 0) continue;
            char seat[32], log[PATH_MAX], token_env[512];
            snprintf(seat, sizeof seat, "agent_%d", i + 1);
            snprintf(log, sizeof log, "%s/agents/%s.log", dir, seat);
            const char *tok = json_string_value(json_object_get(seats, seat));
            const char *policy = cfg->seats[i].policy ? cfg->seats[i].policy : "passive";
            if (!tok) {
                fprintf(stderr, "parley run: no token for %s\n", seat);
                goto done;
            }
            if (strcmp(policy, "human") == 0 && web_humans) {
                fprintf(stderr, "%s plays in the browser: %s/seat/%s?token=%s\n", seat, web, seat,
                        tok);
                run.agents[i] = S_NO_PROCESS;
                continue;
            }
            snprintf(token_env, sizeof token_env, "PARLEY_TOKEN=%s", tok);
            if (curve && !keyless) {
                /* The keys travel in the environment, one NAME=VALUE a line (cli_spawn). */
                json_t *me = json_object_get(json_object_get(ck, "clients"), seat);
                const char *p = json_string_value(json_object_get(me, "public"));
                const char *q = json_string_value(json_object_get(me, "secret"));
                snprintf(token_env, sizeof token_env,
                         "PARLEY_TOKEN=%s\nPARLEY_CURVE_SERVER=%s\nPARLEY_CURVE_PUBLIC=%s\n"
                         "PARLEY_CURVE_SECRET=%s",
                         tok, srv, p ? p : "", q ? q : "");
            }
            char *seat_ep = ipc_ep[0] ? ipc_ep : router_ep; /* this host's seats */
            char *aargv[] = {"parley-agent", "--broker",     seat_ep,    "--seat",    seat,
                             "--policy",     (char *)policy, "--config", config_json, NULL};
            /* A human seat plays in this terminal (one at most makes sense). */
            bool human = strcmp(policy, "human") == 0;
            /* llm seats run the binary with the llm stack; the others never load it. */
            const char *prog = strcmp(policy, "llm") == 0 ? "parley-agent-llm" : "parley-agent";
            aargv[0] = (char *)prog;
            if (launcher && !human && strcmp(prog, "parley-agent") == 0) {
                char why[256];
                if (n_pending - next_reply >= S_PIPELINE)
                    s_launcher_replies(&launcher, pending, &next_reply, next_reply + 1, run.agents);
                if (launcher &&
                    cli_launcher_send(launcher, aargv, log, token_env, why, sizeof why) == 0) {
                    run.agents[i] = S_PENDING;
                    pending[n_pending++] = i;
                    continue;
                }
                if (launcher) { /* the seat is still started, the old way */
                    fprintf(stderr, "parley run: seat launcher: %s: exec'ing the seats\n", why);
                    cli_launcher_destroy(&launcher);
                }
            }
            run.agents[i] = cli_spawn(bin, prog, aargv, NULL, log, token_env, human);
            if (run.agents[i] < 0) {
                fprintf(stderr, "parley run: cannot start the agent of %s\n", seat);
                goto done;
            }
        }
        s_launcher_replies(&launcher, pending, &next_reply, n_pending, run.agents);
    }

    cli_launcher_destroy(&launcher); /* every seat is started: it has done its work */

    /* --quiet drops the address, unless a person plays in the browser: then it
     * is part of what they need, like their seat's page. */
    bool web_person = false;
    for (int i = 0; i < run.n_agents; i++)
        web_person = web_person || (web_humans && cfg->seats[i].policy &&
                                    strcmp(cfg->seats[i].policy, "human") == 0);
    if (strcmp(web, "-") != 0 && (!quiet || web_person)) fprintf(stderr, "live view: %s/\n", web);
    /* A person plays in this terminal: progress lines would land in the middle
     * of their prompt; the seat shows the round itself. */
    for (int i = 0; !web_humans && i < cfg->n_seats; i++)
        if (cfg->seats[i].policy && strcmp(cfg->seats[i].policy, "human") == 0) quiet = true;

    /* Wait for the broker, showing progress, forwarding a stop. */
    bool tty = isatty(STDERR_FILENO), stopping = false, shown = false;
    int restarts = 0;
    int broker_status = -1, broker_fd = -1;
    while (broker_status < 0) {
        if (s_stop_signal && !stopping) {
            stopping = true;
            if (!quiet) fprintf(stderr, "%sstopping...\n", shown && tty ? "\n" : "");
            kill(run.broker, SIGTERM);
        }
        /* The broker's exit wakes this loop at once (its pidfd is in the poll
         * set); the timeout only bounds how late a stop signal is seen. */
        if (broker_fd < 0) broker_fd = cli_pidfd(run.broker);
        zmq_pollitem_t items[2] = {{run.sub, 0, ZMQ_POLLIN, 0}, {NULL, broker_fd, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, broker_fd >= 0 ? 2 : 1, 100);
        if (n > 0 && !(items[0].revents & ZMQ_POLLIN)) n = 0;
        while (n > 0) {
            char topic[32], body[4096];
            int t = zmq_recv(run.sub, topic, sizeof topic, ZMQ_DONTWAIT);
            if (t < 0) break;
            int b = zmq_recv(run.sub, body, sizeof body - 1, ZMQ_DONTWAIT);
            if (b < 0) break;
            body[b < (int)sizeof body ? b : (int)sizeof body - 1] = '\0';
            if (!quiet) {
                s_show_progress(body, tty);
                shown = true;
            }
        }
        broker_status = cli_wait(run.broker, 0);
        if (broker_status >= 0 && broker_fd >= 0) {
            close(broker_fd);
            broker_fd = -1;
        }
        /* Killed, not ended: a new broker on the same endpoints resumes the
         * game from the run directory (broker/brk_resume.c); the agents,
         * still up, reconnect with their tokens. */
        if (broker_status > 128 && !stopping && restarts < 3 && cfg->timing != PL_TIMING_REALTIME) {
            char blog[PATH_MAX];
            snprintf(blog, sizeof blog, "%s/broker.%d.log", dir, ++restarts);
            fprintf(stderr, "%sparley run: the broker died (signal %d); resuming (see %s)\n",
                    shown && tty ? "\n" : "", broker_status - 128, blog);
            char *rargv[] = {"parley-broker",
                             "--config",
                             config_json,
                             "--out",
                             dir,
                             "--bind",
                             router_ep,
                             "--pub",
                             pub_ep,
                             "--start-timeout",
                             "20",
                             curve ? "--curve" : NULL,
                             NULL,
                             NULL,
                             NULL,
                             NULL};
            s_ipc_flags(rargv, curve ? 12 : 11, ipc_path, keyless); /* where the seats reconnect */
            /* The port may be held a moment (an agent's socket retrying it):
             * a few attempts, a second apart. */
            for (int attempt = 0; attempt < 5 && broker_status >= 0; attempt++) {
                if (ready_fd >= 0) close(ready_fd);
                ready_fd = -1;
                if (attempt) sleep(1);
                run.broker = cli_spawn(bin, "parley-broker", rargv, &ready_fd, blog, NULL, false);
                if (run.broker > 0 && cli_read_line(ready_fd, line, sizeof line, 20000) == 0)
                    broker_status = -1;
                else if (run.broker > 0)
                    cli_wait(run.broker, 5000);
            }
            if (broker_status >= 0)
                fprintf(stderr, "parley run: the broker did not resume (see %s)\n", blog);
        }
    }
    run.broker = 0;
    if (shown && tty) fprintf(stderr, "\n");
    s_shutdown(&run, 3000);

    snprintf(path, sizeof path, "%s/summary.json", dir);
    summary = json_load_file(path, 0, NULL);
    bool partial = false;
    if (!summary) {
        snprintf(path, sizeof path, "%s/summary.partial.json", dir);
        summary = json_load_file(path, 0, NULL);
        partial = summary != NULL;
    }
    if (!summary) {
        fprintf(stderr, "parley run: the broker left no summary (exit %d, see %s)\n", broker_status,
                broker_log);
        rc = PL_EXIT_FAILED;
        goto done;
    }
    /* % of optimal: perfect play of the same configuration and seed, which the
     * broker computed for its summary (over the rounds played, for a stopped
     * game); computed here only when the summary lacks it. */
    int ceiling_tasks = 0;
    int64_t ceiling;
    json_t *sc = json_object_get(summary, "ceiling");
    if (json_is_integer(json_object_get(sc, "task_revenue"))) {
        ceiling = (int64_t)json_integer_value(json_object_get(sc, "task_revenue"));
        ceiling_tasks = (int)json_integer_value(json_object_get(sc, "tasks"));
    } else {
        ceiling = env_perfect_task_revenue(&cfg->game, &ceiling_tasks);
    }
    long long tasks = (long long)json_integer_value(json_object_get(summary, "tasks"));
    long long task_rev = (long long)json_integer_value(json_object_get(summary, "task_revenue"));
    long long group = (long long)json_integer_value(json_object_get(summary, "group_revenue"));
    char m1[48], m2[48];
    s_money(m1, sizeof m1, group);
    s_money(m2, sizeof m2, (long long)ceiling);
    if (cfg->timing == PL_TIMING_SEQUENTIAL)
        printf("%s%lld tasks, group revenue %s, %.1f%% of optimal (perfect play: %d tasks, %s)\n",
               partial ? "stopped after a partial game: " : "", tasks, m1,
               ceiling > 0 ? 100.0 * (double)task_rev / (double)ceiling : 0.0, ceiling_tasks, m2);
    else /* the ceiling is sequential play: no % for other timing modes */
        printf("%s%lld tasks, group revenue %s (no %% of optimal in %s timing: the ceiling, "
               "%d tasks, is for sequential rounds)\n",
               partial ? "stopped after a partial game: " : "", tasks, m1,
               pl_timing_name(cfg->timing), ceiling_tasks);
    s_print_model_use(dir, cfg);
    printf("run directory: %s\n", dir);
    fflush(stdout);
    rc = partial || broker_status != 0 ? PL_EXIT_FAILED : PL_EXIT_OK;
    goto done;

bad_config:
    fprintf(stderr, "parley run: %s\n", err);
    rc = PL_EXIT_CONFIG;
done:
    cli_launcher_destroy(&launcher);
    s_shutdown(&run, 0);
    /* The broker removes its socket; one that was killed leaves it behind. */
    if (ipc_path[0]) (void)unlink(ipc_path);
    if (run.sub) zmq_close(run.sub);
    if (run.zctx) zmq_ctx_term(run.zctx);
    if (ready_fd >= 0) close(ready_fd);
    free(run.agents);
    free(pending);
    json_decref(seats);
    json_decref(keys);
    json_decref(summary);
    pl_config_destroy(&cfg);
    free(sets);
    return rc;
}
