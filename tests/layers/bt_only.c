/* A program that only takes backtraces: links no JIT registry object. */
#include <stackwalk.h>
#include <stdio.h>

int main(void)
{
	void *pcs[64];
	int n = sw_backtrace(pcs, 64);

	printf("bt_only: %d frames\n", n);
	return n > 1 ? 0 : 1;
}
