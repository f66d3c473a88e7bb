/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DEVICE_FEATURE in the device core (REFERENCE §5): header validation,
 * GET/SET/PROBE against vfio_check_feature()'s rules, unknown features,
 * a registered feature's round trip, the low-power callback, and the
 * REQ signal a device raises to ask for the device back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "device/dev.h"
#include "testutil.h"

#define G VFIO_DEVICE_FEATURE_GET
#define S VFIO_DEVICE_FEATURE_SET
#define P VFIO_DEVICE_FEATURE_PROBE

#define F_RW     0x100u   /* GET and SET: 8 bytes of state */
#define F_RO     0x101u   /* GET only: 4 bytes */
#define F_WO     0x102u   /* SET only */
#define LP_ENTRY 3u
#define LP_WAKE  4u
#define LP_EXIT  5u

struct fixture {
	struct uvfio_dev *dev;
	uint8_t state[8];
	unsigned sets;
	size_t last_len;
	int lp_calls;
	bool lp_enter;
	int lp_result;
};

static int rw_get(void *opaque, void *buf, size_t len)
{
	struct fixture *f = opaque;
	if (len < sizeof(f->state))
		return -EINVAL;
	memcpy(buf, f->state, sizeof(f->state));
	return (int)sizeof(f->state);
}

static int rw_set(void *opaque, const void *buf, size_t len)
{
	struct fixture *f = opaque;
	f->sets++;
	f->last_len = len;
	if (len < sizeof(f->state))
		return -EINVAL;
	memcpy(f->state, buf, sizeof(f->state));
	return 0;
}

static int ro_get(void *opaque, void *buf, size_t len)
{
	(void)opaque;
	const uint32_t v = 0x12345678;
	if (len < sizeof(v))
		return -EINVAL;
	memcpy(buf, &v, sizeof(v));
	return (int)sizeof(v);
}

static int lp_cb(void *opaque, bool enter)
{
	struct fixture *f = opaque;
	f->lp_calls++;
	f->lp_enter = enter;
	return f->lp_result;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->dev = uvfio_dev_new("feature-test");
	if (!f->dev ||
	    uvfio_dev_add_feature(f->dev, F_RW,
				  UVFIO_FEATURE_GET | UVFIO_FEATURE_SET,
				  rw_get, rw_set, f) < 0 ||
	    uvfio_dev_add_feature(f->dev, F_RO, UVFIO_FEATURE_GET, ro_get,
				  NULL, f) < 0 ||
	    uvfio_dev_add_feature(f->dev, F_WO, UVFIO_FEATURE_SET, NULL,
				  rw_set, f) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uvfio_dev_free(f->dev);
	free(f);
	return 0;
}

/* A call with argsz = 8 + @len and @len bytes of @data (SET) or room. */
static int feat(struct fixture *f, uint32_t flags, void *data, size_t len,
		size_t *outlen)
{
	uint8_t out[64];
	size_t n = 0;
	int r = dev_feature(f->dev, (uint32_t)(8 + len), flags, data,
			    (flags & S) ? len : 0, out, sizeof(out), &n);
	if (outlen)
		*outlen = n;
	if (r == 0 && data && (flags & G) && !(flags & P))
		memcpy(data, out, MIN(n, len));
	return r;
}

static void test_header_validation(void **state)
{
	struct fixture *f = *state;
	static const struct {
		uint32_t argsz, flags;
		int result;
	} table[] = {
		{ 0, G | F_RO, -EINVAL },               /* argsz < 8 */
		{ 7, G | F_RO, -EINVAL },
		{ 7, P | G | 0xffff, -EINVAL },          /* before ENOTTY */
		{ 8, (1u << 19) | G | F_RO, -EINVAL },   /* unknown flag bits */
		{ 8, 1u << 31, -EINVAL },
		{ 16, G | S | F_RW, -EINVAL },           /* GET+SET without PROBE */
		{ 16, G | S | 0xffff, -EINVAL },         /* ... even if unknown */
		{ 8, P | G | S | F_RW, 0 },              /* with PROBE: fine */
		{ 8, F_RW, -EINVAL },                    /* neither GET nor SET */
		{ 8, P | F_RW, 0 },                      /* PROBE alone */
		{ 16, G | 0xffff, -ENOTTY },             /* unknown feature */
		{ 8, P | 0xffff, -ENOTTY },
		{ 8, P | G | 0, -ENOTTY },
		{ 24, S | 1, -ENOTTY },
		{ 8, S | LP_ENTRY, -ENOTTY },            /* no low-power cb */
		{ 8, P | S | LP_EXIT, -ENOTTY },
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		uint8_t in[64] = { 0 }, out[64];
		size_t n = 99;
		int r = dev_feature(f->dev, table[i].argsz, table[i].flags, in,
				    table[i].argsz > 8 ? table[i].argsz - 8 : 0,
				    out, sizeof(out), &n);
		if (r != table[i].result)
			fail_msg("row %zu: argsz %u flags %#x: %d, expected %d",
				 i, table[i].argsz, table[i].flags, r,
				 table[i].result);
		assert_true(n == 0);
	}
	assert_int_equal(f->sets, 0);
}

static void test_probe(void **state)
{
	struct fixture *f = *state;
	/* Every named op supported: 0; one that is not: EINVAL. */
	assert_int_equal(feat(f, P | G | F_RW, NULL, 0, NULL), 0);
	assert_int_equal(feat(f, P | S | F_RW, NULL, 0, NULL), 0);
	assert_int_equal(feat(f, P | G | S | F_RW, NULL, 0, NULL), 0);
	assert_int_equal(feat(f, P | G | F_RO, NULL, 0, NULL), 0);
	assert_int_equal(feat(f, P | S | F_RO, NULL, 0, NULL), -EINVAL);
	assert_int_equal(feat(f, P | G | S | F_RO, NULL, 0, NULL), -EINVAL);
	assert_int_equal(feat(f, P | S | F_WO, NULL, 0, NULL), 0);
	assert_int_equal(feat(f, P | G | F_WO, NULL, 0, NULL), -EINVAL);
	/* PROBE does not call the model. */
	assert_int_equal(f->sets, 0);
}

static void test_get_set_round_trip(void **state)
{
	struct fixture *f = *state;
	uint8_t v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8] = { 0 };
	size_t n;
	assert_int_equal(feat(f, S | F_RW, v, sizeof(v), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(f->sets, 1);
	assert_int_equal(f->last_len, 8);
	assert_int_equal(feat(f, G | F_RW, back, sizeof(back), &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(back, v, 8);

	/* A GET with less room than the feature needs: the model's EINVAL. */
	assert_int_equal(feat(f, G | F_RW, back, 4, &n), -EINVAL);
	assert_int_equal(n, 0);
	/* A SET whose argsz announces more than the message carries. */
	size_t outn;
	uint8_t out[8];
	assert_int_equal(dev_feature(f->dev, 16, S | F_RW, v, 4, out,
				     sizeof(out), &outn), -EINVAL);
	assert_int_equal(f->sets, 1);
	/* GET room is bounded by the output buffer. */
	assert_int_equal(dev_feature(f->dev, 1000, G | F_RW, NULL, 0, out,
				     sizeof(out), &outn), 0);
	assert_int_equal(outn, 8);
	assert_memory_equal(out, v, 8);

	uint32_t ro = 0;
	assert_int_equal(feat(f, G | F_RO, &ro, sizeof(ro), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(ro, 0x12345678);
	/* Ops the feature lacks. */
	assert_int_equal(feat(f, S | F_RO, &ro, sizeof(ro), NULL), -EINVAL);
	assert_int_equal(feat(f, G | F_WO, v, sizeof(v), NULL), -EINVAL);
	assert_int_equal(feat(f, S | F_WO, v, sizeof(v), NULL), 0);
	assert_int_equal(f->sets, 2);
}

static void test_add_feature_errors(void **state)
{
	struct fixture *f = *state;
	const unsigned GS = UVFIO_FEATURE_GET | UVFIO_FEATURE_SET;
	assert_int_equal(uvfio_dev_add_feature(f->dev, F_RW, GS, rw_get,
					       rw_set, f), -EEXIST);
	assert_int_equal(uvfio_dev_add_feature(f->dev, 0x10000,
					       UVFIO_FEATURE_GET, rw_get, NULL,
					       f), -EINVAL);
	assert_int_equal(uvfio_dev_add_feature(f->dev, 0x200, 0, rw_get,
					       rw_set, f), -EINVAL);
	assert_int_equal(uvfio_dev_add_feature(f->dev, 0x200, 4, rw_get,
					       rw_set, f), -EINVAL);
	assert_int_equal(uvfio_dev_add_feature(f->dev, 0x200, GS, rw_get,
					       NULL, f), -EINVAL);
	assert_int_equal(uvfio_dev_add_feature(f->dev, 0x200, GS, NULL,
					       rw_set, f), -EINVAL);
	assert_int_equal(dev_seal(f->dev), 0);
	assert_int_equal(uvfio_dev_add_feature(f->dev, 0x200, GS, rw_get,
					       rw_set, f), -EBUSY);
	assert_int_equal(uvfio_dev_set_low_power(f->dev, lp_cb, f), -EBUSY);
	/* Registered features keep working once sealed. */
	assert_int_equal(feat(f, P | G | F_RW, NULL, 0, NULL), 0);
	assert_int_equal(feat(f, P | G | 0x200, NULL, 0, NULL), -ENOTTY);
}

static void test_low_power(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(uvfio_dev_set_low_power(f->dev, lp_cb, f), 0);
	/* SET only: PROBE of SET succeeds, of GET is EINVAL. */
	for (uint32_t i = LP_ENTRY; i <= LP_EXIT; i++) {
		assert_int_equal(feat(f, P | S | i, NULL, 0, NULL), 0);
		assert_int_equal(feat(f, P | i, NULL, 0, NULL), 0);
		assert_int_equal(feat(f, P | G | i, NULL, 0, NULL), -EINVAL);
		assert_int_equal(feat(f, P | G | S | i, NULL, 0, NULL),
				 -EINVAL);
		assert_int_equal(feat(f, G | i, NULL, 8, NULL), -EINVAL);
		assert_int_equal(feat(f, i, NULL, 0, NULL), -EINVAL);
	}
	assert_int_equal(f->lp_calls, 0);

	assert_int_equal(feat(f, S | LP_ENTRY, NULL, 0, NULL), 0);
	assert_int_equal(f->lp_calls, 1);
	assert_true(f->lp_enter);
	assert_int_equal(feat(f, S | LP_EXIT, NULL, 0, NULL), 0);
	assert_int_equal(f->lp_calls, 2);
	assert_false(f->lp_enter);

	/* With wakeup: argsz must cover {s32 fd, u32 reserved}; the fd
	 * itself cannot come over vfio-user, so EINVAL either way. */
	uint8_t wake[8] = { 0 };
	assert_int_equal(feat(f, S | LP_WAKE, wake, 4, NULL), -EINVAL);
	assert_int_equal(feat(f, S | LP_WAKE, wake, 8, NULL), -EINVAL);
	assert_int_equal(f->lp_calls, 2);

	/* The model's error reaches the client. */
	f->lp_result = -EBUSY;
	assert_int_equal(feat(f, S | LP_ENTRY, NULL, 0, NULL), -EBUSY);
	assert_int_equal(f->lp_calls, 3);

	/* Removing the callback removes the features. */
	assert_int_equal(uvfio_dev_set_low_power(f->dev, NULL, NULL), 0);
	assert_int_equal(feat(f, P | S | LP_ENTRY, NULL, 0, NULL), -ENOTTY);
	assert_int_equal(feat(f, S | LP_EXIT, NULL, 0, NULL), -ENOTTY);
}

static void test_request_release(void **state)
{
	struct fixture *f = *state;
	/* Before sealing there is no vector table: nothing installed. */
	assert_int_equal(uvfio_dev_request_release(f->dev), -ENOENT);
	assert_int_equal(dev_seal(f->dev), 0);
	assert_int_equal(uvfio_dev_request_release(f->dev), -ENOENT);

	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fd >= 0);
	int mine = dup(fd);
	assert_true(mine >= 0);
	assert_int_equal(dev_set_irqs(f->dev,
				      VFIO_IRQ_SET_DATA_EVENTFD |
				      VFIO_IRQ_SET_ACTION_TRIGGER,
				      VFIO_PCI_REQ_IRQ_INDEX, 0, 1, NULL, 0,
				      &fd, 1), 0);
	assert_int_equal(fd, -1);   /* the device took it */
	assert_int_equal(uvfio_dev_request_release(f->dev), 0);
	assert_int_equal(uvfio_dev_request_release(f->dev), 0);
	uint64_t n = 0;
	assert_int_equal(read(mine, &n, sizeof(n)), (ssize_t)sizeof(n));
	assert_int_equal(n, 2);

	/* Released (count 0): -ENOENT again. */
	assert_int_equal(dev_set_irqs(f->dev,
				      VFIO_IRQ_SET_DATA_NONE |
				      VFIO_IRQ_SET_ACTION_TRIGGER,
				      VFIO_PCI_REQ_IRQ_INDEX, 0, 0, NULL, 0,
				      NULL, 0), 0);
	assert_int_equal(uvfio_dev_request_release(f->dev), -ENOENT);
	close(mine);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_header_validation),
		T(test_probe),
		T(test_get_set_round_trip),
		T(test_add_feature_errors),
		T(test_low_power),
		T(test_request_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
