/**
 * @file paths.c  See paths.h
 */

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/paths.h"


int gw_mkdir_parents(const char *path, mode_t outer, mode_t inner)
{
	char dir[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(dir))
		return ENAMETOOLONG;

	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';

	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, outer) && errno != EEXIST)
			return errno;
		*p = '/';
	}

	if (mkdir(dir, inner) && errno != EEXIST)
		return errno;

	return 0;
}
