/*
 * sender_auth.h - outbound authentication to the hospital FHIR server:
 * none, a static bearer token (hospital.token_file, re-read after a 401
 * so that a rotated token is picked up), or OAuth2 client
 * credentials (token endpoint, client id, secret file, scope) with the
 * token cached until shortly before it expires and refreshed on demand.
 * Secrets are read from files, never from the configuration line, and are
 * never logged.  Used only by the sender thread.
 */
#ifndef CALCIFY_SENDER_AUTH_H
#define CALCIFY_SENDER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <curl/curl.h>

struct config;
struct sender_auth;

/* Read the secret files named by cfg.  Problems go to errf; NULL on
 * failure. */
struct sender_auth *sender_auth_new(const struct config *, FILE *errf);
void	sender_auth_free(struct sender_auth *);
/* True when requests carry a token (bearer or OAuth2). */
bool	sender_auth_uses_token(const struct sender_auth *);
/*
 * Add the Authorization header to *hdrs (curl_slist_append).  For OAuth2
 * this may fetch a token (blocking, bounded by hospital.timeout_ms).
 * Returns 0, or -1 when no token could be obtained (the delivery is then
 * retried later).
 */
int	sender_auth_apply(struct sender_auth *, struct curl_slist **hdrs);
/* The server refused the token (401): fetch a new OAuth2 token next
 * time, or re-read hospital.token_file now (a rotated static token). */
void	sender_auth_invalidate(struct sender_auth *);
/* TLS settings shared by deliveries and the token endpoint. */
void	sender_tls_setup(CURL *, const struct config *);

#endif
