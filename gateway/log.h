/**
 * @file log.h  One line per event, text or JSON (DESIGN.md §7)
 *
 * Every event has a level, a module, a stable event name ("ev") that
 * operators and tests key on, a human message whose wording is part of the
 * contract (docs/logs.md), and typed key=value fields:
 *
 *   gw_log(GW_LOG_WARN, "media", "icmp_unmatched",
 *          GW_FIELDS(GW_FS("dest", ip), GW_FU("count", n)),
 *          "Unmatched ICMP error for dest=%s (count: %u/%u)", ip, n, thr);
 *
 * Text:  2026-11-22T18:00:00.123Z WARN media: <msg> ev=<ev> key=value ...
 * JSON:  {"ts":"...","level":"warn","mod":"media","ev":"...","msg":"...",...}
 *
 * gw_log() preserves errno, so it can sit between a failing call and the
 * code that reports errno upward.
 */

#ifndef GW_LOG_H
#define GW_LOG_H

#include <stdint.h>
#include <stdio.h>

enum gw_log_level {
	GW_LOG_DEBUG = 0,
	GW_LOG_INFO,
	GW_LOG_WARN,
	GW_LOG_ERROR,
};

enum gw_log_format {
	GW_LOG_TEXT = 0,
	GW_LOG_JSON,
};

enum gw_field_type {
	GW_FT_END = 0,
	GW_FT_STR,
	GW_FT_INT,
	GW_FT_UINT,
	GW_FT_DBL,
	GW_FT_BOOL,
	GW_FT_ERR,     /**< errno value, printed as err="<strerror>" */
};

/** One typed key=value field of a log event */
struct gw_field {
	const char *key;
	enum gw_field_type type;
	union {
		const char *s;
		int64_t i;
		uint64_t u;
		double d;
		int b;
	} v;
};

#define GW_FS(k, x)  {.key = (k), .type = GW_FT_STR,  .v.s = (x)}
#define GW_FI(k, x)  {.key = (k), .type = GW_FT_INT,  .v.i = (int64_t)(x)}
#define GW_FU(k, x)  {.key = (k), .type = GW_FT_UINT, .v.u = (uint64_t)(x)}
#define GW_FD(k, x)  {.key = (k), .type = GW_FT_DBL,  .v.d = (double)(x)}
#define GW_FB(k, x)  {.key = (k), .type = GW_FT_BOOL, .v.b = !!(x)}
#define GW_FERR(e)   {.key = "err", .type = GW_FT_ERR, .v.i = (e)}

/** A field list for gw_log(); NULL means "no fields" */
#define GW_FIELDS(...) ((const struct gw_field[]){__VA_ARGS__, {0}})

void gw_log(enum gw_log_level level, const char *mod, const char *ev,
	    const struct gw_field *fields, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

void gw_log_set_level(enum gw_log_level level);
enum gw_log_level gw_log_get_level(void);
void gw_log_set_format(enum gw_log_format format);
/** Where lines go; NULL restores stderr (used by tests) */
void gw_log_set_stream(FILE *f);
/** Events logged so far at each level, for status */
uint64_t gw_log_count(enum gw_log_level level);

const char *gw_log_level_name(enum gw_log_level level);
int gw_log_level_parse(enum gw_log_level *levelp, const char *s);

/** The wall clock [ms since the epoch] */
uint64_t gw_wall_ms(void);
/** "2026-12-02T04:13:02.123Z" (UTC, milliseconds), as log lines begin */
void gw_rfc3339(char *buf, size_t size, uint64_t unix_ms);

#endif
