/* llm_parse.h: a model's reply text -> a decision of the game.
 *
 * Models wrap their JSON in reasoning blocks (<think>...</think>), markdown
 * fences and chatter. The parser strips those, takes the first balanced JSON
 * value that reads as a decision ({"actions": [...], "private_thoughts": "..."},
 * one action object, or a bare list of actions), and turns each action into an
 * env_decision_t entry. An item that cannot be an action is dropped with a
 * reason; the environment judges the rest. Never crashes on any bytes. */
#ifndef PARLEY_LLM_PARSE_H
#define PARLEY_LLM_PARSE_H

#include "env.h"

#include <stddef.h>

/* Receives each dropped item: its raw JSON (or text) and why. */
typedef void (*llm_drop_fn)(void *arg, const char *raw, const char *reason);

/* Parses text[0..len) into d (cleared first; private thoughts included).
 * Returns the number of actions kept (>= 0), or -1 when out of memory. When no
 * action is kept, empty_reason says why ("no JSON object in the reply", "the
 * model chose no actions", "every action was invalid (2 dropped)"). */
int llm_parse_reply(const char *text, size_t len, env_decision_t *d, llm_drop_fn drop, void *arg,
                    char *empty_reason, size_t reason_len);

/* Finds the first balanced {...} or [...] in s[0..len) that jansson accepts,
 * strings and escapes respected. Returns it (caller decrefs) or NULL. */
json_t *llm_parse_first_json(const char *s, size_t len);

/* Removes reasoning blocks (<think>, <thinking>, <reasoning>, <reflection>,
 * case-insensitive; an unclosed one runs to the end, a lone closing tag drops
 * what precedes it). Returns a new string (caller frees) or NULL (no memory). */
char *llm_parse_strip_reasoning(const char *s, size_t len, size_t *out_len);

/* snprintf into a fixed buffer of the llm modules (a NULL or empty buffer is
 * left alone); truncation is fine there: these are reasons and records. */
void llm_fmt(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
