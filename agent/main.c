/* parley-agent: plays one seat of a game served by parley-broker.
 *
 *   parley-agent --broker tcp://HOST:PORT --seat agent_3 --token T
 *                --policy perfect|passive|selfish|helper|random|llm|human
 *                [--config FILE] [--observation delta|full] [--log-level L]
 *
 * The token may also come from the environment (PARLEY_TOKEN), which keeps it
 * out of `ps`. Exit status: 0 the game ended, 1 stopped by a signal, 2 refused
 * or bad usage.
 *
 * Built twice: parley-agent plays scripted and human seats and links no llm
 * code (no libcurl, TLS or Kerberos to load at every start); asked for
 * `--policy llm` it becomes parley-agent-llm from its own directory (exec,
 * same arguments). parley-agent-llm (AGT_WITH_LLM) plays every policy.
 *
 *   parley-agent --launcher
 *
 * is the seat launcher of `parley run` (agt_launcher.h): loaded once, it forks
 * one seat process per request on stdin, each running s_seat_main below. */
#include "agt_agent.h"
#include "agt_launcher.h"
#include "pl_log.h"
#include "pl_meta.h"

#ifdef AGT_WITH_LLM
#include "llm_policy.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef AGT_WITH_LLM
/* Replaces this process with parley-agent-llm beside this executable; returns
 * only on failure, with the reason in err. */
static void s_exec_llm(char **argv, char *err, size_t errlen)
{
    char self[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot find this executable: %s", strerror(errno));
        return;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(path, sizeof path, "%s/parley-agent-llm", self);
    execv(path, argv);
    snprintf(err, errlen, "the llm policy is played by %s: %s", path, strerror(errno));
}
#endif

/* The configuration the launcher loaded for its seats (s_seat_prepare), and
 * the names of the world it makes (agt_names.h). */
static pl_config_t *s_preloaded;
static char s_preloaded_path[PATH_MAX];
static agt_names_t *s_preloaded_names;

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: parley-agent --broker tcp://HOST:PORT --seat agent_N --token T\n"
            "                    --policy perfect|passive|selfish|helper|random|llm|human\n"
            "                    [--config FILE] [--observation delta|full]\n"
            "                    [--log-level debug|info|warn] [--version]\n"
            "       parley-agent --launcher   (parley run's seat launcher: one seat per\n"
            "                    request line on stdin, docs/CLI.md \"Seat launcher\")\n"
            "  --token  the seat's secret (seats.json of the run directory); without it the\n"
            "           token is read from the environment variable PARLEY_TOKEN, which keeps\n"
            "           it out of `ps` (parley run passes it that way)\n"
            "  --observation  delta (the default): the broker sends each turn only what\n"
            "           changed since the last one, and the whole observation on join and\n"
            "           reconnect; full: the whole observation every turn, as older clients\n"
            "           get it. PARLEY_OBSERVATION in the environment stands in for the option\n");
}

static int s_seat_main(int argc, char **argv)
{
    agt_options_t o = {0};
    const char *config_path = NULL, *observation = getenv("PARLEY_OBSERVATION");
    static const struct option longopts[] = {
        {"broker", required_argument, NULL, 'b'},      {"seat", required_argument, NULL, 's'},
        {"token", required_argument, NULL, 't'},       {"policy", required_argument, NULL, 'p'},
        {"config", required_argument, NULL, 'c'},      {"log-level", required_argument, NULL, 'l'},
        {"observation", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},           {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "b:s:t:p:c:l:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            o.broker = optarg;
            break;
        case 's':
            o.seat = optarg;
            break;
        case 't':
            o.token = optarg;
            break;
        case 'p':
            o.policy = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'o':
            observation = optarg;
            break;
        case 'l':
            if (pl_log_set_level(optarg) != 0) {
                fprintf(stderr, "parley-agent: unknown log level '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        case 'V':
            pl_meta_print_version(stdout, "parley-agent");
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
#ifdef AGT_WITH_LLM
    agt_policy_register(&agt_llm_ops);
#else
    if (o.policy && strcmp(o.policy, "llm") == 0) {
        char why[PATH_MAX + 128];
        s_exec_llm(argv, why, sizeof why);
        fprintf(stderr, "parley-agent: %s\n", why);
        return 2;
    }
#endif
    if (observation && *observation && strcmp(observation, "delta") != 0) {
        if (strcmp(observation, "full") != 0) {
            fprintf(stderr, "parley-agent: --observation is delta or full, not '%s'\n",
                    observation);
            return 2;
        }
        o.observation_full = true;
    }
    if (!o.token) o.token = getenv("PARLEY_TOKEN");
    if (!o.broker || !o.seat || !o.token || !o.policy) {
        s_usage(stderr);
        return 2;
    }
    char err[512] = "";
    pl_config_t *cfg = NULL;
    if (config_path && s_preloaded && strcmp(config_path, s_preloaded_path) == 0) {
        o.config = s_preloaded; /* the launcher's, shared with every seat it forked */
        o.names_hint = s_preloaded_names;
    } else if (config_path) {
        cfg = pl_config_load(config_path, err, sizeof err);
        if (!cfg) {
            fprintf(stderr, "parley-agent: %s\n", err);
            return 2;
        }
        o.config = cfg;
    }
    o.config_borrowed = true; /* it lives until the agent is gone */
    agt_agent_t *a = agt_agent_new(&o, err, sizeof err);
    if (!a) {
        fprintf(stderr, "parley-agent: %s\n", err);
        pl_config_destroy(&cfg);
        return 2;
    }
    int rc = agt_agent_run(a);
    agt_agent_destroy(&a);
    pl_config_destroy(&cfg);
    return rc;
}

/* In the launcher, before a seat is forked: its --config, loaded once for
 * every seat that names the same file (a bad file is left to the seat, which
 * reports it in its own log). */
static void s_seat_prepare(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--config") != 0) continue;
        if (s_preloaded && strcmp(argv[i + 1], s_preloaded_path) == 0) return;
        char err[512];
        pl_config_destroy(&s_preloaded);
        agt_names_destroy(&s_preloaded_names);
        s_preloaded = pl_config_load(argv[i + 1], err, sizeof err);
        snprintf(s_preloaded_path, sizeof s_preloaded_path, "%s", argv[i + 1]);
        /* The broker builds its world from the same file: its names, built
         * once here, are every seat's (checked against each Welcome). */
        if (s_preloaded) s_preloaded_names = agt_names_new(&s_preloaded->game);
        return;
    }
}

int main(int argc, char **argv)
{
    /* A seat is small and mostly idle, and a thousand of them share a machine:
     * one malloc arena (libzmq's I/O thread would get its own, 64 MiB reserved
     * and partly touched), and a fixed mmap threshold, so that a big
     * observation's buffers go back to the system when freed instead of
     * raising the threshold and staying in the heap; and the heap's free top
     * returned past 32 KiB, not 128. Hints only: a sanitizer's allocator refuses them (returns 0),
     * and the seat works the same, with more memory. */
    (void)mallopt(M_ARENA_MAX, 1);
    (void)mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    (void)mallopt(M_TRIM_THRESHOLD, 32 * 1024);
    (void)mallopt(M_TOP_PAD, 16 * 1024);
    if (argc == 2 && strcmp(argv[1], "--launcher") == 0) {
        prctl(PR_SET_NAME, "parley-launcher", 0, 0, 0); /* apart from its seats in ps */
        int rc = agt_launcher_run(s_seat_main, s_seat_prepare);
        agt_names_destroy(&s_preloaded_names);
        pl_config_destroy(&s_preloaded);
        return rc;
    }
    return s_seat_main(argc, argv);
}
