/*
 * sha256.c - FIPS 180-4 SHA-256.  A straightforward portable compression
 * function, and on x86-64 CPUs with the SHA extensions (SHA-NI) the same
 * compression in those instructions, chosen once at run time from CPUID.
 * Hashing is on every ingest path (content hash, assessment identifier,
 * output signature) and the portable rounds were an eighth of calcifyd's
 * instructions per request.  Both are checked against the FIPS vectors and
 * against each other in tests/unit/test_util.c.  Owns no state but the
 * choice of implementation.
 */
#include "autoconfig.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI_PATH	1
#endif

#include "sha256.h"

static const uint32_t k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))

static void
block(struct sha256 *c, const uint8_t *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
		    (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^
		    (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = c->s_h[0]; b = c->s_h[1]; cc = c->s_h[2]; d = c->s_h[3];
	e = c->s_h[4]; f = c->s_h[5]; g = c->s_h[6]; h = c->s_h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		    ((e & f) ^ (~e & g)) + k[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		    ((a & b) ^ (a & cc) ^ (b & cc));
		h = g; g = f; f = e; e = d + t1;
		d = cc; cc = b; b = a; a = t1 + t2;
	}
	c->s_h[0] += a; c->s_h[1] += b; c->s_h[2] += cc; c->s_h[3] += d;
	c->s_h[4] += e; c->s_h[5] += f; c->s_h[6] += g; c->s_h[7] += h;
}

#ifdef HAVE_SHA_NI_PATH
/*
 * n blocks with SHA-NI.  The instructions keep the state as ABEF and CDGH
 * halves; each _mm_sha256rnds2_epu32 does two rounds, and msg1/msg2 extend
 * the message schedule four words at a time:
 *   W[g] = msg2(msg1(W[g-4], W[g-3]) + W[g-2..g-1] shifted by one word,
 *               W[g-1])   (in groups of four words)
 */
__attribute__((target("sha,sse4.1,ssse3")))
static void
blocks_ni(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL,
	    0x0405060700010203ULL);
	__m128i st0, st1, t, save0, save1, msg, m[4];
	int g;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);
	st1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);
	st0 = _mm_alignr_epi8(t, st1, 8);		/* ABEF */
	st1 = _mm_blend_epi16(st1, t, 0xF0);		/* CDGH */
	for (; n > 0; n--, p += 64) {
		save0 = st0;
		save1 = st1;
		for (g = 0; g < 4; g++)
			m[g] = _mm_shuffle_epi8(_mm_loadu_si128(
			    (const __m128i *)(p + 16 * g)), bswap);
		for (g = 0; g < 16; g++) {
			if (g >= 4) {
				t = _mm_sha256msg1_epu32(m[g & 3],
				    m[(g + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(
				    m[(g + 3) & 3], m[(g + 2) & 3], 4));
				m[g & 3] = _mm_sha256msg2_epu32(t,
				    m[(g + 3) & 3]);
			}
			msg = _mm_add_epi32(m[g & 3],
			    _mm_loadu_si128((const __m128i *)&k[4 * g]));
			st1 = _mm_sha256rnds2_epu32(st1, st0, msg);
			msg = _mm_shuffle_epi32(msg, 0x0E);
			st0 = _mm_sha256rnds2_epu32(st0, st1, msg);
		}
		st0 = _mm_add_epi32(st0, save0);
		st1 = _mm_add_epi32(st1, save1);
	}
	t = _mm_shuffle_epi32(st0, 0x1B);		/* FEBA */
	st1 = _mm_shuffle_epi32(st1, 0xB1);		/* DCHG */
	_mm_storeu_si128((__m128i *)&h[0],
	    _mm_blend_epi16(t, st1, 0xF0));		/* DCBA */
	_mm_storeu_si128((__m128i *)&h[4],
	    _mm_alignr_epi8(st1, t, 8));		/* HGFE */
}

static bool
cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) ||
	    !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return false;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return false;
	return (b & bit_SHA) != 0;
}
#endif

/* 0 not chosen yet, 1 portable, 2 SHA-NI. */
static _Atomic int impl;

static int
chosen(void)
{
	int i = atomic_load_explicit(&impl, memory_order_relaxed);

	if (i == 0) {
		i = 1;
#ifdef HAVE_SHA_NI_PATH
		if (cpu_has_sha_ni())
			i = 2;
#endif
		atomic_store_explicit(&impl, i, memory_order_relaxed);
	}
	return i;
}

bool
sha256_use_portable(bool portable)
{
	int was = chosen();

	atomic_store(&impl, portable ? 1 : 0);
	return was == 2;
}

/* Compress n consecutive 64-byte blocks into c's state. */
static void
compress(struct sha256 *c, const uint8_t *p, size_t n)
{
#ifdef HAVE_SHA_NI_PATH
	if (chosen() == 2) {
		blocks_ni(c->s_h, p, n);
		return;
	}
#endif
	for (; n > 0; n--, p += 64)
		block(c, p);
}

void
sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->s_h, iv, sizeof(iv));
	c->s_bits = 0;
	c->s_used = 0;
}

void
sha256_update(struct sha256 *c, const void *data, size_t n)
{
	const uint8_t *p = data;
	size_t take;

	c->s_bits += (uint64_t)n * 8;
	if (c->s_used > 0) {
		take = 64 - c->s_used < n ? 64 - c->s_used : n;
		memcpy(c->s_buf + c->s_used, p, take);
		c->s_used += take;
		p += take;
		n -= take;
		if (c->s_used < 64)
			return;
		compress(c, c->s_buf, 1);
		c->s_used = 0;
	}
	if (n >= 64) {
		compress(c, p, n / 64);
		p += n - n % 64;
		n %= 64;
	}
	memcpy(c->s_buf, p, n);
	c->s_used = n;
}

void
sha256_final(struct sha256 *c, uint8_t out[SHA256_LEN])
{
	uint64_t bits = c->s_bits;
	int i;

	c->s_buf[c->s_used++] = 0x80;
	if (c->s_used > 56) {
		memset(c->s_buf + c->s_used, 0, 64 - c->s_used);
		compress(c, c->s_buf, 1);
		c->s_used = 0;
	}
	memset(c->s_buf + c->s_used, 0, 56 - c->s_used);
	for (i = 0; i < 8; i++)
		c->s_buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	compress(c, c->s_buf, 1);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(c->s_h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(c->s_h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(c->s_h[i] >> 8);
		out[4 * i + 3] = (uint8_t)c->s_h[i];
	}
}

void
sha256(const void *data, size_t n, uint8_t out[SHA256_LEN])
{
	struct sha256 c;

	sha256_init(&c);
	sha256_update(&c, data, n);
	sha256_final(&c, out);
}

int
sha256_equal(const uint8_t a[SHA256_LEN], const uint8_t b[SHA256_LEN])
{
	volatile uint8_t d = 0;
	int i;

	for (i = 0; i < SHA256_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}
