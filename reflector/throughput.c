/**
 * @file throughput.c  Throughput sessions: one `iperf3 -s -1 -J` per
 * grant, on the reactor's child-process API (session_int.h)
 *
 * A port of the data range that is free for TCP and UDP right now is
 * chosen and iperf3 spawned on it (`--bind` to the listen address in
 * tunneled mode), with the session's deadline as its own: past duration
 * + grace it gets SIGTERM, then SIGKILL, and is always reaped. The grant
 * is sent once /proc/net/tcp shows the port listening; if iperf3 exits
 * first (the port was taken meanwhile) the next port is tried, three
 * times in all, then resource_exhausted. When iperf3 exits after its
 * one test, its JSON gives the bytes (counted against the peer's quota)
 * and the client's address, which must be the granted peer's; otherwise
 * the figures are discarded and the discard audited.
 */

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "reflector/audit.h"
#include "reflector/session.h"
#include "reflector/session_int.h"

enum {
	LISTEN_WAIT_MS = 3000,        /**< for iperf3 to listen */
	LISTEN_POLL_MS = 10,
	TRIES = 3,
};


/* Whether a TCP socket listens on port (any address), from procfs: a
 * read of a few lines, no blocking */
static bool listening(uint16_t port)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	char line[512], want[8];

	snprintf(want, sizeof(want), ":%04X", port);
	for (size_t i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "r");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			char local[64], state[8];

			/* sl local remote st ... */
			if (sscanf(line, "%*s %63s %*s %7s", local, state) != 2)
				continue;
			if (!strcmp(state, "0A") &&
			    strlen(local) > 5 &&
			    !strcmp(local + strlen(local) - 5, want)) {
				fclose(f);
				return true;
			}
		}
		fclose(f);
	}

	return false;
}


/* Free for both TCP (the control and TCP tests) and UDP (-u tests) */
static int port_free(uint16_t port, void *arg)
{
	static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
	struct sa a = *(const struct sa *)arg;
	bool ok = true;

	sa_set_port(&a, port);
	for (size_t i = 0; ok && i < 2; i++) {
		int fd = socket(sa_af(&a), types[i] | SOCK_CLOEXEC, 0);

		ok = fd >= 0 && !bind(fd, &a.u.sa, a.len);
		if (fd >= 0)
			close(fd);
	}

	return ok ? 0 : EADDRINUSE;
}


static void tell(struct refl_session *s, struct odict *reply)
{
	refl_reply_h *h = s->later;
	void *arg = s->later_arg;

	s->later = NULL;
	s->later_arg = NULL;
	if (h)
		h(reply, arg);
	mem_deref(arg);
}


/* Refuse s (audited), tell the peer, and s goes */
static void refuse(struct refl_session *s, const char *reason,
		   const char *msg)
{
	struct odict *reply = NULL;

	if (odict_alloc(&reply, 8)) {
		mem_deref(s);
		return;
	}
	refl_session_refused(s, reply, reason, 1, msg);
	mem_deref(reply);
}


/* Bytes and the client's address from iperf3's JSON; false when none */
static bool results(struct refl_session *s, uint64_t *bytesp,
		    char *host, size_t host_size)
{
	const uint8_t *out;
	size_t len = 0;
	struct odict *o = NULL;
	const struct odict_entry *end, *sum;
	const char *h;
	uint64_t sent = 0, rcvd = 0;
	bool ok = false;

	out = gw_proc_output(s->proc, 1, &len, NULL);
	if (!out || !len || json_decode_odict(&o, 32, (const char *)out, len,
					      16))
		return false;

	{
		const struct odict_entry *st = odict_lookup(o, "start");
		const struct odict_entry *ac = st && st->type == ODICT_OBJECT ?
			odict_lookup(st->u.odict, "accepted_connection") :
			NULL;

		h = ac && ac->type == ODICT_OBJECT ?
			odict_string(ac->u.odict, "host") : NULL;
	}
	end = odict_lookup(o, "end");
	if (end && end->type == ODICT_OBJECT) {
		const char *keys[] = {"sum_sent", "sum_received", "sum"};

		for (size_t i = 0; i < 3; i++) {
			uint64_t v = 0;

			sum = odict_lookup(end->u.odict, keys[i]);
			if (!sum || sum->type != ODICT_OBJECT ||
			    !odict_get_number(sum->u.odict, &v, "bytes"))
				continue;
			if (i == 0)
				sent = v;
			else if (i == 1)
				rcvd = v;
			else if (!sent)
				sent = v;   /* UDP: one "sum" */
			ok = true;
		}
	}
	str_ncpy(host, h ? h : "", host_size);
	/* what crossed the wire in the test's direction, counted once */
	*bytesp = sent > rcvd ? sent : rcvd;
	mem_deref(o);

	return ok;
}


static bool is_peer(const struct refl_session *s, const char *host)
{
	struct sa a;

	return !sa_set_str(&a, host, 0) && refl_is_peer(s, &a);
}


static int spawn(struct refl_session *s);


static void exited(struct gw_proc *p, int status, void *arg)
{
	struct refl_session *s = arg;
	char host[64];
	uint64_t bytes = 0;
	(void)p;

	if (!s->granted) {
		/* it never listened: the port was taken meanwhile */
		gw_timer_stop(s->wait);
		s->proc = mem_deref(s->proc);
		if (++s->tries < TRIES && !spawn(s))
			return;
		refuse(s, "resource_exhausted", "iperf3 could not listen on "
		       "a data port");
		return;
	}

	if (results(s, &bytes, host, sizeof(host))) {
		if (host[0] && !is_peer(s, host)) {
			refl_audit_write(s->m->audit, "session_completed",
				REFL_AUDIT_REC(.peer_id = s->peer_id,
					.test_type = s->type,
					.test_id = s->test_id,
					.decision = "denied",
					.reason = "iperf3's client was not the "
					"granted peer: result discarded"));
			gw_log(GW_LOG_WARN, "reflector", "throughput_foreign",
			       GW_FIELDS(GW_FS("test_id", s->test_id),
					 GW_FS("client", host)),
			       "Throughput test %s was run by %s, not the "
			       "granted peer: result discarded", s->test_id,
			       host);
			bytes = 0;
		}
		s->bytes_in += bytes;   /* one direction, counted once */
		s->h->bytes_today += bytes;
	}

	refl_session_end(s, WIFEXITED(status) && !WEXITSTATUS(status) ?
			 "completed" : "expired");
}


static void wait_listen(void *arg)
{
	struct refl_session *s = arg;
	struct odict *reply = NULL;

	if (!listening(s->port)) {
		if (gw_now_ms() < s->wait_until) {
			gw_timer_start(s->wait, LISTEN_POLL_MS, wait_listen, s);
			return;
		}
		refuse(s, "resource_exhausted", "iperf3 did not listen in "
		       "time");
		return;
	}

	if (odict_alloc(&reply, 16))
		return;
	s->granted = true;
	if (!refl_session_granted(s, reply)) {
		odict_entry_add(reply, "streams", ODICT_INT,
				(int64_t)s->streams);
		odict_entry_add(reply, "reverse", ODICT_BOOL, s->reverse);
		odict_entry_add(reply, "protocol", ODICT_STRING,
				s->udp ? "udp" : "tcp");
		tell(s, reply);
	}
	mem_deref(reply);
}


static int spawn(struct refl_session *s)
{
	const struct gw_conf *c = s->m->conf;
	struct sa addr = c->reflector.network.listen_address;
	bool tunneled = c->reflector.network.mode != GW_REFL_DIRECT_EPHEMERAL;
	char port[8], bind_ip[64];
	char *argv[12];
	struct gw_proc_params prm = {0};
	int n = 0, err;

	if (!tunneled)
		sa_init(&addr, sa_af(&addr));
	err = refl_port_pick(s->m, port_free, &addr, &s->port);
	if (err)
		return err;

	snprintf(port, sizeof(port), "%u", s->port);
	re_snprintf(bind_ip, sizeof(bind_ip), "%j", &addr);
	argv[n++] = c->reflector.iperf3.path;
	argv[n++] = "-s";
	argv[n++] = "-1";
	argv[n++] = "-J";
	argv[n++] = "-p";
	argv[n++] = port;
	if (tunneled) {
		argv[n++] = "--bind";
		argv[n++] = bind_ip;
	}
	argv[n] = NULL;

	prm.argv = argv;
	prm.timeout_ms = (s->duration_s + REFL_SESSION_GRACE_S) * 1000;
	prm.grace_ms = 2000;
	prm.out_max = 1 << 20;
	err = gw_proc_spawn(&s->proc, s->m->r, &prm, exited, s);
	if (err) {
		gw_log(GW_LOG_ERROR, "reflector", "iperf3_failed",
		       GW_FIELDS(GW_FS("path", c->reflector.iperf3.path),
				 GW_FERR(err)),
		       "Cannot run iperf3 (reflector.iperf3.path %s)",
		       c->reflector.iperf3.path);
		return err;
	}

	s->wait_until = gw_now_ms() + LISTEN_WAIT_MS;

	return gw_timer_start(s->wait, LISTEN_POLL_MS, wait_listen, s);
}


int refl_tp_start(struct refl_session *s)
{
	int err = gw_timer_alloc(&s->wait, s->m->r);

	if (!err)
		err = spawn(s);

	return err;
}


void refl_tp_reply(struct refl_session *s, struct odict *reply)
{
	tell(s, reply);
}
