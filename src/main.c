/* main.c — placeholder entry point while the skeleton lands; replaced by the daemon. */
#include "config.h"
#include <stdio.h>
int main(void)
{
	puts("edgecache");
	return 0;
}
