/**
 * @file quota.c  The day's bytes per peer, kept across restarts
 * (session_int.h): quota.json beside the identity key,
 * {"day": <UTC day number>, "bytes": {"PP-...": n}}, rewritten
 * atomically when a session ends and when the daemon stops. A crash
 * loses the bytes of the sessions that were running.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/log.h"
#include "gateway/paths.h"
#include "reflector/id.h"
#include "reflector/session.h"
#include "reflector/session_int.h"


/* The day's bytes of every peer, kept across restarts: {"day": N,
 * "bytes": {"PP-...": n}}, rewritten atomically */
void refl_quota_save(struct refl_sessions *m)
{
	struct odict *o = NULL, *b = NULL;
	struct mbuf *mb = mbuf_alloc(1024);
	uint64_t day = refl_today();
	int err;

	err = odict_alloc(&o, 4);
	if (!err)
		err = odict_alloc(&b, 16);
	for (struct le *le = m->hist.head; !err && le; le = le->next) {
		struct peer_hist *h = le->data;

		refl_hist_today(h);
		if (h->bytes_today)
			err = odict_entry_add(b, h->id, ODICT_INT,
					      (int64_t)h->bytes_today);
	}
	if (!err && mb) {
		err = odict_entry_add(o, "day", ODICT_INT, (int64_t)day);
		err |= odict_entry_add(o, "bytes", ODICT_OBJECT, b);
		err |= mbuf_printf(mb, "%H\n", json_encode_odict, o);
	}
	if (!err && mb)
		err = gw_write_atomic(m->quota_path, mb->buf, mb->end, 0600);
	if (err || !mb)
		gw_log(GW_LOG_ERROR, "reflector", "quota_write_failed",
		       GW_FIELDS(GW_FS("path", m->quota_path),
				 GW_FERR(err ? err : ENOMEM)),
		       "Cannot keep the day's byte counts in %s: after a "
		       "restart they start from zero", m->quota_path);
	mem_deref(mb);
	mem_deref(b);
	mem_deref(o);
}


/* Today's counts from the file, if it is today's; a bad file is said,
 * and counting starts from zero */
void refl_quota_load(struct refl_sessions *m)
{
	struct odict *o = NULL;
	const struct odict_entry *b;
	uint64_t day = 0;
	char buf[65536];
	ssize_t n;
	int fd = open(m->quota_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0 || json_decode_odict(&o, 16, buf, (size_t)n, 4) ||
	    !odict_get_number(o, &day, "day") ||
	    !(b = odict_lookup(o, "bytes")) || b->type != ODICT_OBJECT) {
		gw_log(GW_LOG_WARN, "reflector", "quota_unreadable",
		       GW_FIELDS(GW_FS("path", m->quota_path)),
		       "%s is not a byte-count file: today's counts start "
		       "from zero", m->quota_path);
		mem_deref(o);
		return;
	}
	for (struct le *le = day == refl_today() ? b->u.odict->lst.head : NULL;
	     le; le = le->next) {
		const struct odict_entry *e = le->data;
		uint8_t key[REFL_KEY_LEN];
		struct peer_hist *h;

		if (e->type != ODICT_INT || e->u.integer < 0 ||
		    refl_id_parse(key, e->key, strlen(e->key)))
			continue;
		h = refl_hist_get(m, e->key);
		if (!h)
			break;
		refl_hist_today(h);
		h->bytes_today = (uint64_t)e->u.integer;
	}
	mem_deref(o);
}
