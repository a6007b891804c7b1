/*
 * Error codes and register names: unw_strerror, unw_regname,
 * unw_is_fpreg, and the mapping of stackwalk's SW_E* results to
 * libunwind's negated UNW_E* codes.
 */
#include "internal.h"

int swu_error(int st)
{
	switch (st) {
	case SW_OK:
		return 0;
	case SW_ENOTFOUND:
		return -UNW_ENOINFO;
	case SW_EBADREG:
		return -UNW_EBADREG;
	case SW_EMEMORY:
	case SW_ETOODEEP:
		return -UNW_ESTOPUNWIND;
	case SW_ENOMEM:
	case SW_EFULL:
		return -UNW_ENOMEM;
	case SW_EINVAL:
	case SW_EUNSUPPORTED:
	case SW_ENONAME:
		return -UNW_EINVAL;
	case SW_EVERSION:
		return -UNW_EBADVERSION;
	case SW_EIO:
	case SW_ENOTELF:
	case SW_EBADELF:
		return -UNW_ENOINFO;
	default:
		/* malformed unwind information (SW_ETRUNCATED .. SW_ERANGE,
		 * SW_EDIVZERO, SW_EBADHDR, SW_EALIGN) */
		return st < 0 ? -UNW_EBADFRAME : 0;
	}
}

SWU_API const char *unw_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case UNW_ESUCCESS: return "no error";
	case UNW_EUNSPEC: return "unspecified (general) error";
	case UNW_ENOMEM: return "out of memory";
	case UNW_EBADREG: return "bad register number";
	case UNW_EREADONLYREG: return "attempt to write read-only register";
	case UNW_ESTOPUNWIND: return "stop unwinding";
	case UNW_EINVALIDIP: return "invalid IP";
	case UNW_EBADFRAME: return "bad frame";
	case UNW_EINVAL: return "unsupported operation or bad value";
	case UNW_EBADVERSION: return "unwind info has unsupported version";
	case UNW_ENOINFO: return "no unwind info found";
	default: return "invalid error code";
	}
}

static const char *const reg_names[] = {
	"RAX", "RDX", "RCX", "RBX", "RSI", "RDI", "RBP", "RSP",
	"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "RIP",
};

SWU_API const char *unw_regname(unw_regnum_t reg)
{
	if (reg == UNW_X86_64_CFA)
		return "CFA";
	if (reg >= 0 && (size_t)reg < sizeof reg_names / sizeof reg_names[0])
		return reg_names[reg];
	return "???";
}

/* No floating-point register is reachable through unw_get_fpreg on
 * x86-64 (as in nongnu's build without CONFIG_MSABI_SUPPORT, where
 * register 17 is UNW_X86_64_CFA, not XMM0). */
SWU_API int unw_is_fpreg(int reg)
{
	(void)reg;
	return 0;
}
