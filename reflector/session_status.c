/**
 * @file session_status.c  What the session manager shows (session.h):
 * a peer's status_snapshot (its own tests only), the status section and
 * list, metrics, and server_hello's policy_summary
 */

#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/log.h"
#include "gateway/conf.h"
#include "gateway/metrics.h"
#include "gateway/reactor.h"
#include "reflector/audit.h"
#include "reflector/session.h"
#include "reflector/session_int.h"


static int test_info(const struct refl_session *s, struct odict **op)
{
	char started[40];
	uint64_t now = gw_now_ms(), end;
	struct odict *o;
	int err;

	err = odict_alloc(&o, 16);
	if (err)
		return err;
	end = s->start_ms + s->duration_s * 1000;
	gw_rfc3339(started, sizeof(started), s->wall_start_ms);
	err = odict_entry_add(o, "test_id", ODICT_STRING, s->test_id);
	err |= odict_entry_add(o, "test_type", ODICT_STRING, s->type);
	err |= odict_entry_add(o, "peer_id", ODICT_STRING, s->peer_id);
	err |= odict_entry_add(o, "started_at", ODICT_STRING, started);
	err |= odict_entry_add(o, "remaining_sec", ODICT_INT,
			       (int64_t)(end > now ? refl_ceil_s(end - now) : 0));
	err |= odict_entry_add(o, "port", ODICT_INT, (int64_t)s->port);
	err |= odict_entry_add(o, "bytes_in", ODICT_INT,
			       (int64_t)s->bytes_in);
	err |= odict_entry_add(o, "bytes_out", ODICT_INT,
			       (int64_t)s->bytes_out);
	err |= odict_entry_add(o, "dropped_rate", ODICT_INT,
			       (int64_t)s->dropped_rate);
	err |= odict_entry_add(o, "stamp_packets", ODICT_INT,
			       (int64_t)s->stamp_pkts);
	if (err) {
		mem_deref(o);
		return ENOMEM;
	}
	*op = o;

	return 0;
}


int refl_sessions_snapshot(struct refl_sessions *m, const char *peer_id,
			   const char *endpoint_id, struct odict *reply)
{
	struct odict *arr = NULL, *first = NULL;
	unsigned i = 0;
	int err;

	err = odict_alloc(&arr, 8);
	if (err)
		return err;
	for (struct le *le = m->sessions.head; le; le = le->next) {
		const struct refl_session *s = le->data;
		struct odict *t;
		char k[16];

		if (strcmp(s->peer_id, peer_id))
			continue;  /* nobody else's business */
		err = test_info(s, &t);
		if (err)
			goto out;
		snprintf(k, sizeof(k), "%u", i++);
		err = odict_entry_add(arr, k, ODICT_OBJECT, t);
		if (!first)
			first = t;
		else
			mem_deref(t);
		if (err)
			goto out;
	}

	err = odict_entry_add(reply, "type", ODICT_STRING, "status_snapshot");
	err |= odict_entry_add(reply, "endpoint_id", ODICT_STRING,
			       endpoint_id);
	err |= odict_entry_add(reply, "uptime_sec", ODICT_INT,
			       (int64_t)((gw_now_ms() - m->created_ms) / 1000));
	if (first)
		err |= odict_entry_add(reply, "active_test", ODICT_OBJECT,
				       first);
	else
		err |= odict_entry_add(reply, "active_test", ODICT_NULL);
	err |= odict_entry_add(reply, "active_tests", ODICT_ARRAY, arr);
	{
		struct peer_hist *h = refl_hist_get(m, peer_id);

		if (h)
			refl_hist_today(h);
		err |= odict_entry_add(reply, "tests_today", ODICT_INT,
				       (int64_t)(h ? h->tests_today : 0));
		err |= odict_entry_add(reply, "bytes_today", ODICT_INT,
				       (int64_t)(h ? h->bytes_today : 0));
	}
	if (err)
		err = ENOMEM;

 out:
	mem_deref(first);
	mem_deref(arr);

	return err;
}


void refl_sessions_status(struct refl_sessions *m, struct odict *o)
{
	odict_entry_add(o, "sessions", ODICT_INT,
			(int64_t)refl_active(m));
	odict_entry_add(o, "sessions_granted", ODICT_INT,
			(int64_t)m->st.granted);
	odict_entry_add(o, "sessions_denied", ODICT_INT,
			(int64_t)m->st.denied);
	odict_entry_add(o, "sessions_completed", ODICT_INT,
			(int64_t)m->st.completed);
	odict_entry_add(o, "echo_packets_in", ODICT_INT,
			(int64_t)m->st.echo_in);
	odict_entry_add(o, "echo_packets_out", ODICT_INT,
			(int64_t)m->st.echo_out);
	odict_entry_add(o, "echo_dropped_rate", ODICT_INT,
			(int64_t)m->st.dropped_rate);
	odict_entry_add(o, "echo_dropped_foreign", ODICT_INT,
			(int64_t)m->st.dropped_foreign);
	odict_entry_add(o, "stamp_packets", ODICT_INT, (int64_t)m->st.stamp);
}


void refl_sessions_metrics(struct refl_sessions *m, struct gw_metrics *mt)
{
	gw_metric(mt, GW_GAUGE, "reflector_sessions",
		  "Measurement sessions running", (double)refl_active(m));
	gw_metric_l(mt, GW_COUNTER, "reflector_session_decisions_total",
		    "Session requests decided", "decision", "granted",
		    (double)m->st.granted);
	gw_metric_l(mt, GW_COUNTER, "reflector_session_decisions_total",
		    "Session requests decided", "decision", "denied",
		    (double)m->st.denied);
	gw_metric(mt, GW_COUNTER, "reflector_echo_packets_in_total",
		  "UDP echo datagrams from granted peers",
		  (double)m->st.echo_in);
	gw_metric(mt, GW_COUNTER, "reflector_echo_packets_out_total",
		  "UDP echo datagrams answered", (double)m->st.echo_out);
	gw_metric_l(mt, GW_COUNTER, "reflector_echo_dropped_total",
		    "UDP echo datagrams not answered", "reason", "rate",
		    (double)m->st.dropped_rate);
	gw_metric_l(mt, GW_COUNTER, "reflector_echo_dropped_total",
		    "UDP echo datagrams not answered", "reason", "foreign",
		    (double)m->st.dropped_foreign);
}


int refl_sessions_policy(struct refl_sessions *m, struct odict *o)
{
	struct odict *types;
	int err;

	err = odict_alloc(&types, 4);
	if (err)
		return err;
	if (m->q.allow_udp_echo)
		err = odict_entry_add(types, "0", ODICT_STRING, "udp_echo");
	if (m->q.allow_throughput)
		err |= odict_entry_add(types, "1", ODICT_STRING, "throughput");

	err |= odict_entry_add(o, "max_test_duration_sec", ODICT_INT,
			       (int64_t)m->q.max_test_duration_sec);
	err |= odict_entry_add(o, "max_concurrent_tests", ODICT_INT,
			       (int64_t)m->q.max_concurrent_tests);
	err |= odict_entry_add(o, "max_tests_per_hour", ODICT_INT,
			       (int64_t)m->q.max_tests_per_hour_per_peer);
	err |= odict_entry_add(o, "allowed_test_types", ODICT_ARRAY, types);
	mem_deref(types);

	return err ? ENOMEM : 0;
}


void refl_sessions_list(struct refl_sessions *m, struct odict *o)
{
	struct odict *run = NULL, *peers = NULL;
	unsigned i = 0;
	uint64_t now = gw_now_ms();

	if (odict_alloc(&run, 8) || odict_alloc(&peers, 8))
		goto out;
	for (struct le *le = m->sessions.head; le; le = le->next) {
		const struct refl_session *s = le->data;
		uint64_t end = s->start_ms + s->duration_s * 1000;
		struct odict *e;
		char k[16];

		if (odict_alloc(&e, 8))
			break;
		odict_entry_add(e, "test_id", ODICT_STRING, s->test_id);
		odict_entry_add(e, "peer_id", ODICT_STRING, s->peer_id);
		odict_entry_add(e, "engine", ODICT_STRING,
				s->proc ? "iperf3" : s->type);
		odict_entry_add(e, "port", ODICT_INT, (int64_t)s->port);
		if (s->proc)
			odict_entry_add(e, "pid", ODICT_INT,
					(int64_t)gw_proc_pid(s->proc));
		odict_entry_add(e, "remaining_sec", ODICT_INT,
				(int64_t)(end > now ? refl_ceil_s(end - now) : 0));
		snprintf(k, sizeof(k), "%u", i++);
		odict_entry_add(run, k, ODICT_OBJECT, e);
		mem_deref(e);
	}
	i = 0;
	for (struct le *le = m->hist.head; le; le = le->next) {
		struct peer_hist *h = le->data;
		struct odict *e;
		char k[16];

		refl_hist_today(h);
		if (!h->bytes_today && !h->tests_today)
			continue;
		if (odict_alloc(&e, 4))
			break;
		odict_entry_add(e, "peer_id", ODICT_STRING, h->id);
		odict_entry_add(e, "bytes_today", ODICT_INT,
				(int64_t)h->bytes_today);
		odict_entry_add(e, "tests_today", ODICT_INT,
				(int64_t)h->tests_today);
		snprintf(k, sizeof(k), "%u", i++);
		odict_entry_add(peers, k, ODICT_OBJECT, e);
		mem_deref(e);
	}
	odict_entry_add(o, "active", ODICT_ARRAY, run);
	odict_entry_add(o, "peers_today", ODICT_ARRAY, peers);

 out:
	mem_deref(run);
	mem_deref(peers);
}
