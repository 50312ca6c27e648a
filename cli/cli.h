/* cli.h: the `parley` front door. Each command is one file (cli_run.c, and
 * later cli_sweep.c, cli_report.c, cli_replay.c) exporting one entry point with
 * the signature below; main.c holds the table. */
#ifndef PARLEY_CLI_H
#define PARLEY_CLI_H

/* A command: argv[0] is the command's name. Returns the process exit status. */
typedef int (*cli_command_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    const char *summary;
    cli_command_fn run;
} cli_command_t;

int cli_run_main(int argc, char **argv);
int cli_prompt_main(int argc, char **argv);
int cli_replay_main(int argc, char **argv);  /* cli_replay.c */
int cli_fork_main(int argc, char **argv);    /* cli_fork.c */
int cli_session_main(int argc, char **argv); /* cli_session.c */
int cli_keygen_main(int argc, char **argv);  /* cli_keygen.c */

#endif
