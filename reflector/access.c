/**
 * @file access.c  Authorized peers and pairing (access.h)
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "gateway/libre.h"
#include "gateway/paths.h"
#include "reflector/access.h"
#include "reflector/id.h"

enum { STORE_MAX = 4 << 20 };

struct peer {
	struct le le;
	char id[REFL_ID_LEN + 1];
	bool paired;                  /**< from the store, not the config */
};

struct refl_access {
	struct list peers;
	char *store;
	struct {
		bool open;
		char code[REFL_PAIR_CODE_MAX + 1];
		uint64_t expires;     /**< monotonic [ms] */
		unsigned wrong;
	} win;
};


static void access_destructor(void *data)
{
	struct refl_access *a = data;

	list_flush(&a->peers);
	mem_deref(a->store);
	OPENSSL_cleanse(a->win.code, sizeof(a->win.code));
}


static struct peer *find(const struct refl_access *a, const char *id)
{
	for (struct le *le = a->peers.head; le; le = le->next) {
		struct peer *p = le->data;

		if (!strcmp(p->id, id))
			return p;
	}

	return NULL;
}


/* The canonical form of an ID, or an error */
static int canon(char *out, const char *in)
{
	uint8_t key[REFL_KEY_LEN];
	int err = refl_id_parse(key, in, strlen(in));

	if (!err)
		refl_id_format(out, key);

	return err;
}


static int add(struct refl_access *a, const char *id, bool paired)
{
	char c[REFL_ID_LEN + 1];
	struct peer *p;

	if (canon(c, id))
		return EINVAL;
	if (find(a, c))
		return 0;
	p = mem_zalloc(sizeof(*p), NULL);
	if (!p)
		return ENOMEM;
	memcpy(p->id, c, sizeof(p->id));
	p->paired = paired;
	list_append(&a->peers, &p->le, p);

	return 0;
}


static int load_store(struct refl_access *a, char *why, size_t why_size)
{
	const struct odict_entry *arr;
	struct odict *o = NULL;
	char *buf = NULL;
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = open(a->store, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : (snprintf(why, why_size,
			"cannot open it: %s", strerror(errno)), errno);

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > STORE_MAX) {
		snprintf(why, why_size, "not a regular file under 4 MiB");
		err = EINVAL;
		goto out;
	}
	buf = mem_alloc((size_t)st.st_size + 1, NULL);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		snprintf(why, why_size, "cannot read it");
		err = EIO;
		goto out;
	}
	if (json_decode_odict(&o, 16, buf, (size_t)n, 4) ||
	    !(arr = odict_lookup(o, "paired_peers")) ||
	    arr->type != ODICT_ARRAY) {
		snprintf(why, why_size, "not a JSON object with a "
			 "\"paired_peers\" array");
		err = EINVAL;
		goto out;
	}
	for (struct le *le = arr->u.odict->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;

		if (e->type != ODICT_STRING ||
		    add(a, e->u.str, true)) {
			snprintf(why, why_size, "an entry is not an "
				 "Endpoint ID");
			err = EINVAL;
			goto out;
		}
	}

 out:
	close(fd);
	mem_deref(buf);
	mem_deref(o);

	return err;
}


static int save_store(const struct refl_access *a)
{
	struct odict *o = NULL, *arr = NULL;
	struct mbuf *mb = mbuf_alloc(1024);
	unsigned i = 0;
	int err;

	err = odict_alloc(&o, 4);
	if (!err)
		err = odict_alloc(&arr, 16);
	if (err || !mb) {
		err = ENOMEM;
		goto out;
	}
	for (struct le *le = a->peers.head; le; le = le->next) {
		const struct peer *p = le->data;
		char k[16];

		if (!p->paired)
			continue;
		snprintf(k, sizeof(k), "%u", i++);
		err = odict_entry_add(arr, k, ODICT_STRING, p->id);
		if (err)
			goto out;
	}
	err = odict_entry_add(o, "paired_peers", ODICT_ARRAY, arr);
	if (!err)
		err = mbuf_printf(mb, "%H\n", json_encode_odict, o);
	if (!err)
		err = gw_mkdir_parents(a->store, 0700, 0700);
	if (!err)
		err = gw_write_atomic(a->store, mb->buf, mb->end, 0600);

 out:
	mem_deref(arr);
	mem_deref(o);
	mem_deref(mb);

	return err;
}


int refl_access_alloc(struct refl_access **ap, char *const *peers,
		      size_t n_peers, const char *store, char *why,
		      size_t why_size)
{
	struct refl_access *a;
	int err;

	if (!ap || !store || !why || !why_size)
		return EINVAL;
	why[0] = '\0';

	a = mem_zalloc(sizeof(*a), access_destructor);
	if (!a)
		return ENOMEM;
	err = str_dup(&a->store, store);
	for (size_t i = 0; !err && i < n_peers; i++) {
		err = add(a, peers[i], false);
		if (err)
			snprintf(why, why_size, "authorized_peers[%zu] is not "
				 "an Endpoint ID", i);
	}
	if (!err)
		err = load_store(a, why, why_size);
	if (err) {
		mem_deref(a);
		return err;
	}
	*ap = a;

	return 0;
}


bool refl_access_authorized(const struct refl_access *a, const char *id)
{
	return a && id && find(a, id) != NULL;
}


size_t refl_access_count(const struct refl_access *a, size_t *pairedp)
{
	size_t n = 0, paired = 0;

	for (struct le *le = a ? a->peers.head : NULL; le; le = le->next) {
		const struct peer *p = le->data;

		++n;
		paired += p->paired;
	}
	if (pairedp)
		*pairedp = paired;

	return n;
}


static bool code_ok(const char *code)
{
	size_t len = strlen(code);

	if (len < 6 || len > REFL_PAIR_CODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)code[i]) && code[i] != '-')
			return false;
	}

	return true;
}


int refl_access_window_open(struct refl_access *a, const char *code,
			    uint64_t ttl_ms, uint64_t now_ms, char *out)
{
	static const char sym[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

	if (!a || !out || !ttl_ms)
		return EINVAL;

	if (code) {
		if (!code_ok(code))
			return EINVAL;
		for (size_t i = 0; code[i]; i++)
			a->win.code[i] = (char)toupper((unsigned char)code[i]);
		a->win.code[strlen(code)] = '\0';
	}
	else {
		uint8_t rnd[REFL_PAIR_CODE_LEN];

		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return EIO;
		for (size_t i = 0; i < sizeof(rnd); i++)
			a->win.code[i] = sym[rnd[i] & 31];
		a->win.code[sizeof(rnd)] = '\0';
	}

	a->win.open = true;
	a->win.expires = now_ms + ttl_ms;
	a->win.wrong = 0;
	strcpy(out, a->win.code);

	return 0;
}


bool refl_access_window(const struct refl_access *a, uint64_t now_ms,
			uint64_t *remp)
{
	bool open = a && a->win.open && now_ms < a->win.expires;

	if (remp)
		*remp = open ? a->win.expires - now_ms : 0;

	return open;
}


static void window_close(struct refl_access *a)
{
	a->win.open = false;
	OPENSSL_cleanse(a->win.code, sizeof(a->win.code));
}


enum refl_pair_result refl_access_pair(struct refl_access *a,
				       const char *id, const char *code,
				       uint64_t now_ms)
{
	char up[REFL_PAIR_CODE_MAX + 1] = {0};
	size_t len;
	bool match;

	if (!refl_access_window(a, now_ms, NULL)) {
		if (a)
			window_close(a);
		return REFL_PAIR_NO_WINDOW;
	}

	len = code ? strlen(code) : 0;
	match = len == strlen(a->win.code);
	if (len > REFL_PAIR_CODE_MAX)
		len = REFL_PAIR_CODE_MAX;
	for (size_t i = 0; i < len; i++)
		up[i] = (char)toupper((unsigned char)code[i]);
	up[len] = '\0';
	/* the same work whatever the code's length: compare the window's */
	match = CRYPTO_memcmp(up, a->win.code, strlen(a->win.code)) == 0 &&
		match;

	if (!match) {
		if (++a->win.wrong >= REFL_PAIR_MAX_WRONG) {
			window_close(a);
			return REFL_PAIR_CLOSED;
		}
		return REFL_PAIR_WRONG;
	}

	window_close(a);
	if (add(a, id, true) || save_store(a)) {
		struct peer *p = find(a, id);

		/* not kept across a restart: not kept at all */
		if (p && p->paired) {
			list_unlink(&p->le);
			mem_deref(p);
		}
		return REFL_PAIR_STORE_FAILED;
	}

	return REFL_PAIR_OK;
}


unsigned refl_access_wrong(const struct refl_access *a)
{
	return a ? a->win.wrong : 0;
}


int refl_access_unpair(struct refl_access *a, const char *id, char *out)
{
	struct peer *p;

	if (!a || !id || !out || canon(out, id))
		return EINVAL;
	p = find(a, out);
	if (!p)
		return ENOENT;
	if (!p->paired)
		return EPERM;
	list_unlink(&p->le);
	mem_deref(p);

	return save_store(a);
}
