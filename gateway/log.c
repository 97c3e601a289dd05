/**
 * @file log.c  Structured event log, text or JSON lines
 *
 * A line is formatted into one buffer and written with one fwrite(), so
 * lines from this process never interleave.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "gateway/libre.h"
#include "gateway/log.h"

enum { LINE_MAX_LEN = 4096 };

static struct {
	enum gw_log_level level;
	enum gw_log_format format;
	FILE *stream;
	uint64_t count[GW_LOG_ERROR + 1];
} logger = {
	.level = GW_LOG_INFO,
	.format = GW_LOG_TEXT,
};

static const char *level_names[] = {"debug", "info", "warn", "error"};
static const char *level_tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};


/* A bounded line buffer: appends truncate silently, the line always ends. */
struct line {
	char buf[LINE_MAX_LEN];
	size_t len;
};


static void line_vadd(struct line *l, const char *fmt, va_list ap)
{
	size_t room = sizeof(l->buf) - l->len;
	int n;

	if (room <= 1)
		return;

	n = vsnprintf(l->buf + l->len, room, fmt, ap);
	if (n < 0)
		return;

	l->len += ((size_t)n < room) ? (size_t)n : room - 1;
}


static void line_add(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line_add(struct line *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line_vadd(l, fmt, ap);
	va_end(ap);
}


/* JSON string body, escaped by libre's RFC 7159 encoder. */
static void line_add_json_str(struct line *l, const char *s)
{
	size_t room = sizeof(l->buf) - l->len;
	int n;

	if (room <= 1)
		return;

	n = re_snprintf(l->buf + l->len, room, "\"%H\"", utf8_encode,
			s ? s : "");
	if (n < 0) {
		/* re_snprintf reports truncation as an error: keep what fit */
		l->len += strnlen(l->buf + l->len, room - 1);
		return;
	}

	l->len += (size_t)n;
}


/* Text values are bare unless they need quotes to stay one token. */
static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;

	for (; *s; s++) {
		if (*s == ' ' || *s == '"' || *s == '=' || *s == '\\' ||
		    (unsigned char)*s < 0x20)
			return true;
	}

	return false;
}


static void line_add_text_str(struct line *l, const char *s)
{
	if (!s)
		s = "";

	if (!needs_quotes(s)) {
		line_add(l, "%s", s);
		return;
	}

	/* same escaping as JSON: unambiguous and familiar */
	line_add_json_str(l, s);
}


uint64_t gw_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


void gw_rfc3339(char *buf, size_t size, uint64_t unix_ms)
{
	time_t sec = (time_t)(unix_ms / 1000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (unsigned)(unix_ms % 1000));
}


static void add_timestamp(struct line *l)
{
	char ts[40];

	gw_rfc3339(ts, sizeof(ts), gw_wall_ms());
	line_add(l, "%s", ts);
}


static void add_field_value(struct line *l, const struct gw_field *f,
			    bool json)
{
	switch (f->type) {

	case GW_FT_STR:
		if (json)
			line_add_json_str(l, f->v.s);
		else
			line_add_text_str(l, f->v.s);
		break;

	case GW_FT_ERR:
		/* strerror() on purpose: errno numbers mean nothing to
		 * an operator reading the log */
		if (json)
			line_add_json_str(l, strerror((int)f->v.i));
		else
			line_add(l, "\"%s\"", strerror((int)f->v.i));
		break;

	case GW_FT_INT:
		line_add(l, "%lld", (long long)f->v.i);
		break;

	case GW_FT_UINT:
		line_add(l, "%llu", (unsigned long long)f->v.u);
		break;

	case GW_FT_DBL:
		line_add(l, "%.3f", f->v.d);
		break;

	case GW_FT_BOOL:
		line_add(l, "%s", f->v.b ? "true" : "false");
		break;

	case GW_FT_END:
		break;
	}
}


static void format_text(struct line *l, enum gw_log_level level,
			const char *mod, const char *ev,
			const struct gw_field *fields, const char *msg)
{
	add_timestamp(l);
	line_add(l, " %s %s: %s ev=%s", level_tags[level], mod, msg, ev);

	for (; fields && fields->type != GW_FT_END; fields++) {
		line_add(l, " %s=", fields->key);
		add_field_value(l, fields, false);
	}
}


static void format_json(struct line *l, enum gw_log_level level,
			const char *mod, const char *ev,
			const struct gw_field *fields, const char *msg)
{
	line_add(l, "{\"ts\":\"");
	add_timestamp(l);
	line_add(l, "\",\"level\":\"%s\",\"mod\":", level_names[level]);
	line_add_json_str(l, mod);
	line_add(l, ",\"ev\":");
	line_add_json_str(l, ev);
	line_add(l, ",\"msg\":");
	line_add_json_str(l, msg);

	for (; fields && fields->type != GW_FT_END; fields++) {
		line_add(l, ",");
		line_add_json_str(l, fields->key);
		line_add(l, ":");
		add_field_value(l, fields, true);
	}

	line_add(l, "}");
}


void gw_log(enum gw_log_level level, const char *mod, const char *ev,
	    const struct gw_field *fields, const char *fmt, ...)
{
	int saved_errno = errno;
	char msg[1024];
	struct line *l;
	static struct line line;  /* one thread: no need for stack space */
	va_list ap;

	if (level > GW_LOG_ERROR)
		level = GW_LOG_ERROR;

	++logger.count[level];

	if (level < logger.level)
		goto out;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	l = &line;
	l->len = 0;

	if (logger.format == GW_LOG_JSON)
		format_json(l, level, mod, ev, fields, msg);
	else
		format_text(l, level, mod, ev, fields, msg);

	/* the newline always fits: truncation leaves one byte spare */
	if (l->len >= sizeof(l->buf) - 1)
		l->len = sizeof(l->buf) - 2;
	l->buf[l->len++] = '\n';

	fwrite(l->buf, 1, l->len, logger.stream ? logger.stream : stderr);
	fflush(logger.stream ? logger.stream : stderr);

 out:
	errno = saved_errno;
}


void gw_log_set_level(enum gw_log_level level)
{
	logger.level = level;
}


enum gw_log_level gw_log_get_level(void)
{
	return logger.level;
}


void gw_log_set_format(enum gw_log_format format)
{
	logger.format = format;
}


void gw_log_set_stream(FILE *f)
{
	logger.stream = f;
}


uint64_t gw_log_count(enum gw_log_level level)
{
	return level <= GW_LOG_ERROR ? logger.count[level] : 0;
}


const char *gw_log_level_name(enum gw_log_level level)
{
	return level <= GW_LOG_ERROR ? level_names[level] : "?";
}


int gw_log_level_parse(enum gw_log_level *levelp, const char *s)
{
	if (!levelp || !s)
		return EINVAL;

	for (size_t i = 0; i < sizeof(level_names) / sizeof(*level_names);
	     i++) {
		if (0 == strcmp(s, level_names[i])) {
			*levelp = (enum gw_log_level)i;
			return 0;
		}
	}

	return EINVAL;
}
