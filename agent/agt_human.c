/* agt_human.c: a person plays the seat from the terminal (docs/WEB.md).
 *
 * Each turn the observation is printed on stdout, then the person types
 * commands, read without blocking the loop (a libevent read event on fd 0):
 *
 *   msg AGENT TEXT            a direct message (a request is a message naming a piece)
 *   broadcast TEXT            to everyone
 *   send AGENT PIECE[=V], ... pieces you hold, at your value or at V
 *   submit TASK | P1, P2, ... a task of yours, by id or by its pieces
 *   list / undo               the actions queued for this turn
 *   done                      send the queued actions: the turn ends
 *   pass                      end the turn with no actions
 *   show / help               the observation again / this list
 *   complete PREFIX           agent ids, piece names, task ids and commands
 *   {"actions": [...]}        a model's JSON reply, as is
 *
 * Commands are checked here (unknown agents or pieces, pieces not held, bad
 * values) with an error line that says what is wrong; the broker checks the
 * actions again. On a terminal the line is edited in raw mode so that Tab
 * completes commands, agent ids, task ids and piece names; elsewhere (a pipe)
 * lines are read as they come. */
#include "agt_scripted.h"

#include "llm_parse.h"
#include "pl_log.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#define S_LINE_MAX   4096
#define S_MAX_QUEUED 64

typedef enum { S_MSG, S_BROADCAST, S_SEND, S_SUBMIT } s_kind_t;

typedef struct {
    s_kind_t kind;
    int to;        /* agent index (msg, send) */
    char *text;    /* owned: content, or the submit answer */
    size_t n;      /* send: pieces */
    int *pieces;   /* owned */
    int64_t *vals; /* owned */
} s_queued_t;

typedef struct {
    char id[64];
    int n;
    int pieces[16];
} s_task_t;

typedef struct {
    const agt_context_t *ctx;
    const env_names_t *names;
    struct event *stdin_ev;
    uint64_t turn_id;
    agt_decided_fn done;
    void *arg;
    bool active;
    char line[S_LINE_MAX];
    size_t len;
    int esc; /* raw mode: bytes of an escape sequence still to skip */
    bool raw;
    struct termios saved;
    /* the open turn, copied from its observation */
    int me;
    size_t n_tasks;
    s_task_t *tasks;
    int *held;   /* [n_pieces] value held, -1 if not */
    char *shown; /* the observation as printed */
    s_queued_t queued[S_MAX_QUEUED];
    int n_queued;
} s_human_t;

static const char *const s_commands[] = {"msg",  "broadcast", "send", "submit", "list",    "undo",
                                         "done", "pass",      "show", "help",   "complete"};

static const char *s_agent(const s_human_t *h, int a)
{
    return a >= 0 && a < h->names->n_agents ? h->names->agent_ids[a] : "everyone";
}

static int s_agent_index(const s_human_t *h, const char *id)
{
    for (int i = 0; i < h->names->n_agents; i++)
        if (strcasecmp(h->names->agent_ids[i], id) == 0) return i;
    return -1;
}

static int s_piece_index(const s_human_t *h, const char *name)
{
    for (int i = 0; i < h->names->n_pieces; i++)
        if (strcasecmp(h->names->piece_names[i], name) == 0) return i;
    return -1;
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static void s_prompt(const s_human_t *h)
{
    printf("%s%.*s", h->active ? "> " : "(waiting) ", (int)h->len, h->line);
    fflush(stdout);
}

/* ------------------------------------------------------------- rendering -- */

static void s_render(s_human_t *h, const env_obs_t *o, double deadline_s, FILE *f)
{
    const env_names_t *n = h->names;
    fprintf(f, "\n=== %s, round %d/%d%s (%.0f s to answer) ===\n", s_agent(h, o->agent), o->round,
            o->rounds, o->kind == ENV_TURN_REPLY ? ", reply turn" : "", deadline_s);
    fprintf(f, "Revenue board:");
    for (size_t i = 0; i < o->n_board; i++)
        fprintf(f, " %s%s $%lld (%d tasks);", s_agent(h, o->board[i].agent),
                o->board[i].agent == o->agent ? " (you)" : "", (long long)o->board[i].revenue,
                o->board[i].tasks_done);
    fprintf(f, "\nYour tasks:\n");
    for (size_t i = 0; i < o->n_tasks; i++) {
        fprintf(f, "  %s: %s\n", o->tasks[i].id, o->tasks[i].description);
        for (int k = 0; k < o->tasks[i].n_pieces; k++) {
            int p = o->tasks[i].pieces[k];
            if (h->held[p] >= 0) {
                fprintf(f, "    [%s] you hold it\n", n->piece_names[p]);
                continue;
            }
            fprintf(f, "    [%s] missing; held by", n->piece_names[p]);
            for (uint32_t j = 0; j < o->holder_count[p]; j++)
                fprintf(f, " %s", s_agent(h, o->holders[p][j]));
            fprintf(f, "%s\n", o->holder_count[p] ? "" : " nobody");
        }
    }
    fprintf(f, "Your information:");
    for (size_t i = 0; i < o->n_inventory; i++)
        fprintf(f, " [%s=%d]", n->piece_names[o->inventory[i].piece], o->inventory[i].value);
    fprintf(f, "\nMessages (last 10):\n");
    size_t from = o->n_msgs > 10 ? o->n_msgs - 10 : 0;
    for (size_t i = from; i < o->n_msgs; i++)
        fprintf(f, "  r%d %s -> %s: %s\n", o->msgs[i]->round, s_agent(h, o->msgs[i]->from),
                s_agent(h, o->msgs[i]->to), o->msgs[i]->content);
    size_t bfrom = o->n_broadcasts > 5 ? o->n_broadcasts - 5 : 0;
    for (size_t i = bfrom; i < o->n_broadcasts; i++)
        fprintf(f, "  r%d %s -> everyone: %s\n", o->broadcasts[i].round,
                s_agent(h, o->broadcasts[i].from), o->broadcasts[i].content);
    size_t nfrom = o->n_notes > 10 ? o->n_notes - 10 : 0;
    for (size_t i = nfrom; i < o->n_notes; i++) fprintf(f, "  [system] %s\n", o->notes[i].text);
    for (size_t i = 0; i < o->n_invalid; i++)
        fprintf(f, "  [refused last turn] action %d: %s\n", o->invalid[i].action + 1,
                o->invalid[i].reason);
    fprintf(f, "Commands: msg, broadcast, send, submit, list, undo, done, pass, show, help "
               "(Tab or 'complete PREFIX' completes names)\n");
}

static void s_help(void)
{
    printf("  msg AGENT TEXT            a direct message, e.g. msg agent_2 Please send Q12 sales "
           "data\n"
           "  broadcast TEXT            a message to everyone\n"
           "  send AGENT PIECE[=V], ... send pieces you hold (at your value, or at V 0-100)\n"
           "  submit TASK               submit a task of yours once you hold its pieces\n"
           "  submit P1, P2, P3, P4     ... or name the pieces\n"
           "  list | undo               the actions queued for this turn | drop the last\n"
           "  done                      send the queued actions (ends the turn)\n"
           "  pass                      end the turn without actions\n"
           "  show                      the observation again\n"
           "  complete PREFIX           names starting with PREFIX (Tab does it too)\n"
           "  {\"actions\": [...]}        a JSON reply, as a model writes it\n");
}

/* --------------------------------------------------------- completion -- */

typedef struct {
    const char *items[512];
    int n;
} s_cands_t;

static void s_cand(s_cands_t *c, const char *item, const char *prefix)
{
    if (c->n < 512 && strncasecmp(item, prefix, strlen(prefix)) == 0) c->items[c->n++] = item;
}

/* The candidates for the end of `line`; *word is where the part completed starts. */
static void s_complete(const s_human_t *h, const char *line, s_cands_t *c, size_t *word)
{
    c->n = 0;
    const char *sp = strchr(line, ' ');
    if (!sp) { /* the command itself */
        *word = 0;
        for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
            s_cand(c, s_commands[i], line);
        return;
    }
    size_t cmdlen = (size_t)(sp - line);
    const char *rest = sp + 1;
    while (*rest == ' ') rest++;
    bool to_first = (cmdlen == 3 && strncmp(line, "msg", 3) == 0) ||
                    (cmdlen == 4 && strncmp(line, "send", 4) == 0);
    bool pieces = cmdlen == 4 && strncmp(line, "send", 4) == 0;
    bool submit = cmdlen == 6 && strncmp(line, "submit", 6) == 0;
    bool any = cmdlen == 8 && strncmp(line, "complete", 8) == 0;
    if (to_first && !strchr(rest, ' ')) {
        *word = (size_t)(rest - line);
        for (int i = 0; i < h->names->n_agents; i++)
            if (i != h->me) s_cand(c, h->names->agent_ids[i], rest);
        return;
    }
    if (pieces || submit) {
        const char *part = pieces ? strchr(rest, ' ') + 1 : rest;
        const char *comma = strrchr(part, ',');
        if (comma) part = comma + 1;
        while (*part == ' ') part++;
        *word = (size_t)(part - line);
        if (submit && !comma)
            for (size_t i = 0; i < h->n_tasks; i++) s_cand(c, h->tasks[i].id, part);
        for (int p = 0; p < h->names->n_pieces; p++)
            if (h->held && h->held[p] >= 0) s_cand(c, h->names->piece_names[p], part);
        return;
    }
    if (any) {
        *word = (size_t)(rest - line);
        for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
            s_cand(c, s_commands[i], rest);
        for (int i = 0; i < h->names->n_agents; i++) s_cand(c, h->names->agent_ids[i], rest);
        for (size_t i = 0; i < h->n_tasks; i++) s_cand(c, h->tasks[i].id, rest);
        for (int p = 0; p < h->names->n_pieces; p++) s_cand(c, h->names->piece_names[p], rest);
        return;
    }
    *word = strlen(line);
}

/* Tab: completes the line in place, or lists the choices. */
static void s_tab(s_human_t *h)
{
    h->line[h->len] = '\0';
    s_cands_t c;
    size_t word = h->len;
    s_complete(h, h->line, &c, &word);
    if (c.n == 0) {
        printf("\a");
        fflush(stdout);
        return;
    }
    /* The longest common prefix of the candidates. */
    size_t common = strlen(c.items[0]);
    for (int i = 1; i < c.n; i++) {
        size_t k = 0;
        while (k < common &&
               tolower((unsigned char)c.items[i][k]) == tolower((unsigned char)c.items[0][k]))
            k++;
        common = k;
    }
    size_t typed = h->len - word;
    if (common > typed || c.n == 1) {
        char add[S_LINE_MAX];
        snprintf(add, sizeof add, "%.*s%s", (int)common, c.items[0], c.n == 1 ? " " : "");
        size_t addlen = strlen(add);
        if (word + addlen + 1 < sizeof h->line) {
            memcpy(h->line + word, add, addlen);
            h->len = word + addlen;
        }
        printf("\r\033[K");
        s_prompt(h);
        return;
    }
    printf("\n");
    for (int i = 0; i < c.n && i < 40; i++) printf("  %s\n", c.items[i]);
    if (c.n > 40) printf("  ... %d more\n", c.n - 40);
    s_prompt(h);
}

/* ------------------------------------------------------------ commands -- */

static void s_queue_clear(s_human_t *h)
{
    for (int i = 0; i < h->n_queued; i++) {
        free(h->queued[i].text);
        free(h->queued[i].pieces);
        free(h->queued[i].vals);
    }
    h->n_queued = 0;
}

static void s_describe(const s_human_t *h, const s_queued_t *q, char *out, size_t len)
{
    switch (q->kind) {
    case S_MSG:
        snprintf(out, len, "message to %s: %s", s_agent(h, q->to), q->text);
        break;
    case S_BROADCAST:
        snprintf(out, len, "broadcast: %s", q->text);
        break;
    case S_SUBMIT:
        snprintf(out, len, "submit: %s", q->text);
        break;
    case S_SEND: {
        size_t o = (size_t)snprintf(out, len, "send to %s:", s_agent(h, q->to));
        for (size_t i = 0; i < q->n && o < len; i++)
            o += (size_t)snprintf(out + o, len - o, "%s %s (%lld)", i ? "," : "",
                                  h->names->piece_names[q->pieces[i]], (long long)q->vals[i]);
        break;
    }
    }
}

static int s_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("error: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return -1;
}

static s_queued_t *s_push(s_human_t *h, s_kind_t kind)
{
    if (h->n_queued >= S_MAX_QUEUED) {
        s_error("at most %d actions in one turn: send them with 'done'", S_MAX_QUEUED);
        return NULL;
    }
    s_queued_t *q = &h->queued[h->n_queued++];
    memset(q, 0, sizeof *q);
    q->kind = kind;
    return q;
}

static int s_recipient(const s_human_t *h, const char *id)
{
    int to = s_agent_index(h, id);
    if (to < 0)
        return s_error("unknown agent '%s' (agents are %s..%s; try: complete agent_)", id,
                       h->names->agent_ids[0], h->names->agent_ids[h->names->n_agents - 1]);
    if (to == h->me) return s_error("you cannot send to yourself");
    return to;
}

static int s_cmd_msg(s_human_t *h, char *args, bool broadcast)
{
    int to = -1;
    char *text = args;
    if (!broadcast) {
        char *sp = strchr(args, ' ');
        if (!args[0] || !sp) return s_error("usage: msg AGENT TEXT");
        *sp = '\0';
        if ((to = s_recipient(h, args)) < 0) return -1;
        text = s_trim(sp + 1);
    }
    if (!text[0]) return s_error("the message is empty");
    s_queued_t *q = s_push(h, broadcast ? S_BROADCAST : S_MSG);
    if (!q) return -1;
    q->to = to;
    q->text = strdup(text);
    return q->text ? 0 : s_error("out of memory");
}

static int s_cmd_send(s_human_t *h, char *args)
{
    char *sp = strchr(args, ' ');
    if (!args[0] || !sp) return s_error("usage: send AGENT PIECE[=VALUE], PIECE[=VALUE], ...");
    *sp = '\0';
    int to = s_recipient(h, args);
    if (to < 0) return -1;
    int pieces[128];
    int64_t vals[128];
    size_t n = 0;
    for (char *save = NULL, *tok = strtok_r(sp + 1, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *name = s_trim(tok);
        long long value = -1;
        char *eq = strrchr(name, '=');
        if (eq) {
            char *end = NULL;
            value = strtoll(s_trim(eq + 1), &end, 10);
            if (!end || *end || eq[1] == '\0' || value < 0 || value > 100)
                return s_error("the value after '=' must be a whole number 0-100 (in '%s')", name);
            *eq = '\0';
            name = s_trim(name);
        }
        int p = s_piece_index(h, name);
        if (p < 0) return s_error("unknown piece '%s' (try: complete %.8s)", name, name);
        if (h->held[p] < 0) return s_error("you do not hold '%s'", h->names->piece_names[p]);
        if (n == 128) return s_error("too many pieces in one send");
        pieces[n] = p;
        vals[n++] = value >= 0 ? value : h->held[p];
    }
    if (n == 0) return s_error("name at least one piece to send");
    s_queued_t *q = s_push(h, S_SEND);
    if (!q) return -1;
    q->to = to;
    q->n = n;
    q->pieces = malloc(n * sizeof *q->pieces);
    q->vals = malloc(n * sizeof *q->vals);
    if (!q->pieces || !q->vals) return s_error("out of memory");
    memcpy(q->pieces, pieces, n * sizeof *pieces);
    memcpy(q->vals, vals, n * sizeof *vals);
    return 0;
}

static int s_cmd_submit(s_human_t *h, char *args)
{
    int pieces[16], n = 0;
    const s_task_t *task = NULL;
    for (size_t i = 0; i < h->n_tasks; i++)
        if (strcasecmp(h->tasks[i].id, args) == 0) task = &h->tasks[i];
    if (task) {
        n = task->n;
        memcpy(pieces, task->pieces, (size_t)n * sizeof *pieces);
    } else if (strchr(args, ',')) {
        for (char *save = NULL, *tok = strtok_r(args, ",", &save); tok && n < 16;
             tok = strtok_r(NULL, ",", &save)) {
            char *name = s_trim(tok);
            int p = s_piece_index(h, name);
            if (p < 0) return s_error("unknown piece '%s'", name);
            pieces[n++] = p;
        }
    } else {
        return s_error("usage: submit TASK_ID (one of yours%s%s) or submit P1, P2, P3, P4",
                       h->n_tasks ? ", e.g. " : "", h->n_tasks ? h->tasks[0].id : "");
    }
    for (int i = 0; i < n; i++)
        if (h->held[pieces[i]] < 0)
            return s_error("you do not hold '%s' yet", h->names->piece_names[pieces[i]]);
    char answer[S_LINE_MAX];
    size_t o = (size_t)snprintf(answer, sizeof answer, "Combined result of: ");
    for (int i = 0; i < n && o < sizeof answer; i++)
        o += (size_t)snprintf(answer + o, sizeof answer - o, "%s%s", i ? ", " : "",
                              h->names->piece_names[pieces[i]]);
    s_queued_t *q = s_push(h, S_SUBMIT);
    if (!q) return -1;
    q->text = strdup(answer);
    return q->text ? 0 : s_error("out of memory");
}

static void s_drop(void *arg, const char *raw, const char *reason)
{
    agt_outcome_drop(arg, raw, reason);
}

/* Ends the turn with the queued actions (or with a JSON reply). */
static void s_finish_turn(s_human_t *h, const char *json, const char *empty_reason)
{
    agt_outcome_t *o = agt_outcome_new();
    if (!o) return;
    if (json) {
        if (llm_parse_reply(json, strlen(json), o->decision, s_drop, o, o->empty_reason,
                            sizeof o->empty_reason) < 0) {
            agt_outcome_destroy(&o);
            s_error("that JSON could not be read; nothing was sent");
            return;
        }
    } else {
        for (int i = 0; i < h->n_queued; i++) {
            const s_queued_t *q = &h->queued[i];
            const char *names[128];
            int rc = 0;
            switch (q->kind) {
            case S_MSG:
                rc = env_decision_message(o->decision, s_agent(h, q->to), q->text);
                break;
            case S_BROADCAST:
                rc = env_decision_broadcast(o->decision, q->text);
                break;
            case S_SUBMIT:
                rc = env_decision_submit(o->decision, q->text);
                break;
            case S_SEND:
                for (size_t k = 0; k < q->n; k++) names[k] = h->names->piece_names[q->pieces[k]];
                rc = env_decision_send_many(o->decision, s_agent(h, q->to), q->n, names, q->vals);
                break;
            }
            if (rc != 0) {
                agt_outcome_destroy(&o);
                s_error("out of memory; nothing was sent");
                return;
            }
        }
        if (h->n_queued == 0) snprintf(o->empty_reason, sizeof o->empty_reason, "%s", empty_reason);
    }
    printf("sent: %zu action(s); waiting for the next turn\n", env_decision_count(o->decision));
    fflush(stdout);
    s_queue_clear(h);
    h->active = false;
    h->done(h->arg, h->turn_id, o);
}

static void s_on_line(s_human_t *h, char *raw)
{
    char *line = s_trim(raw);
    if (!line[0]) return;
    if (line[0] == '{') {
        if (!h->active) {
            s_error("it is not your turn; wait for it");
            return;
        }
        s_finish_turn(h, line, NULL);
        return;
    }
    char *args = line + strcspn(line, " ");
    if (*args) *args++ = '\0';
    args = s_trim(args);
    if (strcmp(line, "help") == 0 || strcmp(line, "?") == 0) {
        s_help();
        return;
    }
    if (strcmp(line, "complete") == 0) {
        char buf[S_LINE_MAX];
        snprintf(buf, sizeof buf, "complete %s", args);
        s_cands_t c;
        size_t word;
        s_complete(h, buf, &c, &word);
        if (c.n == 0) printf("no name starts with '%s'\n", args);
        for (int i = 0; i < c.n; i++) printf("  %s\n", c.items[i]);
        return;
    }
    if (strcmp(line, "show") == 0) {
        if (h->shown) fputs(h->shown, stdout);
        return;
    }
    bool known = false;
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        known |= strcmp(line, s_commands[i]) == 0;
    known |= strcmp(line, "message") == 0;
    if (!known) {
        s_error("unknown command '%.40s' (type help)", line);
        return;
    }
    if (!h->active) {
        s_error("it is not your turn; wait for it");
        return;
    }
    int rc = 0;
    char desc[S_LINE_MAX];
    if (strcmp(line, "msg") == 0 || strcmp(line, "message") == 0) {
        rc = s_cmd_msg(h, args, false);
    } else if (strcmp(line, "broadcast") == 0) {
        rc = s_cmd_msg(h, args, true);
    } else if (strcmp(line, "send") == 0) {
        rc = s_cmd_send(h, args);
    } else if (strcmp(line, "submit") == 0) {
        rc = s_cmd_submit(h, args);
    } else if (strcmp(line, "list") == 0) {
        if (h->n_queued == 0) printf("nothing queued\n");
        for (int i = 0; i < h->n_queued; i++) {
            s_describe(h, &h->queued[i], desc, sizeof desc);
            printf("  %d. %s\n", i + 1, desc);
        }
        return;
    } else if (strcmp(line, "undo") == 0) {
        if (h->n_queued == 0) {
            s_error("nothing to undo");
            return;
        }
        s_describe(h, &h->queued[h->n_queued - 1], desc, sizeof desc);
        s_queued_t *q = &h->queued[--h->n_queued];
        free(q->text);
        free(q->pieces);
        free(q->vals);
        printf("dropped: %s\n", desc);
        return;
    } else if (strcmp(line, "done") == 0) {
        s_finish_turn(h, NULL, "the person sent no actions");
        return;
    } else if (strcmp(line, "pass") == 0) {
        s_queue_clear(h);
        s_finish_turn(h, NULL, "the person passed");
        return;
    }
    if (rc == 0) {
        s_describe(h, &h->queued[h->n_queued - 1], desc, sizeof desc);
        printf("queued %d: %s ('done' sends)\n", h->n_queued, desc);
    }
}

/* --------------------------------------------------------------- input -- */

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
    for (ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (h->raw && h->esc > 0) { /* arrows and other keys: ignored */
            h->esc = (h->esc == 2 && c == '[') || (c >= '0' && c <= '9') || c == ';' ? 1 : 0;
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (h->raw) printf("\n");
            h->line[h->len] = '\0';
            h->len = 0;
            s_on_line(h, h->line);
            s_prompt(h);
            continue;
        }
        if (!h->raw) {
            if (h->len + 1 < sizeof h->line) h->line[h->len++] = (char)c;
            continue;
        }
        if (c == 27) {
            h->esc = 2;
        } else if (c == '\t') {
            s_tab(h);
        } else if (c == 127 || c == 8) {
            if (h->len > 0) {
                h->len--;
                printf("\b \b");
            }
        } else if (c == 21) { /* Ctrl-U */
            h->len = 0;
            printf("\r\033[K");
            s_prompt(h);
        } else if (c >= 32 && h->len + 1 < sizeof h->line) {
            h->line[h->len++] = (char)c;
            putchar(c);
        }
    }
    fflush(stdout);
}

/* ----------------------------------------------------------- the policy -- */

static int s_create(void **self, const agt_context_t *ctx, char *err, size_t errlen)
{
    s_human_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return ENV_ENOMEM;
    }
    h->ctx = ctx;
    h->names = ctx->names;
    h->me = ctx->agent;
    h->held = malloc((size_t)(ctx->names->n_pieces > 0 ? ctx->names->n_pieces : 1) * sizeof(int));
    h->stdin_ev = event_new(ctx->base, STDIN_FILENO, EV_READ | EV_PERSIST, s_on_stdin_readable, h);
    if (!h->held || !h->stdin_ev || event_add(h->stdin_ev, NULL) != 0) {
        if (h->stdin_ev) event_free(h->stdin_ev);
        free(h->held);
        free(h);
        snprintf(err, errlen, "cannot watch stdin");
        return ENV_ENOMEM;
    }
    for (int p = 0; p < ctx->names->n_pieces; p++) h->held[p] = -1;
    /* A terminal: edit the line ourselves, so that Tab can complete. */
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &h->saved) == 0) {
        struct termios t = h->saved;
        t.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        h->raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
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
    h->me = obs->agent;
    s_queue_clear(h);
    for (int p = 0; p < h->names->n_pieces; p++) h->held[p] = -1;
    for (size_t i = 0; i < obs->n_inventory; i++)
        h->held[obs->inventory[i].piece] = obs->inventory[i].value;
    free(h->tasks);
    h->tasks = calloc(obs->n_tasks ? obs->n_tasks : 1, sizeof *h->tasks);
    if (!h->tasks) return ENV_ENOMEM;
    h->n_tasks = obs->n_tasks;
    for (size_t i = 0; i < obs->n_tasks; i++) {
        snprintf(h->tasks[i].id, sizeof h->tasks[i].id, "%s", obs->tasks[i].id);
        h->tasks[i].n = obs->tasks[i].n_pieces < 16 ? obs->tasks[i].n_pieces : 16;
        memcpy(h->tasks[i].pieces, obs->tasks[i].pieces, (size_t)h->tasks[i].n * sizeof(int));
    }
    free(h->shown);
    h->shown = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&h->shown, &len);
    if (f) {
        s_render(h, obs, deadline_s, f);
        fclose(f);
    }
    printf("\n%s", h->shown ? h->shown : "(cannot show the observation)\n");
    s_prompt(h);
    return ENV_OK;
}

static void s_cancel(void *self)
{
    s_human_t *h = self;
    if (h->active) printf("\n(turn over: the deadline passed)\n");
    h->active = false;
    s_queue_clear(h);
    fflush(stdout);
}

static void s_notice(void *self, const char *what, const char *text)
{
    s_human_t *h = self;
    printf("\n[%s] %s\n", what, text);
    s_prompt(h);
}

/* Each action's result, as the broker judged it: the person sees at once
 * whether a message went out, a send arrived or a submission paid. */
static void s_result(void *self, size_t action, bool ok, const char *code, const char *reason,
                     int transferred, int64_t payout)
{
    s_human_t *h = self;
    if (ok)
        printf("\n[result] action %zu: ok%s", action + 1, payout ? ", paid" : "");
    else
        printf("\n[result] action %zu refused: %s (%s)", action + 1, code, reason);
    if (ok && payout) printf(" $%lld", (long long)payout);
    if (ok && transferred) printf(", %d piece(s) sent", transferred);
    printf("\n");
    s_prompt(h);
}

static void s_destroy(void *self)
{
    s_human_t *h = self;
    if (h->raw) tcsetattr(STDIN_FILENO, TCSANOW, &h->saved);
    if (h->stdin_ev) event_free(h->stdin_ev);
    s_queue_clear(h);
    free(h->tasks);
    free(h->held);
    free(h->shown);
    free(h);
}

const agt_policy_ops_t agt_human_ops = {"human",  s_create,  s_decide, s_cancel,
                                        s_notice, s_destroy, s_result};
