/**
 * @file tls.c  The certificate behind the tls: listen entries
 *
 * Sofia's TLS transport reads DIR/agent.pem (certificate and private key,
 * PEM) and, when present, DIR/cafile.pem (CAs to check peers against),
 * DIR being TPTAG_CERTIFICATE (sip.tls_certificates). Without a usable
 * certificate it listens all the same and fails every handshake, saying
 * nothing. So the file is loaded here first, with OpenSSL, and a gateway
 * that cannot present a certificate does not start.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "sip/tls.h"


/* An encrypted key is refused, not prompted for on a terminal */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;

	return -1;
}


static void subject_of(X509 *x, char *buf, size_t size)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;

	buf[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
			       XN_FLAG_RFC2253) >= 0)
		n = BIO_read(b, buf, (int)size - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}


int sip_tls_load(const char *dir, struct sip_tls_cert *cert, char *why,
		 size_t size)
{
	char path[PATH_MAX];
	const char *problem = NULL;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	struct tm tm;
	FILE *f;
	int err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/agent.pem", dir) >=
	    sizeof(path)) {
		snprintf(why, size, "%s: path too long", dir);
		return ENAMETOOLONG;
	}

	f = fopen(path, "r");
	if (!f) {
		err = errno;
		snprintf(why, size, "%s: %s", path, strerror(err));
		return err;
	}

	/* each read skips the PEM blocks of the other kind */
	x = PEM_read_X509(f, NULL, no_passphrase, NULL);
	rewind(f);
	key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);

	if (!x)
		problem = "no certificate in it (PEM)";
	else if (!key)
		problem = "no private key in it (unencrypted PEM; a key "
			"with a passphrase is not supported)";
	else if (X509_check_private_key(x, key) != 1)
		problem = "its private key does not belong to its certificate";
	else if (!ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm))
		problem = "the certificate's expiry date cannot be read";

	if (problem) {
		snprintf(why, size, "%s: %s", path, problem);
		err = EINVAL;
	}
	else {
		subject_of(x, cert->subject, sizeof(cert->subject));
		cert->not_after = timegm(&tm);
	}

	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);

	return err;
}


const struct gw_listen *sip_tls_listen(const struct gw_conf *conf)
{
	for (size_t i = 0; i < conf->sip.n_listen; i++)
		if (conf->sip.listen[i].tp == GW_TP_TLS)
			return &conf->sip.listen[i];

	return NULL;
}


long sip_tls_days_left(const struct sip_tls_cert *cert)
{
	double s = difftime(cert->not_after, time(NULL));

	return (long)(s / 86400) - (s < 0);
}
