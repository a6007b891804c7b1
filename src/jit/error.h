/*
 * The reason behind a failed JIT call (sw_jit_last_error in
 * <stackwalk/jit.h>): one fixed per-thread buffer, written by the failure
 * points of src/jit with a printf-like formatter of our own (no snprintf,
 * no allocation, no locks: the CFI builder and the converters run inside
 * signal handlers).
 *
 * Conventions, so a caller reads "where: what":
 *   - a failure point records the field and the value:
 *         return sw_jit_fail(SW_EINVAL, "u.frame.frame_size: %u is above INT32_MAX", fs);
 *   - each layer that knows more wraps it on the way out:
 *         return sw_jit_err_ctx(rc, mark, "procs[%zu].", i);
 *     prefixes the reason recorded since `mark` (or, when the failure
 *     point recorded none, writes the prefix and sw_strerror(rc));
 *   - every public entry point ends with sw_jit_err_ctx(rc, mark, "NAME: ").
 * Every SW_EINVAL in src/jit is the first argument of sw_jit_fail (or the
 * builder's bfail): tests/scripts/jit_reasons.sh checks it.
 */
#ifndef SW_JIT_ERROR_H
#define SW_JIT_ERROR_H

#include <stdint.h>

/* Bytes of the reason, NUL included (longer reasons are cut). */
#define SW_JIT_ERR_SIZE 256

/* Record the reason (replacing the thread's) and return `code`. */
int sw_jit_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The thread's failure count, to tell whether a reason was recorded
 * since (see sw_jit_err_ctx). */
uint32_t sw_jit_err_mark(void);

/* rc >= 0: returns rc.  Otherwise puts the formatted prefix before the
 * reason recorded since `mark`, or records prefix + sw_strerror(rc) when
 * none was (a trailing '.' of the prefix then becomes ": "); returns rc. */
int sw_jit_err_ctx(int rc, uint32_t mark, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* While muted (a counter: calls nest, also from signal handlers) nothing
 * is recorded: the unwinder's own use of the converters must not replace
 * the reason of a call the thread (or the code it interrupted) made. */
void sw_jit_err_mute(int delta);

#endif /* SW_JIT_ERROR_H */
