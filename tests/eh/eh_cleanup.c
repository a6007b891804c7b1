/*
 * C with -fexceptions (tests/scripts/eh.sh): __attribute__((cleanup)) and
 * pthread_cleanup_push run by forced unwinding, through
 * __gcc_personality_v0:
 *   - pthread_cancel (at pthread_testcancel) and pthread_exit: glibc's
 *     libgcc_s drives the unwind, the preloaded unwinder answers the
 *     personality's _Unwind_Get* and the landing pads' _Unwind_Resume;
 *   - _Unwind_ForcedUnwind called directly (the unwinder under test drives
 *     it) with a stop function that counts frames; the outermost cleanup
 *     longjmps out, as in GCC's own cleanup tests;
 *   - _Unwind_Backtrace from inside a cleanup.
 * Prints the order in which cleanups ran.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <unwind.h>

#define NOINLINE __attribute__((noinline))

static int failures;
static void check(int cond, const char *what)
{
	printf("%s %s\n", cond ? "ok" : "FAIL", what);
	failures += !cond;
	fflush(stdout);
}

static char order[256];
static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static void note(const char *s)
{
	pthread_mutex_lock(&order_lock);
	strncat(order, s, sizeof order - strlen(order) - 1);
	pthread_mutex_unlock(&order_lock);
}

static void cleanup_int(int *p)
{
	char b[16];
	snprintf(b, sizeof b, "c%d ", *p);
	note(b);
}
static void handler(void *arg)
{
	note((const char *)arg);
}

static volatile int ready;
static int use_exit;

NOINLINE static void inner(void)
{
	int x __attribute__((cleanup(cleanup_int))) = 3;
	ready = 1;
	if (use_exit)
		pthread_exit((void *)7);
	for (;;) {
		pthread_testcancel();
		usleep(100);
	}
	(void)x;
}

NOINLINE static void middle(void)
{
	int x __attribute__((cleanup(cleanup_int))) = 2;
	pthread_cleanup_push(handler, "h2 ");
	inner();
	pthread_cleanup_pop(0);
	(void)x;
}

static void *thread_main(void *arg)
{
	(void)arg;
	int x __attribute__((cleanup(cleanup_int))) = 1;
	pthread_cleanup_push(handler, "h1 ");
	middle();
	pthread_cleanup_pop(0);
	(void)x;
	return NULL;
}

static void threads(int exit_mode, const char *name)
{
	order[0] = 0;
	ready = 0;
	use_exit = exit_mode;
	pthread_t t;
	pthread_create(&t, NULL, thread_main, NULL);
	if (!exit_mode) {
		while (!ready)
			usleep(100);
		pthread_cancel(t);
	}
	void *ret;
	pthread_join(t, &ret);
	printf("%s: %s\n", name, order);
	check(strcmp(order, "c3 h2 c2 h1 c1 ") == 0 &&
	      ret == (exit_mode ? (void *)7 : PTHREAD_CANCELED), name);
}

/* ---- _Unwind_ForcedUnwind called directly */

static jmp_buf env;
static int stop_calls, stop_end;
static struct _Unwind_Exception exc;

static _Unwind_Reason_Code stop_fn(int version, _Unwind_Action actions, _Unwind_Exception_Class cls,
				   struct _Unwind_Exception *e, struct _Unwind_Context *ctx, void *arg)
{
	(void)version; (void)cls; (void)e; (void)ctx; (void)arg;
	stop_calls++;
	if (actions & _UA_END_OF_STACK)
		stop_end++;
	if (!(actions & _UA_FORCE_UNWIND))
		return _URC_FATAL_PHASE2_ERROR;
	return _URC_NO_REASON;
}

static int bt_frames;
static _Unwind_Reason_Code bt_cb(struct _Unwind_Context *ctx, void *arg)
{
	(void)arg;
	if (_Unwind_GetIP(ctx))
		bt_frames++;
	return _URC_NO_REASON;
}

static void exc_cleanup(_Unwind_Reason_Code r, struct _Unwind_Exception *e)
{
	(void)r; (void)e;
}

static void last_cleanup(int *p)
{
	cleanup_int(p);
	bt_frames = 0;
	_Unwind_Backtrace(bt_cb, NULL);
	note(bt_frames > 3 ? "bt " : "bt-short ");
	longjmp(env, 1);   /* leave the forced unwind here */
}

NOINLINE static void f3(void)
{
	int x __attribute__((cleanup(cleanup_int))) = 30;
	memset(&exc, 0, sizeof exc);
	exc.exception_class = 0x5357454843000000ull;   /* "SWEHC\0\0\0" */
	exc.exception_cleanup = exc_cleanup;
	_Unwind_Reason_Code r = _Unwind_ForcedUnwind(&exc, stop_fn, NULL);
	printf("_Unwind_ForcedUnwind returned %d (wrong)\n", (int)r);
	(void)x;
}
NOINLINE static void f2(void)
{
	int x __attribute__((cleanup(cleanup_int))) = 20;
	f3();
	(void)x;
}
NOINLINE static void f1(void)
{
	int x __attribute__((cleanup(last_cleanup))) = 10;
	f2();
	(void)x;
}

static void direct(void)
{
	order[0] = 0;
	stop_calls = stop_end = 0;
	if (setjmp(env) == 0) {
		f1();
		note("returned ");
	}
	printf("_Unwind_ForcedUnwind: %s\n", order);
	/* the stop function is called once per frame before its personality:
	 * f3, f2, f1 at least (the landing pads resume with _Unwind_Resume) */
	check(strcmp(order, "c30 c20 c10 bt ") == 0 && stop_calls >= 3 && stop_end == 0,
	      "_Unwind_ForcedUnwind with cleanups");
}

int main(void)
{
	const char *syms[] = { "_Unwind_ForcedUnwind", "__gcc_personality_v0", "_Unwind_Resume" };
	for (int i = 0; i < 3; i++) {
		Dl_info di;
		void *p = dlsym(RTLD_DEFAULT, syms[i]);
		fprintf(stderr, "eh: unwinder %s %s\n", syms[i],
			p && dladdr(p, &di) && di.dli_fname ? di.dli_fname : "not found");
	}
	int rounds = 5;
	for (int i = 0; i < rounds; i++) {
		threads(0, "pthread_cancel");
		threads(1, "pthread_exit");
		direct();
	}
	printf("eh_cleanup: %s\n", failures ? "FAILED" : "done");
	return failures != 0;
}
