/**
 * @file conns.c  Caps on SIP TCP/TLS connections from outside the trunks
 *
 * Anyone may open a TCP or TLS connection to a SIP listener, and each one
 * is a file descriptor. Sofia's transports have no limit of their own, no
 * hook at accept(), and no public way to list them all (tport_secondary()
 * is the root of a tree that tport_next() only walks to the right), so a
 * sweep every SWEEP_MS lists this process's own sockets instead: every
 * accepted TCP socket whose local port is a tcp:/tls: listen port is a
 * SIP connection. What is over the caps is shut down, and Sofia, seeing
 * the stream end, frees its transport: at most
 * sip.max_connections_per_source from one address and sip.max_connections
 * in all, counting only sources outside every trunk. A trunk's own
 * connections are never touched, so a flood from elsewhere cannot cut a
 * trunk off. Connections idle for sip.connection_idle are closed by Sofia
 * (TPTAG_IDLE, set at listen time).
 *
 * Between two sweeps a burst may exceed the caps; the file-descriptor
 * limit, raised to the hard limit at start (daemon.c), absorbs it.
 */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "gateway/conf.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "sip/route.h"
#include "sip/sip_int.h"

enum {
	SWEEP_MS = 500,
	LOG_EVERY_MS = 10000,         /**< one summary line at most */
};

struct conn {
	struct sa from;
	int fd;
};


/* by source address, then by descriptor: the newest (highest) go first
 * when a source is over its cap */
static int conn_cmp_addr(const struct conn *x, const struct conn *y)
{
	int fx = sa_af(&x->from), fy = sa_af(&y->from);

	if (fx != fy)
		return fx < fy ? -1 : 1;
	if (fx == AF_INET)
		return memcmp(&x->from.u.in.sin_addr, &y->from.u.in.sin_addr,
			      sizeof(x->from.u.in.sin_addr));

	return memcmp(&x->from.u.in6.sin6_addr, &y->from.u.in6.sin6_addr,
		      sizeof(x->from.u.in6.sin6_addr));
}


static int conn_cmp(const void *a, const void *b)
{
	const struct conn *x = a, *y = b;
	int c = conn_cmp_addr(x, y);

	return c ? c : x->fd - y->fd;
}


static bool sip_stream_port(const struct gw_conf *conf, uint16_t port)
{
	for (size_t i = 0; i < conf->sip.n_listen; i++) {
		const struct gw_listen *l = &conf->sip.listen[i];

		if (l->tp != GW_TP_UDP && sa_port(&l->addr) == port)
			return true;
	}

	return false;
}


/* An accepted SIP TCP/TLS connection from outside every trunk? */
static bool stranger(const struct gw_conf *conf, int fd, struct sa *from)
{
	struct sa local;
	int type = 0, listening = 1;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_STREAM)
		return false;
	len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) ||
	    listening)
		return false;

	local.len = sizeof(local.u);
	if (getsockname(fd, &local.u.sa, &local.len) ||
	    (sa_af(&local) != AF_INET && sa_af(&local) != AF_INET6) ||
	    !sip_stream_port(conf, sa_port(&local)))
		return false;

	from->len = sizeof(from->u);
	if (getpeername(fd, &from->u.sa, &from->len))
		return false;

	return !sipua_trunk_by_source(conf, from);
}


/* The open connections from outside every trunk, into ua->conns */
static size_t collect(struct sipua *ua)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	size_t n = 0;

	if (!dir)
		return 0;

	while ((de = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		struct sa from;

		if (*end || end == de->d_name || fd == dirfd(dir) ||
		    !stranger(ua->conf, (int)fd, &from))
			continue;

		if (n == ua->conns_cap) {
			size_t cap = n ? n * 2 : 64;
			/* libre's mem_realloc() takes only mem objects */
			struct conn *c = ua->conns ?
				mem_realloc(ua->conns, cap * sizeof(*c)) :
				mem_alloc(cap * sizeof(*c), NULL);

			if (!c)
				break;
			ua->conns = c;
			ua->conns_cap = cap;
		}
		ua->conns[n].from = from;
		ua->conns[n].fd = (int)fd;
		++n;
	}

	closedir(dir);

	return n;
}


/* TCP sockets in use in this network namespace, all owners together: a
 * cheap upper bound of our connections, read before listing them */
static unsigned tcp_inuse(void)
{
	FILE *f = fopen("/proc/net/sockstat", "r");
	char line[256];
	unsigned n = UINT_MAX;

	if (!f)
		return n;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "TCP: inuse %u", &n) == 1)
			break;
	}
	fclose(f);

	return n;
}


static void close_conn(struct sipua *ua, struct conn *c)
{
	/* Sofia reads the end of the stream and frees the transport */
	shutdown(c->fd, SHUT_RDWR);
	++ua->conns_closed;
}


static void sweep(void *arg)
{
	struct sipua *ua = arg;
	const uint32_t per = ua->conf->sip.max_connections_per_source;
	const uint32_t total = ua->conf->sip.max_connections;
	size_t n, kept = 0;
	uint64_t now;
	char worst[64] = "";
	size_t worst_n = 0;

	/* nothing can be over the caps: no need to list every socket
	 * (thousands of RTP sockets on a busy gateway) */
	if (tcp_inuse() <= (per < total ? per : total)) {
		ua->conns_open = 0;
		goto log;
	}

	n = collect(ua);
	ua->conns_open = n;
	if (n <= per && n <= total)
		goto log;

	qsort(ua->conns, n, sizeof(*ua->conns), conn_cmp);

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j < n && !conn_cmp_addr(&ua->conns[i], &ua->conns[j]))
			++j;
		if (j - i > worst_n) {
			worst_n = j - i;
			re_snprintf(worst, sizeof(worst), "%j",
				    &ua->conns[i].from);
		}
		for (size_t k = i; k < j; k++) {
			if (k - i >= per || kept >= total)
				close_conn(ua, &ua->conns[k]);
			else
				++kept;
		}
		i = j;
	}
	ua->conns_open = kept;
	if (worst_n > per)
		str_ncpy(ua->conns_worst, worst, sizeof(ua->conns_worst));

 log:
	now = gw_now_ms();
	if (ua->conns_closed > ua->conns_logged &&
	    now - ua->conns_log_at >= LOG_EVERY_MS) {
		gw_log(GW_LOG_WARN, "sip", "connections_capped",
		       GW_FIELDS(GW_FU("closed",
				       ua->conns_closed - ua->conns_logged),
				 GW_FU("open", ua->conns_open),
				 GW_FU("per_source", per), GW_FU("total", total),
				 GW_FS("busiest", ua->conns_worst[0] ?
				       ua->conns_worst : "-")),
		       "Closed %llu SIP connection(s) from outside every trunk "
		       "over the caps (%u per source, %u in all)",
		       (unsigned long long)(ua->conns_closed -
					    ua->conns_logged), per, total);
		ua->conns_logged = ua->conns_closed;
		ua->conns_log_at = now;
	}
}


/* Sofia's accept loop spins when accept() fails for want of descriptors
 * (it has no back-off of its own): say at start when the limit is below
 * what this configuration can use at once */
static void fd_budget(const struct sipua *ua)
{
	const struct gw_conf *conf = ua->conf;
	uint64_t need = (uint64_t)conf->sip.max_connections + 256 +
		(uint64_t)(conf->media.rtp_ports.last -
			   conf->media.rtp_ports.first + 1);
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
		return;

	gw_log(GW_LOG_WARN, "sip", "fd_limit_low",
	       GW_FIELDS(GW_FU("limit", rl.rlim_cur), GW_FU("need", need)),
	       "File descriptor limit %llu is below what this configuration "
	       "may use at once (%llu: sip.max_connections, every RTP/RTCP "
	       "port, 256 more): raise the hard limit, or lower "
	       "sip.max_connections or media.rtp_ports",
	       (unsigned long long)rl.rlim_cur, (unsigned long long)need);
}


int sipua_conns_start(struct sipua *ua)
{
	int err;

	fd_budget(ua);

	err = gw_timer_alloc(&ua->conns_sweep, ua->r);
	if (!err)
		err = gw_timer_start_periodic(ua->conns_sweep, SWEEP_MS, sweep,
					      ua);

	return err;
}


void sipua_conns_describe(const struct sipua *ua, struct odict *o)
{
	odict_entry_add(o, "connections_outside_trunks", ODICT_INT,
			(int64_t)ua->conns_open);
	odict_entry_add(o, "connections_capped", ODICT_INT,
			(int64_t)ua->conns_closed);
}
