/* agt_human.c: a person plays the seat from the terminal. Each turn the
 * observation is printed on stdout and one line is read from stdin without
 * blocking the loop (a libevent read event on fd 0): the same JSON a model
 * would answer ({"actions": [...], "private_thoughts": "..."}); an empty line
 * passes the turn. The line is parsed by the llm module's reply parser when it
 * is linked (weak reference), so people and models are judged alike. */
#include "agt_scripted.h"

#include "llm_parse.h"
#include "pl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern int llm_parse_reply(const char *text, size_t len, env_decision_t *d, llm_drop_fn drop,
                           void *arg, char *empty_reason, size_t reason_len) __attribute__((weak));

typedef struct {
    const agt_context_t *ctx;
    const env_names_t *names;
    struct event *stdin_ev;
    uint64_t turn_id;
    agt_decided_fn done;
    void *arg;
    bool active;
    char line[64 * 1024];
    size_t len;
} s_human_t;

static const char *s_agent(const s_human_t *h, int a)
{
    return a >= 0 && a < h->names->n_agents ? h->names->agent_ids[a] : "everyone";
}

static void s_print(const s_human_t *h, const env_obs_t *o, double deadline_s)
{
    const env_names_t *n = h->names;
    printf("\n=== %s, round %d/%d%s (%.0f s to answer) ===\n", s_agent(h, o->agent), o->round,
           o->rounds, o->kind == ENV_TURN_REPLY ? ", reply turn" : "", deadline_s);
    printf("Tasks:\n");
    for (size_t i = 0; i < o->n_tasks; i++) {
        printf("  %s: %s\n    needs:", o->tasks[i].id, o->tasks[i].description);
        for (int k = 0; k < o->tasks[i].n_pieces; k++)
            printf(" [%s]", n->piece_names[o->tasks[i].pieces[k]]);
        printf("\n");
    }
    printf("Your information:");
    for (size_t i = 0; i < o->n_inventory; i++)
        printf(" [%s=%d]", n->piece_names[o->inventory[i].piece], o->inventory[i].value);
    printf("\nMessages (last 10):\n");
    size_t from = o->n_msgs > 10 ? o->n_msgs - 10 : 0;
    for (size_t i = from; i < o->n_msgs; i++)
        printf("  r%d %s -> %s: %s\n", o->msgs[i]->round, s_agent(h, o->msgs[i]->from),
               s_agent(h, o->msgs[i]->to), o->msgs[i]->content);
    for (size_t i = 0; i < o->n_notes; i++) printf("  [system] %s\n", o->notes[i].text);
    printf("Reply with one line of JSON, e.g.\n"
           "{\"actions\": [{\"type\": \"send_message\", \"to\": \"agent_2\", \"content\": "
           "\"...\"}], \"private_thoughts\": \"...\"}\n> ");
    fflush(stdout);
}

static void s_drop(void *arg, const char *raw, const char *reason)
{
    agt_outcome_drop(arg, raw, reason);
}

static void s_on_stdin_line(s_human_t *h)
{
    agt_outcome_t *o = agt_outcome_new();
    if (!o) return;
    if (h->len == 0) {
        snprintf(o->empty_reason, sizeof o->empty_reason, "the person passed");
    } else if (!llm_parse_reply) {
        snprintf(o->empty_reason, sizeof o->empty_reason, "no reply parser linked");
    } else if (llm_parse_reply(h->line, h->len, o->decision, s_drop, o, o->empty_reason,
                               sizeof o->empty_reason) < 0) {
        agt_outcome_destroy(&o);
        return;
    }
    h->active = false;
    event_del(h->stdin_ev);
    h->done(h->arg, h->turn_id, o);
}

static void s_on_stdin_readable(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    s_human_t *h = arg;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
        event_del(h->stdin_ev); /* end of input: turns will time out */
        return;
    }
    for (ssize_t i = 0; i < n && h->active; i++) {
        if (buf[i] == '\n') {
            h->line[h->len] = '\0';
            s_on_stdin_line(h);
            h->len = 0;
        } else if (h->len + 1 < sizeof h->line) {
            h->line[h->len++] = buf[i];
        }
    }
}

static int s_create(void **self, const agt_context_t *ctx, char *err, size_t errlen)
{
    s_human_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return ENV_ENOMEM;
    }
    h->ctx = ctx;
    h->names = ctx->names;
    h->stdin_ev = event_new(ctx->base, STDIN_FILENO, EV_READ | EV_PERSIST, s_on_stdin_readable, h);
    if (!h->stdin_ev) {
        free(h);
        snprintf(err, errlen, "cannot watch stdin");
        return ENV_ENOMEM;
    }
    *self = h;
    return ENV_OK;
}

static int s_decide(void *self, uint64_t turn_id, const env_obs_t *obs, double deadline_s,
                    agt_decided_fn done, void *arg)
{
    s_human_t *h = self;
    h->turn_id = turn_id;
    h->done = done;
    h->arg = arg;
    h->active = true;
    h->len = 0;
    s_print(h, obs, deadline_s);
    if (event_add(h->stdin_ev, NULL) != 0) return ENV_ENOMEM;
    return ENV_OK;
}

static void s_cancel(void *self)
{
    s_human_t *h = self;
    if (h->active) printf("\n(turn over: the deadline passed)\n");
    h->active = false;
    event_del(h->stdin_ev);
}

static void s_notice(void *self, const char *what, const char *text)
{
    (void)self;
    printf("\n[%s] %s\n", what, text);
    fflush(stdout);
}

static void s_destroy(void *self)
{
    s_human_t *h = self;
    if (h->stdin_ev) event_free(h->stdin_ev);
    free(h);
}

const agt_policy_ops_t agt_human_ops = {"human", s_create, s_decide, s_cancel, s_notice, s_destroy};
