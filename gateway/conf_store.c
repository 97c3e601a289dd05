/**
 * @file conf_store.c  The memory a configuration owns
 *
 * Every string and array of a gw_conf is one mem allocation recorded in
 * conf->owned and released with the configuration.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf_int.h"


/* Allocation failures set conf->oom and return NULL; the walker carries
 * on and gw_conf_load() fails with ENOMEM at the end. A SIGHUP reload runs
 * this at runtime, where aborting is not an option. */
void *conf_zalloc(struct gw_conf *conf, size_t size)
{
	void *m;

	if (conf->n_owned == conf->cap_owned) {
		size_t cap = conf->cap_owned ? conf->cap_owned * 2 : 32;
		void **v = realloc(conf->owned, cap * sizeof(*v));

		if (!v) {
			conf->oom = true;
			return NULL;
		}

		conf->owned = v;
		conf->cap_owned = cap;
	}

	m = mem_zalloc(size ? size : 1, NULL);
	if (!m) {
		conf->oom = true;
		return NULL;
	}

	conf->owned[conf->n_owned++] = m;

	return m;
}


char *conf_strdup(struct gw_conf *conf, const char *s)
{
	size_t len = strlen(s);
	char *d = conf_zalloc(conf, len + 1);

	if (d)
		memcpy(d, s, len);

	return d;
}


static void conf_destructor(void *data)
{
	struct gw_conf *conf = data;

	for (size_t i = 0; i < conf->n_owned; i++)
		mem_deref(conf->owned[i]);

	free(conf->owned);
}


struct gw_conf *conf_new(void)
{
	struct gw_conf *conf = mem_zalloc(sizeof(*conf), conf_destructor);

	if (!conf)
		return NULL;

	gw_conf_set_defaults(conf);
	if (conf->oom)
		return mem_deref(conf);

	return conf;
}


int gw_conf_default(struct gw_conf **confp)
{
	struct gw_conf *conf;

	if (!confp)
		return EINVAL;

	conf = conf_new();
	if (!conf)
		return ENOMEM;

	gw_conf_set_builtin(conf);
	if (conf->oom) {
		mem_deref(conf);
		return ENOMEM;
	}

	*confp = conf;

	return 0;
}


