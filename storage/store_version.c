/*
 * storage/store_version.c — the version of the stored record formats.
 * Bumped whenever a stored layout changes, so a later release can migrate.
 */
#include "ec_util.h"

unsigned ec_store_format_version(void);

unsigned ec_store_format_version(void)
{
	return 1;
}
