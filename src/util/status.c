/* sw_strerror: one short, static description per status code. */
#include "stackwalk.h"

const char *sw_strerror(int status)
{
	switch (status) {
	case SW_OK: return "success";
	case SW_END_OF_STACK: return "end of stack";
	case SW_ETRUNCATED: return "truncated data";
	case SW_ELEB128: return "LEB128 value overflows 64 bits";
	case SW_EENCODING: return "bad pointer encoding";
	case SW_EBADCIE: return "CIE pointer does not designate a CIE";
	case SW_EVERSION: return "unsupported version";
	case SW_EAUGMENTATION: return "unknown CIE augmentation";
	case SW_ELENGTH: return "entry length runs past the end of the section";
	case SW_EBADOP: return "invalid opcode";
	case SW_EBADREG: return "register number out of range";
	case SW_ESTACKOVERFLOW: return "DWARF expression stack overflow";
	case SW_ESTACKUNDERFLOW: return "DWARF expression stack underflow";
	case SW_ESTEPLIMIT: return "step limit exceeded";
	case SW_EREMEMBER: return "DW_CFA_remember_state nested too deeply";
	case SW_ERESTORE: return "DW_CFA_restore_state without DW_CFA_remember_state";
	case SW_ERANGE: return "address range wraps around or goes backwards";
	case SW_ENOTFOUND: return "no unwind information for address";
	case SW_ENOTELF: return "not an ELF file";
	case SW_EBADELF: return "malformed ELF file";
	case SW_EMEMORY: return "memory read failed";
	case SW_EDIVZERO: return "division by zero in DWARF expression";
	case SW_EIO: return "I/O error";
	case SW_ENOMEM: return "out of memory";
	case SW_EINVAL: return "invalid argument or state";
	case SW_EUNSUPPORTED: return "unsupported input";
	case SW_EBADHDR: return "malformed .eh_frame_hdr";
	case SW_EALIGN: return "misaligned data";
	case SW_EOVERLAP: return "range overlaps a registered JIT range";
	case SW_EBADHANDLE: return "unknown or already removed JIT handle";
	case SW_EFULL: return "JIT table is full";
	case SW_ENONAME: return "procedure has no name";
	case SW_ETOODEEP: return "stack deeper than the walk could take";
	default: return "unknown error";
	}
}
