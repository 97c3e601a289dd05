/**
 * @file paths.h  Directories for the files Keepline makes (the control
 * socket, the reflector's key, later its audit log)
 */

#ifndef GW_PATHS_H
#define GW_PATHS_H

#include <stddef.h>
#include <sys/types.h>

/**
 * mkdir -p for the directory a file at path will live in: missing
 * directories above it get mode outer, the one that holds it mode inner.
 * Existing ones are left as they are.
 *
 * @return 0, ENAMETOOLONG, or mkdir()'s errno
 */
int gw_mkdir_parents(const char *path, mode_t outer, mode_t inner);

/** fsync() the directory that holds path, so a rename in it lasts */
int gw_fsync_dir(const char *path);

/**
 * Replace path with data, never leaving it half written: "<path>.tmp"
 * (created with mode, fsync'd), renamed over path, the directory fsync'd.
 */
int gw_write_atomic(const char *path, const void *data, size_t len,
		    mode_t mode);

#endif
