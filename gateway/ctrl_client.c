/**
 * @file ctrl_client.c  Control socket client for the CLI, and the path
 *
 * The CLI is not the daemon: blocking here is fine, but every wait is
 * bounded so that a wedged daemon cannot hang an operator's shell.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "gateway/ctrl.h"
#include "gateway/reactor.h"


const char *gw_ctrl_default_path(void)
{
	static char path[108];
	const char *xdg;

	if (geteuid() == 0)
		return "/run/keepline/control.sock";

	/* /run/keepline is root's: an unprivileged daemon and its CLI
	 * agree on the user's runtime directory instead */
	xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && xdg[0] == '/' &&
	    (size_t)snprintf(path, sizeof(path), "%s/keepline/control.sock",
			     xdg) < sizeof(path))
		return path;

	snprintf(path, sizeof(path), "/tmp/keepline-%u/control.sock",
		 (unsigned)geteuid());

	return path;
}


static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		uint64_t now = gw_now_ms();
		int n;

		if (now >= deadline)
			return ETIMEDOUT;

		n = poll(&pfd, 1, (int)(deadline - now));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return ETIMEDOUT;

		return 0;
	}
}


/* A line {"progress": true, ...} of a streaming reply */
static bool is_progress(const uint8_t *line, size_t len)
{
	struct odict *o = NULL;
	bool progress = false;

	if (!json_decode_odict(&o, 8, (const char *)line, len, 8))
		odict_get_boolean(o, &progress, "progress");
	mem_deref(o);

	return progress;
}


int gw_ctrl_call(const char *path, const char *request, char **replyp,
		 int timeout_ms)
{
	return gw_ctrl_call_stream(path, request, NULL, NULL, replyp,
				   timeout_ms);
}


int gw_ctrl_call_stream(const char *path, const char *request,
			gw_ctrl_progress_h *ph, void *arg, char **replyp,
			int timeout_ms)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint64_t deadline = gw_now_ms() + (uint64_t)timeout_ms;
	struct mbuf *mb = NULL;
	size_t sent = 0, len;
	char *reply;
	int fd, err = 0;

	if (!path || !request || !replyp || timeout_ms <= 0)
		return EINVAL;

	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	strcpy(sun.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;

	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = errno;
		goto out;
	}

	len = strlen(request);
	while (sent < len + 1) {
		const char *p = sent < len ? request + sent : "\n";
		size_t n_left = sent < len ? len - sent : 1;
		ssize_t n;

		err = wait_fd(fd, POLLOUT, deadline);
		if (err)
			goto out;

		n = send(fd, p, n_left, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			err = errno;
			goto out;
		}
		sent += (size_t)n;
	}

	mb = mbuf_alloc(4096);
	if (!mb) {
		err = ENOMEM;
		goto out;
	}

	for (;;) {
		ssize_t n;
		uint8_t *nl;

		err = wait_fd(fd, POLLIN, deadline);
		if (err)
			goto out;

		/* room after end; mbuf_get_space() counts from pos */
		if (mb->size - mb->end < 4096 &&
		    mbuf_resize(mb, mb->size * 2)) {
			err = ENOMEM;
			goto out;
		}

		n = recv(fd, mb->buf + mb->end, mb->size - mb->end,
			 MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			err = errno;
			goto out;
		}
		if (n == 0) {
			err = ECONNRESET;  /* closed before a whole line */
			goto out;
		}
		mb->end += (size_t)n;

		nl = memchr(mb->buf, '\n', mb->end);
		while (nl && is_progress(mb->buf, (size_t)(nl - mb->buf))) {
			size_t rest = mb->end - (size_t)(nl + 1 - mb->buf);

			*nl = '\0';
			if (ph)
				ph((const char *)mb->buf, arg);
			memmove(mb->buf, nl + 1, rest);
			mb->end = rest;
			nl = memchr(mb->buf, '\n', mb->end);
		}
		if (!nl)
			continue;

		len = (size_t)(nl - mb->buf);
		reply = mem_alloc(len + 1, NULL);
		if (!reply) {
			err = ENOMEM;
			goto out;
		}
		memcpy(reply, mb->buf, len);
		reply[len] = '\0';
		*replyp = reply;
		break;
	}

 out:
	mem_deref(mb);
	close(fd);

	return err;
}
