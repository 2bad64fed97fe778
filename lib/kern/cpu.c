/* cpu.c: which kernel path this CPU can run, chosen once at start-up from
 * cpuid feature bits, the OS's saved register state (xgetbv) and, for AMX,
 * the kernel's permission to use the tile data (arch_prctl). */
#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kern.h"
#include "vec.h"
#include "util.h"

#define ARCH_GET_XCOMP_PERM 0x1022
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static const char *const names[KPATH_COUNT] = {
	"portable", "avx2", "avx512", "avx512-bf16", "amx"
};

static int detected = -1;            /* best path, once known */
static int current = -1;             /* path in use */
static kern_precision precision = KERN_FP32;

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/* amx_permitted: ask Linux for the tile data state (once per process) */
static int amx_permitted(void)
{
#ifdef SYS_arch_prctl
	unsigned long bits = 0;

	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0)
		return 0;
	if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &bits) != 0)
		return 0;
	return (bits >> XFEATURE_XTILEDATA) & 1;
#else
	return 0;
#endif
}

static int detect(void)
{
	unsigned a, b, c, d, max = __get_cpuid_max(0, NULL);
	unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;

	if (max < 1 || !__get_cpuid(1, &a, &b, &c, &d))
		return KPATH_PORTABLE;
	int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, avx = (c >> 28) & 1;
	if (!osxsave || !avx)
		return KPATH_PORTABLE;
	uint64_t xcr0 = xgetbv0();
	if ((xcr0 & 0x6) != 0x6)                 /* SSE and AVX state saved */
		return KPATH_PORTABLE;
	if (max >= 7) {
		__cpuid_count(7, 0, a, b7, c7, d7);
		__cpuid_count(7, 1, a71, b, c, d);
	}
	int avx2 = (b7 >> 5) & 1;
	if (!avx2 || !fma)
		return KPATH_PORTABLE;
	int avx512 = ((b7 >> 16) & 1) && ((b7 >> 30) & 1) && ((b7 >> 31) & 1) &&
		     ((b7 >> 17) & 1);               /* F, BW, VL, DQ */
	if (!avx512 || (xcr0 & 0xe0) != 0xe0)    /* opmask, ZMM state saved */
		return KPATH_AVX2;
	int bf16 = (a71 >> 5) & 1;                /* AVX512_BF16 */
	int amx = ((d7 >> 22) & 1) && ((d7 >> 24) & 1);   /* AMX-BF16, AMX-TILE */
	/* the amx path packs with AVX512-BF16 instructions: both are needed */
	if (amx && bf16 && (xcr0 & 0x60000) == 0x60000 && amx_permitted())
		return KPATH_AMX;
	return bf16 ? KPATH_AVX512_BF16 : KPATH_AVX512;
}

/* the paths are ordered: each needs what the one below it needs */
static int can_run(kern_path p)
{
	if ((int)p < 0 || p >= KPATH_COUNT)
		return 0;
	return (int)p <= detected;
}

int kern_can_run(kern_path p)
{
	kern_init();
	return can_run(p);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
	detected = detect();
	current = detected;
	const char *env = getenv("SEGPIPE_KERNEL");
	if (env && *env) {
		int p = kern_path_parse(env);
		if (p < 0)
			die("SEGPIPE_KERNEL=%s: unknown kernel path (portable, avx2, avx512, "
			    "avx512-bf16, amx)", env);
		if (!can_run((kern_path)p))
			die("SEGPIPE_KERNEL=%s: this CPU cannot run it (best here: %s)", env,
			    names[detected]);
		current = p;
	}
}

void kern_init(void)
{
	pthread_once(&once, init_once);
}

kern_path kern_current(void)
{
	kern_init();
	return (kern_path)current;
}

kern_path kern_best(void)
{
	kern_init();
	return (kern_path)detected;
}

void kern_use(kern_path p)
{
	if (!kern_can_run(p))
		die("kernel path %s: this CPU cannot run it (best here: %s)",
		    kern_path_name(p), names[detected]);
	current = p;
}

const char *kern_path_name(kern_path p)
{
	return (int)p >= 0 && p < KPATH_COUNT ? names[p] : "?";
}

int kern_path_parse(const char *name)
{
	for (int i = 0; i < KPATH_COUNT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

void kern_set_precision(kern_precision p)
{
	precision = p;
}

kern_precision kern_default_precision(void)
{
	kern_path p = kern_current();

	return p == KPATH_AMX || p == KPATH_AVX512_BF16 ? KERN_BF16 : KERN_FP32;
}

kern_precision kern_get_precision(void)
{
	return precision;
}

const char *kern_precision_name(kern_precision p)
{
	return p == KERN_BF16 ? "bf16" : "fp32";
}

int kern_precision_parse(const char *name)
{
	if (strcmp(name, "fp32") == 0)
		return KERN_FP32;
	if (strcmp(name, "bf16") == 0)
		return KERN_BF16;
	return -1;
}

const char *kern_describe(void)
{
	static char buf[96];

	snprintf(buf, sizeof buf, "kernel %s, precision %s", kern_path_name(kern_current()),
		 kern_precision_name(precision));
	return buf;
}

const kern_vec *kvec(void)
{
	static const kern_vec *const by_path[KPATH_COUNT] = {
		&kern_vec_portable, &kern_vec_avx2, &kern_vec_avx512, &kern_vec_avx512,
		&kern_vec_avx512,
	};

	return by_path[kern_current()];
}
