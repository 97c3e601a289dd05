/**
 * @file ctrl_int.h  Control socket internals: ctrl.c (the socket and its
 * clients) and ctrl_cmd.c (commands, replies, deferred requests)
 */

#ifndef GW_CTRL_INT_H
#define GW_CTRL_INT_H

#include <stdbool.h>
#include <sys/types.h>

#include "gateway/libre.h"
#include "gateway/ctrl.h"

struct gw_timer;
struct gw_watch;

struct ctrl_cmd {
	struct le le;
	char *name;
	char *help;
	gw_ctrl_cmd_h *h;
	gw_ctrl_async_h *async;
	uint64_t max_ms;              /**< async: longest wait for a reply */
	unsigned flags;               /**< enum gw_ctrl_flags */
	void *arg;
};

/** A request kept by an async command until it replies */
struct gw_ctrl_req {
	struct le le;                 /**< in its client's pending list */
	struct ctrl_client *cl;       /**< NULL once the client is gone */
	struct odict *id;             /**< {"id": ...} of the request */
	char *cmd;
	struct gw_timer *deadline;
	uint64_t timeout_ms;
	gw_ctrl_cancel_h *cancel;
	void *cancel_arg;
};

struct ctrl_client {
	struct le le;
	struct gw_ctrl *ctrl;
	int fd;
	struct gw_watch *w;
	struct mbuf *in;
	struct mbuf *out;
	bool closing;                 /**< close once output is flushed */
	bool eof;                     /**< the peer has closed its side */
	bool draining;                /**< reply sent, discarding input */
	size_t drained;
	bool dead;                    /**< free on return to client_event() */
	struct gw_timer *idle;        /**< IDLE_MS after the last request */
	struct list pending;          /**< struct gw_ctrl_req, unanswered */
	uid_t uid;                    /**< SO_PEERCRED */
	pid_t pid;
};

struct gw_ctrl {
	struct gw_reactor *r;
	char *path;
	int fd;
	struct gw_watch *w;
	struct list cmds;
	struct list clients;
	struct gw_ctrl_stats st;
	struct gw_timer *pause;       /**< accept backing off */
	uint64_t pause_ms;
	uint64_t accept_failures;     /**< since the back-off began */
};

/* ctrl.c */
/** Queue a reply line (flushed by the caller, or ctrl_client_kick()) */
void ctrl_client_send(struct ctrl_client *cl, const struct odict *reply);
/** Flush now, outside the client's own event; frees a client that died */
void ctrl_client_kick(struct ctrl_client *cl);

/* ctrl_cmd.c */
struct ctrl_cmd *ctrl_cmd_find(struct gw_ctrl *c, const char *name);
int  ctrl_cmd_help(struct odict *reply, const struct odict *req, void *arg);
void ctrl_send_error(struct ctrl_client *cl, const struct odict *req,
		     const char *msg);
void ctrl_send_reply(struct ctrl_client *cl, const struct odict *req,
		     int err, struct odict *reply);
void ctrl_req_start(struct ctrl_client *cl, struct ctrl_cmd *cmd,
		    const struct odict *req);
void ctrl_req_cancel(struct gw_ctrl_req *rq);

#endif
