/**
 * @file test_refl_access.c  Pairing windows, the paired-peers file and the
 * audit log's records
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/libre.h"
#include "reflector/access.h"
#include "reflector/audit.h"
#include "reflector/id.h"
#include "tests/unit/unit.h"

/* Two valid IDs: RFC 8032 §7.1 test 1's key, and all zeros */
static const char id_a[] =
	"PP-TXD9-G0C2-P45B-FNAB-ZV9W-JS07-787E-2WQK-VAK2-69DF-08D6-HXR7-"
	"A4D0-R";
static char id_b[REFL_ID_LEN + 1];


static void scratch_path(char *buf, size_t size, const char *name)
{
	char f[512];

	unit_write_file(f, sizeof(f), "");
	unlink(f);
	*strrchr(f, '/') = '\0';
	snprintf(buf, size, "%s/%s", f, name);
}


static char *slurp(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';

	return buf;
}


int test_refl_access(void)
{
	uint8_t zero[REFL_KEY_LEN] = {0};
	char store[600], code[REFL_PAIR_CODE_MAX + 1], why[200];
	char *peers[] = {(char *)id_a};
	char *bad[] = {"PP-nope"};
	struct refl_access *a = NULL, *a2 = NULL, *a3 = NULL;
	size_t paired;
	struct stat st;
	int err = 0;

	refl_id_format(id_b, zero);
	scratch_path(store, sizeof(store), "peers/paired_peers.json");
	unlink(store);

	TEST_EQUALS(EINVAL, refl_access_alloc(&a, bad, 1, store, why,
					      sizeof(why)));
	TEST_STRCMP("authorized_peers[0] is not an Endpoint ID", why);

	TEST_ERR(refl_access_alloc(&a, peers, 1, store, why, sizeof(why)));
	TEST_ASSERT(refl_access_authorized(a, id_a));
	TEST_ASSERT(!refl_access_authorized(a, id_b));

	/* no window */
	TEST_EQUALS(REFL_PAIR_NO_WINDOW, refl_access_pair(a, id_b, "x", 0));

	/* a bad operator code is refused; a good one works in any case */
	TEST_EQUALS(EINVAL, refl_access_window_open(a, "short", 1000, 0,
						    code));
	TEST_EQUALS(EINVAL, refl_access_window_open(a, "has space", 1000, 0,
						    code));
	TEST_ERR(refl_access_window_open(a, "lab-bench-7", 1000, 0, code));
	TEST_STRCMP("LAB-BENCH-7", code);
	TEST_ASSERT(refl_access_window(a, 999, NULL));
	TEST_EQUALS(REFL_PAIR_WRONG, refl_access_pair(a, id_b, "lab-bench-", 1));
	TEST_EQUALS(REFL_PAIR_WRONG, refl_access_pair(a, id_b, "lab-bench-77",
						      2));
	TEST_EQUALS(2, refl_access_wrong(a));
	TEST_EQUALS(REFL_PAIR_OK, refl_access_pair(a, id_b, "Lab-Bench-7", 3));
	TEST_ASSERT(refl_access_authorized(a, id_b));
	/* single-use */
	TEST_ASSERT(!refl_access_window(a, 4, NULL));
	TEST_EQUALS(REFL_PAIR_NO_WINDOW, refl_access_pair(a, id_a,
							  "lab-bench-7", 4));

	/* persisted, 0600, read back; the configured peer is not stored */
	TEST_ASSERT(!stat(store, &st) && (st.st_mode & 0777) == 0600);
	TEST_ASSERT(strstr(slurp(store), id_b) && !strstr(slurp(store), id_a));
	TEST_ERR(refl_access_alloc(&a2, NULL, 0, store, why, sizeof(why)));
	TEST_ASSERT(refl_access_authorized(a2, id_b));
	TEST_EQUALS(1, refl_access_count(a2, &paired));
	TEST_EQUALS(1, paired);

	/* expiry, and five wrong codes close a window */
	TEST_ERR(refl_access_window_open(a2, NULL, 1000, 100, code));
	TEST_EQUALS(REFL_PAIR_CODE_LEN, strlen(code));
	TEST_EQUALS(REFL_PAIR_NO_WINDOW, refl_access_pair(a2, id_a, code,
							  1100));
	TEST_ERR(refl_access_window_open(a2, NULL, 1000, 2000, code));
	for (int i = 0; i < REFL_PAIR_MAX_WRONG - 1; i++)
		TEST_EQUALS(REFL_PAIR_WRONG, refl_access_pair(a2, id_a, "ZZZZ",
							      2001));
	TEST_EQUALS(REFL_PAIR_CLOSED, refl_access_pair(a2, id_a, "ZZZZ", 2002));
	TEST_EQUALS(REFL_PAIR_NO_WINDOW, refl_access_pair(a2, id_a, code,
							  2003));

	/* a damaged store is refused with the reason, not ignored */
	{
		int fd = open(store, O_WRONLY | O_TRUNC);

		TEST_ASSERT(fd >= 0);
		TEST_EQUALS(8, write(fd, "{\"x\": 1}", 8));
		close(fd);
	}
	TEST_EQUALS(EINVAL, refl_access_alloc(&a3, NULL, 0, store, why,
					      sizeof(why)));
	TEST_STRCMP("not a JSON object with a \"paired_peers\" array", why);

 out:
	mem_deref(a);
	mem_deref(a2);
	mem_deref(a3);

	return err;
}


int test_refl_audit(void)
{
	struct refl_audit *au = NULL, *au2 = NULL;
	struct odict *params = NULL;
	char path[600], why[200];
	const char *text;
	struct stat st;
	int err = 0;

	scratch_path(path, sizeof(path), "audit/dir/audit.jsonl");
	unlink(path);

	TEST_ERR(refl_audit_open(&au, path, id_a, why, sizeof(why)));
	TEST_ERR(odict_alloc(&params, 4));
	TEST_ERR(odict_entry_add(params, "duration_sec", ODICT_INT, 10LL));
	TEST_ERR(refl_audit_write(au, "session_granted", REFL_AUDIT_REC(
		.peer_id = id_b, .test_type = "udp_echo", .test_id = "t1",
		.params = params, .decision = "allowed")));
	TEST_ERR(refl_audit_write(au, "identity_rotated", REFL_AUDIT_REC(
		.decision = "allowed")));
	au = mem_deref(au);

	/* appended across a reopen, the new ID in the new records */
	TEST_ERR(refl_audit_open(&au2, path, id_b, why, sizeof(why)));
	TEST_ERR(refl_audit_write(au2, "session_completed", REFL_AUDIT_REC(
		.peer_id = id_a, .test_id = "t1", .reason = "closed",
		.completed = true, .bytes = 1234, .duration_sec = 1.5)));
	TEST_EQUALS(1, refl_audit_count(au2));

	TEST_ASSERT(!stat(path, &st) && (st.st_mode & 0777) == 0600);
	text = slurp(path);
	TEST_ASSERT(strstr(text, "\"event_type\":\"session_granted\",\"peer_id"
			   "\":\"PP-0000"));
	TEST_ASSERT(strstr(text, "\"params\":{\"duration_sec\":10}"));
	/* absent fields are left out */
	TEST_ASSERT(strstr(text, "\"event_type\":\"identity_rotated\",\""
			   "endpoint_id\":\"PP-TXD9"));
	{
		const char *l = strstr(text, "identity_rotated");
		size_t n = strcspn(l, "\n");

		TEST_ASSERT(!memmem(l, n, "peer_id", 7) &&
			    !memmem(l, n, "bytes_transferred", 17) &&
			    !memmem(l, n, "test_id", 7));
	}
	TEST_ASSERT(strstr(text, "\"bytes_transferred\":1234,"
			   "\"duration_sec\":1.5"));
	{
		int lines = 0;

		for (const char *p = text; *p; p++)
			lines += *p == '\n';
		TEST_EQUALS(3, lines);
	}

 out:
	mem_deref(params);
	mem_deref(au);
	mem_deref(au2);

	return err;
}
