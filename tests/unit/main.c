/**
 * @file main.c  Unit test runner: TAP output, leak check per test
 *
 * Debian's libre is built without its memory statistics, so leaks are
 * counted on glibc's heap (mallinfo2), which libre, Sofia and libyaml all
 * allocate from. A first allocation that a library makes once and keeps
 * (stdio buffers, lazy tables) would look like a leak, so a test that grew
 * the heap is run again: only growth that repeats is a leak. glibc's
 * per-thread cache keeps freed chunks that mallinfo2 counts as in use, so
 * the runner re-executes itself once with that cache switched off. Under
 * AddressSanitizer mallinfo2 reports nothing and LeakSanitizer takes over.
 *
 * Usage: unit [NAME...]   run all tests, or those whose name contains NAME
 */

#include <malloc.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/log.h"
#include "tests/unit/unit.h"

#define TEST(x) {#x, x}

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
	TEST(test_timer_uas_table),
	TEST(test_timer_uac_table),
	TEST(test_timer_times),
	TEST(test_conf_defaults),
	TEST(test_conf_values),
	TEST(test_conf_full_file),
	TEST(test_conf_three_errors),
	TEST(test_conf_cross_field),
	TEST(test_conf_types),
	TEST(test_conf_trunk_override),
	TEST(test_conf_example),
	TEST(test_conf_locate),
	TEST(test_log_text),
	TEST(test_log_json),
	TEST(test_log_level),
	TEST(test_log_errno),
	TEST(test_reactor_timer_order),
	TEST(test_reactor_periodic),
	TEST(test_reactor_timer_restart),
	TEST(test_reactor_fd_read),
	TEST(test_reactor_pollerr),
	TEST(test_reactor_watch_set),
	TEST(test_reactor_free_other),
	TEST(test_reactor_signal),
	TEST(test_reactor_child),
	TEST(test_ctrl_request),
	TEST(test_ctrl_errors),
	TEST(test_ctrl_oversize),
	TEST(test_ctrl_stale_socket),
	TEST(test_ctrl_async),
	TEST(test_icmp_judge_off),
	TEST(test_daemon_stop_reaps_children),
	TEST(test_refl_id),
	TEST(test_refl_identity),
	TEST(test_refl_cert),
	TEST(test_refl_frame),
	TEST(test_refl_access),
	TEST(test_refl_audit),
	TEST(test_refl_stamp),
	TEST(test_nw_stats),
	TEST(test_nw_verdict_and_score),
	TEST(test_nw_hold_down),
	TEST(test_nw_wire),
	TEST(test_icmp_echo_replies),
	TEST(test_ctrl_peercred),
	TEST(test_media_sdp_answer),
	TEST(test_media_sdp_directions),
	TEST(test_media_sdp_refused),
	TEST(test_media_ports),
	TEST(test_icmp_parse_v4),
	TEST(test_icmp_parse_v6),
	TEST(test_icmp_judge),
	TEST(test_icmp_peer_moves),
	TEST(test_icmp_record_ttl),
	TEST(test_icmp_rtcp_not_evidence),
	TEST(test_media_rtcp_mux),
	TEST(test_media_reoffer),
	TEST(test_utf8),
	TEST(test_child_exit_and_output),
	TEST(test_child_flood_is_bounded),
	TEST(test_child_deadline_term_then_kill),
	TEST(test_child_not_executable),
	TEST(test_child_freed_early_and_at_shutdown),
	TEST(test_sip_routes),
	TEST(test_sip_builtin),
};

static char scratch_dir[] = "/tmp/keepline-unit-XXXXXX";
static unsigned scratch_n;


int unit_write_file(char *buf, size_t size, const char *content)
{
	FILE *f;

	snprintf(buf, size, "%s/file%u.yaml", scratch_dir, ++scratch_n);

	f = fopen(buf, "w");
	if (!f)
		return errno;

	fputs(content, f);

	return fclose(f) ? errno : 0;
}


static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}


static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;

	for (int i = 1; i < argc; i++) {
		if (strstr(name, argv[i]))
			return true;
	}

	return false;
}


int main(int argc, char **argv)
{
	size_t n = sizeof(tests) / sizeof(tests[0]);
	unsigned failed = 0, run = 0;
	FILE *devnull;

	if (!getenv("KEEPLINE_UNIT_EXEC")) {
		setenv("KEEPLINE_UNIT_EXEC", "1", 1);
		setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
		execv("/proc/self/exe", argv);
		perror("execv");  /* carry on: leak counts may be noisy */
	}

	if (!mkdtemp(scratch_dir)) {
		perror("mkdtemp");
		return 1;
	}

	/* the code under test logs; keep TAP output readable */
	devnull = fopen("/dev/null", "w");
	gw_log_set_stream(devnull);

	for (size_t i = 0; i < n; i++)
		run += selected(tests[i].name, argc, argv);

	printf("1..%u\n", run);
	run = 0;

	for (size_t i = 0; i < n; i++) {
		size_t before, grown = 0;
		int err;

		if (!selected(tests[i].name, argc, argv))
			continue;
		++run;

		before = heap_in_use();
		err = tests[i].fn();
		if (!err && heap_in_use() > before) {
			before = heap_in_use();
			err = tests[i].fn();
			if (!err && heap_in_use() > before)
				grown = heap_in_use() - before;
		}

		gw_log_set_stream(devnull);
		gw_log_set_level(GW_LOG_INFO);
		gw_log_set_format(GW_LOG_TEXT);

		if (err) {
			printf("not ok %u - %s # %s\n", run, tests[i].name,
			       strerror(err));
			++failed;
		}
		else if (grown) {
			printf("not ok %u - %s # leaked %zu bytes\n", run,
			       tests[i].name, grown);
			++failed;
		}
		else {
			printf("ok %u - %s\n", run, tests[i].name);
		}
		fflush(stdout);
	}

	fclose(devnull);

	for (unsigned i = 1; i <= scratch_n; i++) {
		char path[96];
		snprintf(path, sizeof(path), "%s/file%u.yaml", scratch_dir, i);
		unlink(path);
	}
	rmdir(scratch_dir);

	return failed ? 1 : 0;
}
