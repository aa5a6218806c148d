/*
 * auth.h - inbound bearer tokens (http.auth_token_file).  The file holds one
 * client a line, "NAME TOKEN", '#' starts a comment.  Tokens are kept only as
 * SHA-256 digests and compared in constant time against every entry, so
 * neither timing nor a core dump reveals them.
 */
#ifndef CALCIFY_AUTH_H
#define CALCIFY_AUTH_H

#include <stddef.h>
#include <stdio.h>

struct auth;

/*
 * Load a token file.  Problems are written to errf as "file:line: problem";
 * returns NULL on any problem (unreadable file, malformed line, duplicate
 * name, token shorter than AUTH_MIN_TOKEN).  An empty file is an error: it
 * would lock every client out.
 */
#define AUTH_MIN_TOKEN	16
struct auth *auth_load(const char *path, FILE *errf);
void	auth_free(struct auth *);
size_t	auth_count(const struct auth *);
/*
 * Check a presented token.  Returns the client's name (borrowed, valid while
 * the set lives) or NULL.  Runs in time independent of which entry matched.
 */
const char *auth_check(const struct auth *, const char *token, size_t len);

#endif
