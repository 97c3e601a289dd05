/**
 * @file appliance.h  `keepline appliance ...`: the reflector's client on
 * the command line (docs/reflector-protocol.md "The appliance client")
 */

#ifndef REFL_APPLIANCE_H
#define REFL_APPLIANCE_H

struct gw_conf;

/**
 * @param argv  argv[0] = "appliance", argv[1] the sub-command
 * @return the exit status: 0, 1 (refused, failed), 2 (usage)
 */
int refl_appliance_main(const struct gw_conf *conf, int argc, char **argv);

#endif
