/**
 * @file unit.h  Unit tests: int test_x(void) functions in one table
 *
 * A test returns 0 or an errno. TEST_* macros report the failing line and
 * jump to the test's `out:` label, where it frees what it made: the runner
 * checks that every test leaves the heap as it found it.
 */

#ifndef UNIT_H
#define UNIT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define TEST_FAIL(...) do {                                             \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);         \
		fprintf(stderr, __VA_ARGS__);                           \
		fprintf(stderr, "\n");                                  \
		err = err ? err : EINVAL;                               \
		goto out;                                               \
	} while (0)

#define TEST_ASSERT(cond) do {                                          \
		if (!(cond))                                            \
			TEST_FAIL("assertion failed: %s", #cond);       \
	} while (0)

#define TEST_EQUALS(expected, actual) do {                              \
		long long e_ = (long long)(expected);                   \
		long long a_ = (long long)(actual);                     \
		if (e_ != a_)                                           \
			TEST_FAIL("%s: expected %lld, got %lld", #actual, \
				  e_, a_);                              \
	} while (0)

#define TEST_STRCMP(expected, actual) do {                              \
		const char *e_ = (expected), *a_ = (actual);            \
		if (!a_ || strcmp(e_, a_))                              \
			TEST_FAIL("%s: expected \"%s\", got \"%s\"",    \
				  #actual, e_, a_ ? a_ : "(null)");     \
	} while (0)

#define TEST_ERR(e) do {                                                \
		if ((e)) {                                              \
			err = (e);                                      \
			TEST_FAIL("%s: %s", #e, strerror(err));         \
		}                                                       \
	} while (0)

/* A scratch file with the given content; path written to buf */
int unit_write_file(char *buf, size_t size, const char *content);

int test_timer_uas_table(void);
int test_timer_uac_table(void);
int test_timer_times(void);
int test_conf_defaults(void);
int test_conf_values(void);
int test_conf_full_file(void);
int test_conf_three_errors(void);
int test_conf_cross_field(void);
int test_conf_types(void);
int test_conf_trunk_override(void);
int test_conf_example(void);
int test_conf_locate(void);
int test_log_text(void);
int test_log_json(void);
int test_log_level(void);
int test_log_errno(void);
int test_reactor_timer_order(void);
int test_reactor_periodic(void);
int test_reactor_timer_restart(void);
int test_reactor_fd_read(void);
int test_reactor_pollerr(void);
int test_reactor_watch_set(void);
int test_reactor_free_other(void);
int test_reactor_signal(void);
int test_reactor_child(void);
int test_ctrl_request(void);
int test_ctrl_errors(void);
int test_ctrl_oversize(void);
int test_ctrl_stale_socket(void);
int test_ctrl_async(void);
int test_icmp_judge_off(void);
int test_daemon_stop_reaps_children(void);
int test_refl_id(void);
int test_refl_identity(void);
int test_refl_cert(void);
int test_refl_frame(void);
int test_refl_access(void);
int test_refl_audit(void);
int test_refl_stamp(void);
int test_nw_stats(void);
int test_nw_verdict_and_score(void);
int test_nw_hold_down(void);
int test_nw_wire(void);
int test_icmp_echo_replies(void);
int test_ctrl_peercred(void);
int test_media_sdp_answer(void);
int test_icmp_parse_v4(void);
int test_icmp_parse_v6(void);
int test_icmp_judge(void);
int test_icmp_peer_moves(void);
int test_icmp_record_ttl(void);
int test_icmp_rtcp_not_evidence(void);
int test_media_rtcp_mux(void);
int test_media_reoffer(void);
int test_utf8(void);
int test_child_exit_and_output(void);
int test_child_flood_is_bounded(void);
int test_child_deadline_term_then_kill(void);
int test_child_not_executable(void);
int test_child_freed_early_and_at_shutdown(void);
int test_media_sdp_directions(void);
int test_media_sdp_refused(void);
int test_media_ports(void);
int test_sip_routes(void);
int test_sip_builtin(void);

#endif
