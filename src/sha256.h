/*
 * sha256.h - FIPS 180-4 SHA-256, used for content hashes (idempotent
 * ingest), deterministic assessment identifiers, token comparison and the
 * log salt.  Pure computation, no allocation.
 */
#ifndef CALCIFY_SHA256_H
#define CALCIFY_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32

struct sha256 {
	uint32_t	s_h[8];
	uint64_t	s_bits;
	uint8_t		s_buf[64];
	size_t		s_used;
};

void	sha256_init(struct sha256 *);
void	sha256_update(struct sha256 *, const void *, size_t);
void	sha256_final(struct sha256 *, uint8_t out[SHA256_LEN]);
/* One-shot convenience. */
void	sha256(const void *, size_t, uint8_t out[SHA256_LEN]);
/*
 * Tests: with true, use the portable compression from now on; with false,
 * go back to the automatic choice (SHA-NI where the CPU has it).  Returns
 * whether the automatic choice is SHA-NI.
 */
bool	sha256_use_portable(bool portable);
/* Constant-time comparison of two digests: 1 if equal, 0 otherwise. */
int	sha256_equal(const uint8_t a[SHA256_LEN], const uint8_t b[SHA256_LEN]);

#endif
