/**
 * @file reactor.h  The one reactor: fd watches, timers, signals, children
 *
 * A facade over Sofia-SIP's su_root (epoll port, no threads), so that no
 * module outside sip/ includes a Sofia header (DESIGN.md §3). Every object
 * here is a libre mem object: mem_deref() stops and frees it, and doing so
 * from inside its own callback is safe.
 */

#ifndef GW_REACTOR_H
#define GW_REACTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct gw_reactor;
struct gw_watch;
struct gw_timer;
struct gw_child;

/** Event interest and readiness bits for fd watches */
enum gw_fd_events {
	GW_FD_READ  = 1 << 0,
	GW_FD_WRITE = 1 << 1,
	/** POLLERR/POLLHUP. The kernel reports these whatever the interest;
	 *  asking for them only documents that the handler drains them. */
	GW_FD_ERROR = 1 << 2,
};

/**
 * fd readiness handler
 *
 * @param fd      The watched file descriptor
 * @param events  Ready events (GW_FD_*)
 * @param arg     Handler argument
 */
typedef void (gw_fd_h)(int fd, int events, void *arg);
typedef void (gw_timer_h)(void *arg);
typedef void (gw_signal_h)(int signo, void *arg);
/** Child exit handler; status as from waitpid() */
typedef void (gw_child_h)(pid_t pid, int status, void *arg);

int  gw_reactor_alloc(struct gw_reactor **rp);
/** Run until gw_reactor_stop(); returns 0 or errno */
int  gw_reactor_run(struct gw_reactor *r);
void gw_reactor_stop(struct gw_reactor *r);
bool gw_reactor_running(const struct gw_reactor *r);
/** The su_root_t behind the facade, for sip/ only (void * keeps Sofia out) */
void *gw_reactor_su_root(struct gw_reactor *r);

/** Monotonic clock [ms] */
uint64_t gw_now_ms(void);
/** Monotonic clock [us] */
uint64_t gw_now_us(void);

/**
 * Watch an fd. The fd stays owned by the caller and must outlive the watch.
 *
 * @param wp      Watch pointer (out)
 * @param r       Reactor
 * @param fd      File descriptor, non-blocking
 * @param events  Interest (GW_FD_*), may be 0
 * @param h       Readiness handler
 * @param arg     Handler argument
 */
int  gw_watch_alloc(struct gw_watch **wp, struct gw_reactor *r, int fd,
		    int events, gw_fd_h *h, void *arg);
/** Switch the interest of a watch, e.g. add GW_FD_WRITE while output waits */
int  gw_watch_set(struct gw_watch *w, int events);
int  gw_watch_events(const struct gw_watch *w);

int  gw_timer_alloc(struct gw_timer **tp, struct gw_reactor *r);
/** Fire once after delay [ms]; re-arming a running timer moves it */
int  gw_timer_start(struct gw_timer *t, uint64_t delay_ms, gw_timer_h *h,
		    void *arg);
/** Fire every interval [ms], first after one interval; no drift */
int  gw_timer_start_periodic(struct gw_timer *t, uint64_t interval_ms,
			     gw_timer_h *h, void *arg);
void gw_timer_stop(struct gw_timer *t);
bool gw_timer_running(const struct gw_timer *t);
/** Milliseconds until the timer fires, 0 when not running */
uint64_t gw_timer_remaining(const struct gw_timer *t);

/**
 * Deliver a signal through the reactor (signalfd). The signal is blocked
 * for the process; one handler per signal, NULL removes it.
 */
int  gw_reactor_signal(struct gw_reactor *r, int signo, gw_signal_h *h,
		       void *arg);

/**
 * Report the exit of a child process (pidfd). The child is reaped by the
 * reactor before the handler runs.
 */
int  gw_child_watch(struct gw_child **cp, struct gw_reactor *r, pid_t pid,
		    gw_child_h *h, void *arg);

/* Child processes the reactor starts and reaps (gateway/child.c) */
struct gw_proc;

struct gw_proc_params {
	char *const *argv;            /**< argv[0] looked up in PATH */
	uint64_t timeout_ms;          /**< then SIGTERM; 0: none */
	uint64_t grace_ms;            /**< SIGTERM to SIGKILL; 0: 2000 */
	size_t out_max;               /**< stdout kept [bytes]; 0: 64 KiB */
	size_t err_max;               /**< stderr kept [bytes]; 0: 64 KiB */
};

/** The child exited (status as waitpid() gives it); the handle is the
 *  owner's to free, its output stays readable until then */
typedef void (gw_proc_exit_h)(struct gw_proc *p, int status, void *arg);

/**
 * Start a child: posix_spawnp(), its own process group, default signal
 * handling, stdin /dev/null, stdout and stderr kept up to their limits
 * (the rest read and counted). Past timeout_ms its group gets SIGTERM,
 * grace_ms later SIGKILL. It is always reaped: freeing the handle before
 * it exits terminates it the same way, and gw_proc_shutdown() reaps what
 * is left when the daemon exits.
 *
 * @return 0; ENOENT, EACCES... when it cannot be executed
 */
int gw_proc_spawn(struct gw_proc **pp, struct gw_reactor *r,
		  const struct gw_proc_params *prm, gw_proc_exit_h *h,
		  void *arg);
pid_t gw_proc_pid(const struct gw_proc *p);
/** What stream 1 (stdout) or 2 (stderr) wrote, kept; dropped: the rest */
const uint8_t *gw_proc_output(const struct gw_proc *p, int stream,
			      size_t *lenp, uint64_t *droppedp);
/** SIGTERM to its group now, SIGKILL after the grace period */
void gw_proc_terminate(struct gw_proc *p);
/**
 * The daemon exits: SIGTERM to every child still running, up to 1 s for
 * them to go, SIGKILL to the rest, every one reaped. Blocks (bounded);
 * called after the reactor has stopped.
 */
void gw_proc_shutdown(void);

#endif
