/**
 * @file ctrl.h  Control socket: newline-delimited JSON over a Unix socket
 *
 * Request:  {"cmd": "status", "id": 7, ...arguments}\n
 * Reply:    {"ok": true, "id": 7, ...}\n   or
 *           {"ok": false, "id": 7, "error": "unknown command 'x'"}\n
 *
 * Modules register their commands with gw_ctrl_register(). The server runs
 * on the reactor: non-blocking, many clients, at most GW_CTRL_MAX_MSG bytes
 * per request; a malformed request gets an error reply and nothing else.
 *
 * A command registered with gw_ctrl_register_async() keeps its request
 * (struct gw_ctrl_req) and answers later, optionally after progress lines
 * {"progress": true, "id": 7, ...}. Each such request has a deadline: the
 * request's "timeout_ms" (the CLI sends what the command needs), at most
 * the command's own limit; past it the client gets an error and the
 * command's cancel handler runs. A client that disconnects cancels its
 * requests the same way. Replies to one client may then come out of
 * order: clients match them by "id".
 *
 * Privileged commands (GW_CTRL_PRIVILEGED: they change state) are refused
 * unless the peer's uid (SO_PEERCRED) is 0 or the daemon's own; the rest
 * are for whoever may open the socket (mode 0660: its owner and group).
 */

#ifndef GW_CTRL_H
#define GW_CTRL_H

#include <stddef.h>
#include <stdint.h>

struct gw_ctrl;
struct gw_reactor;
struct odict;

enum {
	GW_CTRL_MAX_MSG = 65536,      /**< [bytes] per request line */
	GW_CTRL_MAX_CLIENTS = 64,
};

/**
 * Command handler. Fill reply (the "ok" and "id" keys are added by the
 * server). Return 0, or an errno; on error a string "error" in reply is
 * sent as the message, else strerror().
 */
typedef int (gw_ctrl_cmd_h)(struct odict *reply, const struct odict *req,
			    void *arg);

struct gw_ctrl_req;

/**
 * Deferred command handler: keep rq and end it with gw_ctrl_req_reply()
 * (now or later, exactly once) unless it is cancelled first.
 */
typedef void (gw_ctrl_async_h)(struct gw_ctrl_req *rq,
			       const struct odict *req, void *arg);
/** The request is gone (its client left, or its deadline passed): rq is
 *  freed when this returns and must not be used again */
typedef void (gw_ctrl_cancel_h)(struct gw_ctrl_req *rq, void *arg);

enum gw_ctrl_flags {
	GW_CTRL_PRIVILEGED = 1,       /**< uid 0 or the daemon's uid only */
};

struct gw_ctrl_stats {
	uint64_t requests;
	uint64_t errors;              /**< error replies, any cause */
	uint64_t clients_total;
	uint64_t clients_rejected;    /**< over GW_CTRL_MAX_CLIENTS */
	unsigned clients;             /**< connected now */
};

/**
 * Listen on a Unix stream socket. Creates the parent directory if needed,
 * replaces a stale socket file, refuses (EADDRINUSE) if a daemon answers
 * on it. The socket gets mode 0660 and is unlinked when freed.
 */
int gw_ctrl_alloc(struct gw_ctrl **cp, struct gw_reactor *r,
		  const char *path);
int gw_ctrl_register(struct gw_ctrl *c, const char *cmd, const char *help,
		     gw_ctrl_cmd_h *h, void *arg);
/** Only from uid 0 or the daemon's uid (for commands that change state) */
int gw_ctrl_set_privileged(struct gw_ctrl *c, const char *cmd);
/**
 * @param max_ms  The longest a request may wait for its reply; a
 *                request's "timeout_ms" may ask for less
 */
int gw_ctrl_register_async(struct gw_ctrl *c, const char *cmd,
			   const char *help, unsigned flags, uint64_t max_ms,
			   gw_ctrl_async_h *h, void *arg);
/** What to call if rq goes before it is answered */
void gw_ctrl_req_set_cancel(struct gw_ctrl_req *rq, gw_ctrl_cancel_h *h,
			    void *arg);
/** Send a progress line (the "progress" and "id" keys are added) */
int gw_ctrl_req_progress(struct gw_ctrl_req *rq, struct odict *line);
/**
 * The final reply, as a synchronous handler's (reply may be NULL; with
 * err, its "error" string is the message). Frees rq.
 */
void gw_ctrl_req_reply(struct gw_ctrl_req *rq, int err, struct odict *reply);
void gw_ctrl_stats(const struct gw_ctrl *c, struct gw_ctrl_stats *st);
const char *gw_ctrl_path(const struct gw_ctrl *c);

/** Where the socket lives when control.socket is not set */
const char *gw_ctrl_default_path(void);

/**
 * Client side, for the CLI: send one request line, wait for one reply
 * line. Blocking, bounded by timeout_ms.
 *
 * @param replyp  Reply line without newline (out), a mem string
 * @return 0, or errno (ENOENT/ECONNREFUSED: no daemon; ETIMEDOUT)
 */
int gw_ctrl_call(const char *path, const char *request, char **replyp,
		 int timeout_ms);
/** One progress line of a streaming reply, without its newline */
typedef void (gw_ctrl_progress_h)(const char *line, void *arg);
/** gw_ctrl_call() for a command that may send progress lines first */
int gw_ctrl_call_stream(const char *path, const char *request,
			gw_ctrl_progress_h *ph, void *arg, char **replyp,
			int timeout_ms);

#endif
