// Backtraces through the unwinder (tests/scripts/eh.sh; link -rdynamic so
// dladdr names the program's functions):
//   - glibc backtrace() + backtrace_symbols_fd: only the function-name
//     part of each line (and the module's base name) is printed;
//   - _Unwind_Backtrace called directly: per frame the function name,
//     _Unwind_GetIPInfo's ip_before_insn, whether
//     _Unwind_FindEnclosingFunction agrees with dladdr, and the CFA
//     distance to the previous frame inside the program;
//   - the same from a SIGUSR1 handler (through the signal frame), and
//     stopping early (the callback returns _URC_NORMAL_STOP after 3
//     frames).  Every frame libgcc reports is printed, the last one
//     (IP 0 after _start) included.
#include <execinfo.h>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <unwind.h>

#include "eh_common.h"

namespace {

std::string main_path;   // this program's file: printed as "program"

std::string base(const char *path)
{
	if (path && !main_path.empty() && main_path == path)
		return "program";
	std::string s = path ? path : "?";
	size_t k = s.rfind('/');
	return k == std::string::npos ? s : s.substr(k + 1);
}

// "path(sym+0x1f) [0x...]" -> "module:sym"; "path(+0x1f) [...]" -> "module:?"
std::string name_part(const std::string &line)
{
	size_t open = line.find('('), close = line.find(')', open);
	if (open == std::string::npos || close == std::string::npos)
		return "unparsed:" + line;
	std::string sym = line.substr(open + 1, close - open - 1);
	sym = sym.substr(0, sym.find('+'));
	return base(line.substr(0, open).c_str()) + ":" + (sym.empty() ? "?" : sym);
}

} // namespace

extern "C" {

NOINLINE void glibc_bt(void)
{
	void *pcs[64];
	int n = backtrace(pcs, 64);
	int fds[2];
	if (pipe(fds) != 0)
		return;
	backtrace_symbols_fd(pcs, n, fds[1]);
	close(fds[1]);
	std::string all;
	char buf[4096];
	ssize_t k;
	while ((k = read(fds[0], buf, sizeof buf)) > 0)
		all.append(buf, (size_t)k);
	close(fds[0]);
	printf("glibc backtrace: %d frames\n", n);
	size_t pos = 0;
	while (pos < all.size()) {
		size_t nl = all.find('\n', pos);
		if (nl == std::string::npos)
			nl = all.size();
		printf("  %s\n", name_part(all.substr(pos, nl - pos)).c_str());
		pos = nl + 1;
	}
}

struct walk {
	int n, limit;
	unsigned long prev_cfa;
	bool prev_in_main_module;
	std::string out;
};

_Unwind_Reason_Code cb(struct _Unwind_Context *ctx, void *arg)
{
	walk *w = static_cast<walk *>(arg);
	int before = 0;
	unsigned long ip = _Unwind_GetIPInfo(ctx, &before);
	unsigned long cfa = _Unwind_GetCFA(ctx);
	unsigned long ip_plain = _Unwind_GetIP(ctx);
	char line[512];
	if (ip == 0) {
		snprintf(line, sizeof line, "  ip 0\n");
	} else {
		unsigned long look = before ? ip : ip - 1;
		Dl_info di;
		memset(&di, 0, sizeof di);
		dladdr(reinterpret_cast<void *>(look), &di);
		void *enc = _Unwind_FindEnclosingFunction(reinterpret_cast<void *>(look));
		Dl_info me;
		bool main_mod = dladdr(reinterpret_cast<void *>(&glibc_bt), &me) &&
				di.dli_fbase == me.dli_fbase;
		// the CFA step is printed only between frames of the program
		std::string delta = "-";
		if (main_mod && w->prev_in_main_module)
			delta = std::to_string((long)(cfa - w->prev_cfa));
		snprintf(line, sizeof line, "  %s:%s before_insn=%d ip_equal=%d enclosing=%s cfa_step=%s\n",
			 base(di.dli_fname).c_str(), di.dli_sname && di.dli_saddr ? di.dli_sname : "?",
			 before, ip == ip_plain,
			 !di.dli_saddr ? "-" : enc == di.dli_saddr ? "sym" : "other",
			 delta.c_str());
		w->prev_in_main_module = main_mod;
	}
	w->prev_cfa = cfa;
	w->out += line;
	w->n++;
	if (w->limit && w->n == w->limit)
		return _URC_NORMAL_STOP;
	return _URC_NO_REASON;
}

NOINLINE void unwind_bt(const char *what, int limit)
{
	walk w{};
	w.limit = limit;
	_Unwind_Reason_Code r = _Unwind_Backtrace(cb, &w);
	printf("_Unwind_Backtrace %s: %d frames, returned %d\n%s", what, w.n, (int)r, w.out.c_str());
}

void on_usr1(int) { unwind_bt("in a signal handler", 0); }

NOINLINE void level3(int k)
{
	if (k == 0)
		glibc_bt();
	else if (k == 1)
		unwind_bt("plain", 0);
	else if (k == 2)
		unwind_bt("stopped after 3", 3);
	else
		raise(SIGUSR1);
	asm volatile("" ::: "memory");
}
NOINLINE void level2(int k) { level3(k); asm volatile("" ::: "memory"); }
NOINLINE void level1(int k) { level2(k); asm volatile("" ::: "memory"); }

} // extern "C"

int main()
{
	eh_report_unwinder();
	Dl_info me;
	if (dladdr(reinterpret_cast<void *>(&glibc_bt), &me) && me.dli_fname)
		main_path = me.dli_fname;
	signal(SIGUSR1, on_usr1);
	for (int k = 0; k < 4; k++)
		level1(k);
	return eh_finish("eh_backtrace");
}
