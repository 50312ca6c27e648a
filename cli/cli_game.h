/* cli_game.h: one game made ready for containers, shared by `parley compose`
 * and `parley kube`: the resolved configuration (file or built-in default,
 * then --seed and --set, checked as `parley run` checks it), a fresh random
 * token per seat, and each seat's secrets (its token, and an llm seat's API
 * key read from this process's environment, never written into a manifest). */
#ifndef PARLEY_CLI_GAME_H
#define PARLEY_CLI_GAME_H

#include "pl_config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cli_game cli_game_t;

/* Loads and checks the configuration (config_path NULL: the paper preset),
 * applies seed (may be NULL) and the n_sets overrides, draws the tokens.
 * Returns an owned object, or NULL with "FILE:LINE: ..." or another sentence
 * in err. */
cli_game_t *cli_game_new(const char *config_path, const char *seed, char *const *sets, int n_sets,
                         char *err, size_t errlen);
void cli_game_destroy(cli_game_t **g);

const pl_config_t *cli_game_config(const cli_game_t *g);
int cli_game_seats(const cli_game_t *g);
/* "agent_N" for seat i (0-based). */
const char *cli_game_seat(const cli_game_t *g, int i);
/* The seat's policy name ("passive" when unset). */
const char *cli_game_policy(const cli_game_t *g, int i);
bool cli_game_is_llm(const cli_game_t *g, int i);
const char *cli_game_token(const cli_game_t *g, int i);
/* Points llm seat i at another endpoint (a fake model beside it). 0 or -1. */
int cli_game_set_base_url(cli_game_t *g, int i, const char *url);
/* A new object with the seat's secret variables: PARLEY_TOKEN and, for an
 * llm seat, its api_key_env variable. NULL when out of memory. */
json_t *cli_game_seat_env(const cli_game_t *g, int i);
/* A new object TOKEN_agent_N -> token and CURVE_PUBLIC_agent_N -> public key
 * for every seat, PARLEY_CURVE_BROKER_SECRET and PARLEY_EXPERIMENTER_TOKEN
 * (the broker's; docs/SECURITY.md). */
json_t *cli_game_broker_env(const cli_game_t *g);
/* The resolved configuration as JSON (which parley's YAML loader reads). */
json_t *cli_game_config_json(const cli_game_t *g);

/* The options `parley compose` and `parley kube` share, with their defaults
 * set by the caller: -o/--out, -s/--seed, -S/--set (sets holds argc slots),
 * -i/--image, -p/--port, -t/--start-timeout, -F/--fake-llm, -f/--force. */
typedef struct cli_deploy_opts {
    const char *out, *seed, *image, *start_timeout;
    int port;
    bool fake_llm, force;
    char **sets;
    int n_sets;
} cli_deploy_opts_t;

/* Takes one getopt_long() result: 1 when it was a shared option (stored in o),
 * 0 when it is not one of them, -1 for a bad value (said on stderr, prefixed
 * with cmd, "parley compose"). */
int cli_deploy_opt(cli_deploy_opts_t *o, int opt, const char *arg, const char *cmd);

/* An object name for Kubernetes or podman (DNS-1123): prefix-what with '_'
 * made '-' ("parley", "agent_3" -> "parley-agent-3"), cut to len. */
void cli_game_object_name(char *out, size_t len, const char *prefix, const char *what);
/* snprintf into a PATH_MAX buffer; a path that does not fit is an error
 * (-1, errno ENAMETOOLONG), else 0. */
__attribute__((format(printf, 2, 3))) int cli_path(char *path, const char *fmt, ...);
/* Writes an env file NAME=value per key of obj, mode 0600. 0 or -1. */
int cli_write_env_file(const char *path, const json_t *obj);
/* Writes a whole text file with the given mode. 0 or -1 (errno set). */
int cli_write_file(const char *path, const char *text, int mode);

#endif
