/**
 * @file audit.h  The reflector's audit log: one JSON object per line
 *
 * Every decision about a peer is appended to reflector.logging
 * .audit_log_path and fsync'd before the reply that it records is sent:
 * what the log says happened is what the peer was told. The fields are
 * the reference reflector's; absent ones are left out.
 */

#ifndef REFL_AUDIT_H
#define REFL_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct odict;
struct refl_audit;

/** One record; NULL strings and NULL params are left out, bytes and
 *  duration unless completed */
struct refl_audit_rec {
	const char *peer_id;
	const char *test_type;
	const char *test_id;
	const struct odict *params;
	const char *decision;         /**< "allowed" | "denied" | ... */
	const char *reason;
	bool completed;               /**< bytes and duration_sec apply */
	uint64_t bytes;               /**< bytes_transferred */
	double duration_sec;
};

#define REFL_AUDIT_REC(...) (&(const struct refl_audit_rec){__VA_ARGS__})

/**
 * Open (append, create 0600, parent directories 0700) the audit log.
 *
 * @param endpoint_id  This reflector's ID, in every record
 */
int refl_audit_open(struct refl_audit **ap, const char *path,
		    const char *endpoint_id, char *why, size_t why_size);
/** After a rotation, records carry the new ID */
void refl_audit_set_endpoint(struct refl_audit *a, const char *endpoint_id);
/**
 * Append and fsync one record.
 *
 * @param event  connection_accepted, session_granted, ... (docs/reflector-
 *               protocol.md "Audit log")
 * @return 0, or errno (also logged as audit_write_failed)
 */
int refl_audit_write(struct refl_audit *a, const char *event,
		     const struct refl_audit_rec *r);
const char *refl_audit_path(const struct refl_audit *a);
uint64_t refl_audit_count(const struct refl_audit *a);


#endif
