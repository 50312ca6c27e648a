/* brk_view.h: what an observer may see of an event (docs/SECURITY.md).
 *
 * events.jsonl keeps every event whole; the experimenter's channels (the
 * private PUB socket, /events with the experimenter's token) carry it whole.
 * Everyone else (the public PUB socket, /events without a token, and so any
 * seat) gets the public view: no direct message's content, no thoughts, no
 * model transcripts, no decision's input, no task a seat was told, no
 * world's true values or holders, no seed. A type this file does not know is
 * reduced to its envelope (type, source, round, seq, t_ms, agent): a new
 * event is private until someone decides otherwise here.
 */
#ifndef PARLEY_BRK_VIEW_H
#define PARLEY_BRK_VIEW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct env_jsonw;

/* A new object: the public view of ev, with `withheld` listing the keys left
 * out (absent when nothing was). NULL when out of memory. */
json_t *brk_view_public(const json_t *ev);
/* The public view of ev as brk_view_public's text would be, written from
 * ev's own text (len bytes, compact) into out without building a copy: for
 * the events whose private keys are top-level members (an action, a transfer,
 * a direct message, a decision...). Returns 0 when written; 1 when this event
 * needs brk_view_public (a world, a config, a board, an unknown type), and -1
 * when out of memory; out then holds nothing of it. */
int brk_view_text(const json_t *ev, const char *text, size_t len, struct env_jsonw *out);
/* Whether the public view of ev is ev itself (nothing to withhold): its text
 * can then serve as the view's. */
bool brk_view_is_whole(const json_t *ev);

#endif
