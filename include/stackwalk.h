/*
 * stackwalk — native stack unwinding for Linux.
 *
 * Public API.  Every function documents what it returns, whether it is
 * thread-safe and whether it is async-signal-safe.
 *
 * Conventions:
 *   - Functions that can fail return an `int`: 0 (or a positive count) on
 *     success, a negative `SW_E*` constant on failure.  No errno games.
 *   - "End of stack" is not an error: stepping APIs report it apart
 *     (SW_END_OF_STACK is a positive value).
 */
#ifndef STACKWALK_H
#define STACKWALK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SW_VERSION_MAJOR 0
#define SW_VERSION_MINOR 1

/* Result codes.  All errors are negative; keep sw_strerror() in sync. */
enum sw_status {
	SW_OK = 0,
	SW_END_OF_STACK = 1,    /* not an error: the walk reached the outermost frame */

	SW_ETRUNCATED = -1,     /* read past the end of the data (section, entry, expression) */
	SW_ELEB128 = -2,        /* LEB128 value does not fit in 64 bits */
	SW_EENCODING = -3,      /* unsupported or malformed pointer encoding (DW_EH_PE_*) */
	SW_EBADCIE = -4,        /* FDE's CIE pointer does not point at a CIE */
	SW_EVERSION = -5,       /* unsupported CIE version */
	SW_EAUGMENTATION = -6,  /* unknown augmentation string character */
	SW_ELENGTH = -7,        /* entry length runs past the end of the section */
	SW_EBADOP = -8,         /* unknown or invalid DW_CFA_* / DW_OP_* opcode */
	SW_EBADREG = -9,        /* register number out of range */
	SW_ESTACKOVERFLOW = -10,  /* DWARF expression stack overflow */
	SW_ESTACKUNDERFLOW = -11, /* DWARF expression stack underflow */
	SW_ESTEPLIMIT = -12,    /* DWARF expression ran too many steps (loop?) */
	SW_EREMEMBER = -13,     /* DW_CFA_remember_state nested too deeply */
	SW_ERESTORE = -14,      /* DW_CFA_restore_state without remember_state */
	SW_ERANGE = -15,        /* FDE address range wraps around or is empty */
	SW_ENOTFOUND = -16,     /* no unwind information covers the address */
	SW_ENOTELF = -17,       /* not an ELF file */
	SW_EBADELF = -18,       /* malformed ELF (headers, section table, strings) */
	SW_EMEMORY = -19,       /* a memory or register read through a callback failed */
	SW_EDIVZERO = -20,      /* DWARF expression divides by zero */
	SW_EIO = -21,           /* I/O error opening or mapping a file */
	SW_ENOMEM = -22,        /* out of memory (never on the unwind path) */
	SW_EINVAL = -23,        /* invalid argument */
	SW_EUNSUPPORTED = -24,  /* valid but unsupported input (e.g. a 32-bit ELF) */
	SW_EBADHDR = -25,       /* malformed .eh_frame_hdr */
	SW_EALIGN = -26,        /* misaligned data (DW_EH_PE_aligned) */
};

/*
 * sw_strerror - a short, static description of a status code.
 * Returns: a string that is never NULL (unknown codes get "unknown error").
 * Thread-safe: yes.  Async-signal-safe: yes.
 */
const char *sw_strerror(int status);

#ifdef __cplusplus
}
#endif

#endif /* STACKWALK_H */
