/* cli_proc.h: starting and stopping the sibling programs (parley-broker,
 * parley-agent) from the front door. */
#ifndef PARLEY_CLI_PROC_H
#define PARLEY_CLI_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The directory of the parley programs: $PARLEY_BIN, else the directory of
 * this executable (/proc/self/exe). Returns 0 or -1. */
int cli_bin_dir(char *out, size_t outlen);

/* Starts bin_dir/prog with argv (argv[0] included, NULL-terminated) in its own
 * process group, dying with its parent. stdout goes to *out_fd (a pipe) when
 * out_fd is not NULL, else to /dev/null; stderr is appended to log_path (or
 * inherited when NULL); env_extra ("NAME=value" lines, or NULL) is added to the
 * environment. An interactive child (a human seat) keeps the terminal: stdin,
 * stdout and the foreground process group. Returns the pid, or -1. */
pid_t cli_spawn(const char *bin_dir, const char *prog, char *const argv[], int *out_fd,
                const char *log_path, const char *env_extra, bool interactive);

/* Reads one line from fd within timeout_ms into buf (newline stripped).
 * Returns 0, or -1 on timeout, end of file or error. */
int cli_read_line(int fd, char *buf, size_t buflen, int timeout_ms);

/* A pidfd of child pid (readable once it has exited), for a poll set; the
 * caller closes it. Returns -1 where the kernel has none. */
int cli_pidfd(pid_t pid);

/* Waits up to timeout_ms for pid; returns its exit status (0-255, 128+signal),
 * or -1 if it is still running. */
int cli_wait(pid_t pid, int timeout_ms);

/* The seat launcher (`parley-agent --launcher`, agent/agt_launcher.h): one
 * loaded process that forks seats on request, so that a seat costs a fork, not
 * an exec and a dynamic load. Makes this process a child subreaper (the seats
 * become its children, for cli_wait), then starts bin_dir/parley-agent
 * --launcher with its stderr appended to log_path. Returns an owned launcher,
 * or NULL (then start seats with cli_spawn). */
typedef struct cli_launcher cli_launcher_t;
cli_launcher_t *cli_launcher_new(const char *bin_dir, const char *log_path);

/* Starts a seat through the launcher, as cli_spawn would (non-interactive):
 * argv, stderr appended to log_path, env_extra's "NAME=value" lines added.
 * The seat is this process's child. Returns its pid, or -1 (the launcher
 * refused or is gone: cli_spawn still works), with a reason in err. */
pid_t cli_launcher_spawn(cli_launcher_t *l, char *const argv[], const char *log_path,
                         const char *env_extra, char *err, size_t errlen);

/* cli_launcher_spawn in two halves, so that requests can run ahead of the
 * replies: send asks for a seat (0, or -1 with a reason); recv returns the
 * pid of the oldest seat asked for and not yet answered (or -1, a reason).
 * Keep fewer than a few thousand requests unanswered: the replies wait in
 * a pipe. */
int cli_launcher_send(cli_launcher_t *l, char *const argv[], const char *log_path,
                      const char *env_extra, char *err, size_t errlen);
pid_t cli_launcher_recv(cli_launcher_t *l, char *err, size_t errlen);

/* Ends the launcher (its seats go on) and waits for it. NULL-safe. */
void cli_launcher_destroy(cli_launcher_t **l);

#endif
