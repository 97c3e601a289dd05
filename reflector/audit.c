/**
 * @file audit.c  The audit log (audit.h)
 *
 * A record is formatted whole, then written with one write() on an
 * O_APPEND descriptor and fsync'd: a reader never sees half a line, and
 * a crash loses at most a record whose reply was never sent.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/log.h"
#include "gateway/paths.h"
#include "reflector/audit.h"
#include "reflector/id.h"

struct refl_audit {
	int fd;
	char *path;
	char endpoint_id[REFL_ID_LEN + 1];
	uint64_t count;
	uint64_t failures;
};


static void audit_destructor(void *data)
{
	struct refl_audit *a = data;

	if (a->fd >= 0)
		close(a->fd);
	mem_deref(a->path);
}


int refl_audit_open(struct refl_audit **ap, const char *path,
		    const char *endpoint_id, char *why, size_t why_size)
{
	struct refl_audit *a;
	int err;

	if (!ap || !path || !endpoint_id || !why || !why_size)
		return EINVAL;
	why[0] = '\0';

	err = gw_mkdir_parents(path, 0755, 0700);
	if (err) {
		snprintf(why, why_size, "cannot create its directory: %s",
			 strerror(err));
		return err;
	}

	a = mem_zalloc(sizeof(*a), audit_destructor);
	if (!a)
		return ENOMEM;
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		     O_NOFOLLOW, 0600);
	if (a->fd < 0) {
		err = errno;
		snprintf(why, why_size, "cannot open it: %s", strerror(err));
		mem_deref(a);
		return err;
	}
	err = str_dup(&a->path, path);
	if (err) {
		mem_deref(a);
		return err;
	}
	refl_audit_set_endpoint(a, endpoint_id);
	*ap = a;

	return 0;
}


void refl_audit_set_endpoint(struct refl_audit *a, const char *endpoint_id)
{
	if (a && endpoint_id)
		str_ncpy(a->endpoint_id, endpoint_id, sizeof(a->endpoint_id));
}


static int put_line(struct refl_audit *a, const struct mbuf *mb)
{
	const uint8_t *p = mb->buf;
	size_t left = mb->end;

	while (left) {
		ssize_t n = write(a->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		p += n;
		left -= (size_t)n;
	}

	return fdatasync(a->fd) ? errno : 0;
}


int refl_audit_write(struct refl_audit *a, const char *event,
		     const struct refl_audit_rec *r)
{
	char ts[40];
	struct odict *o = NULL;
	struct mbuf *mb = NULL;
	int err;

	if (!a || !event || !r)
		return EINVAL;

	gw_rfc3339(ts, sizeof(ts), gw_wall_ms());
	err = odict_alloc(&o, 16);
	if (err)
		goto out;
	err = odict_entry_add(o, "timestamp", ODICT_STRING, ts);
	err |= odict_entry_add(o, "event_type", ODICT_STRING, event);
	if (r->peer_id)
		err |= odict_entry_add(o, "peer_id", ODICT_STRING, r->peer_id);
	err |= odict_entry_add(o, "endpoint_id", ODICT_STRING,
			       a->endpoint_id);
	if (r->test_type)
		err |= odict_entry_add(o, "test_type", ODICT_STRING,
				       r->test_type);
	if (r->test_id)
		err |= odict_entry_add(o, "test_id", ODICT_STRING, r->test_id);
	if (r->params)
		err |= odict_entry_add(o, "params", ODICT_OBJECT, r->params);
	if (r->decision)
		err |= odict_entry_add(o, "decision", ODICT_STRING,
				       r->decision);
	if (r->reason)
		err |= odict_entry_add(o, "reason", ODICT_STRING, r->reason);
	if (r->completed) {
		err |= odict_entry_add(o, "bytes_transferred", ODICT_INT,
				       (int64_t)r->bytes);
		err |= odict_entry_add(o, "duration_sec", ODICT_DOUBLE,
				       r->duration_sec);
	}
	if (err) {
		err = ENOMEM;
		goto out;
	}

	mb = mbuf_alloc(512);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}
	err = mbuf_printf(mb, "%H\n", json_encode_odict, o);
	if (!err)
		err = put_line(a, mb);

 out:
	if (err) {
		++a->failures;
		gw_log(GW_LOG_ERROR, "reflector", "audit_write_failed",
		       GW_FIELDS(GW_FS("path", a->path), GW_FS("event", event),
				 GW_FERR(err)),
		       "Cannot write the audit log %s", a->path);
	}
	else {
		++a->count;
	}
	mem_deref(mb);
	mem_deref(o);

	return err;
}


const char *refl_audit_path(const struct refl_audit *a)
{
	return a ? a->path : NULL;
}


uint64_t refl_audit_count(const struct refl_audit *a)
{
	return a ? a->count : 0;
}
