/**
 * @file metrics.h  Metrics in the Prometheus text exposition format
 *
 * A module's metrics hook writes samples; the writer adds the "keepline_"
 * prefix and the # HELP and # TYPE lines before a family's first sample.
 * Write a family's samples one after another. Counters end in _total.
 */

#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stdint.h>

struct gw_metrics;

enum gw_metric_type { GW_COUNTER = 0, GW_GAUGE };

int gw_metrics_alloc(struct gw_metrics **mp);

/** One sample without labels */
void gw_metric(struct gw_metrics *m, enum gw_metric_type type,
	       const char *name, const char *help, double value);
/** One sample with one label; the value is escaped as the format asks */
void gw_metric_l(struct gw_metrics *m, enum gw_metric_type type,
		 const char *name, const char *help, const char *label,
		 const char *lvalue, double value);

/** The text so far (NUL-terminated), or NULL after a failed write */
const char *gw_metrics_text(const struct gw_metrics *m);

#endif
