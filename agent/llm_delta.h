/* llm_delta.h: what is new since a seat's previous turn (conversation
 * templates, docs/LLM.md "The cache prompt").
 *
 * Reads two turns' data trees (llm_model.h) and adds to the newer one the
 * variables a {{$turn}} part reads; knows nothing of the observation itself. */
#ifndef PARLEY_LLM_DELTA_H
#define PARLEY_LLM_DELTA_H

#include <jansson.h>

/* Adds what a conversation template (a {{$turn}} part) reads: `first_turn`
 * (no history kept: prev is NULL), `new.<history>` (messages, broadcasts,
 * notifications, sent, received, thoughts, exchanges: the items that were not
 * in prev's; new.directory: per agent the pieces it did not hold at prev;
 * new.board, new.information, new.requests: the rows that changed;
 * new.messages_in, new.broadcasts_in: the new ones not from this seat; and
 * for compact turns new.notes, new.directory_others, new.exchanges_by_from,
 * new.tasks, new.tasks_done, each described where it is built) and `changed.<snapshot>`
 * (tasks, information, directory, board, me, requests: differs from prev's, the board's order
 * aside). `prev` is the previous turn's tree as llm_model_new made it. Returns 0, or -1 when out of
 * memory. */
int llm_delta_add(json_t *model, const json_t *prev);

#endif
