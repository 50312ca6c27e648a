/* agt_launcher.h: `parley-agent --launcher`, a seat launcher for `parley run`
 * (docs/CLI.md "Seat launcher").
 *
 * Starting a seat with exec costs the dynamic loader, two dozen libraries and
 * their initialisation, every time. The launcher pays that once: `parley run`
 * starts it, then asks it for one seat at a time on its stdin, and it forks a
 * child per seat that runs the seat's main directly. Each seat is still its own
 * process, with its own log (stderr), environment (token, CURVE keys), pid and
 * socket; it is made a child of `parley run` itself (forked by a go-between
 * that then exits, under a child subreaper), so that `parley run` supervises it as it does an
 * exec'd seat: waits on it, reads its exit status, stops it. The launcher never creates a ZeroMQ
 * context or an event loop: each seat makes its own after the fork (libzmq is not fork-safe).
 *
 * Requests, one a line on stdin, fields separated by tabs:
 *   LOG \t ARGV0 \t ARGV1 ... \t (empty field) \t NAME=VALUE \t ...
 * Reply, one line on stdout: the seat's pid, or "0 REASON". EOF ends it.
 */
#ifndef PARLEY_AGT_LAUNCHER_H
#define PARLEY_AGT_LAUNCHER_H

/* A seat's main: parses argv (getopt from optind 1) and plays; its return is
 * the seat's exit status. */
typedef int (*agt_seat_main_fn)(int argc, char **argv);

/* Called in the launcher before each seat is forked, with the seat's argv:
 * whatever it loads there (a configuration) the seat inherits, loaded once
 * for all seats. May be NULL. */
typedef void (*agt_seat_prepare_fn)(int argc, char **argv);

/* Serves requests from stdin until EOF; returns the launcher's exit status
 * (0 at EOF, 2 when it is not a child of a subreaper and cannot hand seats
 * over). Never returns in a seat: the child exits with seat_main's status. */
int agt_launcher_run(agt_seat_main_fn seat_main, agt_seat_prepare_fn prepare);

#endif
