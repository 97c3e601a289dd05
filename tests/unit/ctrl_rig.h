/**
 * @file ctrl_rig.h  A control server on a reactor in this process and a
 * forked client whose exit status is the verdict (test_ctrl*.c)
 */

#ifndef CTRL_RIG_H
#define CTRL_RIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct server {
	struct gw_reactor *r;
	struct gw_ctrl *ctrl;
	struct gw_timer *guard;
	struct gw_child *child;
	char path[108];
	int status;
	bool timed_out;
};

/** Reactor, control socket at /tmp/keepline-unit-PID/ctl.sock, guard */
int  rig_open(struct server *s);
void rig_close(struct server *s);
/** Run client(path) in a child while the server serves, for guard_ms at
 *  most; 0 if it exited 0 */
int  rig_client(struct server *s, int (*client)(const char *path),
		uint64_t guard_ms);

#define CHILD_CHECK(cond) do {                                          \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: client: %s\n", __FILE__, \
				__LINE__, #cond);                       \
			return 1;                                       \
		}                                                       \
	} while (0)

#endif
