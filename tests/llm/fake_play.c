/* fake_play.c: the players of parley-fake-llm (see fake_play.h).
 *
 * When its script is empty the fake model plays the game: it reads the prompt
 * (llm_prompt.c's line formats of the clear template, or the paper template) and
 * decides like GAME.md's perfect agent: request missing pieces from their holders,
 * answer requests, submit complete tasks. No sockets here: text in, decision out.
 */
/* Names and lines are cut to fixed buffers on purpose: a test tool. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include "fake_play.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char name[128];
    int value;
} piece_t;

/* Lines of the section that starts with `header` (up to the next "## "): the
 * last one, since a conversation (the cache prompt) repeats a section each
 * time it changes and only its latest copy is current. */
static const char *s_section_here(const char *s, const char **end);

static const char *s_section(const char *text, const char *header, const char **end)
{
    const char *s = NULL;
    for (const char *h = strstr(text, header); h; h = strstr(h + 1, header)) s = h;
    return s ? s_section_here(s, end) : NULL;
}

/* The lines of the section whose header line starts at s. */
static const char *s_section_here(const char *s, const char **end)
{
    s = strchr(s, '\n');
    if (!s) return NULL;
    s++;
    const char *e = strstr(s, "\n## ");
    *end = e ? e + 1 : s + strlen(s);
    return s;
}

static void s_line(const char *s, const char *end, char *out, size_t n)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t len = (size_t)((nl ? nl : end) - s);
    if (len >= n) len = n - 1;
    memcpy(out, s, len);
    out[len] = '\0';
}

static const char *s_next_line(const char *s, const char *end)
{
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    return nl ? nl + 1 : end;
}

static bool s_holds(piece_t *inv, int n, const char *name, int *value)
{
    for (int i = 0; i < n; i++)
        if (strcasecmp(inv[i].name, name) == 0) {
            if (value) *value = inv[i].value;
            return true;
        }
    return false;
}

static bool s_contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return true;
    return false;
}

/* Whether `actions` already sends `piece` to `to`. */
static bool s_sending(json_t *actions, const char *piece, const char *to)
{
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        const char *t = json_string_value(json_object_get(a, "to"));
        const char *p = json_string_value(json_array_get(json_object_get(a, "information"), 0));
        if (t && p && strcmp(t, to) == 0 && strcasecmp(p, piece) == 0) return true;
    }
    return false;
}

/* Whether a kept decision in the conversation sent `piece` to `to`: some
 * send_information to it lists the piece ("information":[..., "piece", ...];
 * parley keeps a recipient's sends as one action, pieces in order). */
static bool s_kept_send(const char *prompt, const char *piece, const char *to)
{
    char head[128], name[300];
    snprintf(head, sizeof head, "\"to\":\"%s\",\"information\":[", to);
    snprintf(name, sizeof name, "\"%s\"", piece);
    for (const char *h = strstr(prompt, head); h; h = strstr(h + 1, head)) {
        const char *list = h + strlen(head), *close = strchr(list, ']'), *hit = strstr(list, name);
        if (hit && close && hit < close) return true;
    }
    return false;
}

/* Lines of the paper prompt's section `header` ("Your Information:"), up to
 * the blank line that ends it. */
static const char *s_psection(const char *text, const char *header, const char **end)
{
    const char *s = strstr(text, header);
    if (!s) return NULL;
    s += strlen(header);
    if (*s == '\n') s++;
    const char *e = strstr(s, "\n\n");
    *end = e ? e + 1 : s + strlen(s);
    return s;
}

/* The same perfect agent reading the paper template (prompts/paper.tmpl),
 * replying with the study's "action" key. */
static json_t *s_play_paper(const char *prompt)
{
    static piece_t inv[512];
    int n_inv = 0;
    json_t *actions = json_array();
    const char *s, *end, *sent_end = NULL, *dir_end = NULL;
    char line[8192], me[64] = "";
    const char *you = strstr(prompt, "You are Agent ");
    if (you) sscanf(you, "You are Agent %63[^,]", me);
    if ((s = s_psection(prompt, "Your Information:\n", &end)))
        for (; s < end && n_inv < 512; s = s_next_line(s, end)) {
            s_line(s, end, line, sizeof line);
            char *v = strstr(line, " (value: ");
            if (strncmp(line, "- ", 2) != 0 || !v) continue;
            *v = '\0';
            snprintf(inv[n_inv].name, sizeof inv[n_inv].name, "%s", line + 2);
            inv[n_inv].value = atoi(v + 9);
            n_inv++;
        }
    const char *sent = s_psection(prompt, "Information you have already sent:\n", &sent_end);
    const char *history_end;
    const char *history = s_psection(prompt, "Message History:\n", &history_end);
    const char *dir = s_psection(prompt, "Information Directory:\n", &dir_end);
    const char *dm_end;
    for (s = s_psection(prompt, "Message History:\n", &dm_end); s && s < dm_end;
         s = s_next_line(s, dm_end)) {
        char from[64];
        s_line(s, dm_end, line, sizeof line);
        const char *colon = strstr(line, " to you: ");
        if (!colon || sscanf(line, "%63s", from) != 1) continue;
        for (int i = 0; i < n_inv; i++) {
            if (!s_contains_ci(colon, inv[i].name)) continue;
            char to[100];
            snprintf(to, sizeof to, "  To %s: ", from);
            bool done = false;
            for (const char *q = sent; q && q < sent_end && !done; q = s_next_line(q, sent_end)) {
                char sl[8192];
                s_line(q, sent_end, sl, sizeof sl);
                done = strncmp(sl, to, strlen(to)) == 0 && strstr(sl, inv[i].name);
            }
            if (done || s_sending(actions, inv[i].name, from)) continue;
            json_array_append_new(actions,
                                  json_pack("{s:s, s:s, s:[s], s:{s:i}}", "action",
                                            "send_information", "to", from, "information",
                                            inv[i].name, "values", inv[i].name, inv[i].value));
        }
    }
    const char *tasks = s_psection(prompt, "Your Current Tasks:\n", &end);
    /* tasks are separated by blank lines: the section runs to "Your Information:" */
    const char *tasks_end = strstr(prompt, "\nYour Information:");
    for (s = tasks; s && tasks_end && s < tasks_end; s = s_next_line(s, tasks_end)) {
        char task[64] = "";
        s_line(s, tasks_end, line, sizeof line);
        if (sscanf(line, "Task %*d (%63[^)])", task) != 1) continue;
        s = s_next_line(s_next_line(s, tasks_end), tasks_end);
        s_line(s, tasks_end, line, sizeof line);
        const char *req = strstr(line, "Required information: ");
        if (!req) continue;
        char pieces[8][128];
        int np = 0;
        char *copy = strdup(req + 22), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && np < 8; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ') t++;
            snprintf(pieces[np++], sizeof pieces[0], "%s", t);
        }
        free(copy);
        bool all = true;
        for (int k = 0; k < np; k++) {
            if (s_holds(inv, n_inv, pieces[k], NULL)) continue;
            all = false;
            for (const char *d = dir; d && d < dir_end; d = s_next_line(d, dir_end)) {
                char holder[64];
                s_line(d, dir_end, line, sizeof line);
                if (sscanf(line, "%63[^:]", holder) != 1 || strcmp(holder, me) == 0) continue;
                const char *colon = strchr(line, ':');
                size_t pl = strlen(pieces[k]);
                bool held = false;
                for (const char *hit = colon ? strstr(colon, pieces[k]) : NULL; hit;
                     hit = strstr(hit + 1, pieces[k]))
                    if (hit[-1] == ' ' && (hit[pl] == ',' || hit[pl] == '\0')) held = true;
                if (!held) continue;
                /* The paper prompt lists only requests worded with its
                 * asking words, so "REQUEST: ..." is found in the history. */
                char ask[300];
                snprintf(ask, sizeof ask, "You to %s: REQUEST: %s for ", holder, pieces[k]);
                bool again = false;
                for (const char *q = history; q && q < history_end && !again;
                     q = s_next_line(q, history_end)) {
                    char al[1024];
                    s_line(q, history_end, al, sizeof al);
                    again = strncmp(al, ask, strlen(ask)) == 0;
                }
                if (again) continue;
                char msg[300];
                snprintf(msg, sizeof msg, "REQUEST: %s for %s", pieces[k], task);
                json_array_append_new(actions,
                                      json_pack("{s:s, s:s, s:s}", "action", "send_message", "to",
                                                holder, "content", msg));
            }
        }
        if (all && np > 0) {
            char answer[1024] = "Combined result of: ";
            for (int k = 0; k < np; k++) {
                if (k) strncat(answer, ", ", sizeof answer - strlen(answer) - 1);
                strncat(answer, pieces[k], sizeof answer - strlen(answer) - 1);
            }
            json_array_append_new(
                actions, json_pack("{s:s, s:s}", "action", "submit_task", "answer", answer));
        }
    }
    return json_pack("{s:o, s:s}", "actions", actions, "private_thoughts",
                     "Ask for what I miss, give what is asked, submit what is complete.");
}

/* Every section `header` of a conversation: calls fn on each of its lines. A
 * section runs to the next "## " header or the end of its turn ("Your turn:"). */
typedef void (*s_line_fn)(void *arg, const char *line);

static void s_each_line(const char *text, const char *header, s_line_fn fn, void *arg)
{
    char line[8192];
    for (const char *h = strstr(text, header); h; h = strstr(h + 1, header)) {
        const char *s = strchr(h, '\n'), *e1, *e2, *end;
        if (!s) return;
        s++;
        e1 = strstr(s, "\n## ");
        e2 = strstr(s, "\nYour turn:");
        end = e1 && (!e2 || e1 < e2) ? e1 : e2 ? e2 : s + strlen(s);
        for (; s < end; s = s_next_line(s, end)) {
            s_line(s, end, line, sizeof line);
            fn(arg, line);
        }
    }
}

typedef struct {
    piece_t inv[512];
    int n_inv;
    char tasks[128][64], pieces[128][8][128];
    int n_tasks, n_pieces[128];
    char done[4096];      /* "task_1, task_2, ..." completed since the first turn */
    char dir[1024][4096]; /* "- holder: pieces" lines, the first turn's and later ones */
    int n_dir;
    char msgs[512][1024]; /* "from\tcontent" of messages to the seat */
    int n_msgs;
} s_cache_t;

static void s_on_info(void *arg, const char *line) /* "- NAME (value: V)" */
{
    s_cache_t *c = arg;
    const char *v = strstr(line, " (value: ");
    if (strncmp(line, "- ", 2) || !v || c->n_inv >= 512) return;
    snprintf(c->inv[c->n_inv].name, sizeof c->inv[0].name, "%.*s", (int)(v - line - 2), line + 2);
    c->inv[c->n_inv++].value = atoi(v + 9);
}

static void s_on_received(void *arg, const char *line) /* "- NAME (value V) from X" */
{
    s_cache_t *c = arg;
    const char *v = strstr(line, " (value ");
    if (strncmp(line, "- ", 2) || !v || !strstr(v, ") from ") || c->n_inv >= 512) return;
    snprintf(c->inv[c->n_inv].name, sizeof c->inv[0].name, "%.*s", (int)(v - line - 2), line + 2);
    c->inv[c->n_inv++].value = atoi(v + 8);
}

static void s_add_task(s_cache_t *c, const char *id, const char *list)
{
    if (c->n_tasks >= 128) return;
    int t = c->n_tasks++;
    snprintf(c->tasks[t], sizeof c->tasks[t], "%s", id);
    c->n_pieces[t] = 0;
    char *copy = strdup(list), *save = NULL;
    for (char *x = strtok_r(copy, ",", &save); x && c->n_pieces[t] < 8;
         x = strtok_r(NULL, ",", &save)) {
        while (*x == ' ') x++;
        snprintf(c->pieces[t][c->n_pieces[t]++], sizeof c->pieces[0][0], "%s", x);
    }
    free(copy);
}

static void s_on_new_task(void *arg, const char *line) /* "- id: desc Needs: a, b" */
{
    char id[64];
    const char *needs = strstr(line, " Needs: ");
    if (needs && sscanf(line, "- %63[^:]:", id) == 1) s_add_task(arg, id, needs + 8);
}

static void s_on_dir(void *arg, const char *line)
{
    s_cache_t *c = arg;
    if (!strncmp(line, "- ", 2) && strchr(line, ':') && c->n_dir < 1024)
        snprintf(c->dir[c->n_dir++], sizeof c->dir[0], "%s", line);
}

static void s_on_msg(void *arg, const char *line) /* "- [round r] X -> you: ..." or "- X: ..." */
{
    s_cache_t *c = arg;
    char from[64];
    bool dated = !strncmp(line, "- [round ", 9); /* the first turn's lines */
    if (c->n_msgs >= 512 ||
        sscanf(line, dated ? "- [round %*d] %63[^: ]" : "- %63[^: ]", from) != 1)
        return;
    const char *body = dated ? strstr(line, "] ") : line;
    body = body ? strchr(body, ':') : NULL;
    if (!body || (strstr(line, " -> ") && !strstr(line, " -> you: "))) return;
    snprintf(c->msgs[c->n_msgs++], sizeof c->msgs[0], "%s\t%s", from, body);
}

/* The perfect agent reading the cache prompt's conversation (prompts/cache.tmpl):
 * the first turn's whole state, then each turn's changes, and its own kept
 * decisions (compact JSON) for what it has sent and asked already. */
static json_t *s_play_cache(const char *prompt)
{
    static s_cache_t c;
    memset(&c, 0, sizeof c);
    char me[64] = "";
    const char *you = strstr(prompt, "You are ");
    if (you) sscanf(you, "You are %63[^,]", me);
    s_each_line(prompt, "## Your information", s_on_info, &c);
    s_each_line(prompt, "## Received", s_on_received, &c);
    s_each_line(prompt, "## Information directory", s_on_dir, &c);
    s_each_line(prompt, "## New holders", s_on_dir, &c);
    s_each_line(prompt, "## Direct messages", s_on_msg, &c);
    s_each_line(prompt, "## Messages to you", s_on_msg, &c);
    /* the first turn's tasks: "- id: desc" then "  Required pieces: ..." */
    const char *s, *end;
    char line[8192];
    if ((s = s_section(prompt, "## Your tasks\n", &end)))
        for (; s < end; s = s_next_line(s, end)) {
            char id[64];
            s_line(s, end, line, sizeof line);
            if (sscanf(line, "- %63[^:]:", id) != 1) continue;
            s = s_next_line(s, end);
            s_line(s, end, line, sizeof line);
            const char *req = strstr(line, "Required pieces: ");
            if (req) s_add_task(&c, id, req + 17);
        }
    s_each_line(prompt, "## New tasks", s_on_new_task, &c);
    for (const char *h = strstr(prompt, "## Tasks you completed:"); h;
         h = strstr(h + 1, "## Tasks you completed:")) {
        s_line(h, h + strlen(h), line, sizeof line);
        strncat(c.done, line, sizeof c.done - strlen(c.done) - 1);
        strncat(c.done, ",", sizeof c.done - strlen(c.done) - 1);
    }

    json_t *actions = json_array();
    char pat[600];
    for (int m = 0; m < c.n_msgs; m++) {
        char *tab = strchr(c.msgs[m], '\t');
        *tab = '\0';
        const char *from = c.msgs[m], *body = tab + 1;
        for (int i = 0; i < c.n_inv; i++) {
            if (!s_contains_ci(body, c.inv[i].name)) continue;
            char past[300];
            snprintf(past, sizeof past, "- %s to %s ", c.inv[i].name, from);
            if (s_kept_send(prompt, c.inv[i].name, from) || strstr(prompt, past)) continue;
            if (s_sending(actions, c.inv[i].name, from)) continue;
            json_array_append_new(actions, json_pack("{s:s, s:s, s:[s], s:{s:i}}", "type",
                                                     "send_information", "to", from, "information",
                                                     c.inv[i].name, "values", c.inv[i].name,
                                                     c.inv[i].value));
        }
    }
    for (int t = 0; t < c.n_tasks; t++) {
        char id[80];
        snprintf(id, sizeof id, " %s,", c.tasks[t]);
        if (strstr(c.done, id)) continue;
        bool all = true;
        for (int k = 0; k < c.n_pieces[t]; k++) {
            const char *piece = c.pieces[t][k];
            if (s_holds(c.inv, c.n_inv, piece, NULL)) continue;
            all = false;
            for (int d = 0; d < c.n_dir; d++) {
                char holder[64];
                if (sscanf(c.dir[d], "- %63[^: ]", holder) != 1 || !strcmp(holder, me)) continue;
                const char *colon = strchr(c.dir[d], ':');
                size_t pl = strlen(piece);
                bool held = false;
                for (const char *hit = strstr(colon, piece); hit; hit = strstr(hit + 1, piece))
                    if (hit[-1] == ' ' && (hit[pl] == ',' || hit[pl] == '\0')) held = true;
                if (!held) continue;
                char ask[300];
                snprintf(pat, sizeof pat, "\"to\":\"%s\",\"content\":\"REQUEST: %s for ", holder,
                         piece);
                snprintf(ask, sizeof ask, "- %s from %s: asked", piece, holder);
                bool again = strstr(prompt, pat) || strstr(prompt, ask);
                size_t j;
                json_t *a;
                json_array_foreach(actions, j, a)
                {
                    const char *to = json_string_value(json_object_get(a, "to"));
                    const char *ct = json_string_value(json_object_get(a, "content"));
                    if (to && ct && !strcmp(to, holder) && strstr(ct, piece)) again = true;
                }
                if (again) continue;
                char msg[300];
                snprintf(msg, sizeof msg, "REQUEST: %s for %s", piece, c.tasks[t]);
                json_array_append_new(actions, json_pack("{s:s, s:s, s:s}", "type", "send_message",
                                                         "to", holder, "content", msg));
            }
        }
        if (all && c.n_pieces[t] > 0) {
            char answer[1024] = "Combined result of: ";
            for (int k = 0; k < c.n_pieces[t]; k++) {
                if (k) strncat(answer, ", ", sizeof answer - strlen(answer) - 1);
                strncat(answer, c.pieces[t][k], sizeof answer - strlen(answer) - 1);
            }
            json_array_append_new(actions,
                                  json_pack("{s:s, s:s}", "type", "submit_task", "answer", answer));
        }
    }
    return json_pack("{s:o, s:s}", "actions", actions, "private_thoughts",
                     "Ask for what I miss, give what is asked, submit what is complete.");
}

/* The perfect agent of GAME.md, reading the clear template's text
 * (prompts/clear.tmpl), or the paper template's (s_play_paper): the decision. */
json_t *fake_play_json(const char *prompt)
{
    if (strstr(prompt, "Your Current Tasks:")) return s_play_paper(prompt);
    if (strstr(prompt, "## How this conversation works")) return s_play_cache(prompt);
    static piece_t inv[512];
    int n_inv = 0;
    json_t *actions = json_array();
    const char *s, *end;
    char line[4096], me[64] = "";
    const char *you = strstr(prompt, "You are ");
    if (you) sscanf(you, "You are %63[^,]", me);

    /* every copy: a conversation's later turns list only the new pieces */
    for (const char *h = strstr(prompt, "## Your information"); h;
         h = strstr(h + 1, "## Your information"))
        for (s = s_section_here(h, &end); s && s < end && n_inv < 512; s = s_next_line(s, end)) {
            s_line(s, end, line, sizeof line);
            char *v = strstr(line, " (value: ");
            if (strncmp(line, "- ", 2) != 0 || !v) continue;
            *v = '\0';
            snprintf(inv[n_inv].name, sizeof inv[n_inv].name, "%s", line + 2);
            inv[n_inv].value = atoi(v + 9);
            n_inv++;
        }

    /* answer requests: any message to me naming a piece I hold */
    const char *dm_end;
    const char *dm = s_section(prompt, "## Direct messages", &dm_end);
    for (s = dm; s && s < dm_end; s = s_next_line(s, dm_end)) {
        s_line(s, dm_end, line, sizeof line);
        char from[64];
        const char *arrow = strstr(line, " -> you: ");
        if (!arrow || sscanf(line, "- [round %*d] %63s", from) != 1) continue;
        for (int i = 0; i < n_inv; i++) {
            if (!s_contains_ci(arrow, inv[i].name)) continue;
            char sent[300];
            snprintf(sent, sizeof sent, "- %s to %s ", inv[i].name, from);
            /* anywhere: a conversation lists each send once, in the turn after it */
            if (strstr(prompt, sent)) continue;
            if (s_sending(actions, inv[i].name, from)) continue; /* asked twice (two tasks) */
            json_array_append_new(actions,
                                  json_pack("{s:s, s:s, s:[s], s:{s:i}}", "type",
                                            "send_information", "to", from, "information",
                                            inv[i].name, "values", inv[i].name, inv[i].value));
        }
    }

    /* tasks: submit when complete, else ask the holders not yet asked */
    const char *dir_end;
    const char *dir = s_section(prompt, "## Information directory", &dir_end);
    if ((s = s_section(prompt, "## Your tasks", &end)))
        for (; s < end; s = s_next_line(s, end)) {
            char task[64] = "";
            s_line(s, end, line, sizeof line);
            if (sscanf(line, "- %63[^:]:", task) != 1) continue;
            s = s_next_line(s, end);
            s_line(s, end, line, sizeof line);
            const char *req = strstr(line, "Required pieces: ");
            if (!req) continue;
            char pieces[8][128];
            int np = 0;
            char *copy = strdup(req + 17), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && np < 8;
                 t = strtok_r(NULL, ",", &save)) {
                while (*t == ' ') t++;
                snprintf(pieces[np++], sizeof pieces[0], "%s", t);
            }
            free(copy);
            bool all = true;
            for (int k = 0; k < np; k++) {
                if (s_holds(inv, n_inv, pieces[k], NULL)) continue;
                all = false;
                for (const char *d = dir; d && d < dir_end; d = s_next_line(d, dir_end)) {
                    char dl[8192], holder[64];
                    s_line(d, dir_end, dl, sizeof dl);
                    if (sscanf(dl, "- %63[^: ]", holder) != 1 || strcmp(holder, me) == 0) continue;
                    const char *colon = strchr(dl, ':');
                    size_t pl = strlen(pieces[k]);
                    const char *hit = colon ? strstr(colon, pieces[k]) : NULL;
                    bool held = false;
                    while (hit) {
                        if ((hit[-1] == ' ') && (hit[pl] == ',' || hit[pl] == '\0')) held = true;
                        hit = strstr(hit + 1, pieces[k]);
                    }
                    if (!held) continue;
                    char asked[300];
                    snprintf(asked, sizeof asked, "- %s from %s: asked", pieces[k], holder);
                    if (strstr(prompt, asked)) continue; /* in any turn's requests */
                    char msg[300];
                    snprintf(msg, sizeof msg, "REQUEST: %s for %s", pieces[k], task);
                    json_array_append_new(actions,
                                          json_pack("{s:s, s:s, s:s}", "type", "send_message", "to",
                                                    holder, "content", msg));
                }
            }
            if (all && np > 0) {
                char answer[1024] = "Combined result of: ";
                for (int k = 0; k < np; k++) {
                    if (k) strncat(answer, ", ", sizeof answer - strlen(answer) - 1);
                    strncat(answer, pieces[k], sizeof answer - strlen(answer) - 1);
                }
                json_array_append_new(
                    actions, json_pack("{s:s, s:s}", "type", "submit_task", "answer", answer));
            }
        }
    return json_pack("{s:o, s:s}", "actions", actions, "private_thoughts",
                     "Ask for what I miss, give what is asked, submit what is complete.");
}

/* The decision as reply text: fenced, as chat models write it, or bare. */
char *fake_play_text(json_t *d, bool bare)
{
    char *js = json_dumps(d, JSON_INDENT(1));
    if (bare) return js;
    size_t n = strlen(js) + 64;
    char *out = malloc(n);
    snprintf(out, n, "```json\n%s\n```", js);
    free(js);
    return out;
}
