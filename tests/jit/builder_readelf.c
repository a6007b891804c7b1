/*
 * Helper of tests/scripts/cfi_builder.sh: the CFI builder's output for the
 * procedures of tests/unit/test_cfi_builder.c (included, so both build the
 * very same procedures).
 *
 *   builder_readelf asm OUT.s   the bytes as an .eh_frame section in
 *                               assembly (.eh_frame at address 0, code at
 *                               0x1000: pc-relative values are plain numbers)
 *   builder_readelf libgcc      the bytes built for their real address,
 *                               registered with libgcc's __register_frame,
 *                               looked up with _Unwind_Find_FDE
 * Prints "N passed, N failed" (libgcc) and exits nonzero on failure.
 */
#define main cfi_builder_unit_main
int cfi_builder_unit_main(int argc, char **argv);
#include "../unit/test_cfi_builder.c"
#undef main

extern void __register_frame(void *);
extern void __deregister_frame(void *);
struct dwarf_eh_bases {
	void *tbase, *dbase, *func;
};
extern const void *_Unwind_Find_FDE(void *, struct dwarf_eh_bases *);

static int write_asm(const char *path)
{
	static uint8_t buf[4096];
	sw_cfi_builder_t b;
	g_personality = 0x401000;
	sw_cfi_b_init(&b, buf, sizeof buf, 0, SW_CFI_B_PCREL4);
	int size = build_all(&b, 0x1000);
	if (size < 0) {
		fprintf(stderr, "builder: %s\n", sw_strerror(size));
		return 1;
	}
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return 1;
	}
	fprintf(f, "\t.section .eh_frame,\"a\",@unwind\n");
	for (int i = 0; i < size; i++)
		fprintf(f, "%s0x%02x%s", i % 16 ? ", " : "\t.byte ", buf[i],
			i % 16 == 15 || i == size - 1 ? "\n" : "");
	fprintf(f, "\t.section .note.GNU-stack,\"\",@progbits\n");
	return fclose(f) ? 1 : 0;
}

static __attribute__((aligned(16))) uint8_t code[0x400];
static __attribute__((aligned(8))) uint8_t eh[4096];

static int libgcc(void)
{
	static const struct { unsigned off, size; } procs[] = {
		{ P1, P1_SIZE }, { P2, P2_SIZE }, { P3, P3_SIZE },
		{ P4, P4_SIZE }, { P5, P5_SIZE }, { P6, P6_SIZE },
	};
	int pass = 0, fail = 0;
	sw_cfi_builder_t b;
	g_personality = (uint64_t)(uintptr_t)&libgcc;
	sw_cfi_b_init(&b, eh, sizeof eh, (uint64_t)(uintptr_t)eh, SW_CFI_B_PCREL4);
	int size = build_all(&b, (uint64_t)(uintptr_t)code);
	if (size < 0) {
		printf("FAIL builder: %s\n", sw_strerror(size));
		printf("0 passed, 1 failed\n");
		return 1;
	}
	__register_frame(eh);
	for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) {
		uint8_t *start = code + procs[i].off;
		const unsigned offs[] = { 0, procs[i].size / 2, procs[i].size - 1 };
		for (int k = 0; k < 3; k++) {
			struct dwarf_eh_bases bases = { 0, 0, 0 };
			const void *fde = _Unwind_Find_FDE(start + offs[k], &bases);
			if (fde && bases.func == start &&
			    (const uint8_t *)fde >= eh && (const uint8_t *)fde < eh + size) {
				pass++;
			} else {
				fail++;
				printf("FAIL proc %zu +%u: fde %p func %p, expected %p\n", i,
				       offs[k], fde, bases.func, (void *)start);
			}
		}
	}
	/* Between procedures (P3 ends at 0x30a, P4 starts at 0x320). */
	struct dwarf_eh_bases bases;
	if (_Unwind_Find_FDE(code + P3 + P3_SIZE + 4, &bases) == NULL) {
		pass++;
	} else {
		fail++;
		printf("FAIL an FDE found between procedures\n");
	}
	__deregister_frame(eh);
	if (_Unwind_Find_FDE(code + P1, &bases) == NULL) {
		pass++;
	} else {
		fail++;
		printf("FAIL FDE still found after __deregister_frame\n");
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "asm") == 0)
		return write_asm(argv[2]);
	if (argc == 2 && strcmp(argv[1], "libgcc") == 0)
		return libgcc();
	fprintf(stderr, "usage: builder_readelf asm OUT.s | libgcc\n");
	return 2;
}
