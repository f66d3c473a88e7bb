/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * SR-IOV over vfio-user against `uvfio-serve sriov` (and `testdev` for a
 * device without SR-IOV), over real sockets: the PF's client sets the VF
 * token with DEVICE_FEATURE and enables VFs through the SR-IOV
 * capability; VFs appear on "<PF socket>.vf<N>" and open only with the
 * token, which the client presents in VERSION.  The token rules are the
 * kernel's (vfio_pci_validate_vf_token, vfio_pci_core_feature_token).
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <uvfio/client.h>
#include "devices/models.h"
#include "testutil.h"

#define CFG  VFIO_PCI_CONFIG_REGION_INDEX
#define BAR0 VFIO_PCI_BAR0_REGION_INDEX
#define TOKEN 0u   /* VFIO_DEVICE_FEATURE_PCI_VF_TOKEN */
#define G VFIO_DEVICE_FEATURE_GET
#define S VFIO_DEVICE_FEATURE_SET
#define P VFIO_DEVICE_FEATURE_PROBE

static struct served g_pf;
static const char *const T1 = "5b0fd3a6-3c1e-4f0b-9d2a-7e6c1b8a4f10";
static const char *const T2 = "0c9e8d7f-6a5b-4c3d-8e2f-1a0b9c8d7e6f";

static int group_setup(void **state)
{
	(void)state;
	return served_start(&g_pf, "sriov", NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	return served_stop_checked(&g_pf);
}

static void vf_path(unsigned n, char *buf, size_t len)
{
	snprintf(buf, len, "%s.vf%u", g_pf.path, n);
}

static bool vf_exists(unsigned n)
{
	char p[160];
	struct stat st;
	vf_path(n, p, sizeof(p));
	return stat(p, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Open @path with @token (NULL: none); the result of the open. */
static int try_open(const char *path, const char *token,
		    struct uvfio_device **d)
{
	struct uvfio_open_opts o = test_open_opts();
	if (token) {
		o.vf_token_set = true;
		assert_int_equal(uvfio_uuid_parse(token, o.vf_token), 0);
	}
	*d = NULL;
	return uvfio_device_open(path, &o, d);
}

static struct uvfio_device *open_ok(const char *path, const char *token)
{
	struct uvfio_device *d;
	assert_int_equal(try_open(path, token, &d), 0);
	assert_non_null(d);
	return d;
}

static struct uvfio_device *open_vf(unsigned n, const char *token)
{
	char p[160];
	vf_path(n, p, sizeof(p));
	return open_ok(p, token);
}

static int open_vf_err(unsigned n, const char *token)
{
	char p[160];
	struct uvfio_device *d;
	vf_path(n, p, sizeof(p));
	int r = try_open(p, token, &d);
	if (r == 0)
		uvfio_device_close(d);
	return r;
}

static int set_token(struct uvfio_device *d, const char *token)
{
	uint8_t u[16];
	assert_int_equal(uvfio_uuid_parse(token, u), 0);
	return uvfio_device_feature(d, S | TOKEN, u, sizeof(u));
}

/* The SR-IOV capability's offset, walking the extended chain. */
static unsigned sriov_cap(struct uvfio_device *d)
{
	unsigned off = 0x100;
	for (int i = 0; i < 64 && off >= 0x100; i++) {
		uint32_t h = 0;
		assert_int_equal(uvfio_region_read32(d, CFG, off, &h), 0);
		if (PCI_EXT_CAP_ID(h) == PCI_EXT_CAP_ID_SRIOV)
			return off;
		off = PCI_EXT_CAP_NEXT(h);
	}
	fail_msg("no SR-IOV capability");
	return 0;
}

static uint16_t cfg16(struct uvfio_device *d, unsigned off)
{
	uint16_t v = 0xdead;
	assert_int_equal(uvfio_region_read16(d, CFG, off, &v), 0);
	return v;
}

static void cfg_w16(struct uvfio_device *d, unsigned off, uint16_t v)
{
	assert_int_equal(uvfio_region_write16(d, CFG, off, v), 0);
}

/* Program NumVFs and VF Enable as the host would. */
static void enable_vfs(struct uvfio_device *pf, uint16_t n)
{
	unsigned cap = sriov_cap(pf);
	cfg_w16(pf, cap + PCI_SRIOV_NUM_VF, n);
	cfg_w16(pf, cap + PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE);
}

static void disable_vfs(struct uvfio_device *pf)
{
	cfg_w16(pf, sriov_cap(pf) + PCI_SRIOV_CTRL, 0);
}

static uint32_t bar0(struct uvfio_device *d, unsigned reg)
{
	uint32_t v = 0xdeadbeef;
	assert_int_equal(uvfio_region_read32(d, BAR0, reg, &v), 0);
	return v;
}

/* ---- tests ---- */

static void test_token_feature_header(void **state)
{
	(void)state;
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	uint8_t buf[20];
	memset(buf, 0x11, sizeof(buf));
	/* SET only, as vfio_pci_core_feature_token says. */
	assert_int_equal(uvfio_device_feature(pf, P | S | TOKEN, NULL, 0), 0);
	assert_int_equal(uvfio_device_feature(pf, P | G | TOKEN, NULL, 0),
			 -EINVAL);
	assert_int_equal(uvfio_device_feature(pf, G | TOKEN, buf, 16), -EINVAL);
	/* argsz must cover the 16-byte UUID; more is fine. */
	assert_int_equal(uvfio_device_feature(pf, S | TOKEN, buf, 8), -EINVAL);
	assert_int_equal(uvfio_device_feature(pf, S | TOKEN, buf, 0), -EINVAL);
	assert_int_equal(uvfio_device_feature(pf, S | TOKEN, buf, 20), 0);
	assert_int_equal(set_token(pf, T1), 0);
	/* Still usable, and nothing enabled by the feature. */
	assert_int_equal(bar0(pf, SRIOV_REG_ID), SRIOV_PF_ID_VALUE);
	assert_false(vf_exists(0));
	uvfio_device_close(pf);
}

static void test_enable_and_open_vf(void **state)
{
	(void)state;
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	assert_int_equal(set_token(pf, T1), 0);
	unsigned cap = sriov_cap(pf);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_TOTAL_VF), SRIOV_TOTAL_VFS);
	assert_false(vf_exists(0));
	enable_vfs(pf, 2);
	assert_true(cfg16(pf, cap + PCI_SRIOV_CTRL) & PCI_SRIOV_CTRL_VFE);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 2);
	assert_true(vf_exists(0));
	assert_true(vf_exists(1));
	assert_false(vf_exists(2));
	uvfio_device_close(pf);

	/* Both VFs work, each its own function. */
	for (unsigned n = 0; n < 2; n++) {
		struct uvfio_device *vf = open_vf(n, T1);
		assert_int_equal(bar0(vf, SRIOV_REG_ID), SRIOV_VF_ID_VALUE);
		assert_int_equal(bar0(vf, SRIOV_REG_INDEX), n);
		assert_int_equal(uvfio_region_write32(vf, BAR0, SRIOV_REG_SCRATCH,
						      0xc0de0000 + n), 0);
		assert_int_equal(bar0(vf, SRIOV_REG_SCRATCH), 0xc0de0000 + n);
		/* The PF's vendor, the VF Device ID, no INTx. */
		assert_int_equal(cfg16(vf, PCI_VENDOR_ID), SRIOV_VENDOR);
		assert_int_equal(cfg16(vf, PCI_DEVICE_ID), SRIOV_VF_DEVICE);
		uint8_t pin = 0xff;
		assert_int_equal(uvfio_region_read8(vf, CFG, PCI_INTERRUPT_PIN,
						    &pin), 0);
		assert_int_equal(pin, 0);
		struct uvfio_irq_info ii;
		assert_int_equal(uvfio_irq_get_info(vf, VFIO_PCI_INTX_IRQ_INDEX,
						    &ii), 0);
		assert_int_equal(ii.count, 0);
		/* A VF has no VF token feature of its own. */
		assert_int_equal(uvfio_device_feature(vf, P | S | TOKEN, NULL, 0),
				 -ENOTTY);
		uvfio_device_close(vf);
	}
	/* The scratch registers kept what each VF's client wrote. */
	struct uvfio_device *vf = open_vf(1, T1);
	assert_int_equal(bar0(vf, SRIOV_REG_SCRATCH), 0xc0de0001);
	uvfio_device_close(vf);

	pf = open_ok(g_pf.path, NULL);
	disable_vfs(pf);
	assert_false(vf_exists(0));
	assert_false(vf_exists(1));
	uvfio_device_close(pf);
}

static void test_vf_token_refused(void **state)
{
	(void)state;
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	assert_int_equal(set_token(pf, T1), 0);
	enable_vfs(pf, 1);
	uvfio_device_close(pf);

	assert_int_equal(open_vf_err(0, T2), -EACCES);
	assert_int_equal(open_vf_err(0, NULL), -EACCES);
	/* The VF's server goes on serving. */
	struct uvfio_device *vf = open_vf(0, T1);
	assert_int_equal(bar0(vf, SRIOV_REG_ID), SRIOV_VF_ID_VALUE);
	uvfio_device_close(vf);

	pf = open_ok(g_pf.path, NULL);
	disable_vfs(pf);
	uvfio_device_close(pf);
}

/* VERSION by hand: what the client library cannot send. */
static uint32_t raw_version(const char *path, const char *json)
{
	int fd = raw_connect(path);
	assert_true(fd >= 0);
	size_t jlen = strlen(json) + 1;
	uint8_t msg[512];
	assert_true(20 + jlen <= sizeof(msg));
	memset(msg, 0, sizeof(msg));
	uint32_t size = (uint32_t)(20 + jlen);
	msg[0] = 7;                      /* msg_id */
	msg[2] = 1;                      /* VFIO_USER_VERSION */
	memcpy(msg + 4, &size, 4);       /* little-endian host */
	msg[16] = 0;                     /* major 0 */
	msg[18] = 1;                     /* minor 1 */
	memcpy(msg + 20, json, jlen);
	assert_int_equal(write(fd, msg, size), (ssize_t)size);
	uint8_t hdr[16];
	size_t got = 0;
	while (got < sizeof(hdr)) {
		ssize_t n = read(fd, hdr + got, sizeof(hdr) - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	uint32_t flags, err;
	memcpy(&flags, hdr + 8, 4);
	memcpy(&err, hdr + 12, 4);
	/* An error reply, then the server hangs up. */
	uint32_t r = (flags & 0x20) ? err : 0;
	if (r) {
		uint8_t b;
		assert_int_equal(read(fd, &b, 1), 0);
	}
	close(fd);
	return r;
}

static void test_vf_token_malformed(void **state)
{
	(void)state;
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	assert_int_equal(set_token(pf, T1), 0);
	enable_vfs(pf, 1);
	uvfio_device_close(pf);

	char p[160];
	vf_path(0, p, sizeof(p));
	static const char *const bad[] = {
		"{\"capabilities\":{\"vf_token\":\"not-a-uuid\"}}",
		"{\"capabilities\":{\"vf_token\":\"5b0fd3a6-3c1e-4f0b-9d2a-7e6c1b8a4f1\"}}",
		"{\"capabilities\":{\"vf_token\":\"5b0fd3a6-3c1e-4f0b-9d2a-7e6c1b8a4f10x\"}}",
		"{\"capabilities\":{\"vf_token\":\"5b0fd3a6-3c1e-4f0b-9d2a-7e6c1b8a4f10\\u0000\"}}",
		"{\"capabilities\":{\"vf_token\":42}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(raw_version(p, bad[i]), EINVAL);
	assert_int_equal(raw_version(p, "{\"capabilities\":{}}"), EACCES);
	/* Upper case is a UUID too. */
	assert_int_equal(raw_version(p,
		"{\"capabilities\":{\"vf_token\":\"5B0FD3A6-3C1E-4F0B-9D2A-7E6C1B8A4F10\"}}"),
		0);
	struct uvfio_device *vf = open_vf(0, T1);
	uvfio_device_close(vf);

	pf = open_ok(g_pf.path, NULL);
	disable_vfs(pf);
	uvfio_device_close(pf);
}

/* vfio_pci_validate_vf_token, on the PF's side. */
static void test_pf_token_rules(void **state)
{
	(void)state;
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	assert_int_equal(set_token(pf, T1), 0);
	enable_vfs(pf, 2);
	uvfio_device_close(pf);

	/* No VF in use: a token given to the PF becomes the token. */
	pf = open_ok(g_pf.path, T2);
	uvfio_device_close(pf);
	assert_int_equal(open_vf_err(0, T1), -EACCES);

	struct uvfio_device *vf = open_vf(0, T2);
	/* A VF in use: the PF needs the token. */
	struct uvfio_device *d;
	assert_int_equal(try_open(g_pf.path, NULL, &d), -EACCES);
	assert_int_equal(try_open(g_pf.path, T1, &d), -EACCES);
	pf = open_ok(g_pf.path, T2);
	assert_int_equal(bar0(pf, SRIOV_REG_ID), SRIOV_PF_ID_VALUE);
	uvfio_device_close(pf);
	uvfio_device_close(vf);

	/* The VF closed: no token needed any more. */
	pf = open_ok(g_pf.path, NULL);
	disable_vfs(pf);
	uvfio_device_close(pf);
}

static void test_non_sriov_refuses_token(void **state)
{
	(void)state;
	struct served td;
	assert_int_equal(served_start(&td, "testdev", NULL), 0);
	struct uvfio_device *d;
	assert_int_equal(try_open(td.path, T1, &d), -EINVAL);
	/* No VF token feature either. */
	d = open_ok(td.path, NULL);
	assert_int_equal(uvfio_device_feature(d, P | S | TOKEN, NULL, 0),
			 -ENOTTY);
	uvfio_device_close(d);
	assert_int_equal(served_stop_checked(&td), 0);
}

/* The server's fd count once it has caught up with closed clients. */
static int server_fds_settle(int want)
{
	int n = -1;
	for (int i = 0; i < 200; i++) {
		n = count_process_fds(g_pf.pid);
		if (n == want)
			break;
		usleep(5000);
	}
	return n;
}

static void test_disable_drops_vf_clients(void **state)
{
	(void)state;
	int idle = count_process_fds(g_pf.pid);
	assert_true(idle > 0);
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	assert_int_equal(set_token(pf, T1), 0);
	enable_vfs(pf, SRIOV_TOTAL_VFS);
	uvfio_device_close(pf);
	for (unsigned n = 0; n < SRIOV_TOTAL_VFS; n++)
		assert_true(vf_exists(n));

	struct uvfio_device *vf = open_vf(3, T1);
	assert_int_equal(bar0(vf, SRIOV_REG_INDEX), 3);
	pf = open_ok(g_pf.path, T1);
	disable_vfs(pf);
	assert_false(cfg16(pf, sriov_cap(pf) + PCI_SRIOV_CTRL) &
		     PCI_SRIOV_CTRL_VFE);
	for (unsigned n = 0; n < SRIOV_TOTAL_VFS; n++)
		assert_false(vf_exists(n));
	uvfio_device_close(pf);
	/* The VF's client was disconnected. */
	uint32_t v;
	assert_true(uvfio_region_read32(vf, BAR0, SRIOV_REG_ID, &v) < 0);
	uvfio_device_close(vf);
	assert_true(served_alive(&g_pf));

	/* Enabling again makes fresh VFs. */
	pf = open_ok(g_pf.path, NULL);
	enable_vfs(pf, 1);
	uvfio_device_close(pf);
	vf = open_vf(0, T1);
	assert_int_equal(bar0(vf, SRIOV_REG_SCRATCH), 0);
	uvfio_device_close(vf);
	pf = open_ok(g_pf.path, NULL);
	disable_vfs(pf);
	uvfio_device_close(pf);
	/* Every VF server's fds went with it. */
	assert_int_equal(server_fds_settle(idle), idle);
}

/* A function level reset of the PF clears VF Enable: the VFs go. */
static void test_pf_flr_removes_vfs(void **state)
{
	(void)state;
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	assert_int_equal(set_token(pf, T1), 0);
	enable_vfs(pf, 2);
	assert_true(vf_exists(1));
	uint8_t pos = 0;
	assert_int_equal(uvfio_region_read8(pf, CFG, PCI_CAPABILITY_LIST, &pos), 0);
	for (int i = 0; i < 48 && pos; i++) {
		uint8_t id = 0;
		assert_int_equal(uvfio_region_read8(pf, CFG, pos, &id), 0);
		if (id == PCI_CAP_ID_EXP)
			break;
		assert_int_equal(uvfio_region_read8(pf, CFG, pos + 1u, &pos), 0);
	}
	assert_true(pos != 0);
	cfg_w16(pf, pos + PCI_EXP_DEVCTL, PCI_EXP_DEVCTL_BCR_FLR);
	assert_false(vf_exists(0));
	assert_false(vf_exists(1));
	unsigned cap = sriov_cap(pf);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_CTRL), 0);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 0);
	uvfio_device_close(pf);
}

/* NumVFs past TotalVFs, or changed while VF Enable is set: ignored. */
static void test_numvfs_rules(void **state)
{
	(void)state;
	struct uvfio_device *pf = open_ok(g_pf.path, NULL);
	unsigned cap = sriov_cap(pf);
	cfg_w16(pf, cap + PCI_SRIOV_NUM_VF, 2);
	cfg_w16(pf, cap + PCI_SRIOV_NUM_VF, SRIOV_TOTAL_VFS + 1);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 2);
	/* A dword write reaches NumVFs too. */
	assert_int_equal(uvfio_region_write32(pf, CFG, cap + PCI_SRIOV_NUM_VF,
					      0xffff), 0);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 2);
	/* Byte by byte: the high byte would make 0x102, the low one is 3. */
	assert_int_equal(uvfio_region_write8(pf, CFG, cap + PCI_SRIOV_NUM_VF + 1,
					     1), 0);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 2);
	assert_int_equal(uvfio_region_write8(pf, CFG, cap + PCI_SRIOV_NUM_VF,
					     3), 0);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 3);
	cfg_w16(pf, cap + PCI_SRIOV_NUM_VF, 2);
	cfg_w16(pf, cap + PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE);
	assert_true(vf_exists(1));
	cfg_w16(pf, cap + PCI_SRIOV_NUM_VF, 1);
	cfg_w16(pf, cap + PCI_SRIOV_NUM_VF, 4);
	assert_int_equal(uvfio_region_write8(pf, CFG, cap + PCI_SRIOV_NUM_VF,
					     1), 0);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 2);
	assert_true(vf_exists(1));
	assert_false(vf_exists(2));
	/* Setting VF Enable again changes nothing. */
	cfg_w16(pf, cap + PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE);
	assert_true(vf_exists(0));
	assert_true(vf_exists(1));
	/* Cleared, NumVFs is writable again; 0 VFs enabled is no VF. */
	cfg_w16(pf, cap + PCI_SRIOV_CTRL, 0);
	cfg_w16(pf, cap + PCI_SRIOV_NUM_VF, 0);
	assert_int_equal(cfg16(pf, cap + PCI_SRIOV_NUM_VF), 0);
	cfg_w16(pf, cap + PCI_SRIOV_CTRL, PCI_SRIOV_CTRL_VFE);
	assert_false(vf_exists(0));
	cfg_w16(pf, cap + PCI_SRIOV_CTRL, 0);
	uvfio_device_close(pf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_feature_header),
		cmocka_unit_test(test_enable_and_open_vf),
		cmocka_unit_test(test_vf_token_refused),
		cmocka_unit_test(test_vf_token_malformed),
		cmocka_unit_test(test_pf_token_rules),
		cmocka_unit_test(test_non_sriov_refuses_token),
		cmocka_unit_test(test_disable_drops_vf_clients),
		cmocka_unit_test(test_numvfs_rules),
		cmocka_unit_test(test_pf_flr_removes_vfs),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
