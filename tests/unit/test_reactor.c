/**
 * @file test_reactor.c  Timers, fd readiness, POLLERR, signals, children
 *
 * Every test arms a guard timer that stops the loop, so a missing event
 * fails the test instead of hanging it.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/errqueue.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "tests/unit/unit.h"

enum { GUARD_MS = 2000, LATE_MS = 25 };

struct fixture {
	struct gw_reactor *r;
	struct gw_timer *guard;
	bool timed_out;
};


static void guard_expired(void *arg)
{
	struct fixture *fx = arg;

	fx->timed_out = true;
	gw_reactor_stop(fx->r);
}


static void stop_loop(void *arg)
{
	gw_reactor_stop(arg);
}


static int fixture_init(struct fixture *fx)
{
	int err;

	memset(fx, 0, sizeof(*fx));

	err = gw_reactor_alloc(&fx->r);
	if (!err)
		err = gw_timer_alloc(&fx->guard, fx->r);
	if (!err)
		err = gw_timer_start(fx->guard, GUARD_MS, guard_expired, fx);

	return err;
}


static void fixture_close(struct fixture *fx)
{
	fx->guard = mem_deref(fx->guard);
	fx->r = mem_deref(fx->r);
}


/* Timers fire in deadline order, each within a few ms of its deadline */

struct order {
	struct fixture *fx;
	uint64_t start;
	uint64_t fired_at[3];
	int seq[3];
	int n;
};

struct order_timer {
	struct order *o;
	int id;
};


static void order_fire(void *arg)
{
	struct order_timer *ot = arg;
	struct order *o = ot->o;

	o->fired_at[ot->id] = gw_now_ms() - o->start;
	o->seq[o->n++] = ot->id;

	if (o->n == 3)
		gw_reactor_stop(o->fx->r);
}


int test_reactor_timer_order(void)
{
	static const uint64_t delay[3] = {30, 10, 20};
	struct gw_timer *t[3] = {NULL};
	struct order_timer ot[3];
	struct order o = {0};
	struct fixture fx;
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);

	o.fx = &fx;
	o.start = gw_now_ms();
	for (int i = 0; i < 3; i++) {
		ot[i] = (struct order_timer){.o = &o, .id = i};
		TEST_ERR(gw_timer_alloc(&t[i], fx.r));
		TEST_ERR(gw_timer_start(t[i], delay[i], order_fire, &ot[i]));
		TEST_ASSERT(gw_timer_running(t[i]));
	}

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_EQUALS(3, o.n);
	TEST_EQUALS(1, o.seq[0]);
	TEST_EQUALS(2, o.seq[1]);
	TEST_EQUALS(0, o.seq[2]);

	for (int i = 0; i < 3; i++) {
		TEST_ASSERT(o.fired_at[i] >= delay[i]);
		if (o.fired_at[i] > delay[i] + LATE_MS)
			TEST_FAIL("timer %d fired %llu ms late", i,
				  (unsigned long long)(o.fired_at[i] -
						       delay[i]));
		TEST_ASSERT(!gw_timer_running(t[i]));
	}

 out:
	for (int i = 0; i < 3; i++)
		mem_deref(t[i]);
	fixture_close(&fx);
	return err;
}


/* A periodic timer keeps its cadence and may free itself in its handler */

struct periodic {
	struct fixture *fx;
	struct gw_timer *t;
	uint64_t start;
	uint64_t last;
	int ticks;
};


static void periodic_tick(void *arg)
{
	struct periodic *p = arg;

	++p->ticks;
	p->last = gw_now_ms() - p->start;

	if (p->ticks == 5) {
		p->t = mem_deref(p->t);   /* freed from its own callback */
		gw_reactor_stop(p->fx->r);
	}
}


int test_reactor_periodic(void)
{
	struct periodic p = {0};
	struct fixture fx;
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);

	p.fx = &fx;
	TEST_ERR(gw_timer_alloc(&p.t, fx.r));
	p.start = gw_now_ms();
	TEST_ERR(gw_timer_start_periodic(p.t, 20, periodic_tick, &p));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_EQUALS(5, p.ticks);
	TEST_ASSERT(p.t == NULL);
	/* five ticks of 20 ms: no drift beyond scheduling delay */
	TEST_ASSERT(p.last >= 100);
	if (p.last > 100 + LATE_MS)
		TEST_FAIL("5th tick at %llu ms, expected 100",
			  (unsigned long long)p.last);

 out:
	mem_deref(p.t);
	fixture_close(&fx);
	return err;
}


/* Re-arming moves a timer; stopping it means it never fires */

struct restart {
	struct fixture *fx;
	struct gw_timer *moved, *stopped;
	int moved_fired, stopped_fired;
	uint64_t start, at;
};


static void restart_fire(void *arg)
{
	struct restart *rs = arg;

	++rs->moved_fired;
	rs->at = gw_now_ms() - rs->start;
	gw_reactor_stop(rs->fx->r);
}


static void stopped_fire(void *arg)
{
	struct restart *rs = arg;

	++rs->stopped_fired;
}


int test_reactor_timer_restart(void)
{
	struct restart rs = {0};
	struct fixture fx;
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);

	rs.fx = &fx;
	TEST_ERR(gw_timer_alloc(&rs.moved, fx.r));
	TEST_ERR(gw_timer_alloc(&rs.stopped, fx.r));

	rs.start = gw_now_ms();
	TEST_ERR(gw_timer_start(rs.moved, 10, restart_fire, &rs));
	TEST_ERR(gw_timer_start(rs.moved, 40, restart_fire, &rs));
	TEST_ASSERT(gw_timer_remaining(rs.moved) > 20);
	TEST_ERR(gw_timer_start(rs.stopped, 20, stopped_fire, &rs));
	gw_timer_stop(rs.stopped);
	TEST_ASSERT(!gw_timer_running(rs.stopped));
	TEST_EQUALS(0, gw_timer_remaining(rs.stopped));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_EQUALS(1, rs.moved_fired);
	TEST_EQUALS(0, rs.stopped_fired);
	TEST_ASSERT(rs.at >= 40);

 out:
	mem_deref(rs.moved);
	mem_deref(rs.stopped);
	fixture_close(&fx);
	return err;
}


/* Readiness is delivered; a watch may free itself in its handler */

struct reader {
	struct fixture *fx;
	struct gw_watch *w;
	struct gw_timer *settle;
	int calls;
	char got[8];
};


static void settle_done(void *arg)
{
	struct reader *rd = arg;

	gw_reactor_stop(rd->fx->r);
}


static void reader_event(int fd, int events, void *arg)
{
	struct reader *rd = arg;

	++rd->calls;
	if (events & GW_FD_READ)
		(void)!read(fd, rd->got, sizeof(rd->got) - 1);

	/* freed from its own callback; data left unread must not matter */
	rd->w = mem_deref(rd->w);
	gw_timer_start(rd->settle, 30, settle_done, rd);
}


int test_reactor_fd_read(void)
{
	struct reader rd = {0};
	struct fixture fx;
	int sv[2] = {-1, -1};
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);

	TEST_ASSERT(0 == socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv));
	rd.fx = &fx;
	TEST_ERR(gw_timer_alloc(&rd.settle, fx.r));
	TEST_ERR(gw_watch_alloc(&rd.w, fx.r, sv[0], GW_FD_READ, reader_event,
				&rd));
	TEST_EQUALS(GW_FD_READ, gw_watch_events(rd.w));

	TEST_ASSERT(4 == write(sv[1], "ping", 4));
	TEST_ASSERT(4 == write(sv[1], "more", 4));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_EQUALS(1, rd.calls);
	TEST_ASSERT(rd.got[0] == 'p');

 out:
	mem_deref(rd.w);
	mem_deref(rd.settle);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	fixture_close(&fx);
	return err;
}


/* POLLERR reaches the handler: the ICMP port-unreachable that our own
 * UDP send provokes is queued on the socket (IP_RECVERR) */

struct errwatch {
	struct fixture *fx;
	int events;
	int ee_errno;
	uint8_t ee_origin;
	uint16_t orig_port;
};


static void err_event(int fd, int events, void *arg)
{
	struct errwatch *ew = arg;
	uint8_t data[64], ctl[512];
	struct sockaddr_in from;
	struct iovec iov = {data, sizeof(data)};
	struct msghdr msg = {
		.msg_name = &from, .msg_namelen = sizeof(from),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl, .msg_controllen = sizeof(ctl),
	};

	ew->events |= events;
	if (!(events & GW_FD_ERROR))
		return;

	if (recvmsg(fd, &msg, MSG_ERRQUEUE) >= 0) {
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
		     c = CMSG_NXTHDR(&msg, c)) {
			struct sock_extended_err ee;

			if (c->cmsg_level != IPPROTO_IP ||
			    c->cmsg_type != IP_RECVERR)
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			ew->ee_errno = (int)ee.ee_errno;
			ew->ee_origin = ee.ee_origin;
		}
		ew->orig_port = ntohs(from.sin_port);
	}

	gw_reactor_stop(ew->fx->r);
}


int test_reactor_pollerr(void)
{
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct gw_watch *w = NULL;
	struct errwatch ew = {0};
	struct fixture fx;
	socklen_t len = sizeof(dst);
	int on = 1, fd = -1, closed = -1;
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);
	ew.fx = &fx;

	/* a port that is certainly closed: bind one, note it, close it */
	closed = socket(AF_INET, SOCK_DGRAM, 0);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TEST_ASSERT(0 == bind(closed, (struct sockaddr *)&dst, sizeof(dst)));
	TEST_ASSERT(0 == getsockname(closed, (struct sockaddr *)&dst, &len));
	close(closed);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	TEST_ASSERT(fd >= 0);
	TEST_ASSERT(0 == setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on,
				    sizeof(on)));
	TEST_ERR(gw_watch_alloc(&w, fx.r, fd, GW_FD_READ | GW_FD_ERROR,
				err_event, &ew));

	TEST_ASSERT(4 == sendto(fd, "rtp?", 4, 0, (struct sockaddr *)&dst,
				sizeof(dst)));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_ASSERT(ew.events & GW_FD_ERROR);
	TEST_EQUALS(ECONNREFUSED, ew.ee_errno);
	TEST_EQUALS(SO_EE_ORIGIN_ICMP, ew.ee_origin);
	TEST_EQUALS(ntohs(dst.sin_port), ew.orig_port);

 out:
	mem_deref(w);
	if (fd >= 0)
		close(fd);
	fixture_close(&fx);
	return err;
}


/* Interest can be switched: write readiness only while asked for */

struct writer {
	struct fixture *fx;
	struct gw_watch *w;
	struct gw_timer *settle;
	int writes;
};


static void writer_event(int fd, int events, void *arg)
{
	struct writer *wr = arg;

	if (events & GW_FD_WRITE) {
		++wr->writes;
		gw_watch_set(wr->w, GW_FD_READ);
		gw_timer_start(wr->settle, 30, stop_loop,
			       wr->fx->r);
	}
}


int test_reactor_watch_set(void)
{
	struct writer wr = {0};
	struct fixture fx;
	int sv[2] = {-1, -1};
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);

	TEST_ASSERT(0 == socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    sv));
	wr.fx = &fx;
	TEST_ERR(gw_timer_alloc(&wr.settle, fx.r));
	TEST_ERR(gw_watch_alloc(&wr.w, fx.r, sv[0], GW_FD_READ, writer_event,
				&wr));
	TEST_ERR(gw_watch_set(wr.w, GW_FD_READ | GW_FD_WRITE));
	TEST_EQUALS(GW_FD_READ | GW_FD_WRITE, gw_watch_events(wr.w));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	/* a socket is always writable: one event, then interest dropped */
	TEST_EQUALS(1, wr.writes);
	TEST_EQUALS(GW_FD_READ, gw_watch_events(wr.w));

 out:
	mem_deref(wr.w);
	mem_deref(wr.settle);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	fixture_close(&fx);
	return err;
}


/* Two fds ready in the same poll: the first handler frees the other's
 * watch, which then must not be called */

struct pair {
	struct fixture *fx;
	struct gw_watch *w[2];
	struct gw_timer *settle;
	int calls[2];
};


static void pair_event(struct pair *p, int me)
{
	++p->calls[me];
	p->w[0] = mem_deref(p->w[0]);
	p->w[1] = mem_deref(p->w[1]);
	gw_timer_start(p->settle, 30, stop_loop, p->fx->r);
}


static void pair_event0(int fd, int events, void *arg)
{
	pair_event(arg, 0);
}


static void pair_event1(int fd, int events, void *arg)
{
	pair_event(arg, 1);
}


int test_reactor_free_other(void)
{
	struct pair p = {0};
	struct fixture fx;
	int a[2] = {-1, -1}, b[2] = {-1, -1};
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);

	TEST_ASSERT(0 == socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    a));
	TEST_ASSERT(0 == socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
				    b));
	p.fx = &fx;
	TEST_ERR(gw_timer_alloc(&p.settle, fx.r));
	TEST_ERR(gw_watch_alloc(&p.w[0], fx.r, a[0], GW_FD_READ, pair_event0,
				&p));
	TEST_ERR(gw_watch_alloc(&p.w[1], fx.r, b[0], GW_FD_READ, pair_event1,
				&p));
	TEST_ASSERT(1 == write(a[1], "x", 1));
	TEST_ASSERT(1 == write(b[1], "y", 1));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_EQUALS(1, p.calls[0] + p.calls[1]);

 out:
	mem_deref(p.w[0]);
	mem_deref(p.w[1]);
	mem_deref(p.settle);
	for (int i = 0; i < 2; i++) {
		if (a[i] >= 0)
			close(a[i]);
		if (b[i] >= 0)
			close(b[i]);
	}
	fixture_close(&fx);
	return err;
}


/* Signals arrive through the reactor, not an async handler */

struct sigseen {
	struct fixture *fx;
	int signo;
};


static void on_signal(int signo, void *arg)
{
	struct sigseen *s = arg;

	s->signo = signo;
	gw_reactor_stop(s->fx->r);
}


static void send_sighup(void *arg)
{
	(void)arg;
	kill(getpid(), SIGHUP);
}


int test_reactor_signal(void)
{
	struct gw_timer *t = NULL;
	struct sigseen s = {0};
	struct fixture fx;
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);
	s.fx = &fx;

	TEST_ERR(gw_reactor_signal(fx.r, SIGHUP, on_signal, &s));
	TEST_ERR(gw_reactor_signal(fx.r, SIGUSR2, on_signal, &s));
	TEST_EQUALS(EINVAL, gw_reactor_signal(fx.r, SIGKILL, on_signal, &s));

	TEST_ERR(gw_timer_alloc(&t, fx.r));
	TEST_ERR(gw_timer_start(t, 5, send_sighup, NULL));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_EQUALS(SIGHUP, s.signo);

 out:
	mem_deref(t);
	fixture_close(&fx);   /* unblocks SIGHUP again */
	return err;
}


/* A child's exit is reported with its status, and the child reaped */

struct childseen {
	struct fixture *fx;
	pid_t pid;
	int status;
};


static void on_child(pid_t pid, int status, void *arg)
{
	struct childseen *c = arg;

	c->pid = pid;
	c->status = status;
	gw_reactor_stop(c->fx->r);
}


int test_reactor_child(void)
{
	struct gw_child *c = NULL;
	struct childseen seen = {0};
	struct fixture fx;
	pid_t pid;
	int err;

	err = fixture_init(&fx);
	TEST_ERR(err);
	seen.fx = &fx;

	pid = fork();
	if (pid == 0) {
		usleep(20000);
		_exit(7);
	}
	TEST_ASSERT(pid > 0);

	TEST_ERR(gw_child_watch(&c, fx.r, pid, on_child, &seen));

	TEST_ERR(gw_reactor_run(fx.r));
	TEST_ASSERT(!fx.timed_out);
	TEST_EQUALS(pid, seen.pid);
	TEST_ASSERT(WIFEXITED(seen.status));
	TEST_EQUALS(7, WEXITSTATUS(seen.status));
	/* reaped: no zombie left behind */
	TEST_EQUALS(-1, waitpid(pid, NULL, WNOHANG));
	TEST_EQUALS(ECHILD, errno);

 out:
	mem_deref(c);
	fixture_close(&fx);
	return err;
}
