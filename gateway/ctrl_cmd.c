/**
 * @file ctrl_cmd.c  Control commands: the registry, replies, and requests
 * kept by deferred commands (ctrl.h) until they answer, time out or lose
 * their client
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/ctrl_int.h"
#include "gateway/reactor.h"


/* A request's "id", a number or a string, comes back in its reply */
static void add_id(struct odict *reply, const struct odict *req)
{
	const struct odict_entry *id = req ? odict_lookup(req, "id") : NULL;

	if (id && id->type == ODICT_INT)
		odict_entry_add(reply, "id", ODICT_INT, id->u.integer);
	else if (id && id->type == ODICT_STRING)
		odict_entry_add(reply, "id", ODICT_STRING, id->u.str);
}


void ctrl_send_error(struct ctrl_client *cl, const struct odict *req,
		       const char *msg)
{
	struct odict *reply;

	if (odict_alloc(&reply, 8))
		return;

	odict_entry_add(reply, "ok", ODICT_BOOL, false);
	add_id(reply, req);
	odict_entry_add(reply, "error", ODICT_STRING, msg);

	++cl->ctrl->st.errors;
	ctrl_client_send(cl, reply);
	mem_deref(reply);
}


/* A handler's reply: "ok" and "id" added; with err, "error" from the
 * handler or strerror(), and whatever else the handler put there (a
 * list of errors, say) */
void ctrl_send_reply(struct ctrl_client *cl, const struct odict *req,
		       int err, struct odict *reply)
{
	struct odict *e;

	if (!err) {
		/* "ok" first would be nicer to read, but odict keeps
		 * insertion order and the handler already filled it:
		 * clients go by key. */
		odict_entry_add(reply, "ok", ODICT_BOOL, true);
		add_id(reply, req);
		ctrl_client_send(cl, reply);
		return;
	}

	/* errors read as every other error: ok, id, error, then the rest */
	if (odict_alloc(&e, 8)) {
		cl->dead = true;
		return;
	}
	odict_entry_add(e, "ok", ODICT_BOOL, false);
	add_id(e, req);
	odict_entry_add(e, "error", ODICT_STRING,
			odict_string(reply, "error") ?
			odict_string(reply, "error") : strerror(err));
	for (struct le *le = reply->lst.head; le; le = le->next) {
		const struct odict_entry *x = le->data;

		if (!strcmp(x->key, "error"))
			continue;
		if (x->type == ODICT_OBJECT || x->type == ODICT_ARRAY)
			odict_entry_add(e, x->key, x->type, x->u.odict);
		else if (x->type == ODICT_STRING)
			odict_entry_add(e, x->key, x->type, x->u.str);
		else if (x->type == ODICT_INT)
			odict_entry_add(e, x->key, x->type, x->u.integer);
		else if (x->type == ODICT_BOOL)
			odict_entry_add(e, x->key, x->type, x->u.boolean);
	}

	++cl->ctrl->st.errors;
	ctrl_client_send(cl, e);
	mem_deref(e);
}


static void req_destructor(void *data)
{
	struct gw_ctrl_req *rq = data;

	list_unlink(&rq->le);
	mem_deref(rq->deadline);
	mem_deref(rq->id);
	mem_deref(rq->cmd);
}


/* The owner is told, then the request is freed */
void ctrl_req_cancel(struct gw_ctrl_req *rq)
{
	gw_ctrl_cancel_h *h = rq->cancel;

	list_unlink(&rq->le);
	rq->cl = NULL;
	rq->cancel = NULL;
	if (h)
		h(rq, rq->cancel_arg);
	mem_deref(rq);
}


static void req_timeout(void *arg)
{
	struct gw_ctrl_req *rq = arg;
	struct ctrl_client *cl = rq->cl;
	char msg[96];

	snprintf(msg, sizeof(msg), "'%s' timed out after %llu ms", rq->cmd,
		 (unsigned long long)rq->timeout_ms);
	ctrl_send_error(cl, rq->id, msg);
	ctrl_req_cancel(rq);
	ctrl_client_kick(cl);
}


void ctrl_req_start(struct ctrl_client *cl, struct ctrl_cmd *cmd,
		      const struct odict *req)
{
	const struct odict_entry *t = odict_lookup(req, "timeout_ms");
	struct gw_ctrl_req *rq = mem_zalloc(sizeof(*rq), req_destructor);

	if (!rq || odict_alloc(&rq->id, 2) || str_dup(&rq->cmd, cmd->name) ||
	    gw_timer_alloc(&rq->deadline, cl->ctrl->r)) {
		mem_deref(rq);
		ctrl_send_error(cl, req, "out of memory");
		return;
	}

	add_id(rq->id, req);
	rq->timeout_ms = cmd->max_ms;
	if (t && t->type == ODICT_INT && t->u.integer > 0 &&
	    (uint64_t)t->u.integer < cmd->max_ms)
		rq->timeout_ms = (uint64_t)t->u.integer;

	rq->cl = cl;
	list_append(&cl->pending, &rq->le, rq);
	gw_timer_start(rq->deadline, rq->timeout_ms, req_timeout, rq);

	cmd->async(rq, req, cmd->arg);
}


void gw_ctrl_req_set_cancel(struct gw_ctrl_req *rq, gw_ctrl_cancel_h *h,
			    void *arg)
{
	if (!rq)
		return;

	rq->cancel = h;
	rq->cancel_arg = arg;
}


int gw_ctrl_req_progress(struct gw_ctrl_req *rq, struct odict *line)
{
	if (!rq || !line || !rq->cl)
		return EINVAL;

	odict_entry_add(line, "progress", ODICT_BOOL, true);
	add_id(line, rq->id);
	ctrl_client_send(rq->cl, line);
	ctrl_client_kick(rq->cl);

	return 0;
}


void gw_ctrl_req_reply(struct gw_ctrl_req *rq, int err, struct odict *reply)
{
	struct ctrl_client *cl;
	struct odict *empty = NULL;

	if (!rq)
		return;

	cl = rq->cl;
	list_unlink(&rq->le);

	if (cl && !reply && !odict_alloc(&empty, 4))
		reply = empty;
	if (cl && reply)
		ctrl_send_reply(cl, rq->id, err, reply);

	mem_deref(empty);
	mem_deref(rq);
	if (cl)
		ctrl_client_kick(cl);
}


struct ctrl_cmd *ctrl_cmd_find(struct gw_ctrl *c, const char *name)
{
	for (struct le *le = c->cmds.head; le; le = le->next) {
		struct ctrl_cmd *cmd = le->data;
		if (!strcmp(cmd->name, name))
			return cmd;
	}

	return NULL;
}


int ctrl_cmd_help(struct odict *reply, const struct odict *req, void *arg)
{
	struct gw_ctrl *c = arg;
	struct odict *cmds;
	(void)req;

	if (odict_alloc(&cmds, 16))
		return ENOMEM;

	for (struct le *le = c->cmds.head; le; le = le->next) {
		struct ctrl_cmd *cmd = le->data;
		odict_entry_add(cmds, cmd->name, ODICT_STRING, cmd->help);
	}

	odict_entry_add(reply, "commands", ODICT_OBJECT, cmds);
	mem_deref(cmds);

	return 0;
}


static void cmd_destructor(void *data)
{
	struct ctrl_cmd *cmd = data;

	list_unlink(&cmd->le);
	mem_deref(cmd->name);
	mem_deref(cmd->help);
}


static int cmd_add(struct gw_ctrl *c, const char *name, const char *help,
		   gw_ctrl_cmd_h *h, gw_ctrl_async_h *async, void *arg,
		   struct ctrl_cmd **cmdp)
{
	struct ctrl_cmd *cmd;
	int err;

	if (!c || !name || (!h && !async))
		return EINVAL;

	if (ctrl_cmd_find(c, name))
		return EALREADY;

	cmd = mem_zalloc(sizeof(*cmd), cmd_destructor);
	if (!cmd)
		return ENOMEM;

	err = str_dup(&cmd->name, name);
	if (!err)
		err = str_dup(&cmd->help, help ? help : "");
	if (err) {
		mem_deref(cmd);
		return ENOMEM;
	}

	cmd->h = h;
	cmd->async = async;
	cmd->arg = arg;
	list_append(&c->cmds, &cmd->le, cmd);
	if (cmdp)
		*cmdp = cmd;

	return 0;
}


int gw_ctrl_register(struct gw_ctrl *c, const char *name, const char *help,
		     gw_ctrl_cmd_h *h, void *arg)
{
	return h ? cmd_add(c, name, help, h, NULL, arg, NULL) : EINVAL;
}


int gw_ctrl_register_async(struct gw_ctrl *c, const char *name,
			   const char *help, unsigned flags, uint64_t max_ms,
			   gw_ctrl_async_h *h, void *arg)
{
	struct ctrl_cmd *cmd;
	int err;

	if (!h || !max_ms)
		return EINVAL;

	err = cmd_add(c, name, help, NULL, h, arg, &cmd);
	if (!err) {
		cmd->flags = flags;
		cmd->max_ms = max_ms;
	}

	return err;
}


int gw_ctrl_set_privileged(struct gw_ctrl *c, const char *name)
{
	struct ctrl_cmd *cmd = c && name ? ctrl_cmd_find(c, name) : NULL;

	if (!cmd)
		return ENOENT;

	cmd->flags |= GW_CTRL_PRIVILEGED;

	return 0;
}
