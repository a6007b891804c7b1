/* The positive control: a program that registers JIT code links the
 * registry. */
#include <stackwalk.h>
#include <stackwalk/jit.h>
#include <stdio.h>

int main(void)
{
	static const unsigned char code[64];
	struct sw_jit_proc p = { 0 };
	sw_jit_handle_t h;
	int rc;

	p.start = sw_jit_addr(code);
	p.end = p.start + sizeof(code);
	p.name = "jit_user_proc";
	p.kind = SW_JIT_UNWIND_FRAME;
	rc = sw_jit_add_procs(&p, 1, &h);
	printf("jit_user: sw_jit_add_procs: %s\n", sw_strerror(rc));
	return rc == 0 && sw_jit_remove(h) == 0 ? 0 : 1;
}
