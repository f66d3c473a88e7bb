/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "common/util.h"

void ulog_printf(const struct ulog *log, int prio, const char *fmt, ...)
{
	if (!log || !log->fn || prio > log->level)
		return;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log->fn(log->opaque, prio, buf);
}
