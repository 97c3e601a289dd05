/**
 * @file test_ctrl_async.c  Deferred and streaming control replies, and
 * who may use a privileged command (SO_PEERCRED)
 *
 * As in test_ctrl.c, the server runs on the reactor here and each client
 * is a forked child whose exit status is the verdict.
 */

#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/ctrl.h"
#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "tests/unit/ctrl_rig.h"
#include "tests/unit/unit.h"

struct aserver {
	struct server s;              /**< first: the rig's callbacks get it */
	unsigned cancelled;           /**< cancel handlers run */
	unsigned replied;
};

/* "slow": two progress lines 50 ms apart, then the reply */
struct slow {
	struct aserver *s;
	struct gw_ctrl_req *rq;
	struct gw_timer *tmr;
	unsigned sent;
};


static void slow_destructor(void *data)
{
	struct slow *w = data;

	mem_deref(w->tmr);
}


static void slow_tick(void *arg)
{
	struct slow *w = arg;
	struct odict *o;

	if (w->sent < 2) {
		if (!odict_alloc(&o, 4)) {
			odict_entry_add(o, "step", ODICT_INT,
					(int64_t)++w->sent);
			gw_ctrl_req_progress(w->rq, o);
			mem_deref(o);
		}
		gw_timer_start(w->tmr, 50, slow_tick, w);
		return;
	}

	if (!odict_alloc(&o, 4)) {
		odict_entry_add(o, "count", ODICT_INT, (int64_t)w->sent);
		++w->s->replied;
		gw_ctrl_req_reply(w->rq, 0, o);
		mem_deref(o);
	}
	mem_deref(w);
}


/* The request went first: the work stops, nothing touches rq again */
static void slow_cancel(struct gw_ctrl_req *rq, void *arg)
{
	struct slow *w = arg;
	(void)rq;

	++w->s->cancelled;
	mem_deref(w);
}


static void cmd_slow(struct gw_ctrl_req *rq, const struct odict *req,
		     void *arg)
{
	struct slow *w = mem_zalloc(sizeof(*w), slow_destructor);
	(void)req;

	if (!w || gw_timer_alloc(&w->tmr, ((struct aserver *)arg)->s.r)) {
		mem_deref(w);
		gw_ctrl_req_reply(rq, ENOMEM, NULL);
		return;
	}
	w->s = arg;
	w->rq = rq;
	gw_ctrl_req_set_cancel(rq, slow_cancel, w);
	gw_timer_start(w->tmr, 50, slow_tick, w);
}


/* "never": answers nothing; only its deadline or its client ends it */
static void never_cancel(struct gw_ctrl_req *rq, void *arg)
{
	struct aserver *s = arg;
	(void)rq;

	++s->cancelled;
}


static void cmd_never(struct gw_ctrl_req *rq, const struct odict *req,
		      void *arg)
{
	(void)req;

	gw_ctrl_req_set_cancel(rq, never_cancel, arg);
}


static int cmd_cancelled(struct odict *reply, const struct odict *req,
			 void *arg)
{
	struct aserver *s = arg;
	(void)req;

	odict_entry_add(reply, "cancelled", ODICT_INT, (int64_t)s->cancelled);

	return 0;
}


static int cmd_change(struct odict *reply, const struct odict *req,
		      void *arg)
{
	(void)req;
	(void)arg;

	odict_entry_add(reply, "changed", ODICT_BOOL, true);

	return 0;
}


static int aserver_init(struct aserver *s)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = rig_open(&s->s);
	if (!err)
		err = gw_ctrl_register_async(s->s.ctrl, "slow", "streams", 0,
					     3000, cmd_slow, s);
	if (!err)
		err = gw_ctrl_register_async(s->s.ctrl, "never",
					     "never answers", 0, 10000,
					     cmd_never, s);
	if (!err)
		err = gw_ctrl_register(s->s.ctrl, "cancelled", "count",
				       cmd_cancelled, s);
	if (!err)
		err = gw_ctrl_register(s->s.ctrl, "change", "changes state",
				       cmd_change, s);
	if (!err)
		err = gw_ctrl_set_privileged(s->s.ctrl, "change");

	return err;
}


struct progress {
	unsigned lines;
	bool in_order;
};


static void on_progress(const char *line, void *arg)
{
	struct progress *p = arg;
	char want[32];

	snprintf(want, sizeof(want), "\"step\":%u", p->lines + 1);
	p->in_order &= strstr(line, want) && strstr(line, "\"id\":5") &&
		strstr(line, "\"progress\":true");
	++p->lines;
}


static int cancelled_now(const char *path)
{
	char *reply = NULL;
	int n = -1;
	const char *at;

	if (gw_ctrl_call(path, "{\"cmd\":\"cancelled\"}", &reply, 2000))
		return -1;
	at = strstr(reply, "\"cancelled\":");
	if (at)
		n = atoi(at + 12);
	mem_deref(reply);

	return n;
}


static int client_async(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct progress p = {.in_order = true};
	char *reply = NULL;
	int fd, n = -1;

	/* streamed: two progress lines, then the reply, all with its id */
	CHILD_CHECK(0 == gw_ctrl_call_stream(path, "{\"cmd\":\"slow\","
					     "\"id\":5}", on_progress, &p,
					     &reply, 2000));
	CHILD_CHECK(p.lines == 2 && p.in_order);
	CHILD_CHECK(strstr(reply, "\"count\":2") &&
		    strstr(reply, "\"ok\":true") && strstr(reply, "\"id\":5"));
	reply = mem_deref(reply);

	/* the request's own deadline, below the command's limit */
	CHILD_CHECK(0 == gw_ctrl_call(path, "{\"cmd\":\"never\",\"id\":6,"
				      "\"timeout_ms\":300}", &reply, 2000));
	CHILD_CHECK(strstr(reply, "{\"ok\":false,\"id\":6,\"error\":\"'never' "
			   "timed out after 300 ms\"}"));
	reply = mem_deref(reply);
	CHILD_CHECK(cancelled_now(path) == 1);

	/* a client that leaves cancels what it waits for: both kinds */
	strcpy(sun.sun_path, path);
	for (int i = 0; i < 2; i++) {
		static const char *reqs[] = {"{\"cmd\":\"never\"}\n",
					     "{\"cmd\":\"slow\"}\n"};

		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHILD_CHECK(fd >= 0 && 0 == connect(fd, (struct sockaddr *)&sun,
						    sizeof(sun)));
		CHILD_CHECK(write(fd, reqs[i], strlen(reqs[i])) ==
			    (ssize_t)strlen(reqs[i]));
		usleep(20000);
		close(fd);
	}
	for (int i = 0; i < 100 && n != 3; i++) {
		n = cancelled_now(path);
		usleep(10000);
	}
	CHILD_CHECK(n == 3);

	/* root may change state */
	CHILD_CHECK(0 == gw_ctrl_call(path, "{\"cmd\":\"change\"}", &reply,
				      2000));
	CHILD_CHECK(strstr(reply, "\"changed\":true"));
	mem_deref(reply);

	return 0;
}


/* Another user in the socket's group reads, and may not change state */
static int client_other_user(const char *path)
{
	char *reply = NULL;

	CHILD_CHECK(0 == setgroups(0, NULL) && 0 == setgid(0) &&
		    0 == setuid(65534));

	CHILD_CHECK(0 == gw_ctrl_call(path, "{\"cmd\":\"cancelled\"}", &reply,
				      2000));
	CHILD_CHECK(strstr(reply, "\"ok\":true"));
	reply = mem_deref(reply);

	CHILD_CHECK(0 == gw_ctrl_call(path, "{\"cmd\":\"change\",\"id\":1}",
				      &reply, 2000));
	CHILD_CHECK(strstr(reply, "{\"ok\":false,\"id\":1,\"error\":\"'change' "
			   "changes the daemon's state: only root or uid 0 "
			   "may use it (you are uid 65534)\"}"));
	mem_deref(reply);

	return 0;
}


/* Outside the socket's group: the file mode keeps it out */
static int client_stranger(const char *path)
{
	char *reply = NULL;

	CHILD_CHECK(0 == setgroups(0, NULL) && 0 == setgid(65534) &&
		    0 == setuid(65534));
	CHILD_CHECK(EACCES == gw_ctrl_call(path, "{\"cmd\":\"cancelled\"}",
					   &reply, 2000));

	return 0;
}


int test_ctrl_async(void)
{
	struct aserver s;
	int err;

	err = aserver_init(&s);
	TEST_ERR(err);

	TEST_ERR(rig_client(&s.s, client_async, 8000));
	TEST_EQUALS(3, s.cancelled);
	TEST_EQUALS(1, s.replied);

 out:
	rig_close(&s.s);
	return err;
}


int test_ctrl_peercred(void)
{
	struct aserver s;
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "# skipped: needs root to be another user\n");
		return 0;
	}

	err = aserver_init(&s);
	TEST_ERR(err);

	TEST_ERR(rig_client(&s.s, client_other_user, 8000));
	TEST_ERR(rig_client(&s.s, client_stranger, 8000));

 out:
	rig_close(&s.s);
	return err;
}
