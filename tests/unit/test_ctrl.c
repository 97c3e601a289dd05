/**
 * @file test_ctrl.c  Control socket: requests, bad input, limits, stale files
 *
 * The server runs on the reactor in this process; the client is a forked
 * child (the CLI's blocking gw_ctrl_call() or a raw socket) whose exit
 * status is the verdict, reported through the reactor's child watch.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/ctrl.h"
#include "gateway/utf8.h"
#include "gateway/libre.h"
#include "gateway/reactor.h"
#include "tests/unit/ctrl_rig.h"
#include "tests/unit/unit.h"

static int cmd_echo(struct odict *reply, const struct odict *req, void *arg)
{
	const char *word = odict_string(req, "word");

	odict_entry_add(reply, "said", ODICT_STRING, word ? word : "");

	return 0;
}


static int cmd_fail(struct odict *reply, const struct odict *req, void *arg)
{
	odict_entry_add(reply, "error", ODICT_STRING, "not allowed here");

	return EPERM;
}


static int server_init(struct server *s)
{
	int err = rig_open(s);

	if (!err)
		err = gw_ctrl_register(s->ctrl, "echo", "say it back",
				       cmd_echo, s);
	if (!err)
		err = gw_ctrl_register(s->ctrl, "fail", "always fails",
				       cmd_fail, s);

	return err;
}


static void server_close(struct server *s)
{
	rig_close(s);
}


/* Run client() in a child while the server serves; 0 if it exited 0 */
static int run_client(struct server *s, int (*client)(const char *path))
{
	return rig_client(s, client, 5000);
}


static int client_request(const char *path)
{
	char *reply = NULL;
	int err;

	err = gw_ctrl_call(path, "{\"cmd\":\"echo\",\"word\":\"hi\",\"id\":42}",
			   &reply, 2000);
	CHILD_CHECK(err == 0);
	CHILD_CHECK(strstr(reply, "\"said\":\"hi\""));
	CHILD_CHECK(strstr(reply, "\"ok\":true"));
	CHILD_CHECK(strstr(reply, "\"id\":42"));
	mem_deref(reply);

	err = gw_ctrl_call(path, "{\"cmd\":\"help\"}", &reply, 2000);
	CHILD_CHECK(err == 0);
	CHILD_CHECK(strstr(reply, "\"echo\":\"say it back\""));
	mem_deref(reply);

	return 0;
}


int test_ctrl_request(void)
{
	struct gw_ctrl_stats st;
	struct stat sb;
	struct server s;
	int err;

	err = server_init(&s);
	TEST_ERR(err);

	TEST_ASSERT(0 == stat(s.path, &sb));
	TEST_ASSERT(S_ISSOCK(sb.st_mode));
	TEST_EQUALS(0660, sb.st_mode & 0777);

	TEST_ERR(run_client(&s, client_request));

	gw_ctrl_stats(s.ctrl, &st);
	TEST_EQUALS(2, st.requests);
	TEST_EQUALS(0, st.errors);
	TEST_EQUALS(2, st.clients_total);
	TEST_EQUALS(EALREADY, gw_ctrl_register(s.ctrl, "echo", "", cmd_echo,
					       NULL));

 out:
	server_close(&s);
	/* the socket file goes with the server */
	TEST_ASSERT(0 != access(s.path, F_OK));
	return err;
}


/* Read reply lines from a raw socket until n lines or EOF */
static int read_lines(int fd, char *buf, size_t size, int n)
{
	size_t len = 0;
	int lines = 0;

	while (lines < n && len < size - 1) {
		ssize_t got = read(fd, buf + len, size - 1 - len);

		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++)
			lines += buf[len + (size_t)i] == '\n';
		len += (size_t)got;
	}
	buf[len] = '\0';

	return lines;
}


static int raw_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sun.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
		return -1;

	return fd;
}


static int client_errors(const char *path)
{
	static const char batch[] =
		"garbage\n"
		"{\"cmd\":\"nope\",\"id\":\"x1\"}\r\n"
		"{\"no\":\"cmd\"}\n"
		"[1,2,3]\n"
		"{\"cmd\":\"fail\",\"id\":9}\n"
		"{\"cmd\":\"echo\",\"word\":\"still here\"}\n";
	char buf[4096], *reply = NULL;
	int fd = raw_connect(path);

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(write(fd, batch, sizeof(batch) - 1) ==
		    (ssize_t)sizeof(batch) - 1);
	CHILD_CHECK(read_lines(fd, buf, sizeof(buf), 6) == 6);
	close(fd);

	CHILD_CHECK(strstr(buf, "{\"ok\":false,\"error\":\"malformed request: "
			   "expected one JSON object per line\"}\n"));
	CHILD_CHECK(strstr(buf, "{\"ok\":false,\"id\":\"x1\",\"error\":"
			   "\"unknown command 'nope' (try \\\"help\\\")\"}\n"));
	CHILD_CHECK(strstr(buf, "no \\\"cmd\\\" string"));
	CHILD_CHECK(strstr(buf, "{\"ok\":false,\"id\":9,\"error\":"
			   "\"not allowed here\"}\n"));
	CHILD_CHECK(strstr(buf, "\"said\":\"still here\""));

	/* the server is unharmed: a new client is served */
	CHILD_CHECK(0 == gw_ctrl_call(path, "{\"cmd\":\"help\"}", &reply,
				      2000));
	CHILD_CHECK(strstr(reply, "\"ok\":true"));
	mem_deref(reply);

	return 0;
}


int test_ctrl_errors(void)
{
	struct gw_ctrl_stats st;
	struct server s;
	int err;

	err = server_init(&s);
	TEST_ERR(err);

	TEST_ERR(run_client(&s, client_errors));

	gw_ctrl_stats(s.ctrl, &st);
	TEST_EQUALS(7, st.requests);
	TEST_EQUALS(5, st.errors);

 out:
	server_close(&s);
	return err;
}


static int client_oversize(const char *path)
{
	size_t big = GW_CTRL_MAX_MSG + 4096, sent = 0;
	char *blob = malloc(big), buf[512];
	int fd = raw_connect(path);

	CHILD_CHECK(fd >= 0 && blob);
	memset(blob, 'a', big);

	/* the server may close before taking it all: that is the point */
	signal(SIGPIPE, SIG_IGN);
	while (sent < big) {
		ssize_t n = write(fd, blob + sent, big - sent);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	free(blob);

	CHILD_CHECK(read_lines(fd, buf, sizeof(buf), 2) == 1);
	CHILD_CHECK(strstr(buf, "request too large (limit 65536 bytes per "
			   "line)"));
	close(fd);

	return 0;
}


int test_ctrl_oversize(void)
{
	struct gw_ctrl_stats st;
	struct server s;
	int err;

	err = server_init(&s);
	TEST_ERR(err);

	TEST_ERR(run_client(&s, client_oversize));
	/* and afterwards a normal client is still served */
	TEST_ERR(run_client(&s, client_request));

	gw_ctrl_stats(s.ctrl, &st);
	TEST_EQUALS(0, st.clients);

 out:
	server_close(&s);
	return err;
}


int test_ctrl_stale_socket(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct gw_ctrl *second = NULL;
	struct server s = {0};
	char path[64];
	int fd = -1, err = 0;

	/* a socket file left behind by a dead daemon */
	snprintf(path, sizeof(path), "/tmp/keepline-unit-%d", (int)getpid());
	mkdir(path, 0700);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ctl.sock", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	TEST_ASSERT(0 == bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
	close(fd);
	fd = -1;
	TEST_ASSERT(0 == access(sun.sun_path, F_OK));

	/* replaced by a new server */
	err = server_init(&s);
	TEST_ERR(err);
	TEST_STRCMP(sun.sun_path, gw_ctrl_path(s.ctrl));

	/* but a live one is never taken over */
	TEST_EQUALS(EADDRINUSE, gw_ctrl_alloc(&second, s.r, s.path));
	s.ctrl = mem_deref(s.ctrl);

	/* nor is a file that is not a socket */
	fd = open(s.path, O_CREAT | O_WRONLY, 0600);
	TEST_ASSERT(fd >= 0);
	TEST_EQUALS(EEXIST, gw_ctrl_alloc(&second, s.r, s.path));
	TEST_ASSERT(0 == access(s.path, F_OK));

 out:
	if (fd >= 0)
		close(fd);
	unlink(sun.sun_path);
	mem_deref(second);
	server_close(&s);
	return err;
}


/* RFC 3629 §4 and its §10 examples: what gw_utf8_valid() takes */
int test_utf8(void)
{
	static const struct {
		const char *bytes;
		bool valid;
	} v[] = {
		{"", true},
		{"status", true},
		{"\xe2\x82\xac", true},             /* U+20AC euro */
		{"\xf0\x9f\x93\x9e", true},         /* U+1F4DE */
		{"\xf4\x8f\xbf\xbf", true},         /* U+10FFFF, the last */
		{"\xc3\x28", false},                 /* bad continuation */
		{"\xc0\xaf", false},                 /* overlong '/' */
		{"\xe0\x80\xaf", false},             /* overlong, 3 bytes */
		{"\xed\xa0\x80", false},             /* U+D800 surrogate */
		{"\xf4\x90\x80\x80", false},         /* past U+10FFFF */
		{"\xe2\x82", false},                 /* cut short */
		{"\xff", false},
		{"st\xe9tus", false},                 /* Latin-1 */
	};
	int err = 0;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (gw_utf8_valid((const uint8_t *)v[i].bytes,
				  strlen(v[i].bytes)) != v[i].valid)
			TEST_FAIL("vector %zu: expected %s", i,
				  v[i].valid ? "valid" : "invalid");
	}

 out:
	return err;
}
