/**
 * @file cert.c  The pp-link/1 certificate (cert.h), with OpenSSL 3
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "reflector/cert.h"

static const char san_prefix[] = "pp-id-";


static int set_names(X509 *x, const char *id)
{
	char san[sizeof(san_prefix) + REFL_ID_LEN];
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_IA5STRING *dns = ASN1_IA5STRING_new();
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_ENTRY *cn;
	int ok = 0;

	/* a type without MBSTRING_FLAG is copied as it is: no 64-char cap */
	cn = X509_NAME_ENTRY_create_by_NID(NULL, NID_commonName,
					   V_ASN1_UTF8STRING,
					   (const unsigned char *)id,
					   (int)strlen(id));
	snprintf(san, sizeof(san), "%s%s", san_prefix, id);

	if (cn && gens && gen && dns &&
	    X509_NAME_add_entry(name, cn, -1, 0) &&
	    X509_set_issuer_name(x, name) &&
	    ASN1_STRING_set(dns, san, (int)strlen(san))) {
		GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
		dns = NULL;
		if (sk_GENERAL_NAME_push(gens, gen)) {
			gen = NULL;
			ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
					       X509V3_ADD_DEFAULT) == 1;
		}
	}

	X509_NAME_ENTRY_free(cn);
	ASN1_IA5STRING_free(dns);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);

	return ok ? 0 : ENOMEM;
}


int refl_cert_make(X509 **xp, const struct refl_identity *id)
{
	EVP_PKEY *key = (EVP_PKEY *)refl_identity_key(id);
	unsigned char serial[16];
	ASN1_INTEGER *sn = NULL;
	BIGNUM *bn = NULL;
	X509 *x;
	int err = ENOMEM;

	if (!xp || !key)
		return EINVAL;

	x = X509_new();
	if (!x || RAND_bytes(serial, sizeof(serial)) != 1)
		goto out;
	serial[0] &= 0x7f;   /* positive (RFC 5280 §4.1.2.2) */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;

	if (!sn || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, sn) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x),
			     (long)REFL_CERT_DAYS * 86400) ||
	    !X509_set_pubkey(x, key))
		goto out;

	err = set_names(x, refl_identity_id(id));
	if (err)
		goto out;

	/* Ed25519 signs the whole message: no digest (NULL) */
	if (!X509_sign(x, key, NULL)) {
		err = EINVAL;
		goto out;
	}

	*xp = x;
	x = NULL;
	err = 0;

 out:
	X509_free(x);
	ASN1_INTEGER_free(sn);
	BN_free(bn);

	return err;
}


int refl_cert_peer_id(X509 *x, char *idbuf, char *why, size_t why_size)
{
	uint8_t pub[REFL_KEY_LEN];
	size_t len = sizeof(pub);
	EVP_PKEY *key = x ? X509_get0_pubkey(x) : NULL;
	GENERAL_NAMES *gens;
	unsigned named = 0;
	int err = 0;

	if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 ||
	    len != REFL_KEY_LEN) {
		snprintf(why, why_size, "the certificate's key is not Ed25519");
		return EACCES;
	}
	refl_id_format(idbuf, pub);

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *s;
		int n;

		if (g->type != GEN_DNS)
			continue;
		s = ASN1_STRING_get0_data(g->d.dNSName);
		n = ASN1_STRING_length(g->d.dNSName);
		if (n < (int)sizeof(san_prefix) - 1 ||
		    strncasecmp((const char *)s, san_prefix,
				sizeof(san_prefix) - 1))
			continue;

		++named;
		if ((size_t)n != sizeof(san_prefix) - 1 + REFL_ID_LEN ||
		    memcmp(s + sizeof(san_prefix) - 1, idbuf, REFL_ID_LEN)) {
			snprintf(why, why_size, "the certificate names %.*s but "
				 "its key is %s", n > 120 ? 120 : n, s, idbuf);
			err = EACCES;
			break;
		}
	}
	GENERAL_NAMES_free(gens);

	if (!err && !named) {
		snprintf(why, why_size, "the certificate has no %s name",
			 san_prefix);
		err = EACCES;
	}

	return err;
}
