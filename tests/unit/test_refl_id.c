/**
 * @file test_refl_id.c  Endpoint IDs and the identity key file
 *
 * The fixed vector is RFC 8032 §7.1 test 1 (secret key 9d61b1...,
 * public key d75a98...); its ID was computed by an independent Python
 * implementation of the encoding.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/libre.h"
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "reflector/cert.h"
#include "reflector/frame.h"
#include "reflector/identity.h"
#include "tests/unit/unit.h"

static const uint8_t rfc8032_secret[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
	0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
	0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static const uint8_t rfc8032_public[32] = {
	0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe,
	0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6,
	0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
};
static const char rfc8032_id[] =
	"PP-TXD9-G0C2-P45B-FNAB-ZV9W-JS07-787E-2WQK-VAK2-69DF-08D6-HXR7-"
	"A4D0-R";


static int parse(uint8_t *key, const char *s)
{
	return refl_id_parse(key, s, strlen(s));
}


int test_refl_id(void)
{
	static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
	uint8_t key[32], zero[32] = {0};
	char id[REFL_ID_LEN + 1], s[REFL_ID_LEN + 1];
	int err = 0, passes = 0;

	refl_id_format(id, rfc8032_public);
	TEST_STRCMP(rfc8032_id, id);
	TEST_EQUALS(REFL_ID_LEN, strlen(id));

	TEST_ERR(parse(key, id));
	TEST_ASSERT(!memcmp(key, rfc8032_public, 32));

	/* what people type: lower case, no prefix, no dashes, O and I/L */
	TEST_ERR(parse(key, "pp-txd9-g0c2-p45b-fnab-zv9w-js07-787e-2wqk-vak2-"
		       "69df-08d6-hxr7-a4d0-r"));
	TEST_ASSERT(!memcmp(key, rfc8032_public, 32));
	TEST_ERR(parse(key, "TXD9GOC2P45BFNABZV9WJSO7787E2WQKVAK269DFO8D6HXR7"
		       "A4DOR"));
	TEST_ASSERT(!memcmp(key, rfc8032_public, 32));
	refl_id_format(id, zero);
	TEST_STRCMP("PP-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-"
		    "0000-0000-0000-0", id);

	/* every single changed symbol is caught by the check */
	refl_id_format(id, rfc8032_public);
	for (size_t i = 3; i < REFL_ID_LEN - 2; i++) {
		if (id[i] == '-')
			continue;
		strcpy(s, id);
		s[i] = s[i] == 'Z' ? '0' : alphabet[strchr(alphabet, s[i]) -
						    alphabet + 1];
		TEST_EQUALS(EBADMSG, parse(key, s));
	}
	strcpy(s, id);
	s[REFL_ID_LEN - 1] = s[REFL_ID_LEN - 1] == 'R' ? 'S' : 'R';
	TEST_EQUALS(EBADMSG, parse(key, s));

	/* not an ID at all */
	TEST_EQUALS(EINVAL, parse(key, ""));
	TEST_EQUALS(EINVAL, parse(key, "PP-"));
	TEST_EQUALS(EINVAL, parse(key, "PP-TXD9"));
	strcpy(s, id);
	s[5] = 'U';
	TEST_EQUALS(EINVAL, parse(key, s));
	TEST_EQUALS(EINVAL, refl_id_parse(key, id, REFL_ID_LEN - 2));

	/* the last symbol carries one bit of the key and four zeros: with a
	 * padding bit set it is refused even with a matching check */
	strcpy(s, id);
	s[REFL_ID_LEN - 3] = '1';    /* was '0': a padding bit */
	for (int c = 0; c < 32; c++) {
		int e;

		s[REFL_ID_LEN - 1] = alphabet[c];
		e = parse(key, s);
		TEST_ASSERT(e == EBADMSG || e == EINVAL);
		passes += e == EINVAL;
	}
	TEST_EQUALS(1, passes);

 out:
	return err;
}


int test_refl_identity(void)
{
	char dir[64], path[128], why[256], sub[160];
	struct refl_identity *a = NULL, *b = NULL;
	struct stat st;
	bool created;
	int fd, err = 0;

	snprintf(dir, sizeof(dir), "/tmp/keepline-unit-id-%d", (int)getpid());
	snprintf(path, sizeof(path), "%s/deep/er/identity.ed25519", dir);

	/* made on first use, parents too, mode 0600, 32 bytes */
	TEST_ERR(refl_identity_load(&a, path, &created, why, sizeof(why)));
	TEST_ASSERT(created);
	TEST_ASSERT(0 == stat(path, &st));
	TEST_EQUALS(0600, st.st_mode & 07777);
	TEST_EQUALS(32, st.st_size);
	snprintf(sub, sizeof(sub), "%s/deep", dir);
	TEST_ASSERT(0 == stat(sub, &st));
	TEST_EQUALS(0700, st.st_mode & 07777);

	/* the same ID next time */
	TEST_ERR(refl_identity_load(&b, path, &created, why, sizeof(why)));
	TEST_ASSERT(!created);
	TEST_STRCMP(refl_identity_id(a), refl_identity_id(b));
	b = mem_deref(b);

	/* a known key: OpenSSL derives the RFC's public key, hence its ID */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	TEST_ASSERT(fd >= 0);
	TEST_EQUALS(32, write(fd, rfc8032_secret, 32));
	close(fd);
	TEST_ERR(refl_identity_load(&b, path, &created, why, sizeof(why)));
	TEST_ASSERT(!memcmp(refl_identity_public(b), rfc8032_public, 32));
	TEST_STRCMP(rfc8032_id, refl_identity_id(b));
	b = mem_deref(b);

	/* refused: readable by the group, the wrong size, a symlink */
	TEST_ASSERT(0 == chmod(path, 0640));
	TEST_EQUALS(EPERM, refl_identity_load(&b, path, NULL, why,
					      sizeof(why)));
	TEST_ASSERT(strstr(why, "readable by others (mode 0640)"));
	TEST_ASSERT(0 == chmod(path, 0600));
	TEST_ASSERT(0 == truncate(path, 31));
	TEST_EQUALS(EINVAL, refl_identity_load(&b, path, NULL, why,
					       sizeof(why)));
	TEST_ASSERT(strstr(why, "31 bytes, not the 32"));
	snprintf(sub, sizeof(sub), "%s/link", dir);
	TEST_ASSERT(0 == symlink(path, sub));
	TEST_EQUALS(ELOOP, refl_identity_load(&b, sub, NULL, why,
					      sizeof(why)));

 out:
	mem_deref(a);
	mem_deref(b);
	unlink(sub);
	unlink(path);
	snprintf(sub, sizeof(sub), "%s/deep/er", dir);
	rmdir(sub);
	snprintf(sub, sizeof(sub), "%s/deep", dir);
	rmdir(sub);
	rmdir(dir);
	return err;
}


/* An identity whose key is RFC 8032 test 1's */
static int rfc_identity(struct refl_identity **ip, char *path, size_t size)
{
	char why[256];
	int fd;

	snprintf(path, size, "/tmp/keepline-unit-cert-%d.key", (int)getpid());
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return errno;
	if (write(fd, rfc8032_secret, 32) != 32) {
		close(fd);
		return EIO;
	}
	close(fd);

	return refl_identity_load(ip, path, NULL, why, sizeof(why));
}


/* A certificate for key, signed by it, with dns as its only SAN (NULL:
 * none) */
static X509 *cert_with(EVP_PKEY *key, const char *dns)
{
	X509 *x = X509_new();
	char ext[160];

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	if (dns) {
		X509_EXTENSION *e;

		snprintf(ext, sizeof(ext), "DNS:%s", dns);
		e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, ext);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	X509_sign(x, key, EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL :
		  EVP_sha256());

	return x;
}


int test_refl_cert(void)
{
	struct refl_identity *a = NULL, *b = NULL;
	char path[96] = "", bpath[96] = "", why[256], id[REFL_ID_LEN + 1];
	char cn[128];
	char pem[96] = "", cmd[256], out[2048] = "", san[128];
	X509 *x = NULL, *forged = NULL, *bare = NULL, *ec = NULL;
	EVP_PKEY *p256 = NULL;
	int days = 0, secs = 0, err = 0;
	FILE *f;

	TEST_ERR(rfc_identity(&a, path, sizeof(path)));
	snprintf(bpath, sizeof(bpath), "/tmp/keepline-unit-cert-%d-b.key",
		 (int)getpid());
	TEST_ERR(refl_identity_load(&b, bpath, NULL, why, sizeof(why)));

	/* ours: signed by the key, CN and SAN the ID, ten years */
	TEST_ERR(refl_cert_make(&x, a));
	TEST_EQUALS(1, X509_verify(x, (EVP_PKEY *)refl_identity_key(a)));
	TEST_EQUALS(REFL_ID_LEN, X509_NAME_get_text_by_NID(
			    X509_get_subject_name(x), NID_commonName, cn,
			    sizeof(cn)));
	TEST_STRCMP(rfc8032_id, cn);
	TEST_ASSERT(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
				   X509_get0_notAfter(x)));
	TEST_EQUALS(REFL_CERT_DAYS, days);
	TEST_ERR(refl_cert_peer_id(x, id, why, sizeof(why)));
	TEST_STRCMP(rfc8032_id, id);

	/* what openssl(1) reads in it */
	snprintf(pem, sizeof(pem), "/tmp/keepline-unit-cert-%d.pem",
		 (int)getpid());
	f = fopen(pem, "w");
	TEST_ASSERT(f && PEM_write_X509(f, x));
	fclose(f);
	snprintf(cmd, sizeof(cmd), "openssl x509 -noout -subject -ext "
		 "subjectAltName -in %s 2>&1", pem);
	f = popen(cmd, "r");
	TEST_ASSERT(f);
	TEST_ASSERT(fread(out, 1, sizeof(out) - 1, f) > 0);
	TEST_EQUALS(0, pclose(f));
	snprintf(cn, sizeof(cn), "subject=CN = %s\n", rfc8032_id);
	TEST_ASSERT(strstr(out, cn));
	snprintf(san, sizeof(san), "DNS:pp-id-%s\n", rfc8032_id);
	TEST_ASSERT(strstr(out, san));

	/* a's key, but the name of b: the key decides, and it is refused */
	snprintf(san, sizeof(san), "pp-id-%s", refl_identity_id(b));
	forged = cert_with((EVP_PKEY *)refl_identity_key(a), san);
	TEST_EQUALS(EACCES, refl_cert_peer_id(forged, id, why, sizeof(why)));
	snprintf(out, sizeof(out), "the certificate names pp-id-%s but its "
		 "key is %s", refl_identity_id(b), rfc8032_id);
	TEST_STRCMP(out, why);

	/* no pp-id name; not an Ed25519 key */
	bare = cert_with((EVP_PKEY *)refl_identity_key(a), "example.net");
	TEST_EQUALS(EACCES, refl_cert_peer_id(bare, id, why, sizeof(why)));
	TEST_STRCMP("the certificate has no pp-id- name", why);
	p256 = EVP_EC_gen("P-256");
	TEST_ASSERT(p256);
	snprintf(san, sizeof(san), "pp-id-%s", rfc8032_id);
	ec = cert_with(p256, san);
	TEST_EQUALS(EACCES, refl_cert_peer_id(ec, id, why, sizeof(why)));
	TEST_STRCMP("the certificate's key is not Ed25519", why);

 out:
	X509_free(x);
	X509_free(forged);
	X509_free(bare);
	X509_free(ec);
	EVP_PKEY_free(p256);
	mem_deref(a);
	mem_deref(b);
	if (path[0])
		unlink(path);
	if (bpath[0])
		unlink(bpath);
	if (pem[0])
		unlink(pem);
	return err;
}


static int take(struct mbuf *mb, struct odict **msgp)
{
	char why[128];

	return refl_frame_take(mb, msgp, why, sizeof(why));
}


static void put_raw(struct mbuf *mb, const char *json, uint32_t len)
{
	size_t pos = mb->pos;

	mb->pos = mb->end;
	mbuf_write_u8(mb, (uint8_t)(len >> 24));
	mbuf_write_u8(mb, (uint8_t)(len >> 16));
	mbuf_write_u8(mb, (uint8_t)(len >> 8));
	mbuf_write_u8(mb, (uint8_t)len);
	if (json)
		mbuf_write_str(mb, json);
	mb->pos = pos;
}


int test_refl_frame(void)
{
	struct mbuf *out = mbuf_alloc(64), *in = mbuf_alloc(64);
	struct odict *payload = NULL, *msg = NULL, *params = NULL;
	const struct odict_entry *p;
	char why[128];
	int err = 0;

	TEST_ASSERT(out && in);
	TEST_ERR(odict_alloc(&payload, 8));
	TEST_ERR(odict_alloc(&params, 8));
	odict_entry_add(payload, "type", ODICT_STRING, "session_request");
	odict_entry_add(payload, "test_type", ODICT_STRING, "udp_echo");
	odict_entry_add(params, "duration_sec", ODICT_INT, (int64_t)10);
	odict_entry_add(payload, "params", ODICT_OBJECT, params);
	TEST_ERR(refl_frame_put(out, "req-7", payload));
	TEST_ERR(refl_frame_put(out, "req-8", payload));

	/* the big-endian length, then the JSON */
	TEST_EQUALS(0, out->buf[0]);
	TEST_EQUALS(out->end / 2 - 4, (size_t)out->buf[3]);
	TEST_EQUALS('{', out->buf[4]);

	/* delivered one byte at a time: nothing until a frame is whole */
	for (size_t i = 0; i < out->end; i++) {
		in->pos = in->end;
		mbuf_write_u8(in, out->buf[i]);
		in->pos = 0;
		if (i + 1 < out->end / 2) {
			TEST_EQUALS(EAGAIN, take(in, &msg));
			TEST_EQUALS(0, in->pos);
		}
	}
	TEST_ERR(take(in, &msg));
	TEST_STRCMP("req-7", odict_string(msg, "request_id"));
	p = odict_lookup(msg, "payload");
	TEST_ASSERT(p && p->type == ODICT_OBJECT);
	TEST_STRCMP("session_request", odict_string(p->u.odict, "type"));
	msg = mem_deref(msg);
	TEST_ERR(take(in, &msg));
	TEST_STRCMP("req-8", odict_string(msg, "request_id"));
	msg = mem_deref(msg);
	TEST_EQUALS(EAGAIN, take(in, &msg));

	/* refused, each with its reason */
	mbuf_reset(in);
	put_raw(in, NULL, REFL_FRAME_MAX + 1);
	TEST_EQUALS(EMSGSIZE, refl_frame_take(in, &msg, why, sizeof(why)));
	TEST_STRCMP("frame of 1048577 bytes, over the 1048576 allowed", why);
	mbuf_reset(in);
	put_raw(in, "hello", 5);
	TEST_EQUALS(EBADMSG, take(in, &msg));
	mbuf_reset(in);
	put_raw(in, "{\"payload\":{\"type\":\"hello\"}}", 28);
	TEST_EQUALS(EPROTO, refl_frame_take(in, &msg, why, sizeof(why)));
	TEST_STRCMP("no \"request_id\" string", why);
	mbuf_reset(in);
	put_raw(in, "{\"request_id\":\"1\",\"payload\":{\"type\":\"reboot\"}}",
		46);
	TEST_EQUALS(EPROTO, refl_frame_take(in, &msg, why, sizeof(why)));
	TEST_STRCMP("unknown payload type 'reboot'", why);
	mbuf_reset(in);
	put_raw(in, "{\"request_id\":\"1\",\"payload\":{\"a\":{\"b\":{\"c\":{\"d\":"
		"{\"e\":{\"f\":{\"g\":{\"h\":{\"i\":1}}}}}}}}}}", 84);
	TEST_EQUALS(EBADMSG, take(in, &msg));

 out:
	mem_deref(msg);
	mem_deref(payload);
	mem_deref(params);
	mem_deref(in);
	mem_deref(out);
	return err;
}
