/**
 * @file netwatch.h  Path health of the gateway's trunks and targets
 *
 * The "netwatch" module probes every netwatch.targets entry and the
 * addresses of every trunk with probe: true (ICMP echo, else UDP to
 * netwatch.udp_port, else TCP to the trunk's SIP port), every interval,
 * probes_per_check probes a check, and keeps a state per path (up,
 * degraded, down, unmeasured) with hold-down. sip/ asks it whether a
 * trunk can take a call. docs/netwatch.md has the figures and the rules.
 */

#ifndef NW_NETWATCH_H
#define NW_NETWATCH_H

#include <stdbool.h>

struct gw_conf;
struct gw_module;
struct nw_mgr;

extern const struct gw_module nw_module;

/**
 * May a new call go out over this trunk? false only when netwatch runs,
 * probes the trunk, and every probed path of it is down; a trunk that
 * is not probed, or not measured yet, is usable.
 *
 * @param nw  gw_daemon_module(d, "netwatch"), may be NULL
 * @param why The trunk's path state when not usable (out), may be NULL
 */
bool nw_trunk_usable(const struct nw_mgr *nw, const char *trunk,
		     const char **why);

/** `keepline probe` (probe_cli.c); returns the exit status */
int nw_probe_main(const struct gw_conf *conf, int argc, char **argv);

#endif
