/* llm_template.h: a small template language for prompts (a subset of mustache).
 *
 * Prompts are data (the .tmpl files of prompts/, or a researcher's own file): a template is
 * rendered against a jansson tree that llm_prompt builds from the structured
 * observation. No C mustache library is packaged in Debian, hence this one.
 *
 *   {{name}}  {{a.b}}  {{.}}   a value (string as is, number, true/false)
 *   {{#name}}...{{/name}}      a list: once per item; an object: once, inside
 *                              it; true / non-empty string / non-zero number:
 *                              once; false, null, [], "", 0: not at all
 *   {{^name}}...{{/name}}      the opposite: only when #name would not render
 *   {{@first}} {{@last}} {{@index}}  inside a list: first / last item, 1-based
 *   {{! comment }}             nothing
 *   {{> other}}                another template, inserted here (loaded once)
 *   {{$system}}...{{/system}}  the system message; {{$user}}...{{/user}} the
 *                              user message; text outside both goes to user
 *   {{$turn}}...{{/turn}}      instead of {{$user}}: the template is a
 *                              conversation; each turn's text is appended to
 *                              the seat's kept history as a new user message
 *                              (llm_prompt.h); rendered, it is the user text
 *
 * A line that holds nothing but one non-value tag (section, close, comment,
 * include, part) disappears with its newline, so templates can be laid out
 * one tag a line. No HTML escaping: prompts are plain text.
 *
 * Strict: a name that the tree does not have is an error, never an empty
 * string, so a typo cannot silently drop a section. Every error reads
 * "FILE:LINE: what is wrong". Built-in templates are embedded at build time
 * (prompts/); a name that is not built in is a file path. */
#ifndef PARLEY_LLM_TEMPLATE_H
#define PARLEY_LLM_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct llm_tmpl llm_tmpl_t;

/* Built-in template text by name ("paper", "paper/goal-neutral"), or NULL.
 * `origin`, if not NULL, receives its path in the source tree. */
const char *llm_tmpl_builtin(const char *name, const char **origin);

/* Loads a template and everything it includes: `spec` names a built-in
 * template or a file. Returns an owned template, or NULL with "FILE:LINE:
 * message" in err. */
llm_tmpl_t *llm_tmpl_load(const char *spec, char *err, size_t errlen);
void llm_tmpl_destroy(llm_tmpl_t **t);

/* Renders against `model`. *system (NULL if the template has no system part)
 * and *user are owned by the caller. Returns 0, or -1 with "FILE:LINE:
 * message" in err (unknown name, out of memory). */
int llm_tmpl_render(const llm_tmpl_t *t, const json_t *model, char **system, char **user, char *err,
                    size_t errlen);

/* Whether the template has a system part. */
bool llm_tmpl_has_system(const llm_tmpl_t *t);
/* Whether the template has a {{$turn}} part (a conversation, appended to each turn). */
bool llm_tmpl_is_conversation(const llm_tmpl_t *t);

#endif
