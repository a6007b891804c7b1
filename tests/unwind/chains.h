/*
 * The call-chain corpus shared by sync.c and async.c (chains.c), its shared
 * library (chain_so.c, linked: calls through the PLT) and the library the
 * programs dlopen (chain_dl.c).
 *
 * Every chain ends in chain_point(id), which the program defines: sync.c
 * compares unwinders there, async.c just burns a little time.
 */
#ifndef SW_UNWIND_CHAINS_H
#define SW_UNWIND_CHAINS_H

enum chain_id {
	CH_RECURSE,     /* recursion, depth 200 */
	CH_ALLOCA,      /* alloca'd frame */
	CH_VLA,         /* variable-length array */
	CH_REALIGN,     /* _Alignas(64) locals: stack realignment */
	CH_TAIL,        /* tail calls */
	CH_NORETURN,    /* noreturn call (the call is a function's last instruction), longjmp out */
	CH_FNPTR,       /* calls through function pointers */
	CH_SO,          /* PLT into chain_so's recursion, which calls back */
	CH_QSORT,       /* libc's qsort calling our comparator */
	CH_PRESSURE,    /* every callee-saved register live across the call */
	CH_MIXED,       /* VLA -> realign -> alloca -> fnptr -> tail -> recursion -> .so */
	CH_DL,          /* the dlopen'ed library's recursion, which calls back */
	CH_VDSO,        /* clock_gettime in a loop: time spent in the vDSO */
	CH_SYSCALL,     /* getppid in a loop: signals arrive on system-call exits */
	CH_SIGNAL,      /* raise(SIGUSR2): the point runs in a signal handler */
	CH_COUNT
};

extern const char *const chain_names[CH_COUNT];

/* Defined by the program: the synchronous point at the end of every chain. */
void chain_point(int id);

/* Install the SIGUSR2 handler CH_SIGNAL needs (once, from main). */
void chains_init(void);

/* Run chain `id` (CH_DL needs chain_dl_path set). Returns a value to sink. */
int chain_run(int id);

/* Run every chain once. */
int chain_run_all(void);

/* The library CH_DL dlopens (RTLD_LAZY), calls, and dlcloses. */
extern __thread const char *chain_dl_path;   /* per thread */
extern __thread void *volatile chain_dl_last_entry;   /* dl_entry's address at the last CH_DL */

/* Entry points of the libraries: so_recurse in chain_so (linked),
 * dl_entry in chain_dl (dlopened; looked up with dlsym). */
int so_recurse(int n, int (*cb)(int), int id);
typedef int (*dl_entry_fn)(int n, int (*cb)(int), int id);

/* The callback the libraries call: chain_point(id), then returns id. */
int chain_cb(int id);

#endif
