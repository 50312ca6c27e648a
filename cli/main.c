/* parley: the front door. `parley COMMAND ...`; each command lives in its own
 * file (cli_<command>.c) and is listed in the table below, one line each.
 * Conventions shared by every command (--help, exit statuses): docs/CLI.md. */
#include "cli.h"
#include "cli_compose.h"
#include "pl_meta.h"

#ifdef PARLEY_HAVE_ANALYSIS
#include "ana_report.h"
#include "ana_sweep.h"
#endif

#include <stdio.h>
#include <string.h>

static const cli_command_t s_commands[] = {
    {"run", "play one game: a broker and one process per seat (parley run [CONFIG])", cli_run_main},
    {"prompt",
     "what one seat's model would read at a turn (parley prompt CONFIG --seat ID --round N)",
     cli_prompt_main},
    {"replay", "check a run's record against the engine (parley replay RUN_DIR...)",
     cli_replay_main},
    {"fork", "play on from round K of a run with a change (parley fork RUN_DIR --round K)",
     cli_fork_main},
#ifdef PARLEY_HAVE_ANALYSIS
    {"sweep", "run conditions x seeds, resumable, then tables and a report (parley sweep FILE)",
     ana_sweep_main},
    {"report", "tables and an HTML report from run directories (parley report DIR...)",
     ana_report_main},
#endif
    {"session", "a human-subject session: links, lobby, consent, games, dropouts (parley session)",
     cli_session_main},
    {"keygen", "CURVE keypairs for a study on a shared network (parley keygen NAME...)",
     cli_keygen_main},
    {"compose", "a compose project for one game on one host (parley compose [CONFIG])",
     cli_compose_main},
    {"kube", "Kubernetes manifests, or Pods for podman kube play (parley kube [CONFIG])",
     cli_kube_main},
};

static void s_usage(FILE *f)
{
    fprintf(f, "usage: parley COMMAND [ARGS]\n       parley --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf(f, "  %-8s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf(f, "\n`parley COMMAND --help` for the options of one command.\n"
               "Exit status: 0 done, 1 not everything completed (a stopped game, a failed run),\n"
               "2 bad usage, 3 a configuration refused, 4 a system error (docs/CLI.md).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        s_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? PL_EXIT_USAGE : PL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        pl_meta_print_version(stdout, "parley");
        return PL_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0) return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "parley: unknown command '%s'\n", argv[1]);
    s_usage(stderr);
    return PL_EXIT_USAGE;
}
