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

#endif
