/**
 * @file paths.h  Directories for the files Keepline makes (the control
 * socket, the reflector's key, later its audit log)
 */

#ifndef GW_PATHS_H
#define GW_PATHS_H

#include <sys/types.h>

/**
 * mkdir -p for the directory a file at path will live in: missing
 * directories above it get mode outer, the one that holds it mode inner.
 * Existing ones are left as they are.
 *
 * @return 0, ENAMETOOLONG, or mkdir()'s errno
 */
int gw_mkdir_parents(const char *path, mode_t outer, mode_t inner);

#endif
