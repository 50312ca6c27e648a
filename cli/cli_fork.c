/* cli_fork.c: `parley fork RUN_DIR --round K [--set key=value]... [--seat
 * agent_N=POLICY]...`: a counterfactual. A new run directory starts from the
 * state of RUN_DIR's game at the start of round K (everything before K as
 * recorded), with what was asked changed from round K on, and is played on by
 * live seats (parley run on the new directory).
 *
 * How: the new directory gets the changed configuration and the source's
 * record up to round K's start, whose run_start says it is a fork (source,
 * round, changes, the source's configuration). The broker resumes it like
 * any interrupted game (broker/brk_resume.c): it replays the copied rounds
 * under the source's rules, checking every effect, switches to the new rules
 * as round K begins, and goes live. */
#include "brk_rundir.h"
#include "cli.h"
#include "cli_proc.h"
#include "env.h"
#include "pl_config.h"
#include "pl_policy.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_usage(FILE *f)
{
    fprintf(
        f,
        "usage: parley fork RUN_DIR --round K [--set key=value]... [--seat agent_N=POLICY]...\n"
        "                   [--out DIR] [--quiet]\n"
        "\n"
        "Plays a counterfactual: a new run that starts from RUN_DIR's game as it stood at\n"
        "the start of round K, with the changes below applied from round K on, played on\n"
        "by live seats. Rounds 1..K-1 are RUN_DIR's, event for event (checked while the\n"
        "new run rebuilds them). The new run's run_start records the fork: source run,\n"
        "round and changes.\n"
        "\n"
        "  --round K   the first round played under the changes (1 = the whole game)\n"
        "  --set       change a configuration key, e.g. revenue.information_sharing=1000\n"
        "              (repeatable). Keys that shape the world cannot change: seed,\n"
        "              simulation.agents, information.*, tasks.*, agent_types, timing.mode.\n"
        "  --seat      play a seat with another policy, e.g. agent_3=llm (repeatable; one of\n"
        "              %s); other keys of a seat: --set seats=...\n"
        "  --out DIR   the new run directory (default RUN_DIR-fork-rK, numbered if taken)\n"
        "  --quiet     no progress, only the result\n"
        "\n"
        "Sequential and simultaneous games (not realtime). Exit status: as parley run; 2 for a\n"
        "fork that cannot be made.\n",
        pl_policy_names());
}

/* Copies the source record up to round K's start into out, with a run_start
 * marking the fork. Returns 0, or -1 with a sentence in err. */
static int s_write_record(const char *src_dir, const char *dir, int round, json_t *changes,
                          const json_t *new_config, char *err, size_t errlen)
{
    char in_path[PATH_MAX], out_path[PATH_MAX];
    if (snprintf(in_path, sizeof in_path, "%s/events.jsonl", src_dir) >= (int)sizeof in_path ||
        snprintf(out_path, sizeof out_path, "%s/events.jsonl", dir) >= (int)sizeof out_path) {
        snprintf(err, errlen, "a run directory's path is too long");
        return -1;
    }
    FILE *in = fopen(in_path, "r");
    if (!in) {
        snprintf(err, errlen, "%.900s: %s", in_path, strerror(errno));
        return -1;
    }
    FILE *out = fopen(out_path, "wx");
    if (!out) {
        snprintf(err, errlen, "%.900s: %s", out_path, strerror(errno));
        fclose(in);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = -1;
    bool reached = false;
    while ((len = getline(&line, &cap, in)) > 0) {
        lineno++;
        json_t *ev = json_loadb(line, (size_t)len, 0, NULL);
        if (!ev) {
            snprintf(err, errlen, "%.900s:%d: not a JSON event", in_path, lineno);
            goto done;
        }
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type && strcmp(type, "round_start") == 0 &&
            json_integer_value(json_object_get(ev, "round")) == round) {
            json_decref(ev);
            reached = true;
            break;
        }
        if (lineno == 1) {
            if (!type || strcmp(type, "run_start") != 0) {
                json_decref(ev);
                snprintf(err, errlen, "%.900s:1: not a run_start", in_path);
                goto done;
            }
            /* A fork is a game of its own: its own id; the source's is kept. */
            char gid[17];
            json_t *fork =
                json_pack("{s:s, s:O?, s:i, s:O, s:O}", "source", src_dir, "source_game_id",
                          json_object_get(ev, "game_id"), "round", round, "changes", changes,
                          "source_config", json_object_get(ev, "config"));
            if (brk_random_hex(gid, 8) != 0) gid[0] = '\0';
            if (!fork || !gid[0] || json_object_set_new(ev, "game_id", json_string(gid)) != 0 ||
                json_object_set_new(ev, "fork", fork) != 0 ||
                json_object_set(ev, "config", (json_t *)new_config) != 0) {
                json_decref(ev);
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            char *text = json_dumps(ev, JSON_COMPACT);
            json_decref(ev);
            if (!text || fprintf(out, "%s\n", text) < 0) {
                free(text);
                snprintf(err, errlen, "%.900s: cannot write", out_path);
                goto done;
            }
            free(text);
            continue;
        }
        json_decref(ev);
        if (fwrite(line, 1, (size_t)len, out) != (size_t)len) {
            snprintf(err, errlen, "%.900s: cannot write", out_path);
            goto done;
        }
    }
    if (!reached) {
        snprintf(err, errlen, "%.900s: the game never reached round %d", in_path, round);
        goto done;
    }
    rc = 0;
done:
    free(line);
    fclose(in);
    if (fclose(out) != 0 && rc == 0) {
        snprintf(err, errlen, "%.900s: cannot write", out_path);
        rc = -1;
    }
    return rc;
}

int cli_fork_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"round", required_argument, NULL, 'r'},
                                             {"set", required_argument, NULL, 'S'},
                                             {"seat", required_argument, NULL, 'e'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int round = 0, opt, rc = 2;
    const char *out = NULL;
    bool quiet = false;
    char err[1024] = "";
    json_t *changes = json_array();
    const char **sets = calloc((size_t)argc, sizeof *sets),
               **seats = calloc((size_t)argc, sizeof *seats);
    int n_sets = 0, n_seats = 0;
    pl_config_t *src = NULL, *cfg = NULL;
    env_game_t *probe = NULL;
    json_t *cj = NULL;
    if (!changes || !sets || !seats) goto fail;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "r:S:e:o:qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'r':
            round = atoi(optarg);
            break;
        case 'S':
            sets[n_sets++] = optarg;
            break;
        case 'e':
            seats[n_seats++] = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'h':
            s_usage(stdout);
            rc = 0;
            goto fail;
        default:
            s_usage(stderr);
            goto fail;
        }
    }
    if (optind + 1 != argc || round < 1) {
        s_usage(stderr);
        goto fail;
    }
    const char *src_dir = argv[optind];
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/config.json", src_dir) >= (int)sizeof path) {
        snprintf(err, sizeof err, "RUN_DIR: the path is too long");
        goto bad;
    }
    src = pl_config_load(path, err, sizeof err);
    cfg = src ? pl_config_dup(src) : NULL;
    if (!cfg) goto bad;
    if (src->timing == PL_TIMING_REALTIME) {
        snprintf(err, sizeof err,
                 "%.900s: a realtime game cannot be forked (its turns follow the clock)", src_dir);
        goto bad;
    }
    if (round > src->game.rounds) {
        snprintf(err, sizeof err, "--round %d: the game has %d rounds", round, src->game.rounds);
        goto bad;
    }
    for (int i = 0; i < n_sets; i++) {
        if (pl_config_set(cfg, sets[i], err, sizeof err) != 0) goto bad;
        json_array_append_new(changes, json_string(sets[i]));
    }
    for (int i = 0; i < n_seats; i++) {
        int n = 0, at = 0;
        const char *eq = strchr(seats[i], '=');
        if (sscanf(seats[i], "agent_%d%n", &n, &at) != 1 || !eq || seats[i] + at != eq || n < 1 ||
            n > cfg->n_seats) {
            snprintf(err, sizeof err, "--seat %s: expected agent_N=POLICY with N in 1..%d",
                     seats[i], cfg->n_seats);
            goto bad;
        }
        if (!pl_policy_find(eq + 1)) {
            snprintf(err, sizeof err, "--seat %s: unknown policy \"%s\" (one of %s)", seats[i],
                     eq + 1, pl_policy_names());
            goto bad;
        }
        char *p = strdup(eq + 1);
        if (!p) goto bad;
        free(cfg->seats[n - 1].policy);
        cfg->seats[n - 1].policy = p;
        char change[128];
        snprintf(change, sizeof change, "seat %s", seats[i]);
        json_array_append_new(changes, json_string(change));
    }
    if (cfg->timing != src->timing) {
        snprintf(err, sizeof err, "timing.mode cannot change in a fork");
        goto bad;
    }
    /* The same check the broker makes when round K begins, made now. */
    int ierr = 0;
    probe = env_game_new(&src->game, NULL, NULL, &ierr);
    if (!probe || env_game_reconfigure(probe, &cfg->game, err, sizeof err) != ENV_OK) {
        if (!probe) snprintf(err, sizeof err, "%s", env_strerror(ierr));
        goto bad;
    }

    char dir[PATH_MAX];
    if (out)
        snprintf(dir, sizeof dir, "%.*s", (int)sizeof dir - 32, out);
    else {
        int w = (int)sizeof dir - 32; /* room for the suffix */
        snprintf(dir, sizeof dir, "%.*s-fork-r%d", w, src_dir, round);
        for (int k = 2; access(dir, F_OK) == 0 && k < 100; k++)
            snprintf(dir, sizeof dir, "%.*s-fork-r%d-%d", w, src_dir, round, k);
    }
    if (mkdir(dir, 0755) != 0) {
        snprintf(err, sizeof err, "%.900s: %s", dir, strerror(errno));
        goto bad;
    }
    cj = pl_config_to_json(cfg);
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path) {
        snprintf(err, sizeof err, "--out: the path is too long");
        goto bad;
    }
    if (!cj || json_dump_file(cj, path, JSON_INDENT(2)) != 0) {
        snprintf(err, sizeof err, "%.900s: cannot write", path);
        goto bad;
    }
    if (s_write_record(src_dir, dir, round, changes, cj, err, sizeof err) != 0) goto bad;
    if (!quiet) fprintf(stderr, "fork of %s at round %d: %s\n", src_dir, round, dir);

    /* Played on like any run: parley run resumes the record it finds. */
    char bin[PATH_MAX], prog[PATH_MAX + 16];
    if (cli_bin_dir(bin, sizeof bin) != 0) {
        snprintf(err, sizeof err, "cannot find the parley programs (set PARLEY_BIN)");
        goto bad;
    }
    snprintf(prog, sizeof prog, "%.*s/parley", (int)sizeof bin - 1, bin);
    char *rargv[] = {prog, "run", path, "--out", dir, quiet ? "--quiet" : NULL, NULL};
    env_game_destroy(&probe);
    json_decref(cj);
    json_decref(changes);
    pl_config_destroy(&src);
    pl_config_destroy(&cfg);
    free(sets);
    free(seats);
    fflush(NULL);
    execv(prog, rargv);
    fprintf(stderr, "parley fork: %s: %s\n", prog, strerror(errno));
    return 2;
bad:
    fprintf(stderr, "parley fork: %s\n", err[0] ? err : "out of memory");
fail:
    env_game_destroy(&probe);
    json_decref(cj);
    json_decref(changes);
    pl_config_destroy(&src);
    pl_config_destroy(&cfg);
    free(sets);
    free(seats);
    return rc;
}
