/* fake_play.h: the players of parley-fake-llm, a prompt in, a decision out. */
#ifndef FAKE_PLAY_H
#define FAKE_PLAY_H

#include <jansson.h>
#include <stdbool.h>

/* The perfect agent's decision for a prompt of the clear or the paper template:
 * {"actions": [...], "private_thoughts": "..."}.
 * The caller owns the result. */
json_t *fake_play_json(const char *prompt);

/* The decision as reply text: fenced as chat models write it, or bare JSON.
 * The caller frees the result. */
char *fake_play_text(json_t *d, bool bare);

#endif
