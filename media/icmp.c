/**
 * @file icmp.c  The dead-peer judge: which ICMP errors count, and cleanup
 *
 *   error (queue or raw) --> expected by a registrant?  --> matched
 *                        --> quotes our port, to the stream's live peer,
 *                            a packet the tracker holds? --> else foreign
 *                        --> seen by the other intake?   --> duplicate
 *                        --> weigh(): what it proves     --> harmless,
 *                            foreign, rtcp, or counted (and maybe
 *                            confirming) against the peer's record
 *
 * Death is judged on RTP alone (docs/architecture.md, "Evidence"): an
 * error about what we sent to the peer's RTCP port only says that port is
 * closed, which many live endpoints leave so; it stops our RTCP to it.
 *
 * A record exists per peer endpoint (icmp.cleanup_scope endpoint) or per
 * peer IP (ip) while errors arrive; it is dropped after icmp.record_ttl
 * without errors, on any RTP/RTCP from the peer it counts against, on a
 * matched error and when the peer moves (re-INVITE). Cleanup never runs
 * inside the socket handler that read the error: it runs from the record's
 * timer, so the streams it ends are not in use on the stack.
 */

#include <errno.h>
#include <string.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "media/icmp_int.h"

enum {
	DEDUP_MS = 1000,      /**< both intakes deliver within this */
	BUSY_MS = 3000,       /**< how long a host counts as contended */
	HASH_BUCKETS = 64,
	IDS_MAX = 1024,       /**< session ids in the cleanup log line */
};

struct record {
	struct le he;
	struct media_icmp *mi;
	struct sa key;                /**< endpoint, or IP (port 0) */
	struct sa ep;                 /**< endpoint of the last counted error */
	unsigned count;
	bool confirmed;               /**< a verified port-unreachable came */
	const char *trigger;          /**< set when cleanup is due */
	struct gw_timer *ttl;
	struct gw_timer *fire;        /**< cleanup: now, or after silence */
};

/* What one error (already checked to be about a packet this gateway
 * sent to a live peer, from our port `which`) proves. The one place the
 * evidence rules live. */
enum evidence {
	EV_HARMLESS = 0,   /**< fragmentation needed, time exceeded */
	EV_FOREIGN,        /**< a port-unreachable its peer did not send */
	EV_RTCP,           /**< about the peer's RTCP port: never counts */
	EV_RTCP_CLOSED,    /**< ... its port-unreachable: stop our RTCP */
	EV_COUNT,          /**< about its RTP port: counts */
	EV_CONFIRM,        /**< counts, and with silence proves death */
};

struct media_icmp_expect {
	struct le le;
	struct sa dst;
	uint16_t sport;
	uint64_t until;
	media_icmp_expect_h *h;
	void *arg;
};

static void key_of(const struct media_icmp *mi, struct sa *key,
		   const struct sa *ep)
{
	*key = *ep;
	if (mi->mm->conf->icmp.cleanup_scope == GW_SCOPE_IP)
		sa_set_port(key, 0);
}


static bool rec_cmp(struct le *le, void *arg)
{
	const struct record *rec = le->data;

	return sa_cmp(&rec->key, arg, SA_ALL);
}


static struct record *rec_find(struct media_icmp *mi, const struct sa *key)
{
	return list_ledata(hash_lookup(mi->records, sa_hash(key, SA_ALL),
				       rec_cmp, (void *)key));
}


static void rec_destructor(void *data)
{
	struct record *rec = data;

	hash_unlink(&rec->he);
	--rec->mi->mm->icmp_records;
	mem_deref(rec->ttl);
	mem_deref(rec->fire);
}


static void rec_expire(void *arg)
{
	mem_deref(arg);
}


static void mgr_icmp_destructor(void *data)
{
	struct media_icmp *mi = data;

	icmp_raw_close(mi);
	hash_flush(mi->records);
	mem_deref(mi->records);
	/* registrations belong to their modules: just forget them */
	while (mi->expects.head)
		list_unlink(mi->expects.head);
	icmp_echo_forget(mi);
}


int media_icmp_alloc(struct media_mgr *mm)
{
	struct media_icmp *mi;
	int err;

	mi = mem_zalloc(sizeof(*mi), mgr_icmp_destructor);
	if (!mi)
		return ENOMEM;

	mi->mm = mm;
	mi->judge = mm->conf->icmp.enabled;
	mi->raw_fd[0] = mi->raw_fd[1] = -1;
	err = hash_alloc(&mi->records, HASH_BUCKETS);
	if (err) {
		mem_deref(mi);
		return err;
	}

	mm->icmp = mi;

	return 0;
}


static void sa_text(char *buf, size_t sz, const struct sa *sa, bool port)
{
	if (port)
		re_snprintf(buf, sz, "%J", sa);
	else
		re_snprintf(buf, sz, "%j", sa);
}


/* Every stream whose peer is ep (endpoint scope) or ep's IP (ip scope) */
static bool peer_is(const struct media_icmp *mi, const struct media_stream *ms,
		    const struct sa *ep)
{
	const struct sa *d = media_stream_dest(ms, 0);

	return mi->mm->conf->icmp.cleanup_scope == GW_SCOPE_IP ?
		sa_cmp(d, ep, SA_ADDR) : sa_cmp(d, ep, SA_ALL);
}


/* End every session with that peer (icmp.cleanup_scope says which) */
static void cleanup(struct media_icmp *mi, const struct sa *ep,
		    const char *trigger)
{
	struct media_stream **todo;
	struct media_mgr *mm = mi->mm;
	char ip[64], peer[80], ids[IDS_MAX];
	unsigned n = 0, cap = 0;
	size_t used = 0;

	for (struct le *le = mm->streams.head; le; le = le->next)
		cap += peer_is(mi, le->data, ep);

	todo = mem_zalloc((cap ? cap : 1) * sizeof(*todo), NULL);
	if (!todo)
		return;

	/* one entry per session: both legs of a bridge may name the peer */
	for (struct le *le = mm->streams.head; le; le = le->next) {
		struct media_stream *ms = le->data;
		bool dup = false;

		if (!peer_is(mi, ms, ep))
			continue;
		for (unsigned i = 0; i < n; i++)
			dup |= todo[i]->arg == ms->arg;
		if (!dup)
			todo[n++] = ms;
	}

	sa_text(ip, sizeof(ip), ep, false);
	sa_text(peer, sizeof(peer), ep, true);
	ids[0] = '\0';
	for (unsigned i = 0; i < n && used + 1 < sizeof(ids); i++) {
		int w = re_snprintf(ids + used, sizeof(ids) - used, "%s%s",
				    i ? ", " : "",
				    todo[i]->label ? todo[i]->label : "?");
		if (w < 0)
			break;
		used += (size_t)w;
	}

	++mi->st.cleanups;
	mi->st.sessions += n;
	gw_log(GW_LOG_WARN, "media", "icmp_cleanup",
	       GW_FIELDS(GW_FS("dest", ip), GW_FS("peer", peer),
			 GW_FU("sessions", n), GW_FS("trigger", trigger)),
	       "Cleaning up %u session(s) with peer IP %s due to ICMP errors: "
	       "[%s]", n, ip, ids);

	/* each handler ends its own session; the others stay valid */
	for (unsigned i = 0; i < n; i++)
		todo[i]->endh(todo[i], MEDIA_END_ICMP, todo[i]->arg);

	mem_deref(todo);
}


static void rec_fire(void *arg)
{
	struct record *rec = arg;
	struct media_icmp *mi = rec->mi;
	struct sa ep = rec->ep;
	const char *trigger = rec->trigger ? rec->trigger : "confirmed";
	char ip[64];

	sa_text(ip, sizeof(ip), &ep, false);
	gw_log(GW_LOG_WARN, "media", "icmp_threshold",
	       GW_FIELDS(GW_FS("dest", ip), GW_FU("count", rec->count),
			 GW_FU("threshold", mi->mm->conf->icmp.error_threshold),
			 GW_FS("trigger", trigger)),
	       "ICMP error threshold reached for dest=%s, triggering session "
	       "cleanup", ip);

	mem_deref(rec);
	cleanup(mi, &ep, trigger);
}


static uint32_t fingerprint(const struct icmp_err *e)
{
	const struct sockaddr_in6 *d6 = (const void *)&e->dst;
	const struct sockaddr_in *d4 = (const void *)&e->dst;
	const struct sockaddr_in *s4 = (const void *)&e->src;
	uint8_t buf[64];
	size_t n = 0, plen = e->plen < TRACK_HEAD ? e->plen : TRACK_HEAD;

	buf[n++] = e->type;
	buf[n++] = e->code;
	if (e->dst.ss_family == AF_INET6) {
		memcpy(buf + n, &d6->sin6_addr, 16);
		n += 16;
	}
	else {
		memcpy(buf + n, &d4->sin_addr, 4);
		n += 4;
	}
	memcpy(buf + n, &d4->sin_port, 2);     /* same offset in both */
	n += 2;
	memcpy(buf + n, &s4->sin_port, 2);
	n += 2;
	if (plen)
		memcpy(buf + n, e->payload, plen);
	n += plen;

	return hash_joaat(buf, n);
}


/* The same error from the other intake, a moment later? */
static bool duplicate(struct media_icmp *mi, const struct icmp_err *e)
{
	uint32_t fp = fingerprint(e);
	uint8_t bit = (uint8_t)(1u << e->path);
	uint64_t now = gw_now_ms();
	struct dedup *d;

	for (unsigned i = 0; i < DEDUP_N; i++) {
		d = &mi->dedup[i];
		if (d->paths && d->fp == fp && !(d->paths & bit) &&
		    now - d->t <= DEDUP_MS) {
			d->paths |= bit;
			return true;
		}
	}

	d = &mi->dedup[mi->dedup_pos++ % DEDUP_N];
	*d = (struct dedup){fp, bit, now};

	return false;
}


static struct media_stream *stream_of(struct media_mgr *mm,
				      const struct sa *local, int *which)
{
	uint16_t port = sa_port(local);
	struct media_stream *ms;
	unsigned off;

	if (port < mm->first || port >= mm->first + 2 * mm->npairs)
		return NULL;

	off = (unsigned)(port - mm->first);
	ms = mm->by_pair[off / 2];
	if (!ms)
		return NULL;

	/* bound to one address: the quote must name that one */
	/* muxed: nothing of ours is bound on the RTCP port */
	if ((off & 1) && !media_stream_has_rtcp_port(ms))
		return NULL;

	if (sa_is_any(&ms->laddr) || sa_cmp(&ms->laddr, local, SA_ADDR)) {
		*which = (int)(off & 1);
		return ms;
	}

	return NULL;
}


/* An unreachable that is not about our media still tells us its sender's
 * rate limiter is being spent: remember the host for a while */
static void note_busy(struct media_icmp *mi, const struct icmp_err *e)
{
	struct busy_host *b;
	struct sa off;

	if (e->kind != ICMP_KIND_PORT_UNREACH && e->kind != ICMP_KIND_UNREACH)
		return;
	if (sa_set_sa(&off, (const struct sockaddr *)&e->offender))
		return;

	for (unsigned i = 0; i < BUSY_N; i++) {
		b = &mi->busy[i];
		if (b->t && sa_cmp(&b->ip, &off, SA_ADDR)) {
			b->t = gw_now_ms();
			return;
		}
	}

	b = &mi->busy[mi->busy_pos++ % BUSY_N];
	b->ip = off;
	b->t = gw_now_ms();
}


bool media_icmp_contended(const struct media_mgr *mm, const struct sa *peer)
{
	const struct media_icmp *mi = mm->icmp;
	uint64_t now = gw_now_ms();

	if (!mi)
		return false;

	for (unsigned i = 0; i < BUSY_N; i++) {
		const struct busy_host *b = &mi->busy[i];

		if (b->t && now - b->t <= BUSY_MS &&
		    sa_cmp(&b->ip, peer, SA_ADDR))
			return true;
	}

	return false;
}


static enum icmp_verdict foreign(struct media_icmp *mi,
				 const struct icmp_err *e, const char *why)
{
	++mi->st.foreign;
	note_busy(mi, e);
	gw_log(GW_LOG_DEBUG, "media", "icmp_foreign",
	       GW_FIELDS(GW_FU("type", e->type), GW_FU("code", e->code),
			 GW_FS("why", why)),
	       "ICMP error type %u code %u dropped: %s",
	       e->type, e->code, why);

	return ICMP_FOREIGN;
}


static bool expected(struct media_icmp *mi, const struct icmp_err *e,
		     const struct sa *dst, const struct sa *src)
{
	uint64_t now = gw_now_ms();

	for (struct le *le = mi->expects.head; le; le = le->next) {
		struct media_icmp_expect *x = le->data;
		struct record *rec;
		struct sa key;

		if (now > x->until || x->sport != sa_port(src) ||
		    !sa_cmp(&x->dst, dst, SA_ALL))
			continue;

		++mi->st.matched;
		key_of(mi, &key, dst);
		rec = rec_find(mi, &key);
		mem_deref(rec);      /* the destination answered as hoped */
		x->h(e, x->arg);     /* last: it may withdraw x */
		return true;
	}

	return false;
}


static enum icmp_verdict count(struct media_icmp *mi,
			       const struct media_stream *ms,
			       const struct sa *ep, bool verified)
{
	const struct gw_conf *conf = mi->mm->conf;
	struct record *rec;
	struct sa key;
	char ip[64];

	key_of(mi, &key, ep);
	rec = rec_find(mi, &key);
	if (!rec) {
		rec = mem_zalloc(sizeof(*rec), rec_destructor);
		if (!rec)
			return ICMP_COUNTED;
		rec->mi = mi;
		rec->key = key;
		++mi->mm->icmp_records;
		hash_append(mi->records, sa_hash(&key, SA_ALL), &rec->he, rec);
		if (gw_timer_alloc(&rec->ttl, mi->mm->r) ||
		    gw_timer_alloc(&rec->fire, mi->mm->r)) {
			mem_deref(rec);
			return ICMP_COUNTED;
		}
	}

	++mi->st.counted;
	++rec->count;
	rec->ep = *ep;
	gw_timer_start(rec->ttl, conf->icmp.record_ttl, rec_expire, rec);

	sa_text(ip, sizeof(ip), ep, false);
	gw_log(GW_LOG_INFO, "media", "icmp_unmatched",
	       GW_FIELDS(GW_FS("dest", ip), GW_FU("count", rec->count),
			 GW_FU("threshold", conf->icmp.error_threshold),
			 GW_FB("verified", verified)),
	       "Unmatched ICMP error for dest=%s (count: %u/%u)", ip,
	       rec->count, conf->icmp.error_threshold);

	if (rec->trigger)
		return ICMP_COUNTED;   /* cleanup already due */

	if (rec->count >= conf->icmp.error_threshold) {
		rec->trigger = "count";
		gw_timer_start(rec->fire, 0, rec_fire, rec);
	}
	else if (verified && conf->icmp.confirm_silence && !rec->confirmed) {
		/* §6 of the issue: the peer's kernel may allow one error a
		 * second; one error that is surely the peer's, and silence
		 * from it, is proof enough. Silence counts from its last
		 * packet; RTP from it before then drops this record. */
		uint64_t since = ms->last_rx ? ms->last_rx : ms->created;
		uint64_t quiet = gw_now_ms() - since;
		uint64_t need = conf->icmp.confirm_silence;

		rec->confirmed = true;
		gw_timer_start(rec->fire, quiet >= need ? 0 : need - quiet,
			       rec_fire, rec);
	}

	return ICMP_COUNTED;
}


/*
 * verified: the quote shows a packet the tracker holds (else only its
 * 4-tuple matched). A closed port is reported by its own host, never by
 * a router; a router's word (unreachable host, net, prohibited) counts
 * but never confirms. Which of the peer's ports the packet went to
 * decides whether it is evidence at all: RTP's (with rtcp-mux, RTCP's
 * too) or RTCP's own.
 */
static enum evidence weigh(const struct icmp_err *e, int which,
			   const struct sa *dst, bool verified)
{
	struct sa off;
	bool from_peer;

	if (e->kind == ICMP_KIND_FRAG_NEEDED ||
	    e->kind == ICMP_KIND_TIME_EXCEEDED)
		return EV_HARMLESS;

	from_peer = !sa_set_sa(&off, (const struct sockaddr *)&e->offender) &&
		sa_cmp(&off, dst, SA_ADDR);

	if (e->kind == ICMP_KIND_PORT_UNREACH && !from_peer)
		return EV_FOREIGN;

	if (which == 1)
		return e->kind == ICMP_KIND_PORT_UNREACH ? EV_RTCP_CLOSED :
			EV_RTCP;

	return e->kind == ICMP_KIND_PORT_UNREACH && verified ? EV_CONFIRM :
		EV_COUNT;
}


enum icmp_verdict media_icmp_input(struct media_mgr *mm,
				   const struct icmp_err *e)
{
	struct media_icmp *mi = mm ? mm->icmp : NULL;
	struct media_stream *ms;
	struct sa src, dst;
	bool verified = false;
	enum evidence ev;
	int which = 0;

	if (!mi || !e || e->path >= ICMP_PATH_N)
		return ICMP_FOREIGN;

	++mi->st.seen[e->path];

	if (sa_set_sa(&src, (const struct sockaddr *)&e->src) ||
	    sa_set_sa(&dst, (const struct sockaddr *)&e->dst))
		return foreign(mi, e, "quote without addresses");

	if (expected(mi, e, &dst, &src))
		return ICMP_MATCHED;

	if (!mi->judge) {
		++mi->st.unjudged;
		return ICMP_UNJUDGED;
	}

	ms = stream_of(mm, &src, &which);
	if (!ms)
		return foreign(mi, e, "quoted source is none of our streams");
	if (!sa_cmp(media_stream_dest(ms, which), &dst, SA_ALL))
		return foreign(mi, e, "quoted destination is not the peer");

	/* a quote long enough to show RTP's sequence number must show one
	 * of ours; a bare UDP header can only be checked by its 4-tuple */
	if (e->plen >= 4) {
		if (!media_stream_sent(ms, which, e->payload, e->plen,
				       e->udp_len))
			return foreign(mi, e, "quotes a packet we never sent");
		verified = true;
	}

	if (duplicate(mi, e)) {
		++mi->st.duplicates;
		return ICMP_DUPLICATE;
	}

	ev = weigh(e, which, &dst, verified);
	switch (ev) {

	case EV_HARMLESS:
		if (e->kind == ICMP_KIND_FRAG_NEEDED) {
			++mi->st.frag_needed;
			gw_log(GW_LOG_INFO, "media", "icmp_frag_needed",
			       GW_FIELDS(GW_FU("mtu", e->info)),
			       "ICMP fragmentation needed towards %s, MTU %u",
			       ms->label ? ms->label : "?", e->info);
		}
		else {
			++mi->st.time_exceeded;
		}
		return ICMP_HARMLESS;

	case EV_FOREIGN:
		return foreign(mi, e, "port unreachable not from the peer "
			       "itself");

	case EV_RTCP_CLOSED:
		media_stream_rtcp_refused(ms);
		/* fall through */
	case EV_RTCP:
		++mi->st.rtcp;
		return ICMP_RTCP;

	case EV_COUNT:
	case EV_CONFIRM:
	default:
		break;
	}

	return count(mi, ms, media_stream_dest(ms, 0), ev == EV_CONFIRM);
}


void media_icmp_alive(struct media_mgr *mm, const struct sa *from)
{
	struct media_icmp *mi = mm->icmp;
	struct record *rec;
	struct sa key;

	if (!mi || !mm->icmp_records)
		return;

	key_of(mi, &key, from);
	rec = rec_find(mi, &key);
	/* ip scope: only the endpoint the errors were about speaks for it */
	if (rec && sa_cmp(&rec->ep, from, SA_ALL))
		mem_deref(rec);
}


void media_icmp_moved(struct media_mgr *mm, const struct sa *old)
{
	struct media_icmp *mi = mm->icmp;
	struct sa key;

	if (!mi || !mm->icmp_records || !sa_isset(old, SA_ALL))
		return;

	key_of(mi, &key, old);
	mem_deref(rec_find(mi, &key));
}


void media_icmp_stats(const struct media_mgr *mm, struct media_icmp_stats *st)
{
	if (!st)
		return;

	memset(st, 0, sizeof(*st));
	if (mm && mm->icmp)
		*st = mm->icmp->st;
}


void media_icmp_status(const struct media_mgr *mm, struct odict *o)
{
	const struct media_icmp *mi = mm ? mm->icmp : NULL;

	odict_entry_add(o, "enabled", ODICT_BOOL, mi && mi->judge);
	odict_entry_add(o, "running", ODICT_BOOL, mi != NULL);
	if (!mi)
		return;

	odict_entry_add(o, "judge", ODICT_BOOL, mi->judge);

	odict_entry_add(o, "raw_v4", ODICT_BOOL, mi->raw_fd[0] >= 0);
	odict_entry_add(o, "raw_v6", ODICT_BOOL, mi->raw_fd[1] >= 0);
	odict_entry_add(o, "errors_queue", ODICT_INT,
			(int64_t)mi->st.seen[ICMP_PATH_QUEUE]);
	odict_entry_add(o, "errors_raw", ODICT_INT,
			(int64_t)mi->st.seen[ICMP_PATH_RAW]);
	odict_entry_add(o, "duplicates", ODICT_INT, (int64_t)mi->st.duplicates);
	odict_entry_add(o, "matched", ODICT_INT, (int64_t)mi->st.matched);
	odict_entry_add(o, "unmatched", ODICT_INT, (int64_t)mi->st.counted);
	odict_entry_add(o, "foreign", ODICT_INT, (int64_t)mi->st.foreign);
	odict_entry_add(o, "rtcp", ODICT_INT, (int64_t)mi->st.rtcp);
	odict_entry_add(o, "frag_needed", ODICT_INT,
			(int64_t)mi->st.frag_needed);
	odict_entry_add(o, "time_exceeded", ODICT_INT,
			(int64_t)mi->st.time_exceeded);
	odict_entry_add(o, "cleanups", ODICT_INT, (int64_t)mi->st.cleanups);
	odict_entry_add(o, "sessions_cleaned", ODICT_INT,
			(int64_t)mi->st.sessions);
	odict_entry_add(o, "records", ODICT_INT, (int64_t)mm->icmp_records);
	odict_entry_add(o, "unjudged", ODICT_INT, (int64_t)mi->st.unjudged);
	odict_entry_add(o, "echo_listeners", ODICT_INT,
			(int64_t)list_count(&mi->echoes));
	odict_entry_add(o, "echo_replies", ODICT_INT,
			(int64_t)mi->echo_replies);
}


static void expect_destructor(void *data)
{
	struct media_icmp_expect *x = data;

	list_unlink(&x->le);
}


int media_icmp_expect(struct media_icmp_expect **xp, struct media_mgr *mm,
		      const struct sa *dst, uint16_t sport, uint64_t ttl_ms,
		      media_icmp_expect_h *h, void *arg)
{
	struct media_icmp_expect *x;

	if (!xp || !mm || !dst || !h)
		return EINVAL;
	if (!mm->icmp)
		return ENOMEM;

	x = mem_zalloc(sizeof(*x), expect_destructor);
	if (!x)
		return ENOMEM;

	x->dst = *dst;
	x->sport = sport;
	x->until = gw_now_ms() + ttl_ms;
	x->h = h;
	x->arg = arg;
	list_append(&mm->icmp->expects, &x->le, x);
	*xp = x;

	return 0;
}


int media_icmp_start(struct media_mgr *mm)
{
	if (!mm || !mm->icmp)
		return 0;

	if (!mm->icmp->judge)
		gw_log(GW_LOG_INFO, "media", "icmp_judge_off", NULL,
		       "ICMP-based session cleanup off (icmp.enabled: false); "
		       "the ICMP intake runs for probes");
	else
		gw_log(GW_LOG_INFO, "media", "icmp_registered",
		       GW_FIELDS(GW_FU("threshold",
				       mm->conf->icmp.error_threshold),
				 GW_FS("scope", mm->conf->icmp.cleanup_scope ==
				       GW_SCOPE_IP ? "ip" : "endpoint")),
		       "ICMP-based session cleanup callback registered");

	return icmp_raw_open(mm->icmp, mm);
}
