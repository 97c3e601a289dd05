/**
 * @file ctrl_rig.c  See ctrl_rig.h
 */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/ctrl.h"
#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "tests/unit/ctrl_rig.h"


static void guard_expired(void *arg)
{
	struct server *s = arg;

	s->timed_out = true;
	gw_reactor_stop(s->r);
}


static void child_done(pid_t pid, int status, void *arg)
{
	struct server *s = arg;

	s->status = status;
	gw_reactor_stop(s->r);
}


int rig_open(struct server *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "/tmp/keepline-unit-%d/ctl.sock",
		 (int)getpid());

	err = gw_reactor_alloc(&s->r);
	if (!err)
		err = gw_ctrl_alloc(&s->ctrl, s->r, s->path);
	if (!err)
		err = gw_timer_alloc(&s->guard, s->r);

	return err;
}


void rig_close(struct server *s)
{
	char dir[108];

	s->child = mem_deref(s->child);
	s->guard = mem_deref(s->guard);
	s->ctrl = mem_deref(s->ctrl);
	s->r = mem_deref(s->r);

	snprintf(dir, sizeof(dir), "/tmp/keepline-unit-%d", (int)getpid());
	rmdir(dir);
}


int rig_client(struct server *s, int (*client)(const char *path),
	       uint64_t guard_ms)
{
	pid_t pid;
	int err;

	pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(client(s->path));

	s->child = mem_deref(s->child);
	err = gw_child_watch(&s->child, s->r, pid, child_done, s);
	if (err) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return err;
	}

	gw_timer_start(s->guard, guard_ms, guard_expired, s);
	err = gw_reactor_run(s->r);
	gw_timer_stop(s->guard);

	if (s->timed_out) {
		kill(pid, SIGKILL);
		return ETIMEDOUT;
	}
	if (err)
		return err;

	return WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0 ?
		0 : EPROTO;
}
