/**
 * @file identity.c  The reflector's Ed25519 key file (identity.h)
 *
 * OpenSSL 3 makes the key from its raw bytes
 * (EVP_PKEY_new_raw_private_key) and gives the raw public key back; the
 * private bytes live in the EVP_PKEY only, and the buffers that held
 * them are cleansed.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "gateway/libre.h"
#include "gateway/paths.h"
#include "reflector/identity.h"

struct refl_identity {
	EVP_PKEY *key;
	uint8_t pub[REFL_KEY_LEN];
	char id[REFL_ID_LEN + 1];
};


static void identity_destructor(void *data)
{
	struct refl_identity *id = data;

	EVP_PKEY_free(id->key);
}


static int create_key(const char *path, uint8_t priv[REFL_KEY_LEN],
		      char *why, size_t why_size)
{
	/* 0700: nobody else's business */
	int fd, err = gw_mkdir_parents(path, 0700, 0700);

	if (err) {
		snprintf(why, why_size, "cannot create its directory: %s",
			 strerror(err));
		return err;
	}

	if (RAND_priv_bytes(priv, REFL_KEY_LEN) != 1) {
		snprintf(why, why_size, "no random bytes for a new key");
		return EIO;
	}

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		err = errno;
		snprintf(why, why_size, "cannot create it: %s", strerror(err));
		return err;
	}

	if (write(fd, priv, REFL_KEY_LEN) != REFL_KEY_LEN || fsync(fd)) {
		err = errno ? errno : EIO;
		snprintf(why, why_size, "cannot write it: %s", strerror(err));
		close(fd);
		unlink(path);
		return err;
	}

	return close(fd) ? errno : 0;
}


static int read_key(int fd, uint8_t priv[REFL_KEY_LEN], char *why,
		    size_t why_size)
{
	struct stat st;

	if (fstat(fd, &st))
		return errno;

	if (!S_ISREG(st.st_mode)) {
		snprintf(why, why_size, "not a regular file");
		return EINVAL;
	}
	if (st.st_mode & 077) {
		snprintf(why, why_size, "readable by others (mode %04o): "
			 "chmod 600 it, and replace the key if others may "
			 "have read it", (unsigned)(st.st_mode & 07777));
		return EPERM;
	}
	if (st.st_size != REFL_KEY_LEN ||
	    read(fd, priv, REFL_KEY_LEN) != REFL_KEY_LEN) {
		snprintf(why, why_size, "%lld bytes, not the %d of a raw "
			 "Ed25519 private key", (long long)st.st_size,
			 REFL_KEY_LEN);
		return EINVAL;
	}

	return 0;
}


static int identity_make(struct refl_identity **ip,
			 uint8_t priv[REFL_KEY_LEN], char *why,
			 size_t why_size);


int refl_identity_load(struct refl_identity **ip, const char *path,
		       bool *created, char *why, size_t why_size)
{
	uint8_t priv[REFL_KEY_LEN];
	int fd, err;

	if (!ip || !path || !why || !why_size)
		return EINVAL;
	why[0] = '\0';
	if (created)
		*created = false;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		err = create_key(path, priv, why, why_size);
		if (err)
			return err;
		if (created)
			*created = true;
	}
	else if (fd < 0) {
		err = errno;
		snprintf(why, why_size, "cannot open it: %s", strerror(err));
		return err;
	}
	else {
		err = read_key(fd, priv, why, why_size);
		close(fd);
		if (err) {
			OPENSSL_cleanse(priv, sizeof(priv));
			return err;
		}
	}

	return identity_make(ip, priv, why, why_size);
}


static int identity_make(struct refl_identity **ip,
			 uint8_t priv[REFL_KEY_LEN], char *why,
			 size_t why_size)
{
	struct refl_identity *id;
	size_t len = REFL_KEY_LEN;

	id = mem_zalloc(sizeof(*id), identity_destructor);
	if (!id) {
		OPENSSL_cleanse(priv, REFL_KEY_LEN);
		return ENOMEM;
	}

	id->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
					       REFL_KEY_LEN);
	OPENSSL_cleanse(priv, REFL_KEY_LEN);
	if (!id->key ||
	    EVP_PKEY_get_raw_public_key(id->key, id->pub, &len) != 1 ||
	    len != REFL_KEY_LEN) {
		snprintf(why, why_size, "OpenSSL refused the key");
		mem_deref(id);
		return EINVAL;
	}

	refl_id_format(id->id, id->pub);
	*ip = id;

	return 0;
}


int refl_identity_rotate(struct refl_identity **ip, const char *path,
			 char *why, size_t why_size)
{
	char tmp[PATH_MAX];
	uint8_t priv[REFL_KEY_LEN];
	int err;

	if (!ip || !path || !why || !why_size)
		return EINVAL;
	why[0] = '\0';

	/* the new key is whole on disk before it replaces the old one */
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return ENAMETOOLONG;
	unlink(tmp);
	err = create_key(tmp, priv, why, why_size);
	if (err)
		return err;

	if (rename(tmp, path)) {
		err = errno;
		snprintf(why, why_size, "cannot replace it: %s",
			 strerror(err));
		unlink(tmp);
		OPENSSL_cleanse(priv, sizeof(priv));
		return err;
	}
	gw_fsync_dir(path);

	return identity_make(ip, priv, why, why_size);
}


const char *refl_identity_id(const struct refl_identity *id)
{
	return id ? id->id : NULL;
}


const EVP_PKEY *refl_identity_key(const struct refl_identity *id)
{
	return id ? id->key : NULL;
}


const uint8_t *refl_identity_public(const struct refl_identity *id)
{
	return id ? id->pub : NULL;
}
