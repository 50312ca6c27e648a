/* llm_template.c: the prompt template language (llm_template.h).
 *
 * A template is parsed once into a tree of nodes (text, value, section,
 * inverted section, part, include), so syntax errors surface when it is
 * loaded, not on some later turn; names are looked up at render time, where
 * the tree is known. Includes are parsed into the including tree (a depth
 * limit stops cycles). Built-in texts come from llm_prompts_data.c, which
 * prompts/embed.cmake generates from prompts/ at build time. */
#include "llm_template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 16                /* includes within includes */
#define S_MAX_FILE  (1024 * 1024)     /* a template is a page or two of text */
#define S_MAX_OUT   (8 * 1024 * 1024) /* a runaway loop stops here */

/* The embedded prompts/ tree (generated). */
typedef struct {
    const char *name;   /* "paper/goal-neutral" */
    const char *origin; /* "prompts/paper/goal-neutral.tmpl" */
    const char *text;
} llm_builtin_t;
extern const llm_builtin_t llm_prompt_builtins[];
extern const size_t llm_prompt_n_builtins;

typedef enum { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PART, N_INCLUDE } s_kind_t;
typedef enum { S_PART_USER = 0, S_PART_SYSTEM = 1 } s_part_t;

typedef struct s_node {
    s_kind_t kind;
    char *text; /* N_TEXT: the bytes; others: the name */
    size_t len;
    int line;
    const char *file; /* owned by the template's file list */
    struct s_node *first, *last, *next;
} s_node_t;

struct llm_tmpl {
    s_node_t root;
    char **files; /* labels for messages */
    size_t n_files;
    bool has_system;
    bool has_turn; /* a {{$turn}} part: the template is a conversation */
    bool has_user;
};

/* ------------------------------------------------------------ helpers -- */

__attribute__((format(printf, 3, 4))) static void s_err(char *err, size_t len, const char *fmt, ...)
{
    if (!err || !len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

static void s_node_free(s_node_t *n)
{
    while (n) {
        s_node_t *next = n->next;
        s_node_free(n->first);
        free(n->text);
        free(n);
        n = next;
    }
}

static s_node_t *s_add(s_node_t *parent, s_kind_t kind, const char *text, size_t len, int line,
                       const char *file)
{
    s_node_t *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->text = malloc(len + 1);
    if (!n->text) {
        free(n);
        return NULL;
    }
    memcpy(n->text, text, len);
    n->text[len] = '\0';
    n->len = len;
    n->kind = kind;
    n->line = line;
    n->file = file;
    if (parent->last)
        parent->last->next = n;
    else
        parent->first = n;
    parent->last = n;
    return n;
}

static const char *s_file_label(llm_tmpl_t *t, const char *label)
{
    char **f = realloc(t->files, (t->n_files + 1) * sizeof *f);
    if (!f) return NULL;
    t->files = f;
    if (!(f[t->n_files] = strdup(label))) return NULL;
    return f[t->n_files++];
}

const char *llm_tmpl_builtin(const char *name, const char **origin)
{
    for (size_t i = 0; name && i < llm_prompt_n_builtins; i++)
        if (strcmp(llm_prompt_builtins[i].name, name) == 0) {
            if (origin) *origin = llm_prompt_builtins[i].origin;
            return llm_prompt_builtins[i].text;
        }
    return NULL;
}

/* Reads a whole file (NUL-terminated, caller frees), or NULL with errno. */
static char *s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *b = realloc(buf, cap);
            if (!b) goto fail;
            buf = b;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > S_MAX_FILE) {
            errno = EFBIG;
            goto fail;
        }
        if (got == 0) break;
    }
    if (ferror(f)) goto fail;
    fclose(f);
    buf[n] = '\0';
    return buf;
fail:;
    int e = errno;
    free(buf);
    fclose(f);
    errno = e ? e : EIO;
    return NULL;
}

/* The directory part of a path ("a/b.tmpl" -> "a"), or NULL for none. */
static char *s_dirname(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash) return NULL;
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 2);
    if (!d) return NULL;
    if (n == 0) n = 1; /* "/x" -> "/" */
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* ------------------------------------------------------------- parsing -- */

typedef struct {
    llm_tmpl_t *t;
    char *err;
    size_t errlen;
    int depth;
} s_parse_t;

static int s_parse_text(s_parse_t *ps, s_node_t *root, const char *text, const char *label,
                        const char *dir, bool builtin);

static bool s_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Resolves `{{> name}}` from a template in `dir` (NULL: built-in or memory)
 * and parses it under `into`. */
static int s_include(s_parse_t *ps, s_node_t *into, const char *name, const char *dir, bool builtin,
                     const char *file, int line)
{
    if (ps->depth >= S_MAX_DEPTH) {
        s_err(ps->err, ps->errlen,
              "%s:%d: include \"%s\" nests more than %d deep (does it include itself?)", file, line,
              name, S_MAX_DEPTH);
        return -1;
    }
    /* A file next to the includer wins over a built-in of the same name, so a
     * copy of prompts/ can be edited piece by piece; built-ins include only
     * built-ins. */
    if (!builtin) {
        char path[4096];
        int n = (name[0] == '/' || !dir) ? snprintf(path, sizeof path, "%s", name)
                                         : snprintf(path, sizeof path, "%s/%s", dir, name);
        if (n > 0 && (size_t)n < sizeof path) {
            char *text = s_read_file(path);
            if (text) {
                char *sub = s_dirname(path);
                ps->depth++;
                int rc = s_parse_text(ps, into, text, path, sub, false);
                ps->depth--;
                free(sub);
                free(text);
                return rc;
            }
            if (errno != ENOENT) {
                s_err(ps->err, ps->errlen, "%s:%d: cannot include \"%s\": %s", file, line, path,
                      strerror(errno));
                return -1;
            }
        }
    }
    const char *origin = NULL;
    const char *text = llm_tmpl_builtin(name, &origin);
    if (!text) {
        s_err(ps->err, ps->errlen,
              "%s:%d: cannot include \"%s\": no such file%s and no built-in template of that name",
              file, line, name, dir ? " beside this one" : "");
        return -1;
    }
    ps->depth++;
    int rc = s_parse_text(ps, into, text, origin, NULL, true);
    ps->depth--;
    return rc;
}

typedef struct {
    s_node_t *node;
    int line;
} s_open_t;

static int s_parse_text(s_parse_t *ps, s_node_t *root, const char *text, const char *label,
                        const char *dir, bool builtin)
{
    const char *file = s_file_label(ps->t, label);
    if (!file) {
        s_err(ps->err, ps->errlen, "%s: out of memory", label);
        return -1;
    }
    s_open_t stack[64];
    int top = 0;
    s_node_t *cur = root;
    const char *p = text, *lit = text;
    int line = 1;                  /* line of p */
    const char *line_start = text; /* start of p's line */
    for (;;) {
        const char *open = strstr(p, "{{");
        for (const char *q = p; q < (open ? open : p + strlen(p)); q++)
            if (*q == '\n') {
                line++;
                line_start = q + 1;
            }
        if (!open) break;
        int tag_line = line;
        const char *close = strstr(open + 2, "}}");
        const char *nl = strchr(open + 2, '\n');
        bool comment = open[2] == '!'; /* the one tag that may span lines */
        if (!close || (!comment && nl && nl < close)) {
            s_err(ps->err, ps->errlen,
                  "%s:%d: a tag opened with {{ is not closed with }} on the same line", file,
                  tag_line);
            return -1;
        }
        const char *in = open + 2;
        char sigil = strchr("#^/!>$", *in) && *in ? *in : 0;
        if (sigil) in++;
        while (in < close && (*in == ' ' || *in == '\t')) in++;
        const char *end = close;
        while (end > in && (end[-1] == ' ' || end[-1] == '\t')) end--;
        size_t nlen = (size_t)(end - in);
        if (sigil != '!' && nlen == 0) {
            s_err(ps->err, ps->errlen, "%s:%d: empty tag {{%s}}", file, tag_line,
                  sigil ? (char[]){sigil, 0} : "");
            return -1;
        }
        char name[128];
        if (sigil != '!') {
            if (nlen >= sizeof name) {
                s_err(ps->err, ps->errlen, "%s:%d: tag name too long", file, tag_line);
                return -1;
            }
            memcpy(name, in, nlen);
            name[nlen] = '\0';
        }
        const char *open_line_start = line_start;
        for (const char *q = open; q < close; q++)
            if (*q == '\n') {
                line++;
                line_start = q + 1;
            }
        /* Standalone: only blanks around a non-value tag on its line. */
        const char *after = close + 2, *lit_end = open;
        if (sigil) {
            bool alone = true;
            for (const char *q = open_line_start; q < open && alone; q++) alone = s_blank(*q);
            const char *q = after;
            while (*q && s_blank(*q)) q++;
            if (alone && (*q == '\n' || *q == '\0')) {
                lit_end = open_line_start;
                after = *q ? q + 1 : q;
            }
        }
        if (lit_end > lit && !s_add(cur, N_TEXT, lit, (size_t)(lit_end - lit), tag_line, file))
            goto oom;
        if (after > close + 2 && after[-1] == '\n') {
            line++;
            line_start = after;
        }
        p = lit = after;
        switch (sigil) {
        case '!':
            break;
        case 0:
            if (!s_add(cur, N_VAR, name, nlen, tag_line, file)) goto oom;
            break;
        case '>': {
            s_node_t *inc = s_add(cur, N_INCLUDE, name, nlen, tag_line, file);
            if (!inc) goto oom;
            if (s_include(ps, inc, name, dir, builtin, file, tag_line)) return -1;
            break;
        }
        case '#':
        case '^':
        case '$': {
            if (sigil == '$') {
                if (strcmp(name, "system") != 0 && strcmp(name, "user") != 0 &&
                    strcmp(name, "turn") != 0) {
                    s_err(ps->err, ps->errlen,
                          "%s:%d: unknown part {{$%s}} (the parts are {{$system}}, {{$user}} and "
                          "{{$turn}})",
                          file, tag_line, name);
                    return -1;
                }
                /* a conversation appends each turn; a user part would be re-sent whole,
                 * so one template cannot be both */
                bool turn = strcmp(name, "turn") == 0, user = strcmp(name, "user") == 0;
                if ((turn && ps->t->has_user) || (user && ps->t->has_turn)) {
                    s_err(ps->err, ps->errlen,
                          "%s:%d: {{$%s}} beside {{$%s}}: a template has a user part or a turn "
                          "part, not both",
                          file, tag_line, name, turn ? "user" : "turn");
                    return -1;
                }
                if (turn) ps->t->has_turn = true;
                if (user) ps->t->has_user = true;
                for (int i = 0; i < top; i++)
                    if (stack[i].node->kind == N_PART) {
                        s_err(
                            ps->err, ps->errlen,
                            "%s:%d: {{$%s}} inside {{$%s}} (opened at line %d): parts do not nest",
                            file, tag_line, name, stack[i].node->text, stack[i].line);
                        return -1;
                    }
                if (strcmp(name, "system") == 0) ps->t->has_system = true;
            }
            if (top >= (int)(sizeof stack / sizeof stack[0])) {
                s_err(ps->err, ps->errlen, "%s:%d: sections nest too deep", file, tag_line);
                return -1;
            }
            s_kind_t k = sigil == '#' ? N_SECTION : sigil == '^' ? N_INVERTED : N_PART;
            s_node_t *sec = s_add(cur, k, name, nlen, tag_line, file);
            if (!sec) goto oom;
            stack[top++] = (s_open_t){sec, tag_line};
            cur = sec;
            break;
        }
        case '/':
            if (top == 0) {
                s_err(ps->err, ps->errlen, "%s:%d: {{/%s}} closes nothing (no open section)", file,
                      tag_line, name);
                return -1;
            }
            if (strcmp(stack[top - 1].node->text, name) != 0) {
                s_err(ps->err, ps->errlen, "%s:%d: {{/%s}} closes \"%s\", opened at line %d", file,
                      tag_line, name, stack[top - 1].node->text, stack[top - 1].line);
                return -1;
            }
            top--;
            cur = top ? stack[top - 1].node : root;
            break;
        }
    }
    if (*lit && !s_add(cur, N_TEXT, lit, strlen(lit), line, file)) goto oom;
    if (top > 0) {
        s_err(ps->err, ps->errlen, "%s:%d: section \"%s\" is never closed (no {{/%s}})", file,
              stack[top - 1].line, stack[top - 1].node->text, stack[top - 1].node->text);
        return -1;
    }
    return 0;
oom:
    s_err(ps->err, ps->errlen, "%s: out of memory", file);
    return -1;
}

static llm_tmpl_t *s_parse(const char *text, const char *label, const char *dir, bool builtin,
                           char *err, size_t errlen)
{
    llm_tmpl_t *t = calloc(1, sizeof *t);
    if (!t) {
        s_err(err, errlen, "%s: out of memory", label);
        return NULL;
    }
    s_parse_t ps = {.t = t, .err = err, .errlen = errlen};
    if (s_parse_text(&ps, &t->root, text, label, dir, builtin)) llm_tmpl_destroy(&t);
    return t;
}

llm_tmpl_t *llm_tmpl_load(const char *spec, char *err, size_t errlen)
{
    if (!spec || !*spec) {
        s_err(err, errlen, "no template named");
        return NULL;
    }
    const char *origin = NULL;
    const char *text = llm_tmpl_builtin(spec, &origin);
    if (text) return s_parse(text, origin, NULL, true, err, errlen);
    char *buf = s_read_file(spec);
    if (!buf) {
        s_err(err, errlen,
              "%s: cannot read the template: %s (built-in templates: paper, clear, cache)", spec,
              strerror(errno));
        return NULL;
    }
    char *dir = s_dirname(spec);
    llm_tmpl_t *t = s_parse(buf, spec, dir, false, err, errlen);
    free(dir);
    free(buf);
    return t;
}

void llm_tmpl_destroy(llm_tmpl_t **tp)
{
    if (!tp || !*tp) return;
    llm_tmpl_t *t = *tp;
    s_node_free(t->root.first);
    for (size_t i = 0; i < t->n_files; i++) free(t->files[i]);
    free(t->files);
    free(t);
    *tp = NULL;
}

bool llm_tmpl_has_system(const llm_tmpl_t *t)
{
    return t && t->has_system;
}

bool llm_tmpl_is_conversation(const llm_tmpl_t *t)
{
    return t && t->has_turn;
}

/* ----------------------------------------------------------- rendering -- */

typedef struct {
    char *p;
    size_t n, cap;
} s_out_t;

typedef struct {
    const json_t *v;
    int index, count; /* index >= 0 inside a list */
} s_frame_t;

typedef struct {
    s_out_t out[2];
    int part;
    s_frame_t stack[96];
    int top;
    char *err;
    size_t errlen;
} s_render_t;

static int s_emit(s_render_t *r, const s_node_t *n, const char *s, size_t len)
{
    s_out_t *o = &r->out[r->part];
    if (o->n + len + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->n + len + 1) cap *= 2;
        if (cap > S_MAX_OUT) {
            s_err(r->err, r->errlen, "%s:%d: the rendered prompt is larger than %d bytes", n->file,
                  n->line, S_MAX_OUT);
            return -1;
        }
        char *p = realloc(o->p, cap);
        if (!p) {
            s_err(r->err, r->errlen, "%s:%d: out of memory", n->file, n->line);
            return -1;
        }
        o->p = p;
        o->cap = cap;
    }
    memcpy(o->p + o->n, s, len);
    o->n += len;
    o->p[o->n] = '\0';
    return 0;
}

/* The value `name` names, searched from the innermost section outwards, or
 * NULL with the error written. @first/@last/@index are made up from the
 * innermost list into *tmp, which the caller decrefs. */
static const json_t *s_lookup(s_render_t *r, const s_node_t *n, const char *name, json_t **tmp)
{
    *tmp = NULL;
    if (strcmp(name, ".") == 0) return r->top ? r->stack[r->top - 1].v : NULL;
    if (name[0] == '@') {
        for (int i = r->top - 1; i >= 0; i--) {
            const s_frame_t *f = &r->stack[i];
            if (f->index < 0) continue;
            if (strcmp(name, "@first") == 0) return *tmp = json_boolean(f->index == 0);
            if (strcmp(name, "@last") == 0) return *tmp = json_boolean(f->index == f->count - 1);
            if (strcmp(name, "@index") == 0) return *tmp = json_integer(f->index + 1);
            break;
        }
        s_err(r->err, r->errlen, "%s:%d: unknown name \"%s\"%s", n->file, n->line, name,
              strcmp(name, "@first") && strcmp(name, "@last") && strcmp(name, "@index")
                  ? " (the list names are @first, @last, @index)"
                  : " outside a list");
        return NULL;
    }
    char seg[128];
    const char *dot = strchr(name, '.');
    size_t sl = dot ? (size_t)(dot - name) : strlen(name);
    if (sl == 0 || sl >= sizeof seg) goto unknown;
    memcpy(seg, name, sl);
    seg[sl] = '\0';
    const json_t *v = NULL;
    for (int i = r->top - 1; i >= 0 && !v; i--)
        if (json_is_object(r->stack[i].v)) v = json_object_get(r->stack[i].v, seg);
    while (v && dot) {
        const char *s = dot + 1;
        dot = strchr(s, '.');
        sl = dot ? (size_t)(dot - s) : strlen(s);
        if (sl == 0 || sl >= sizeof seg || !json_is_object(v)) {
            v = NULL;
            break;
        }
        memcpy(seg, s, sl);
        seg[sl] = '\0';
        v = json_object_get(v, seg);
    }
    if (v) return v;
unknown:
    s_err(r->err, r->errlen, "%s:%d: unknown variable \"%s\" (docs/LLM.md lists the variables)",
          n->file, n->line, name);
    return NULL;
}

static bool s_truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
    case JSON_TRUE:
        return true;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    default:
        return false;
    }
}

static int s_render_nodes(s_render_t *r, const s_node_t *n);

static int s_push(s_render_t *r, const s_node_t *n, const json_t *v, int index, int count)
{
    if (r->top >= (int)(sizeof r->stack / sizeof r->stack[0])) {
        s_err(r->err, r->errlen, "%s:%d: sections nest too deep", n->file, n->line);
        return -1;
    }
    r->stack[r->top++] = (s_frame_t){v, index, count};
    return 0;
}

static int s_value(s_render_t *r, const s_node_t *n)
{
    json_t *tmp;
    const json_t *v = s_lookup(r, n, n->text, &tmp);
    if (!v) return -1;
    char buf[64];
    const char *s = buf;
    size_t len;
    switch (json_typeof(v)) {
    case JSON_STRING:
        s = json_string_value(v);
        len = json_string_length(v);
        break;
    case JSON_INTEGER:
        len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        len = (size_t)snprintf(buf, sizeof buf, "%g", json_real_value(v));
        break;
    case JSON_TRUE:
        s = "true";
        len = 4;
        break;
    case JSON_FALSE:
        s = "false";
        len = 5;
        break;
    case JSON_NULL:
        len = 0;
        break;
    default:
        json_decref(tmp);
        s_err(r->err, r->errlen, "%s:%d: \"%s\" is a %s, not a value (loop over it with {{#%s}})",
              n->file, n->line, n->text, json_is_array(v) ? "list" : "group", n->text);
        return -1;
    }
    int rc = s_emit(r, n, s, len);
    json_decref(tmp);
    return rc;
}

static int s_section(s_render_t *r, const s_node_t *n)
{
    json_t *tmp;
    const json_t *v = s_lookup(r, n, n->text, &tmp);
    if (!v) return -1;
    int rc = 0;
    bool yes = s_truthy(v);
    if (n->kind == N_INVERTED) {
        if (!yes) rc = s_render_nodes(r, n->first);
    } else if (json_is_array(v)) {
        int count = (int)json_array_size(v);
        for (int i = 0; i < count && rc == 0; i++) {
            if ((rc = s_push(r, n, json_array_get(v, (size_t)i), i, count))) break;
            rc = s_render_nodes(r, n->first);
            r->top--;
        }
    } else if (yes) {
        /* A scalar keeps the enclosing list's position visible to @first. */
        int idx = -1, cnt = 0;
        if (!json_is_object(v) && r->top) {
            idx = r->stack[r->top - 1].index;
            cnt = r->stack[r->top - 1].count;
        }
        if ((rc = s_push(r, n, v, idx, cnt)) == 0) {
            rc = s_render_nodes(r, n->first);
            r->top--;
        }
    }
    json_decref(tmp);
    return rc;
}

static int s_render_nodes(s_render_t *r, const s_node_t *n)
{
    for (; n; n = n->next) {
        int rc = 0;
        switch (n->kind) {
        case N_TEXT:
            rc = s_emit(r, n, n->text, n->len);
            break;
        case N_VAR:
            rc = s_value(r, n);
            break;
        case N_SECTION:
        case N_INVERTED:
            rc = s_section(r, n);
            break;
        case N_INCLUDE:
            rc = s_render_nodes(r, n->first);
            break;
        case N_PART: {
            int was = r->part;
            r->part = strcmp(n->text, "system") == 0 ? S_PART_SYSTEM : S_PART_USER;
            rc = s_render_nodes(r, n->first);
            r->part = was;
            break;
        }
        }
        if (rc) return rc;
    }
    return 0;
}

int llm_tmpl_render(const llm_tmpl_t *t, const json_t *model, char **system, char **user, char *err,
                    size_t errlen)
{
    if (system) *system = NULL;
    if (user) *user = NULL;
    if (!t || !model || !user) {
        s_err(err, errlen, "no template or no data to render");
        return -1;
    }
    s_render_t r = {.err = err, .errlen = errlen};
    r.stack[r.top++] = (s_frame_t){model, -1, 0};
    if (s_render_nodes(&r, t->root.first)) {
        free(r.out[0].p);
        free(r.out[1].p);
        return -1;
    }
    if (!r.out[S_PART_USER].p && !(r.out[S_PART_USER].p = strdup(""))) {
        free(r.out[S_PART_SYSTEM].p);
        s_err(err, errlen, "out of memory");
        return -1;
    }
    if (t->has_system && !r.out[S_PART_SYSTEM].p && !(r.out[S_PART_SYSTEM].p = strdup(""))) {
        free(r.out[S_PART_USER].p);
        s_err(err, errlen, "out of memory");
        return -1;
    }
    *user = r.out[S_PART_USER].p;
    if (system)
        *system = r.out[S_PART_SYSTEM].p;
    else
        free(r.out[S_PART_SYSTEM].p);
    return 0;
}
