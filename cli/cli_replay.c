/* cli_replay.c: `parley replay RUN_DIR...` checks that a run directory's
 * record is what the engine does with the recorded decisions (DESIGN.md
 * "cli/"). The broker's own replay (broker/brk_resume.c) does the work: the
 * game is rebuilt from the seed, every recorded decision applied again, every
 * effect compared with its line, then the summary. */
#include "brk_server.h"
#include "cli.h"
#include "pl_log.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: parley replay RUN_DIR... [--quiet]\n"
            "\n"
            "Rebuilds each run's game from its events.jsonl: the world from the seed in\n"
            "config.json, then every recorded decision (and every missed turn) applied\n"
            "again through the engine, in the recorded order. Every event the engine and\n"
            "the broker emit is compared with the next recorded line, apart from timing\n"
            "fields (t_ms, rtt_us, think_s, calls) and connection events (seat_joined,\n"
            "seat_lost, seat_left, run_resumed). For a finished game the summary is\n"
            "recomputed and compared with summary.json. An unfinished run is checked as far\n"
            "as it goes.\n"
            "\n"
            "Sequential and simultaneous games (a simultaneous round's decisions are applied in\n"
            "their recorded arrival order); realtime games follow the clock and are refused.\n"
            "\n"
            "  --quiet   print only differences\n"
            "\n"
            "Exit status: 0 every run agrees; 1 a run differs (the first differing event is\n"
            "named as FILE:LINE); 2 bad usage or a run directory that cannot be read.\n");
}

int cli_replay_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool quiet = false;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'q':
            quiet = true;
            break;
        case 'h':
            s_usage(stdout);
            return 0;
        default:
            s_usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        s_usage(stderr);
        return 2;
    }
    pl_log_set_level("warn");
    int worst = 0;
    for (int i = optind; i < argc; i++) {
        char err[2048] = "", note[256] = "";
        int rc = brk_replay_check(argv[i], err, sizeof err, note, sizeof note);
        if (rc == 0) {
            if (!quiet) printf("%s: ok, %s\n", argv[i], note);
        } else {
            fprintf(stderr, "parley replay: %s\n", err[0] ? err : argv[i]);
            int code = rc > 0 ? 1 : 2;
            if (code > worst) worst = code;
        }
    }
    return worst;
}
