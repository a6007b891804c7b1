/*
 * local_jit: generated code registered with stackwalk's registry
 * (stackwalk/jit.h, sw_jit_add_procs) is unwound and named through the
 * libunwind API.  The generated function jit_trampoline (push rbp; mov
 * rbp, rsp; call *rdi; pop rbp; ret) calls back into the program, which
 * walks: the frame above the callback is jit_trampoline (unw_get_proc_name
 * gives its registered name and the offset of the return address,
 * unw_get_proc_info its code range) and the walk goes on to main.
 * Checked on stackwalk's library; nongnu's (the drop-in control) does not
 * know stackwalk's registry: its lines for the JIT frame start with '~'.
 */
#include "local_common.h"      /* first: _GNU_SOURCE */

#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <sys/mman.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

static const unsigned char code[] = {
	0x55,                   /* push rbp */
	0x48, 0x89, 0xe5,       /* mov rbp, rsp */
	0xff, 0xd7,             /* call *rdi */
	0x5d,                   /* pop rbp */
	0xc3,                   /* ret */
};
static const uint32_t epilogue[] = { 7 };
static uint64_t jit_start;
static int found_jit, found_main;

static void callback(void)
{
	unw_context_t uc;
	unw_cursor_t c;
	int i = 0;

	unw_getcontext(&uc);
	unw_init_local(&c, &uc);
	do {
		unw_word_t ip = 0, off = 0;
		unw_proc_info_t pi;
		char name[64];
		unw_get_reg(&c, UNW_REG_IP, &ip);
		int rn = unw_get_proc_name(&c, name, sizeof(name), &off);
		int rp = unw_get_proc_info(&c, &pi);
		if (ip - jit_start < sizeof(code)) {
			printf("~#%d jit+%#lx name %d %s+%#lx proc_info %d [jit+%#lx, jit+%#lx)\n", i,
			       (unsigned long)(ip - jit_start), rn, rn ? "?" : name, (unsigned long)off,
			       rp, rp ? 0ul : (unsigned long)(pi.start_ip - jit_start),
			       rp ? 0ul : (unsigned long)(pi.end_ip - jit_start));
			if (lu_ours()) {
				LU_CHECK(rn == 0 && !strcmp(name, "jit_trampoline") && off == 6,
					 "JIT frame name %d '%s'+%lu", rn, name, (unsigned long)off);
				LU_CHECK(rp == 0 && pi.start_ip == jit_start &&
					 pi.end_ip == jit_start + sizeof(code), "JIT proc info %d", rp);
			}
			found_jit++;
		} else if (lu_in_main(ip) && rn == 0) {
			printf("#%d %s\n", i, name);
			found_main += !strcmp(name, "main");
		}
		i++;
	} while (unw_step(&c) > 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	unsigned char *mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		printf("mmap failed\n");
		return 2;
	}
	memcpy(mem, code, sizeof(code));
	jit_start = sw_jit_addr(mem);

	struct sw_jit_proc p;
	memset(&p, 0, sizeof(p));
	p.start = jit_start;
	p.end = jit_start + sizeof(code);
	p.name = "jit_trampoline";
	p.kind = SW_JIT_UNWIND_FRAME;
	p.u.frame.flags = SW_JIT_FRAME_FP;
	p.u.frame.nepilogues = 1;
	p.u.frame.epilogues = epilogue;
	sw_jit_handle_t h;
	int rc = sw_jit_add_procs(&p, 1, &h);
	LU_CHECK(rc == 0, "sw_jit_add_procs: %d %s", rc, sw_jit_last_error());

	void (*tramp)(void (*)(void)) = (void (*)(void (*)(void)))(void *)mem;
	tramp(callback);
	LU_CHECK(found_jit == 1, "the walk saw %d JIT frames", found_jit);
	if (lu_ours())
		LU_CHECK(found_main == 1, "the walk through the JIT frame reached main: %d", found_main);
	printf("%s\n", lu_failed ? "FAILED" : "OK");
	return lu_failed;
}
