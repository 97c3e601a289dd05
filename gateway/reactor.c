/**
 * @file reactor.c  The one reactor, over Sofia-SIP's su_root
 *
 * The facade exists so that every module shares Sofia's loop (and NUA can
 * run on it) without including Sofia headers. su_root runs on its epoll
 * port: the select port loses POLLERR, which media/ needs for ICMP errors.
 *
 * Watches live in an epoll set of the facade's own, registered with
 * su_root as one fd. Sofia's epoll port takes at most 4 events per
 * epoll_wait(); a gateway relaying RTP for thousands of calls has
 * thousands of sockets each ready once per 20 ms, so the facade asks for
 * up to EVENTS_MAX at a time instead. Sofia's own sockets (NTA's
 * transports) stay on su_root directly.
 */

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/su_time.h>

#include "gateway/libre.h"
#include "gateway/reactor.h"

enum { TIMER_SLACK_NS = 1000000 };

enum { EVENTS_MAX = 256 };

struct sig_handler {
	gw_signal_h *h;
	void *arg;
};

struct gw_reactor {
	su_root_t *root;
	bool running;
	int epfd;                     /**< the watches' epoll set */
	int ep_index;                 /**< its su_root registration */
	struct epoll_event evs[EVENTS_MAX];
	int nevs;                     /**< events being dispatched, or 0 */
	int sigfd;                    /**< signalfd, -1 until first signal */
	sigset_t sigmask;             /**< signals routed to sigfd */
	struct gw_watch *sigw;
	struct sig_handler sig[_NSIG];
};

struct gw_watch {
	struct gw_reactor *r;         /**< reference held, unless internal */
	bool internal;                /**< the reactor's own: no reference */
	bool added;                   /**< in r->epfd */
	int fd;
	int events;
	gw_fd_h *h;
	void *arg;
};

struct gw_timer {
	struct gw_reactor *r;         /**< reference held */
	su_timer_t *st;
	gw_timer_h *h;
	void *arg;
	uint64_t interval;            /**< [ms], 0 for one-shot */
	su_time_t next;               /**< next deadline of a periodic timer */
	uint64_t deadline;            /**< gw_now_ms() when it fires */
	bool running;
};

struct gw_child {
	struct gw_reactor *r;
	struct gw_watch *w;
	pid_t pid;
	int pidfd;
	gw_child_h *h;
	void *arg;
};

static unsigned su_users;

static int epoll_setup(struct gw_reactor *r);


uint64_t gw_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}


uint64_t gw_now_ms(void)
{
	return gw_now_us() / 1000u;
}


static void reactor_destructor(void *data)
{
	struct gw_reactor *r = data;

	r->sigw = mem_deref(r->sigw);

	if (r->ep_index > 0)
		su_root_deregister(r->root, r->ep_index);
	if (r->epfd >= 0)
		close(r->epfd);

	if (r->sigfd >= 0) {
		sigprocmask(SIG_UNBLOCK, &r->sigmask, NULL);
		close(r->sigfd);
	}

	if (r->root)
		su_root_destroy(r->root);

	if (su_users && --su_users == 0)
		su_deinit();
}


int gw_reactor_alloc(struct gw_reactor **rp)
{
	struct gw_reactor *r;
	int err = 0;

	if (!rp)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), reactor_destructor);
	if (!r)
		return ENOMEM;

	r->sigfd = -1;
	r->epfd = -1;
	sigemptyset(&r->sigmask);

	if (su_users == 0 && su_init() != 0) {
		err = ENOMEM;
		goto out;
	}
	++su_users;

	r->root = su_root_create(NULL);
	if (!r->root) {
		err = errno ? errno : ENOMEM;
		goto out;
	}

	/* Without this NUA would start a thread of its own (DESIGN.md §3) */
	su_root_threading(r->root, 0);

	/* Sofia's loop waits for its next timer in whole milliseconds,
	 * truncated: in the last millisecond before any timer (ours or
	 * NTA's) it polls with a zero timeout until the deadline passes,
	 * thousands of times a second under session-timer load. With 1 ms
	 * of timer slack the sleep before it ends past the deadline
	 * instead; timers may fire up to 1 ms late, and I/O still wakes
	 * the loop at once. docs/architecture.md has the figures. */
	(void)prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0);

	err = epoll_setup(r);

 out:
	if (err)
		mem_deref(r);
	else
		*rp = r;

	return err;
}


int gw_reactor_run(struct gw_reactor *r)
{
	if (!r)
		return EINVAL;

	r->running = true;
	su_root_run(r->root);
	r->running = false;

	return 0;
}


void gw_reactor_stop(struct gw_reactor *r)
{
	if (!r || !r->running)
		return;

	su_root_break(r->root);
}


bool gw_reactor_running(const struct gw_reactor *r)
{
	return r && r->running;
}


void *gw_reactor_su_root(struct gw_reactor *r)
{
	return r ? r->root : NULL;
}


/* fd watches, in the facade's epoll set */

static uint32_t to_epoll(int events)
{
	uint32_t e = 0;

	if (events & GW_FD_READ)
		e |= EPOLLIN;
	if (events & GW_FD_WRITE)
		e |= EPOLLOUT;

	return e;   /* EPOLLERR and EPOLLHUP are always reported */
}


/* The epoll set is readable: dispatch up to EVENTS_MAX ready watches */
static int epoll_wakeup(su_root_magic_t *magic, su_wait_t *wait,
			su_wakeup_arg_t *arg)
{
	struct gw_reactor *r = arg;
	int n;
	(void)magic;
	(void)wait;

	n = epoll_wait(r->epfd, r->evs, EVENTS_MAX, 0);
	if (n <= 0)
		return 0;

	r->nevs = n;
	for (int i = 0; i < r->nevs; i++) {
		struct gw_watch *w = r->evs[i].data.ptr;
		uint32_t re = r->evs[i].events;
		int events = 0;

		if (!w)
			continue;   /* freed by an earlier handler of this round */

		if (re & EPOLLIN)
			events |= GW_FD_READ;
		if (re & EPOLLOUT)
			events |= GW_FD_WRITE;
		if (re & (EPOLLERR | EPOLLHUP))
			events |= GW_FD_ERROR;

		/* The handler may free w, or any other watch */
		if (events)
			w->h(w->fd, events, w->arg);
	}
	r->nevs = 0;

	return 0;
}


static int epoll_setup(struct gw_reactor *r)
{
	su_wait_t wait[1] = {SU_WAIT_INIT};

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0)
		return errno;

	if (su_wait_create(wait, r->epfd, SU_WAIT_IN) < 0)
		return errno ? errno : EINVAL;

	r->ep_index = su_root_register(r->root, wait, epoll_wakeup, r, 0);
	if (r->ep_index <= 0) {
		r->ep_index = 0;
		return errno ? errno : ENOMEM;
	}

	return 0;
}


static void watch_destructor(void *data)
{
	struct gw_watch *w = data;
	struct gw_reactor *r = w->r;

	if (w->added)
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->fd, NULL);

	/* an event of this round not yet dispatched must not reach w */
	for (int i = 0; i < r->nevs; i++) {
		if (r->evs[i].data.ptr == w)
			r->evs[i].data.ptr = NULL;
	}

	if (!w->internal)
		mem_deref(r);
}


static void fd_nop(int fd, int events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}


static int watch_new(struct gw_watch **wp, struct gw_reactor *r, int fd,
		     int events, gw_fd_h *h, void *arg, bool internal)
{
	struct epoll_event ev = {0};
	struct gw_watch *w;

	if (!wp || !r || fd < 0)
		return EINVAL;

	w = mem_zalloc(sizeof(*w), watch_destructor);
	if (!w)
		return ENOMEM;

	/* A watch keeps its reactor alive, except the reactor's own
	 * (signalfd), which would otherwise keep it alive forever. */
	w->internal = internal;
	w->r = internal ? r : mem_ref(r);
	w->fd = fd;
	w->events = events;
	w->h = h ? h : fd_nop;
	w->arg = arg;

	ev.events = to_epoll(events);
	ev.data.ptr = w;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int err = errno;
		mem_deref(w);
		return err;
	}
	w->added = true;

	*wp = w;

	return 0;
}


int gw_watch_alloc(struct gw_watch **wp, struct gw_reactor *r, int fd,
		   int events, gw_fd_h *h, void *arg)
{
	return watch_new(wp, r, fd, events, h, arg, false);
}


int gw_watch_set(struct gw_watch *w, int events)
{
	struct epoll_event ev = {0};

	if (!w)
		return EINVAL;

	if (events == w->events)
		return 0;

	ev.events = to_epoll(events);
	ev.data.ptr = w;
	if (epoll_ctl(w->r->epfd, EPOLL_CTL_MOD, w->fd, &ev))
		return errno;

	w->events = events;

	return 0;
}


int gw_watch_events(const struct gw_watch *w)
{
	return w ? w->events : 0;
}


/* Timers
 *
 * Periodic timers are one-shot su_timers re-armed at absolute deadlines
 * (next += interval), not su_timer_run(): su_timer_expire() reads a
 * su_timer_run() timer again after its callback returns, so freeing one
 * from its own callback would be a use-after-free. A one-shot callback is
 * the last thing Sofia does with the timer.
 */

static void timer_expire(su_root_magic_t *magic, su_timer_t *st,
			 su_timer_arg_t *arg)
{
	struct gw_timer *t = arg;
	gw_timer_h *h = t->h;
	void *harg = t->arg;
	(void)magic;
	(void)st;

	if (t->interval) {
		su_time_t now = su_now();

		/* after a stall, skip missed ticks instead of bursting */
		do {
			t->next = su_time_add(t->next,
					      (su_duration_t)t->interval);
			t->deadline += t->interval;
		} while (su_time_cmp(t->next, now) <= 0);

		su_timer_set_at(t->st, timer_expire, t, t->next);
	}
	else {
		t->running = false;
	}

	/* The handler may stop, re-arm or free t. */
	h(harg);
}


static void timer_destructor(void *data)
{
	struct gw_timer *t = data;

	if (t->st)
		su_timer_destroy(t->st);

	mem_deref(t->r);
}


int gw_timer_alloc(struct gw_timer **tp, struct gw_reactor *r)
{
	struct gw_timer *t;

	if (!tp || !r)
		return EINVAL;

	t = mem_zalloc(sizeof(*t), timer_destructor);
	if (!t)
		return ENOMEM;

	t->r = mem_ref(r);
	t->st = su_timer_create(su_root_task(r->root), 0);
	if (!t->st) {
		mem_deref(t);
		return ENOMEM;
	}

	*tp = t;

	return 0;
}


static int timer_arm(struct gw_timer *t, uint64_t delay_ms,
		     uint64_t interval_ms, gw_timer_h *h, void *arg)
{
	if (!t || !h || delay_ms > INT32_MAX)
		return EINVAL;

	su_timer_reset(t->st);

	t->h = h;
	t->arg = arg;
	t->interval = interval_ms;
	t->deadline = gw_now_ms() + delay_ms;
	t->next = su_time_add(su_now(), (su_duration_t)delay_ms);

	if (su_timer_set_at(t->st, timer_expire, t, t->next) < 0)
		return errno ? errno : EINVAL;

	t->running = true;

	return 0;
}


int gw_timer_start(struct gw_timer *t, uint64_t delay_ms, gw_timer_h *h,
		   void *arg)
{
	return timer_arm(t, delay_ms, 0, h, arg);
}


int gw_timer_start_periodic(struct gw_timer *t, uint64_t interval_ms,
			    gw_timer_h *h, void *arg)
{
	if (interval_ms == 0)
		return EINVAL;

	return timer_arm(t, interval_ms, interval_ms, h, arg);
}


void gw_timer_stop(struct gw_timer *t)
{
	if (!t)
		return;

	su_timer_reset(t->st);
	t->running = false;
}


bool gw_timer_running(const struct gw_timer *t)
{
	return t && t->running;
}


uint64_t gw_timer_remaining(const struct gw_timer *t)
{
	uint64_t now;

	if (!t || !t->running)
		return 0;

	now = gw_now_ms();

	return t->deadline > now ? t->deadline - now : 0;
}


/* Signals, through one signalfd */

static void signal_readable(int fd, int events, void *arg)
{
	struct gw_reactor *r = arg;
	struct signalfd_siginfo si;
	(void)events;

	/* bounded: a signal storm cannot starve the rest of the loop */
	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, &si, sizeof(si));
		struct sig_handler *sh;

		if (n != (ssize_t)sizeof(si))
			break;

		if (si.ssi_signo >= _NSIG)
			continue;

		sh = &r->sig[si.ssi_signo];
		if (sh->h)
			sh->h((int)si.ssi_signo, sh->arg);
	}
}


int gw_reactor_signal(struct gw_reactor *r, int signo, gw_signal_h *h,
		      void *arg)
{
	sigset_t one;
	int err;

	if (!r || signo <= 0 || signo >= _NSIG || signo == SIGKILL ||
	    signo == SIGSTOP)
		return EINVAL;

	r->sig[signo].h = h;
	r->sig[signo].arg = arg;

	if (!h)
		return 0;

	if (sigismember(&r->sigmask, signo))
		return 0;

	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return errno;
	sigaddset(&r->sigmask, signo);

	if (r->sigfd >= 0) {
		/* widen the mask of the existing signalfd */
		if (signalfd(r->sigfd, &r->sigmask, 0) < 0)
			return errno;
		return 0;
	}

	r->sigfd = signalfd(-1, &r->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sigfd < 0)
		return errno;

	err = watch_new(&r->sigw, r, r->sigfd, GW_FD_READ, signal_readable,
			r, true);
	if (err) {
		close(r->sigfd);
		r->sigfd = -1;
	}

	return err;
}


/* Children, through a pidfd each */

static void child_exited(int fd, int events, void *arg)
{
	struct gw_child *c = arg;
	int status = 0;
	pid_t pid;
	(void)fd;
	(void)events;

	pid = waitpid(c->pid, &status, WNOHANG);
	if (pid == 0)
		return;  /* spurious: not exited yet */

	c->w = mem_deref(c->w);
	close(c->pidfd);
	c->pidfd = -1;

	if (pid < 0)
		status = -1;

	/* last touch of c: the handler may free it */
	c->h(c->pid, status, c->arg);
}


static void child_destructor(void *data)
{
	struct gw_child *c = data;

	mem_deref(c->w);
	if (c->pidfd >= 0)
		close(c->pidfd);
	mem_deref(c->r);
}


static void child_nop(pid_t pid, int status, void *arg)
{
	(void)pid;
	(void)status;
	(void)arg;
}


int gw_child_watch(struct gw_child **cp, struct gw_reactor *r, pid_t pid,
		   gw_child_h *h, void *arg)
{
	struct gw_child *c;
	int err;

	if (!cp || !r || pid <= 0)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), child_destructor);
	if (!c)
		return ENOMEM;

	c->r = mem_ref(r);
	c->pid = pid;
	c->h = h ? h : child_nop;
	c->arg = arg;

	c->pidfd = pidfd_open(pid, 0);
	if (c->pidfd < 0) {
		err = errno;
		goto out;
	}

	err = gw_watch_alloc(&c->w, r, c->pidfd, GW_FD_READ, child_exited, c);

 out:
	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}
