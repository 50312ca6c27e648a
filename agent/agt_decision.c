/* agt_decision.c: a policy's outcome as a Decision (agt_decision.h). */
#include "agt_decision.h"

int agt_decision_from_outcome(wire_arena_t *ar, uint64_t turn_id, const agt_outcome_t *o,
                              Parley__Decision *d)
{
    parley__decision__init(d);
    if (wire_decision_to_pb(ar, o->decision, d) != WIRE_OK) return WIRE_ENOMEM;
    d->turn_id = turn_id;
    d->empty_reason = (char *)o->empty_reason;
    if (o->n_calls) {
        d->n_calls = o->n_calls;
        d->calls = wire_arena_alloc(ar, o->n_calls * sizeof *d->calls);
        Parley__ModelCall *mc = wire_arena_alloc(ar, o->n_calls * sizeof *mc);
        if (!d->calls || !mc) return WIRE_ENOMEM;
        for (size_t i = 0; i < o->n_calls; i++) {
            const agt_call_t *c = &o->calls[i];
            parley__model_call__init(&mc[i]);
            mc[i].provider = (char *)c->provider;
            mc[i].model_requested = (char *)c->model_requested;
            mc[i].model_reported = (char *)c->model_reported;
            mc[i].http_status = c->http_status;
            mc[i].attempts = c->attempts;
            mc[i].latency_s = c->latency_s;
            mc[i].tokens_in = c->tokens_in;
            mc[i].tokens_out = c->tokens_out;
            mc[i].tokens_reasoning = c->tokens_reasoning;
            mc[i].tokens_cached = c->tokens_cached;
            mc[i].cost_usd = c->cost_usd;
            mc[i].error = (char *)c->error;
            mc[i].request_body = c->request_body ? c->request_body : (char *)"";
            mc[i].response_body = c->response_body ? c->response_body : (char *)"";
            mc[i].prefix_share = c->prefix_share;
            mc[i].stop_reason = (char *)c->stop_reason;
            mc[i].finish_reason = (char *)c->finish_reason;
            mc[i].system_fingerprint = (char *)c->system_fingerprint;
            mc[i].refusal = (char *)c->refusal;
            mc[i].reply_format = (char *)c->reply_format;
            mc[i].tool_calls = c->tool_calls;
            mc[i].thinking_blocks = c->thinking_blocks;
            d->calls[i] = &mc[i];
        }
    }
    if (o->n_dropped) {
        d->n_dropped = o->n_dropped;
        d->dropped = wire_arena_alloc(ar, o->n_dropped * sizeof *d->dropped);
        Parley__DroppedAction *da = wire_arena_alloc(ar, o->n_dropped * sizeof *da);
        if (!d->dropped || !da) return WIRE_ENOMEM;
        for (size_t i = 0; i < o->n_dropped; i++) {
            parley__dropped_action__init(&da[i]);
            da[i].raw = o->dropped[i].raw;
            da[i].reason = o->dropped[i].reason;
            d->dropped[i] = &da[i];
        }
    }
    return WIRE_OK;
}
