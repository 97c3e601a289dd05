/**
 * @file test_child.c  Child processes on the reactor (gateway/child.c)
 *
 * Real children (sh, true, head): one that exits at once, one that writes
 * to both streams, one that floods stdout, one that ignores SIGTERM, one
 * that cannot be executed, one freed by its owner while it runs, and three
 * still running at shutdown. Each is checked the way an operator would:
 * its exit status, what it wrote, and no process left in /proc.
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "tests/unit/unit.h"

struct run {
	struct gw_reactor *r;
	struct gw_timer *stop;
	int status;
	bool done;
	uint64_t at;                  /**< gw_now_ms() of the exit */
};


static void on_exit_(struct gw_proc *p, int status, void *arg)
{
	struct run *run = arg;
	(void)p;

	run->status = status;
	run->done = true;
	run->at = gw_now_ms();
	gw_reactor_stop(run->r);
}


static void on_stop(void *arg)
{
	gw_reactor_stop(arg);
}


static int setup(struct run *run)
{
	memset(run, 0, sizeof(*run));
	if (gw_reactor_alloc(&run->r))
		return ENOMEM;

	return gw_timer_alloc(&run->stop, run->r);
}


/* Run the loop until the child exits, or ms pass */
static void run_until(struct run *run, uint64_t ms)
{
	gw_timer_start(run->stop, ms, on_stop, run->r);
	gw_reactor_run(run->r);
}


static void teardown(struct run *run)
{
	mem_deref(run->stop);
	mem_deref(run->r);
}


/* A process that still runs (not gone, not a zombie) */
static bool running(pid_t pid)
{
	char path[64], st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%*d %*s %c", &st) != 1)
		st = 0;
	fclose(f);

	return st && st != 'Z' && st != 'X';
}


static bool reaped(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD &&
		!running(pid);
}


int test_child_exit_and_output(void)
{
	char *sh[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	char *tr[] = {"true", NULL};
	struct gw_proc_params prm = {.argv = sh};
	struct gw_proc *p = NULL;
	struct run run;
	const uint8_t *o;
	size_t len;
	uint64_t dropped = 1;
	int err = 0;

	TEST_ERR(setup(&run));

	TEST_ERR(gw_proc_spawn(&p, run.r, &prm, on_exit_, &run));
	run_until(&run, 5000);
	TEST_ASSERT(run.done);
	TEST_ASSERT(WIFEXITED(run.status));
	TEST_EQUALS(3, WEXITSTATUS(run.status));
	o = gw_proc_output(p, 1, &len, &dropped);
	TEST_EQUALS(4, len);
	TEST_ASSERT(!memcmp(o, "out\n", 4));
	TEST_EQUALS(0, dropped);
	o = gw_proc_output(p, 2, &len, NULL);
	TEST_EQUALS(4, len);
	TEST_ASSERT(!memcmp(o, "err\n", 4));
	TEST_ASSERT(reaped(gw_proc_pid(p)));
	p = mem_deref(p);

	/* exits at once, says nothing */
	run.done = false;
	prm.argv = tr;
	TEST_ERR(gw_proc_spawn(&p, run.r, &prm, on_exit_, &run));
	run_until(&run, 5000);
	TEST_ASSERT(run.done && WIFEXITED(run.status) &&
		    WEXITSTATUS(run.status) == 0);
	gw_proc_output(p, 1, &len, NULL);
	TEST_EQUALS(0, len);
	TEST_ASSERT(reaped(gw_proc_pid(p)));

 out:
	mem_deref(p);
	teardown(&run);
	return err;
}


int test_child_flood_is_bounded(void)
{
	/* 5 MB on stdout, 1,000 bytes kept: the rest read and counted */
	char *argv[] = {"head", "-c", "5000000", "/dev/zero", NULL};
	struct gw_proc_params prm = {.argv = argv, .out_max = 1000};
	struct gw_proc *p = NULL;
	struct run run;
	uint64_t dropped = 0;
	size_t len;
	int err = 0;

	TEST_ERR(setup(&run));
	TEST_ERR(gw_proc_spawn(&p, run.r, &prm, on_exit_, &run));
	run_until(&run, 10000);
	TEST_ASSERT(run.done && WIFEXITED(run.status) &&
		    WEXITSTATUS(run.status) == 0);
	gw_proc_output(p, 1, &len, &dropped);
	TEST_EQUALS(1000, len);
	TEST_EQUALS(5000000 - 1000, dropped);

 out:
	mem_deref(p);
	teardown(&run);
	return err;
}


int test_child_deadline_term_then_kill(void)
{
	/* ignores SIGTERM, and so does its own child: the group is killed */
	char *argv[] = {"sh", "-c",
			"trap '' TERM; sleep 30 & echo $!; wait", NULL};
	struct gw_proc_params prm = {.argv = argv, .timeout_ms = 100,
				     .grace_ms = 200};
	struct gw_proc *p = NULL;
	struct run run;
	const uint8_t *o;
	uint64_t t0;
	size_t len;
	pid_t grandchild;
	int err = 0;

	TEST_ERR(setup(&run));
	t0 = gw_now_ms();
	TEST_ERR(gw_proc_spawn(&p, run.r, &prm, on_exit_, &run));
	run_until(&run, 5000);
	TEST_ASSERT(run.done);
	TEST_ASSERT(WIFSIGNALED(run.status));
	TEST_EQUALS(SIGKILL, WTERMSIG(run.status));
	/* 100 ms to the SIGTERM, 200 more to the SIGKILL */
	TEST_ASSERT(run.at - t0 >= 280 && run.at - t0 < 1500);
	o = gw_proc_output(p, 1, &len, NULL);
	TEST_ASSERT(len > 1 && len < 16);
	grandchild = (pid_t)strtol((const char *)o, NULL, 10);
	TEST_ASSERT(grandchild > 1);
	/* SIGKILL is sent; the kernel tears the grandchild down on its own
	 * time, and it is no child of ours to wait for: poll, bounded */
	for (int i = 0; i < 100 && running(grandchild); i++)
		usleep(10000);
	TEST_ASSERT(!running(grandchild));
	TEST_ASSERT(reaped(gw_proc_pid(p)));

 out:
	mem_deref(p);
	teardown(&run);
	return err;
}


int test_child_not_executable(void)
{
	char *argv[] = {"/nonexistent/keepline-no-such-program", NULL};
	char *dir[] = {"/", NULL};
	struct gw_proc_params prm = {.argv = argv};
	struct gw_proc *p = NULL;
	struct run run;
	int err = 0;

	TEST_ERR(setup(&run));
	TEST_EQUALS(ENOENT, gw_proc_spawn(&p, run.r, &prm, on_exit_, &run));
	TEST_ASSERT(!p);
	prm.argv = dir;
	TEST_EQUALS(EACCES, gw_proc_spawn(&p, run.r, &prm, on_exit_, &run));
	TEST_ASSERT(!p);
	err = 0;

 out:
	mem_deref(p);
	teardown(&run);
	return err;
}


int test_child_freed_early_and_at_shutdown(void)
{
	char *sleeper[] = {"sleep", "30", NULL};
	char *stubborn[] = {"sh", "-c", "trap '' TERM; sleep 30", NULL};
	struct gw_proc_params prm = {.argv = sleeper};
	struct gw_proc *p = NULL, *three[3] = {NULL, NULL, NULL};
	struct run run;
	pid_t pid, pids[3];
	uint64_t t0;
	int err = 0;

	TEST_ERR(setup(&run));

	/* its owner lets go while it runs: terminated, reaped all the same */
	TEST_ERR(gw_proc_spawn(&p, run.r, &prm, NULL, NULL));
	pid = gw_proc_pid(p);
	TEST_ASSERT(running(pid));
	p = mem_deref(p);
	run_until(&run, 300);
	TEST_ASSERT(reaped(pid));

	/* three still running when the daemon exits, two ignoring SIGTERM */
	for (int i = 0; i < 3; i++) {
		prm.argv = i ? stubborn : sleeper;
		TEST_ERR(gw_proc_spawn(&three[i], run.r, &prm, NULL, NULL));
		pids[i] = gw_proc_pid(three[i]);
	}
	run_until(&run, 100);
	t0 = gw_now_ms();
	gw_proc_shutdown();
	TEST_ASSERT(gw_now_ms() - t0 < 2000);
	for (int i = 0; i < 3; i++)
		TEST_ASSERT(reaped(pids[i]));

 out:
	for (int i = 0; i < 3; i++)
		mem_deref(three[i]);
	mem_deref(p);
	teardown(&run);
	return err;
}
