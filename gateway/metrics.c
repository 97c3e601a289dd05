/**
 * @file metrics.c  The Prometheus text format writer (metrics.h)
 *
 * Format: https://prometheus.io/docs/instrumenting/exposition_formats/
 * Label values escape backslash, double quote and newline; HELP text
 * escapes backslash and newline.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/metrics.h"

struct gw_metrics {
	struct mbuf *mb;
	char family[96];              /**< the last one written */
	int err;
};


static void metrics_destructor(void *data)
{
	struct gw_metrics *m = data;

	mem_deref(m->mb);
}


int gw_metrics_alloc(struct gw_metrics **mp)
{
	struct gw_metrics *m;

	if (!mp)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), metrics_destructor);
	if (!m)
		return ENOMEM;

	m->mb = mbuf_alloc(4096);
	if (!m->mb) {
		mem_deref(m);
		return ENOMEM;
	}

	*mp = m;

	return 0;
}


static void put_escaped(struct gw_metrics *m, const char *s, bool quote)
{
	for (; *s && !m->err; s++) {
		if (*s == '\\')
			m->err = mbuf_write_str(m->mb, "\\\\");
		else if (*s == '\n')
			m->err = mbuf_write_str(m->mb, "\\n");
		else if (*s == '"' && quote)
			m->err = mbuf_write_str(m->mb, "\\\"");
		else
			m->err = mbuf_write_u8(m->mb, (uint8_t)*s);
	}
}


static void family(struct gw_metrics *m, enum gw_metric_type type,
		   const char *name, const char *help)
{
	if (m->err || !strcmp(m->family, name))
		return;

	str_ncpy(m->family, name, sizeof(m->family));
	m->err = mbuf_printf(m->mb, "# HELP keepline_%s ", name);
	put_escaped(m, help, false);
	if (!m->err)
		m->err = mbuf_printf(m->mb, "\n# TYPE keepline_%s %s\n", name,
				     type == GW_COUNTER ? "counter" : "gauge");
}


void gw_metric_l(struct gw_metrics *m, enum gw_metric_type type,
		 const char *name, const char *help, const char *label,
		 const char *lvalue, double value)
{
	if (!m || !name || !help)
		return;

	family(m, type, name, help);
	if (m->err)
		return;

	m->err = mbuf_printf(m->mb, "keepline_%s", name);
	if (label && lvalue && !m->err) {
		m->err = mbuf_printf(m->mb, "{%s=\"", label);
		put_escaped(m, lvalue, true);
		if (!m->err)
			m->err = mbuf_write_str(m->mb, "\"}");
	}
	if (!m->err) {
		/* libre's printf has no %g */
		char num[40];

		snprintf(num, sizeof(num), " %.17g\n", value);
		m->err = mbuf_write_str(m->mb, num);
	}
}


void gw_metric(struct gw_metrics *m, enum gw_metric_type type,
	       const char *name, const char *help, double value)
{
	gw_metric_l(m, type, name, help, NULL, NULL, value);
}


const char *gw_metrics_text(const struct gw_metrics *m)
{
	if (!m || m->err)
		return NULL;

	/* NUL past the end, not counted in the text */
	if (m->mb->end >= m->mb->size &&
	    mbuf_resize(m->mb, m->mb->size + 1))
		return NULL;
	m->mb->buf[m->mb->end] = '\0';

	return (const char *)m->mb->buf;
}
