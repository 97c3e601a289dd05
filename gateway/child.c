/**
 * @file child.c  Child processes on the reactor (see gw_proc_spawn())
 *
 * A child is started with posix_spawnp() (the daemon never forks itself),
 * in a process group of its own, with the default signal dispositions and
 * an empty signal mask (the daemon blocks the signals its signalfd reads,
 * and a blocked SIGTERM would be inherited), stdin from /dev/null and
 * stdout and stderr into pipes. Everything else is a watch or a timer on
 * the reactor: the pidfd says when it has exited, the pipes fill bounded
 * buffers (the rest is read and counted, never kept), the deadline sends
 * SIGTERM to the group and the grace period SIGKILL.
 *
 * The process outlives its handle if need be. What the owner holds is a
 * handle on a core; freeing the handle early terminates the child (TERM,
 * then KILL) and the core stays on a list until the child is reaped.
 * gw_proc_shutdown() reaps whatever is left when the daemon exits.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/reactor.h"

extern char **environ;

enum {
	OUT_MAX = 64 * 1024,          /**< [bytes] kept per stream */
	GRACE_MS = 2000,
	DRAIN_MAX = 1 << 20,          /**< read after the exit, at most */
	SHUTDOWN_WAIT_MS = 1000,
};

struct proc_core {
	struct le le;                 /**< in procs while not reaped */
	struct gw_proc *owner;        /**< NULL once the handle is freed */
	pid_t pid;
	int pidfd;
	int fd[2];                    /**< read ends: stdout, stderr */
	struct gw_watch *w, *ow[2];
	struct mbuf *buf[2];
	size_t max[2];
	uint64_t dropped[2];
	struct gw_timer *deadline, *grace;
	uint64_t grace_ms;
	bool exited;
	int status;
};

struct gw_proc {
	struct proc_core *core;
	gw_proc_exit_h *h;
	void *arg;
};

static struct list procs;         /* one thread: the reactor's */


static void close_pipe(struct proc_core *c, int i)
{
	c->ow[i] = mem_deref(c->ow[i]);
	if (c->fd[i] >= 0)
		close(c->fd[i]);
	c->fd[i] = -1;
}


static void core_destructor(void *data)
{
	struct proc_core *c = data;

	list_unlink(&c->le);
	mem_deref(c->w);
	mem_deref(c->deadline);
	mem_deref(c->grace);
	for (int i = 0; i < 2; i++) {
		close_pipe(c, i);
		mem_deref(c->buf[i]);
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
}


/* Keep what fits, count the rest: a child cannot grow the daemon */
static void read_pipe(struct proc_core *c, int i, size_t budget)
{
	uint8_t chunk[4096];

	while (budget && c->fd[i] >= 0) {
		ssize_t n = read(c->fd[i], chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_pipe(c, i);   /* EOF, or broken */
			return;
		}
		budget = (size_t)n < budget ? budget - (size_t)n : 0;

		size_t room = c->max[i] > c->buf[i]->end ?
			c->max[i] - c->buf[i]->end : 0;
		size_t keep = (size_t)n < room ? (size_t)n : room;

		if (keep)
			(void)mbuf_write_mem(c->buf[i], chunk, keep);
		c->dropped[i] += (size_t)n - keep;
	}
}


static void out_event(int fd, int events, void *arg)
{
	struct proc_core *c = arg;
	(void)events;

	read_pipe(c, fd == c->fd[0] ? 0 : 1, 64 * 1024);
}


static void signal_group(const struct proc_core *c, int signo)
{
	/* the group: what the child started goes too */
	if (!c->exited)
		(void)kill(-c->pid, signo);
}


static void grace_over(void *arg)
{
	signal_group(arg, SIGKILL);
}


static void terminate(struct proc_core *c)
{
	if (c->exited || gw_timer_running(c->grace))
		return;

	signal_group(c, SIGTERM);
	gw_timer_start(c->grace, c->grace_ms, grace_over, c);
}


static void deadline_over(void *arg)
{
	terminate(arg);
}


/* Has it exited? Then the rest of its group is killed while the zombie
 * still holds the id (no chance of hitting a new process that reused
 * it), and it is reaped. */
static bool reap(struct proc_core *c, bool block, int *statusp)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si,
		   WEXITED | WNOWAIT | (block ? 0 : WNOHANG)) || !si.si_pid)
		return false;

	(void)kill(-c->pid, SIGKILL);
	(void)waitpid(c->pid, statusp, 0);

	return true;
}


static void exited(int fd, int events, void *arg)
{
	struct proc_core *c = arg;
	struct gw_proc *p;
	int status = 0;
	(void)fd;
	(void)events;

	if (!reap(c, false, &status))
		return;   /* not yet */

	c->exited = true;
	c->status = status;
	c->w = mem_deref(c->w);
	gw_timer_stop(c->deadline);
	gw_timer_stop(c->grace);
	list_unlink(&c->le);
	/* what it wrote before it went; a grandchild holding the pipe is
	 * not waited for */
	for (int i = 0; i < 2; i++) {
		read_pipe(c, i, DRAIN_MAX);
		close_pipe(c, i);
	}

	p = c->owner;
	if (!p) {
		mem_deref(c);   /* its handle went before it did */
		return;
	}

	/* last touch: the handler may free p */
	p->h(p, status, p->arg);
}


static void proc_destructor(void *data)
{
	struct gw_proc *p = data;
	struct proc_core *c = p->core;

	if (!c)
		return;
	c->owner = NULL;
	if (c->exited) {
		mem_deref(c);
		return;
	}
	/* the core lives on until the child is reaped (exited()) */
	terminate(c);
}


static void exit_nop(struct gw_proc *p, int status, void *arg)
{
	(void)p;
	(void)status;
	(void)arg;
}


static int spawn(struct proc_core *c, char *const argv[], int out[2],
		 int err[2])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int e;

	if ((e = posix_spawn_file_actions_init(&fa)))
		return e;
	if ((e = posix_spawnattr_init(&at))) {
		posix_spawn_file_actions_destroy(&fa);
		return e;
	}

	sigemptyset(&none);
	sigfillset(&all);
	e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (!e)
		e = posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (!e)
		e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
					     POSIX_SPAWN_SETSIGMASK |
					     POSIX_SPAWN_SETSIGDEF);
	if (!e)
		e = posix_spawnattr_setpgroup(&at, 0);
	if (!e)
		e = posix_spawnattr_setsigmask(&at, &none);
	if (!e)
		e = posix_spawnattr_setsigdefault(&at, &all);
	/* glibc reports a failed exec (ENOENT, EACCES) here */
	if (!e)
		e = posix_spawnp(&c->pid, argv[0], &fa, &at, argv, environ);

	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);

	return e;
}


int gw_proc_spawn(struct gw_proc **pp, struct gw_reactor *r,
		  const struct gw_proc_params *prm, gw_proc_exit_h *h,
		  void *arg)
{
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	struct proc_core *c = NULL;
	struct gw_proc *p;
	int err;

	if (!pp || !r || !prm || !prm->argv || !prm->argv[0])
		return EINVAL;

	p = mem_zalloc(sizeof(*p), proc_destructor);
	c = mem_zalloc(sizeof(*c), core_destructor);
	if (!p || !c) {
		err = ENOMEM;
		goto out;
	}
	c->pidfd = c->fd[0] = c->fd[1] = -1;
	c->grace_ms = prm->grace_ms ? prm->grace_ms : GRACE_MS;
	c->max[0] = prm->out_max ? prm->out_max : OUT_MAX;
	c->max[1] = prm->err_max ? prm->err_max : OUT_MAX;
	p->h = h ? h : exit_nop;
	p->arg = arg;

	c->buf[0] = mbuf_alloc(256);
	c->buf[1] = mbuf_alloc(256);
	/* O_NONBLOCK only on our ends: it belongs to the open file, and the
	 * child's writes must block when the pipe is full, not fail */
	if (!c->buf[0] || !c->buf[1] || pipe2(out, O_CLOEXEC) ||
	    pipe2(errp, O_CLOEXEC) ||
	    fcntl(out[0], F_SETFL, O_NONBLOCK) ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK)) {
		err = errno ? errno : ENOMEM;
		goto out;
	}

	err = spawn(c, prm->argv, out, errp);
	close(out[1]);
	close(errp[1]);
	c->fd[0] = out[0];           /* the core closes them from now on */
	c->fd[1] = errp[0];
	out[0] = out[1] = errp[0] = errp[1] = -1;
	if (err)
		goto out;

	/* from here on the child exists: it is on the list, to be reaped */
	list_append(&procs, &c->le, c);
	c->pidfd = pidfd_open(c->pid, 0);
	if (c->pidfd < 0) {
		err = errno;
		goto kill;
	}

	err = gw_watch_alloc(&c->w, r, c->pidfd, GW_FD_READ, exited, c);
	for (int i = 0; i < 2 && !err; i++)
		err = gw_watch_alloc(&c->ow[i], r, c->fd[i], GW_FD_READ,
				     out_event, c);
	if (!err)
		err = gw_timer_alloc(&c->deadline, r);
	if (!err)
		err = gw_timer_alloc(&c->grace, r);
	if (!err && prm->timeout_ms)
		err = gw_timer_start(c->deadline, prm->timeout_ms,
				     deadline_over, c);
	if (!err) {
		c->owner = p;
		p->core = c;
		*pp = p;
		return 0;
	}

 kill:
	(void)kill(-c->pid, SIGKILL);
	(void)reap(c, true, NULL);    /* killed: at once */
	list_unlink(&c->le);
 out:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	mem_deref(c);
	mem_deref(p);

	return err;
}


pid_t gw_proc_pid(const struct gw_proc *p)
{
	return p && p->core ? p->core->pid : -1;
}


const uint8_t *gw_proc_output(const struct gw_proc *p, int stream,
			      size_t *lenp, uint64_t *droppedp)
{
	const struct proc_core *c = p ? p->core : NULL;
	int i = stream == 2 ? 1 : 0;

	if (!c) {
		if (lenp)
			*lenp = 0;
		return NULL;
	}
	if (lenp)
		*lenp = c->buf[i]->end;
	if (droppedp)
		*droppedp = c->dropped[i];

	return c->buf[i]->buf;
}


void gw_proc_terminate(struct gw_proc *p)
{
	if (p && p->core)
		terminate(p->core);
}


static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}


void gw_proc_shutdown(void)
{
	long waited = 0;
	bool left;

	for (struct le *le = procs.head; le; le = le->next)
		signal_group(le->data, SIGTERM);

	/* bounded: the loop has stopped, nothing else is waiting */
	do {
		left = false;
		for (struct le *le = procs.head; le; le = le->next) {
			struct proc_core *c = le->data;

			if (!c->exited && reap(c, false, &c->status))
				c->exited = true;
			left |= !c->exited;
		}
		if (left) {
			sleep_ms(10);
			waited += 10;
		}
	} while (left && waited < SHUTDOWN_WAIT_MS);

	while (procs.head) {
		struct proc_core *c = procs.head->data;

		if (!c->exited) {
			signal_group(c, SIGKILL);
			(void)reap(c, true, &c->status);
			c->exited = true;
		}
		list_unlink(&c->le);
		if (!c->owner)
			mem_deref(c);
	}
}
