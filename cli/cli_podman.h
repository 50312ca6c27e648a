/* cli_podman.h: the scripts of `parley kube --target podman` (cli_kube.c
 * renders the Pods). play.sh tears the last play down first (a failed play
 * leaves pods behind), creates the networks compose would (one internal
 * network per seat, one per llm seat's model, `front` for the broker's web
 * side) and the secrets, then plays each pod's file on its own networks;
 * teardown.sh removes pods, secrets and networks (--volumes: the runs too). */
#ifndef PARLEY_CLI_PODMAN_H
#define PARLEY_CLI_PODMAN_H

#include "cli_game.h"

#include <jansson.h>
#include <stdbool.h>

/* Writes out/play.sh and out/teardown.sh (mode 0755) for the game g rendered
 * with object prefix name; secret_names lists the podman secrets (files
 * out/secrets/NAME.json). Returns 0, or -1 (errno set). */
int cli_podman_scripts(const cli_game_t *g, const char *name, const char *run_id, bool fake_llm,
                       const char *out, const json_t *secret_names);

#endif
