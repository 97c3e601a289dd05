/**
 * @file modules.c  The module table (module.h)
 *
 * Table order is start order; stop goes the other way: SIP says goodbye
 * to its peers while the media and ICMP intake they use still run. A
 * subsystem that is planned but not built has only its name here: status
 * shows it as "not in this build yet" and gw_modules_check() refuses a
 * configuration that asks for it. Adding one is its folder and one line.
 */

#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/conf.h"
#include "gateway/module.h"
#include "media/media.h"
#include "netwatch/netwatch.h"
#include "reflector/reflector.h"
#include "sip/sipua.h"


static bool relay_enabled(const struct gw_conf *conf)
{
	return conf->icmp_relay.enabled;
}


static bool http_enabled(const struct gw_conf *conf)
{
	return conf->control.http_enabled;
}


static const struct gw_module icmp_relay = {
	.name = "icmp_relay", .title = "the ICMP relay",
	.enabled = relay_enabled,
};
static const struct gw_module http = {
	.name = "http", .title = "the HTTP metrics server",
	.enabled = http_enabled,
};


const struct gw_module *const gw_modules[] = {
	&media_module,
	&media_icmp_module,
	&nw_module,
	&sipua_module,
	&sipua_timer_module,
	&icmp_relay,
	&refl_module,
	&http,
	NULL
};


static const struct gw_module *find(const char *name)
{
	for (size_t i = 0; gw_modules[i]; i++) {
		if (!strcmp(gw_modules[i]->name, name))
			return gw_modules[i];
	}

	return NULL;
}


unsigned gw_modules_check(const struct gw_conf *conf, gw_conf_err_h *eh,
			  void *arg)
{
	unsigned n = 0;

	if (!conf || !eh)
		return 0;

	for (const struct gw_conf_need *nd = conf->needs; nd; nd = nd->next) {
		const struct gw_module *m = find(nd->module);
		char line[512];

		if (m && m->alloc)
			continue;

		snprintf(line, sizeof(line), "%s: %s is not in this build",
			 nd->where, m ? m->title : nd->module);
		eh(line, arg);
		++n;
	}

	return n;
}
