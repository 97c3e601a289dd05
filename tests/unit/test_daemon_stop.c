/**
 * @file test_daemon_stop.c  SIGTERM to a daemon with three children
 * running: it exits 0 and leaves no zombie and no orphan behind
 *
 * The daemon (gw_daemon_alloc()/gw_daemon_run(), as `keepline serve`
 * runs them) lives in a forked process, its children started on its
 * reactor: one that ignores SIGTERM, one that sleeps, one that floods its
 * stdout. The test sends SIGTERM to that process and then looks in /proc.
 */

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gateway/conf.h"
#include "gateway/daemon.h"
#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "tests/unit/unit.h"


static uint16_t free_udp_port(void)
{
	struct sa sa;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint16_t port = 0;

	sa_set_str(&sa, "127.0.0.1", 0);
	if (fd >= 0 && !bind(fd, &sa.u.sa, sa.len) &&
	    !getsockname(fd, &sa.u.sa, &sa.len))
		port = sa_port(&sa);
	if (fd >= 0)
		close(fd);

	return port;
}


static bool gone(pid_t pid)
{
	char path[32];
	struct stat sb;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);

	return stat(path, &sb) != 0;
}


/* In the forked daemon process: never returns */
static void daemon_with_children(int report, const char *sock)
{
	char *stubborn[] = {"sh", "-c", "trap '' TERM; exec sleep 60", NULL};
	char *sleeper[] = {"sleep", "60", NULL};
	char *flood[] = {"yes", NULL};
	char *const *argvs[] = {stubborn, sleeper, flood};
	struct gw_proc *procs[3] = {NULL};
	struct gw_daemon *d = NULL;
	struct gw_conf *conf = NULL;
	pid_t pids[3];
	int err;

	err = gw_conf_default(&conf);
	if (err)
		_exit(10);
	conf->control.socket = (char *)sock;
	conf->sip.n_listen = 1;
	conf->sip.listen[0].tp = GW_TP_UDP;
	sa_set_str(&conf->sip.listen[0].addr, "127.0.0.1", free_udp_port());
	conf->log.level = GW_LOG_WARN;

	err = gw_daemon_alloc(&d, conf);
	mem_deref(conf);
	if (err)
		_exit(11);

	for (int i = 0; i < 3; i++) {
		struct gw_proc_params prm = {.argv = argvs[i],
					     .out_max = 1000};

		if (gw_proc_spawn(&procs[i], gw_daemon_reactor(d), &prm, NULL,
				  NULL))
			_exit(12);
		pids[i] = gw_proc_pid(procs[i]);
	}
	if (write(report, pids, sizeof(pids)) != (ssize_t)sizeof(pids))
		_exit(13);
	close(report);

	err = gw_daemon_run(d);
	/* the handles stay with their owner, as a module's would */
	mem_deref(d);
	_exit(err ? 14 : 0);
}


int test_daemon_stop_reaps_children(void)
{
	char sock[64];
	pid_t pids[3], dp;
	int fds[2], status = -1, err = 0;
	ssize_t n;

	snprintf(sock, sizeof(sock), "/tmp/keepline-unit-stop-%d.sock",
		 (int)getpid());
	TEST_ASSERT(0 == pipe(fds));

	dp = fork();
	TEST_ASSERT(dp >= 0);
	if (dp == 0) {
		close(fds[0]);
		daemon_with_children(fds[1], sock);
	}
	close(fds[1]);

	n = read(fds[0], pids, sizeof(pids));
	close(fds[0]);
	if (n != (ssize_t)sizeof(pids)) {
		waitpid(dp, &status, 0);
		fprintf(stderr, "daemon process exited with %d before its "
			"children ran\n", WEXITSTATUS(status));
		TEST_ASSERT(false);
	}

	/* the three run, children of the daemon */
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(!gone(pids[i]));
	usleep(200000);

	TEST_ASSERT(0 == kill(dp, SIGTERM));
	for (int i = 0; i < 1000; i++) {   /* 10 s at most */
		if (waitpid(dp, &status, WNOHANG) == dp)
			break;
		usleep(10000);
	}
	if (!WIFEXITED(status)) {
		kill(dp, SIGKILL);
		waitpid(dp, &status, 0);
		TEST_ASSERT(false);
	}
	TEST_EQUALS(0, WEXITSTATUS(status));

	/* reaped by the daemon itself: not left to init as orphans or
	 * zombies, nor their process groups */
	for (int i = 0; i < 3; i++) {
		TEST_ASSERT(gone(pids[i]));
		TEST_ASSERT(kill(-pids[i], 0) != 0 && errno == ESRCH);
	}
	TEST_ASSERT(access(sock, F_OK) != 0);

 out:
	return err;
}
