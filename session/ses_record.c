/* ses_record.c: what a session writes down (ses_internal.h). session.jsonl
 * holds one event a line (pages seen, consent answers, assignments, each
 * decision with the time it took and what was typed, substitutions, outcomes);
 * participants.csv is the per-person table, rewritten on every change so a
 * killed session leaves it current. Only pseudonymous ids are written. */
#include "ses_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t ses_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ses_now_iso(char *out, size_t len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char day[24];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%03ldZ", day, ts.tv_nsec / 1000000);
}

/* splitmix64: small, seedable, the same on every machine. */
uint64_t ses_rand(ses_server_t *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int ses_random_hex(char *out, size_t nbytes)
{
    unsigned char b[64];
    if (nbytes > sizeof b) return -1;
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) return -1;
    for (size_t i = 0; i < nbytes; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

const char *ses_pstate_name(ses_pstate_t st)
{
    static const char *const names[] = {"link",     "instructions", "comprehension",
                                        "waiting",  "playing",      "done",
                                        "declined", "left",         "closed"};
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

void ses_record(ses_server_t *s, const char *name, json_t *fields)
{
    char t[32];
    ses_now_iso(t, sizeof t);
    json_t *ev = json_pack("{s:s, s:s}", "event", name, "t", t);
    if (ev && fields) json_object_update(ev, fields);
    json_decref(fields);
    char *line = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!line || !s->record || fprintf(s->record, "%s\n", line) < 0 || fflush(s->record) != 0)
        fprintf(stderr, "parley session: cannot record %s\n", name);
    free(line);
}

/* A CSV cell: quoted when it holds a comma, a quote or a line break. */
static void s_cell(FILE *f, const char *v, bool last)
{
    if (strpbrk(v, ",\"\r\n")) {
        fputc('"', f);
        for (; *v; v++) {
            if (*v == '"') fputc('"', f);
            fputc(*v, f);
        }
        fputc('"', f);
    } else {
        fputs(v, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void s_write(ses_server_t *s, FILE *f)
{
    fputs("participant,state,consent,game,condition,seat,substituted,substitution_reason,"
          "fallback_policy,substituted_round,decisions,tasks,revenue,completion_code\n",
          f);
    for (int i = 0; i < s->n_people; i++) {
        const ses_person_t *p = &s->people[i];
        const ses_game_t *g = p->game >= 0 ? s->games[p->game] : NULL;
        char game[16] = "", cond[16] = "", seat[24] = "", dec[16], tasks[16] = "", rev[32] = "";
        char round[16] = "";
        if (p->state == SES_P_LEFT) snprintf(round, sizeof round, "%d", p->sub_round);
        if (g) {
            snprintf(game, sizeof game, "g%d", g->index + 1);
            snprintf(cond, sizeof cond, "%d", g->condition + 1);
            snprintf(seat, sizeof seat, "agent_%d", p->seat + 1);
        }
        snprintf(dec, sizeof dec, "%d", p->decisions);
        if (p->state == SES_P_DONE || p->state == SES_P_LEFT) {
            snprintf(tasks, sizeof tasks, "%d", p->tasks);
            snprintf(rev, sizeof rev, "%lld", p->revenue);
        }
        const char *consent = p->state == SES_P_NEW        ? ""
                              : p->state == SES_P_DECLINED ? "declined"
                                                           : "accepted";
        s_cell(f, p->id, false);
        s_cell(f, ses_pstate_name(p->state), false);
        s_cell(f, consent, false);
        s_cell(f, game, false);
        s_cell(f, cond, false);
        s_cell(f, seat, false);
        s_cell(f, p->state == SES_P_LEFT ? "1" : "0", false);
        s_cell(f, p->left_reason, false);
        s_cell(f, p->fallback, false);
        s_cell(f, round, false);
        s_cell(f, dec, false);
        s_cell(f, tasks, false);
        s_cell(f, rev, false);
        s_cell(f, p->code, true);
    }
}

int ses_write_tables(ses_server_t *s)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/participants.csv", s->out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    s_write(s, f);
    if (fclose(f) != 0 || rename(tmp, path) != 0) return -1;
    return 0;
}

char *ses_tables_text(ses_server_t *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    s_write(s, f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
