/**
 * @file link_msg.c  What each pp-link/1 message does (link_int.h):
 * hello, pair_request, session_request (a throughput grant replies
 * later), session_close (owner only), get_status; anything else is an
 * error. A pairing-only peer may send hello and pair_request alone.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/log.h"
#include "gateway/reactor.h"
#include "reflector/access.h"
#include "reflector/audit.h"
#include "reflector/identity.h"
#include "reflector/link_int.h"
#include "reflector/refl_int.h"
#include "reflector/session.h"


static int on_hello(struct refl_conn *c, const struct odict *p,
		    struct odict *reply)
{
	struct odict *feat = NULL, *pol = NULL;
	int err;
	(void)p;

	err = odict_alloc(&feat, 4);
	if (!err)
		err = odict_alloc(&pol, 8);
	if (err)
		goto out;
	err = odict_entry_add(feat, "0", ODICT_STRING, "udp_echo");
	err |= odict_entry_add(feat, "1", ODICT_STRING, "stamp");
	err |= odict_entry_add(feat, "2", ODICT_STRING, "throughput");
	err |= refl_sessions_policy(c->rf->sessions, pol);
	err |= odict_entry_add(reply, "type", ODICT_STRING, "server_hello");
	err |= odict_entry_add(reply, "version", ODICT_STRING, "1.0");
	err |= odict_entry_add(reply, "features", ODICT_ARRAY, feat);
	err |= odict_entry_add(reply, "policy_summary", ODICT_OBJECT, pol);
	err |= odict_entry_add(reply, "endpoint_id", ODICT_STRING,
			       refl_identity_id(c->rf->id));
 out:
	mem_deref(feat);
	mem_deref(pol);

	return err ? ENOMEM : 0;
}


static int on_pair(struct refl_conn *c, const struct odict *p,
		   struct odict *reply)
{
	struct refl *rf = c->rf;
	const char *code = odict_string(p, "token");
	const char *msg, *why = NULL;
	enum refl_pair_result res;
	char reason[96];

	if (c->authorized) {
		msg = "already authorized";
		goto answer;
	}

	res = refl_access_pair(rf->access, c->peer_id, code, gw_now_ms());
	switch (res) {

	case REFL_PAIR_OK:
		refl_audit_write(rf->audit, "peer_paired", REFL_AUDIT_REC(
			.peer_id = c->peer_id, .decision = "allowed",
			.reason = "pairing code accepted"));
		gw_log(GW_LOG_INFO, "reflector", "peer_paired",
		       GW_FIELDS(GW_FS("peer_id", c->peer_id),
				 GW_FS("peer", c->addr)),
		       "Peer %s paired from %s", c->peer_id, c->addr);
		++rf->st.paired;
		c->authorized = true;
		msg = "paired";
		break;

	case REFL_PAIR_WRONG:
	case REFL_PAIR_CLOSED:
		++rf->st.pair_wrong;
		snprintf(reason, sizeof(reason), res == REFL_PAIR_CLOSED ?
			 "wrong pairing code: the window is closed after %d" :
			 "wrong pairing code (%u of %d)",
			 res == REFL_PAIR_CLOSED ? REFL_PAIR_MAX_WRONG :
			 (int)refl_access_wrong(rf->access),
			 REFL_PAIR_MAX_WRONG);
		why = reason;
		msg = "wrong pairing code";
		break;

	case REFL_PAIR_STORE_FAILED:
		why = "the paired-peers file cannot be written";
		msg = "pairing failed on the reflector";
		break;

	default:
		why = "no pairing window is open";
		msg = "no pairing window is open";
		break;
	}

	if (why) {
		refl_audit_write(rf->audit, "peer_paired", REFL_AUDIT_REC(
			.peer_id = c->peer_id, .decision = "denied",
			.reason = why));
		gw_log(GW_LOG_WARN, "reflector", "pairing_refused",
		       GW_FIELDS(GW_FS("peer_id", c->peer_id),
				 GW_FS("peer", c->addr), GW_FS("reason", why)),
		       "Pairing refused to %s from %s: %s", c->peer_id,
		       c->addr, why);
		if (res == REFL_PAIR_CLOSED)
			gw_log(GW_LOG_WARN, "reflector", "pairing_closed",
			       GW_FIELDS(GW_FU("wrong", REFL_PAIR_MAX_WRONG)),
			       "Pairing window closed after %d wrong codes",
			       REFL_PAIR_MAX_WRONG);
	}

 answer:
	odict_entry_add(reply, "type", ODICT_STRING, "pair_response");
	odict_entry_add(reply, "success", ODICT_BOOL, why == NULL);
	odict_entry_add(reply, "message", ODICT_STRING, msg);
	if (!why)
		odict_entry_add(reply, "endpoint_id", ODICT_STRING,
				refl_identity_id(rf->id));

	return 0;
}


static int on_close(struct refl_conn *c, const struct odict *p,
		    struct odict *reply, int *codep, const char **msgp)
{
	const char *id = odict_string(p, "test_id");
	int err;

	if (!id) {
		*codep = 400;
		*msgp = "session_close needs a test_id string";
		return EPROTO;
	}
	err = refl_session_close(c->rf->sessions, c->peer_id, id);
	if (err == ENOENT) {
		*codep = 404;
		*msgp = "no such test";
		return err;
	}
	if (err == EPERM) {
		*codep = 403;
		*msgp = "that test is not yours";
		return err;
	}
	if (err)
		return err;

	return odict_entry_add(reply, "type", ODICT_STRING, "ok");
}


static void pending_destructor(void *data)
{
	struct pending *p = data;

	list_unlink(&p->le);
}


static void pending_reply(struct odict *reply, void *arg)
{
	struct pending *p = arg;
	struct refl_conn *c = p->c;

	if (!c)
		return;
	if (refl_conn_send(c, p->rid, reply))
		c->closing = true;
	refl_conn_kick(c);   /* out now, or when the socket can take it */
}


static int on_session(struct refl_conn *c, const char *rid,
		      const struct odict *p, struct odict *reply,
		      bool *pendingp)
{
	struct pending *pd = mem_zalloc(sizeof(*pd), pending_destructor);
	int err;

	if (!pd)
		return ENOMEM;
	pd->c = c;
	str_ncpy(pd->rid, rid ? rid : "", sizeof(pd->rid));
	list_append(&c->pending, &pd->le, pd);
	err = refl_session_request(c->rf->sessions, c->peer_id, &c->peer, p,
				   reply, pending_reply, pd, pendingp);
	mem_deref(pd);   /* the manager holds it while a reply is due */

	return err;
}


void refl_conn_frame(struct refl_conn *c, const struct odict *msg)
{
	const char *rid = odict_string(msg, "request_id");
	const struct odict *p = odict_lookup(msg, "payload")->u.odict;
	const char *type = odict_string(p, "type");
	const char *emsg = NULL;
	struct odict *reply = NULL;
	bool pending = false;
	int err, code = 500;

	++c->rf->st.frames_in;
	refl_conn_touch(c);

	if (!c->authorized && strcmp(type, "hello") &&
	    strcmp(type, "pair_request")) {
		refl_conn_error(c, rid, 403, "not authorized: pair first");
		return;
	}

	err = odict_alloc(&reply, 16);
	if (err)
		goto out;

	if (!strcmp(type, "hello"))
		err = on_hello(c, p, reply);
	else if (!strcmp(type, "pair_request"))
		err = on_pair(c, p, reply);
	else if (!strcmp(type, "session_request"))
		err = on_session(c, rid, p, reply, &pending);
	else if (!strcmp(type, "session_close"))
		err = on_close(c, p, reply, &code, &emsg);
	else if (!strcmp(type, "get_status"))
		err = refl_sessions_snapshot(c->rf->sessions, c->peer_id,
					     refl_identity_id(c->rf->id),
					     reply);
	else {
		code = 400;
		emsg = "a server does not take this message type";
		err = EPROTO;
	}

 out:
	if (err)
		refl_conn_error(c, rid, code, emsg ? emsg : strerror(err));
	else if (!pending && refl_conn_send(c, rid, reply))
		c->closing = true;
	mem_deref(reply);
}
