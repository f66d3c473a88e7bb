/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * UUIDs in their 36-character text form, as the kernel's uuid_parse()
 * takes them for "vf_token=": 8-4-4-4-12 hex digits, either case.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uvfio/uvfio.h>

/* Where the dashes go; every other position holds a hex digit. */
static bool dash_at(unsigned i)
{
	return i == 8 || i == 13 || i == 18 || i == 23;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int uvfio_uuid_parse(const char *s, uint8_t uuid[UVFIO_UUID_SIZE])
{
	uint8_t out[UVFIO_UUID_SIZE];
	unsigned n = 0;

	if (!s || !uuid)
		return -EINVAL;
	for (unsigned i = 0; i < UVFIO_UUID_STRLEN; i++) {
		if (!s[i])
			return -EINVAL;
		if (dash_at(i)) {
			if (s[i] != '-')
				return -EINVAL;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	if (s[UVFIO_UUID_STRLEN])
		return -EINVAL;
	memcpy(uuid, out, sizeof(out));
	return 0;
}

void uvfio_uuid_unparse(const uint8_t uuid[UVFIO_UUID_SIZE],
			char out[UVFIO_UUID_STRLEN + 1])
{
	snprintf(out, UVFIO_UUID_STRLEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6],
		 uuid[7], uuid[8], uuid[9], uuid[10], uuid[11], uuid[12],
		 uuid[13], uuid[14], uuid[15]);
}
