/*
 * config.h - calcifyd's configuration: one table of keys (config.c) used by
 * the INI file parser, -o overrides, --check-config and --list-keys (which
 * the tests compare with conf/calcifyd.conf and man/calcifyd.conf.5).
 *
 * After config_load() the struct is immutable; SIGHUP builds a new one and
 * main swaps it only if it is valid.  Modules read fields directly through
 * a const pointer and copy what must outlive a reload.
 */
#ifndef CALCIFY_CONFIG_H
#define CALCIFY_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum config_hospital_mode {
	CONFIG_MODE_CONDITIONAL_CREATE,
	CONFIG_MODE_PUT,
};

enum config_hospital_auth {
	CONFIG_AUTH_NONE,
	CONFIG_AUTH_BEARER,
	CONFIG_AUTH_OAUTH2,
};

enum config_scope {
	CONFIG_SCOPE_DIALYSIS,
	CONFIG_SCOPE_ALL,
};

enum config_sync {
	CONFIG_SYNC_FULL,
	CONFIG_SYNC_NORMAL,
};

struct config {
	char		*cf_file;	/* file loaded, NULL for defaults */

	/* [http] */
	char		*cf_http_listen;
	long		 cf_http_threads;	/* 0 = number of CPUs */
	uint64_t	 cf_http_max_body;
	long		 cf_http_max_depth;
	long		 cf_http_max_entries;
	uint64_t	 cf_http_max_header;
	long		 cf_http_max_connections;
	long		 cf_http_max_connections_per_ip;
	int64_t		 cf_http_request_timeout_ms;
	long		 cf_http_max_queue;
	char		*cf_http_public_base;
	char		*cf_http_auth_token_file;
	bool		 cf_http_auth_readyz;
	bool		 cf_http_auth_metrics;
	char		*cf_http_tls_cert;
	char		*cf_http_tls_key;
	char		*cf_http_tls_client_ca;
	char		*cf_http_tls_client_subjects;

	/* [store] */
	char		*cf_store_path;
	int		 cf_store_synchronous;	/* enum config_sync */
	long		 cf_store_cache_mb;
	long		 cf_store_batch_max;
	int64_t		 cf_store_busy_timeout_ms;

	/* [hospital] */
	char		*cf_hospital_base_url;	/* "" = embedded mode */
	int		 cf_hospital_mode;	/* enum config_hospital_mode */
	int		 cf_hospital_auth;	/* enum config_hospital_auth */
	char		*cf_hospital_token_file;
	char		*cf_hospital_oauth2_token_url;
	char		*cf_hospital_oauth2_client_id;
	char		*cf_hospital_oauth2_secret_file;
	char		*cf_hospital_oauth2_scope;
	bool		 cf_hospital_tls_verify;
	char		*cf_hospital_ca_file;
	char		*cf_hospital_client_cert;
	char		*cf_hospital_client_key;
	int64_t		 cf_hospital_timeout_ms;
	int64_t		 cf_hospital_connect_timeout_ms;
	long		 cf_hospital_max_retries;	/* 0 = bounded by age */
	int64_t		 cf_hospital_max_age_ms;
	long		 cf_hospital_concurrency;
	int64_t		 cf_hospital_backoff_base_ms;
	int64_t		 cf_hospital_backoff_max_ms;
	char		*cf_hospital_identifier_system;
	long		 cf_hospital_max_outbox;
	long		 cf_hospital_backlog_warn;
	int64_t		 cf_hospital_backlog_warn_age_ms;

	/* [model] */
	char		*cf_model_path;
	char		*cf_model_codes;
	int		 cf_model_scope;	/* enum config_scope */
	char		*cf_model_dialysis_patients;

	/* [log] */
	int		 cf_log_level;		/* enum log_level */
};

/* Default configuration file, from --sysconfdir. */
const char *config_default_path(void);

/*
 * Load file (NULL: built-in defaults only, and a missing default file is
 * not an error when file_optional) then apply overrides ("section.key=value"
 * strings, noverrides of them).  Every problem is written to errf as
 * "file:line: key: problem" and counted; on any problem NULL is returned.
 * The result is owned by the caller; release with config_free().
 */
struct config *config_load(const char *file, bool file_optional,
	    const char *const *overrides, int noverrides, FILE *errf);
void	config_free(struct config *);

/* Write every key as "key<TAB>type<TAB>default<TAB>help" lines (tests and
 * documentation checks use this). */
void	config_list_keys(FILE *);
/* Write the effective configuration in INI form. */
void	config_dump(const struct config *, FILE *);
/* Split "host:port" / "[v6]:port" into its parts; -1 when malformed. */
int	config_split_listen(const char *, char *host, size_t hostsz,
	    unsigned *port);

#endif
