/*
 * store_sqlite_test.h - a seam for tests/unit/test_store.c only: the
 * daemon and the tools never include it.
 *
 * The path that migrates an older store after a backup copy runs only
 * when a build knows more migrations than the store has applied.  While
 * STORE_SCHEMA_VERSION is 1 no real store is "older" (user_version 0 is a
 * new, empty file, which needs no backup), so the unit test appends
 * test-only migrations after the built-in ones and exercises the same
 * code a real migration 2 will take.
 */
#ifndef CALCIFY_STORE_SQLITE_TEST_H
#define CALCIFY_STORE_SQLITE_TEST_H

/*
 * Append n migrations (SQL text, borrowed: must outlive every later
 * store_open) after the built-in ones: a store then opens at schema
 * STORE_SCHEMA_VERSION + n.  n = 0 restores the built-in list.  Not
 * thread-safe: call with no store open.
 */
void	store_sqlite_test_migrations(const char *const *extra, int n);

#endif
