/**
 * @file test_log.c  Log line formats, level filter, errno
 */

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/libre.h"
#include "gateway/log.h"
#include "tests/unit/unit.h"


/* Log one event into memory; returns the line (free()) */
static char *capture(enum gw_log_format fmt, enum gw_log_level level)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;

	gw_log_set_stream(f);
	gw_log_set_format(fmt);
	gw_log(level, "media", "icmp_unmatched",
	       GW_FIELDS(GW_FS("dest", "192.0.2.1"), GW_FU("count", 3),
			 GW_FS("note", "two words \"quoted\""),
			 GW_FB("raw", true), GW_FI("delta", -4)),
	       "Unmatched ICMP error for dest=%s (count: %u/%u)",
	       "192.0.2.1", 3u, 5u);
	gw_log_set_stream(NULL);
	fclose(f);

	return buf;
}


static bool matches(const char *re, const char *s)
{
	regex_t rx;
	bool m;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB))
		return false;

	m = 0 == regexec(&rx, s, 0, NULL, 0);
	regfree(&rx);

	return m;
}


int test_log_text(void)
{
	char *line = capture(GW_LOG_TEXT, GW_LOG_WARN);
	int err = 0;

	TEST_ASSERT(line != NULL);
	TEST_ASSERT(matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
			    "[0-9]{2}\\.[0-9]{3}Z WARN media: ", line));
	TEST_ASSERT(strstr(line, " WARN media: Unmatched ICMP error for "
			   "dest=192.0.2.1 (count: 3/5) ev=icmp_unmatched "
			   "dest=192.0.2.1 count=3 "
			   "note=\"two words \\\"quoted\\\"\" raw=true "
			   "delta=-4\n"));
	/* exactly one line */
	TEST_ASSERT(strchr(line, '\n') == line + strlen(line) - 1);

 out:
	free(line);
	return err;
}


int test_log_json(void)
{
	char *line = capture(GW_LOG_JSON, GW_LOG_ERROR);
	struct odict *o = NULL;
	uint64_t count = 0;
	bool raw = false;
	int err = 0;

	TEST_ASSERT(line != NULL);
	TEST_ERR(json_decode_odict(&o, 16, line, strlen(line), 4));

	TEST_ASSERT(matches("^[0-9]{4}-.*Z$", odict_string(o, "ts")));
	TEST_STRCMP("error", odict_string(o, "level"));
	TEST_STRCMP("media", odict_string(o, "mod"));
	TEST_STRCMP("icmp_unmatched", odict_string(o, "ev"));
	TEST_STRCMP("Unmatched ICMP error for dest=192.0.2.1 (count: 3/5)",
		    odict_string(o, "msg"));
	TEST_STRCMP("two words \"quoted\"", odict_string(o, "note"));
	/* numbers and booleans keep their JSON types */
	TEST_ASSERT(odict_get_number(o, &count, "count"));
	TEST_EQUALS(3, count);
	TEST_ASSERT(odict_get_boolean(o, &raw, "raw"));
	TEST_ASSERT(raw);

 out:
	mem_deref(o);
	free(line);
	return err;
}


int test_log_level(void)
{
	uint64_t debugs = gw_log_count(GW_LOG_DEBUG);
	enum gw_log_level lvl;
	char *line = NULL;
	int err = 0;

	gw_log_set_level(GW_LOG_INFO);
	line = capture(GW_LOG_TEXT, GW_LOG_DEBUG);
	TEST_ASSERT(line != NULL);
	TEST_STRCMP("", line);               /* filtered out ... */
	TEST_EQUALS(debugs + 1, gw_log_count(GW_LOG_DEBUG)); /* counted */
	free(line);

	gw_log_set_level(GW_LOG_DEBUG);
	line = capture(GW_LOG_TEXT, GW_LOG_DEBUG);
	TEST_ASSERT(line && strstr(line, " DEBUG media: "));

	TEST_ERR(gw_log_level_parse(&lvl, "warn"));
	TEST_EQUALS(GW_LOG_WARN, lvl);
	TEST_EQUALS(EINVAL, gw_log_level_parse(&lvl, "verbose"));

 out:
	gw_log_set_level(GW_LOG_INFO);
	free(line);
	return err;
}


int test_log_errno(void)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	int err = 0;

	TEST_ASSERT(f != NULL);
	gw_log_set_stream(f);

	errno = EAGAIN;
	gw_log(GW_LOG_ERROR, "gateway", "bind_failed",
	       GW_FIELDS(GW_FERR(ECONNREFUSED)), "Cannot bind");
	TEST_EQUALS(EAGAIN, errno);

	gw_log_set_stream(NULL);
	fclose(f);
	f = NULL;

	TEST_ASSERT(strstr(buf, "ev=bind_failed err=\"Connection refused\""));

 out:
	gw_log_set_stream(NULL);
	if (f)
		fclose(f);
	free(buf);
	return err;
}
