/* cli_prompt.c: `parley prompt CONFIG --seat ID --round N`, exactly what one
 * seat's model would receive, before any model is paid for.
 *
 * The game of CONFIG is played in-process with perfect agents at every seat up
 * to the seat's turn in round N (llm_preview); the seat's observation is then
 * rendered with its template (`llm.prompt`, the seat's `prompt`, or the paper
 * preset's) and printed with its parts labelled; a conversation (the `cache`
 * prompt) with every message its model would read. */
#include "cli.h"
#include "llm_preview.h"
#include "pl_config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_usage(FILE *f)
{
    fprintf(f, "usage: parley prompt CONFIG --seat ID --round N [--seed S] [--set key=value]...\n"
               "                     [--part system|user] [--data]\n"
               "Prints the prompt seat ID's model would receive at its turn in round N: the game\n"
               "of CONFIG is played with perfect agents at every seat up to that turn, then the\n"
               "seat's observation is rendered with its template (llm.prompt, the seat's prompt,\n"
               "or the paper preset's).\n"
               "  CONFIG   a YAML configuration (\"-\" or \"default\": the built-in paper preset)\n"
               "  --seat   agent_N or N (1-based)\n"
               "  --round  the round, 1 .. simulation.rounds\n"
               "  --seed   the game's seed\n"
               "  --set    override one key, e.g. llm.prompt=clear (repeatable)\n"
               "  --part   print only that part, unlabelled (for diffs and scripts; for a\n"
               "           conversation, user is this turn's message)\n"
               "  --data   print the data the template reads, as JSON (the variables of\n"
               "           docs/LLM.md with this turn's values, new.* included for a\n"
               "           conversation), instead of the prompt\n"
               "Output: a line \"=== system (TEMPLATE) ===\" and the system message (when the\n"
               "template has one), then \"=== user (TEMPLATE) ===\" and the user message. A\n"
               "conversation (llm.prompt=cache) prints every message its model would read,\n"
               "each headed \"=== ROLE, message K of N (TEMPLATE) ===\": the seat's earlier\n"
               "turns, each with the perfect decision kept as its assistant message, then\n"
               "this turn's.\n"
               "Exit status: 0, 2 for a bad option, seat, round or configuration.\n");
}

/* "agent_3" or "3" -> 2; -1 if neither. */
static int s_seat(const char *s)
{
    if (strncmp(s, "agent_", 6) == 0) s += 6;
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > ENV_MAX_AGENTS) return -1;
    return (int)v - 1;
}

int cli_prompt_main(int argc, char **argv)
{
    enum { O_SEAT = 1, O_ROUND, O_SEED, O_SET, O_PART, O_DATA, O_HELP };
    static const struct option opts[] = {
        {"seat", required_argument, NULL, O_SEAT}, {"round", required_argument, NULL, O_ROUND},
        {"seed", required_argument, NULL, O_SEED}, {"set", required_argument, NULL, O_SET},
        {"part", required_argument, NULL, O_PART}, {"data", no_argument, NULL, O_DATA},
        {"help", no_argument, NULL, O_HELP},       {NULL, 0, NULL, 0}};
    const char *seat_arg = NULL, *round_arg = NULL, *seed = NULL, *part = NULL;
    const char **sets = calloc((size_t)argc + 1, sizeof *sets);
    int n_sets = 0, c, status = 2;
    bool want_data = false;
    json_t *data = NULL, *history = NULL;
    pl_config_t *cfg = NULL;
    llm_prompt_t pr = {0};
    char err[1024] = "";
    if (!sets) {
        fprintf(stderr, "parley prompt: out of memory\n");
        return 1;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_SEAT:
            seat_arg = optarg;
            break;
        case O_ROUND:
            round_arg = optarg;
            break;
        case O_SEED:
            seed = optarg;
            break;
        case O_SET:
            sets[n_sets++] = optarg;
            break;
        case O_PART:
            part = optarg;
            break;
        case O_DATA:
            want_data = true;
            break;
        case O_HELP:
        case 'h':
            s_usage(stdout);
            status = 0;
            goto done;
        default:
            s_usage(stderr);
            goto done;
        }
    }
    if (optind != argc - 1 || !seat_arg || !round_arg) {
        fprintf(stderr, "parley prompt: %s\n",
                optind >= argc      ? "a CONFIG is needed"
                : optind < argc - 1 ? "one CONFIG only"
                                    : "--seat and --round are needed");
        s_usage(stderr);
        goto done;
    }
    if (part && strcmp(part, "system") != 0 && strcmp(part, "user") != 0) {
        fprintf(stderr, "parley prompt: --part is system or user, not \"%s\"\n", part);
        goto done;
    }
    const char *path = argv[optind];
    cfg = strcmp(path, "-") == 0 || strcmp(path, "default") == 0
              ? pl_config_default()
              : pl_config_load(path, err, sizeof err);
    if (!cfg) {
        fprintf(stderr, "parley prompt: %s\n", err[0] ? err : "out of memory");
        goto done;
    }
    if (seed) {
        char a[80];
        snprintf(a, sizeof a, "seed=%s", seed);
        if (pl_config_set(cfg, a, err, sizeof err) != 0) goto bad;
    }
    for (int i = 0; i < n_sets; i++)
        if (pl_config_set(cfg, sets[i], err, sizeof err) != 0) goto bad;
    int seat = s_seat(seat_arg);
    if (seat < 0 || seat >= cfg->game.n_agents) {
        fprintf(stderr, "parley prompt: --seat %s: no such seat (agent_1 .. agent_%d)\n", seat_arg,
                cfg->game.n_agents);
        goto done;
    }
    char *end;
    long round = strtol(round_arg, &end, 10);
    if (!*round_arg || *end || round < 1 || round > cfg->game.rounds) {
        fprintf(stderr, "parley prompt: --round %s: not a round of this game (1 .. %d)\n",
                round_arg, cfg->game.rounds);
        goto done;
    }
    const char *spec = NULL;
    if (llm_preview(cfg, seat, (int)round, &pr, &spec, want_data ? &data : NULL, &history, err,
                    sizeof err) != 0)
        goto bad;
    if (data) {
        if (json_dumpf(data, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) != 0) {
            perror("parley prompt: stdout");
            status = 1;
            goto done;
        }
        putchar('\n');
    } else if (part) {
        const char *text = strcmp(part, "system") == 0 ? pr.system : pr.user;
        fputs(text ? text : "", stdout);
    } else if (history) {
        /* A conversation: every message the model reads, in order. */
        if (pr.system) printf("=== system (%s) ===\n%s\n", spec, pr.system);
        size_t i, n = json_array_size(history);
        json_t *m;
        json_array_foreach(history, i, m)
        {
            const char *role = json_string_value(json_object_get(m, "role"));
            const char *text = json_string_value(json_object_get(m, "content"));
            printf("=== %s, message %zu of %zu%s (%s) ===\n%s%s", role ? role : "?", i + 1, n,
                   i + 1 == n ? ", this turn" : "", spec, text ? text : "", i + 1 < n ? "\n" : "");
        }
    } else {
        if (pr.system) printf("=== system (%s) ===\n%s\n", spec, pr.system);
        printf("=== user (%s) ===\n%s", spec, pr.user ? pr.user : "");
    }
    if (fflush(stdout) != 0) {
        perror("parley prompt: stdout");
        status = 1;
        goto done;
    }
    status = 0;
    goto done;
bad:
    fprintf(stderr, "parley prompt: %s\n", err);
done:
    json_decref(data);
    json_decref(history);
    llm_prompt_clear(&pr);
    pl_config_destroy(&cfg);
    free(sets);
    return status;
}
