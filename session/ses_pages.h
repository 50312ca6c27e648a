/* ses_pages.h: the session's pages. Each is NAME.html: from the researcher's
 * directory when it holds that file, else the built-in one (session/pages/,
 * embedded at build time; "game" is the broker's seat page). {{KEY}} marks are
 * filled in when a page is served. */
#ifndef PARLEY_SES_PAGES_H
#define PARLEY_SES_PAGES_H

#include <stddef.h>

/* Whether NAME is a page the session knows. */
int ses_page_known(const char *name);
/* The page's text (owned by the caller), from dir/NAME.html when dir is not
 * NULL and the file exists, else built in. NULL if unknown or unreadable
 * (a sentence in err). */
char *ses_page_load(const char *dir, const char *name, char *err, size_t errlen);
/* A copy of text with every {{KEY}} of keys[i] replaced by vals[i] (HTML
 * escaped); unknown marks are left as they are. Owned by the caller. */
char *ses_page_fill(const char *text, const char *const *keys, const char *const *vals, int n);

#endif
