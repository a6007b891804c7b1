// jit_demo: a tiny JIT that compiles a few arithmetic functions to x86-64
// machine code, registers them ONCE with stackwalk, and then shows three
// consumers seeing the generated frames:
//
//   1. stackwalk's own unwinder: a backtrace from inside generated code,
//      with the JIT function names;
//   2. libgcc's C++ exception unwinder: an exception thrown by C++ code the
//      JIT code called crosses the generated frames and is caught by the
//      C++ code that called the JIT code;
//   3. GDB (demo/run.sh runs this program under gdb): `bt` at a breakpoint
//      in C++ code called from generated code lists the JIT names.
// The registration is all it takes: the default publishers hand the code
// to libgcc (SW_JIT_PUB_LIBGCC) and to GDB's JIT interface
// (SW_JIT_PUB_GDB); SW_JIT_PERF=1 in the environment adds perf's map.
//
// The language: one function per line, `name(params) = expression`, with
// integer literals, parameters, + - *, parentheses and calls (to earlier
// functions, or to the built-ins probe(x) and fail(x)).
#include <cxxabi.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <sys/mman.h>
#include <unwind.h>

#include <stackwalk.h>
#include <stackwalk/jit.h>

static const char program[] =
	"area(w, h) = w * h\n"
	"volume(w, h, d) = area(w, h) * d\n"
	"check(v) = probe(v) + v\n"
	"outer(x) = volume(x, x + 1, check(x))\n"
	"boom(v) = fail(v) + 1\n"
	"risky(x) = area(x, boom(x * 2))\n";

// ------------------------------------------------------------------ built-ins

static int destructors_run;

struct Guard {
	const char *what;
	explicit Guard(const char *w) : what(w) {}
	~Guard()
	{
		destructors_run++;
		std::printf("    ~Guard(%s) ran during unwinding\n", what);
	}
};

static void print_backtrace(void)
{
	sw_context_t ctx;
	sw_cursor_t cur;
	int depth = 0;

	sw_getcontext(&ctx);
	if (sw_init_local(&cur, &ctx) < 0)
		return;
	for (;;) {
		char name[128];
		uint64_t off = 0;
		struct sw_proc_info pi;
		bool jit = sw_get_proc_info(&cur, &pi) == 0 && pi.source == SW_SRC_JIT;
		if (sw_get_proc_name(&cur, name, sizeof(name), &off) < 0)
			std::snprintf(name, sizeof(name), "??");
		int st = 0;
		char *dm = abi::__cxa_demangle(name, nullptr, nullptr, &st);
		std::printf("    #%-2d 0x%012llx  %s+0x%llx%s\n", depth++,
			    (unsigned long long)sw_get_ip(&cur), st == 0 && dm ? dm : name,
			    (unsigned long long)off, jit ? "   <- generated code" : "");
		std::free(dm);
		if (std::strcmp(name, "main") == 0 || depth == 64 || sw_step(&cur) != 0)
			break;
	}
}

// GDB's breakpoint (demo/run.sh): kept out of line and named plainly.
extern "C" __attribute__((noinline)) void demo_probe_hit(int64_t v)
{
	__asm__ volatile("" ::"r"(v) : "memory");
}

static bool quiet_probe;

extern "C" int64_t builtin_probe(int64_t v)
{
	demo_probe_hit(v);
	if (!quiet_probe) {
		std::printf("  probe(%lld) called from generated code; stackwalk's backtrace:\n",
			    (long long)v);
		print_backtrace();
	}
	return v;
}

extern "C" int64_t builtin_fail(int64_t v)
{
	Guard g("fail's local");
	std::printf("  fail(%lld) throws std::runtime_error\n", (long long)v);
	throw std::runtime_error("thrown by fail(" + std::to_string(v) + ")");
}

// ------------------------------------------------------------------ the compiler

struct Code {
	std::vector<uint8_t> b;
	void u8(unsigned v) { b.push_back((uint8_t)v); }
	void u32(uint32_t v) { for (int i = 0; i < 4; i++) u8((v >> (8 * i)) & 0xff); }
	void u64(uint64_t v) { for (int i = 0; i < 8; i++) u8((v >> (8 * i)) & 0xff); }
};

struct Func {
	std::string name;
	std::vector<std::string> params;
	size_t offset = 0, size = 0;
	uint32_t frame_size = 0, ret_offset = 0;
};

class Compiler {
public:
	Compiler(Code &c, std::map<std::string, Func> &fns, uint64_t code_base)
		: code(c), funcs(fns), base(code_base) {}

	void function(const std::string &line)
	{
		p = line.c_str();
		Func f;
		f.name = ident();
		expect('(');
		while (!peek(')')) {
			f.params.push_back(ident());
			if (!peek(')'))
				expect(',');
		}
		expect(')');
		expect('=');
		cur = &f;
		f.offset = code.b.size();
		// canonical prologue (struct sw_jit_frame with SW_JIT_FRAME_FP)
		f.frame_size = (uint32_t)((f.params.size() * 8 + 15) / 16 * 16);
		code.u8(0x55);                                  // push rbp
		code.u8(0x48); code.u8(0x89); code.u8(0xe5);    // mov rbp, rsp
		if (f.frame_size) {
			code.u8(0x48); code.u8(0x83); code.u8(0xec); code.u8(f.frame_size);
		}
		static const uint8_t spill[6][4] = {             // mov [rbp-8(i+1)], arg i
			{ 0x48, 0x89, 0x7d, 0xf8 }, { 0x48, 0x89, 0x75, 0xf0 },
			{ 0x48, 0x89, 0x55, 0xe8 }, { 0x48, 0x89, 0x4d, 0xe0 },
			{ 0x4c, 0x89, 0x45, 0xd8 }, { 0x4c, 0x89, 0x4d, 0xd0 },
		};
		for (size_t i = 0; i < f.params.size(); i++)
			for (uint8_t x : spill[i])
				code.u8(x);
		depth = 0;
		expr();
		code.u8(0x48); code.u8(0x89); code.u8(0xec);    // mov rsp, rbp
		code.u8(0x5d);                                  // pop rbp
		f.ret_offset = (uint32_t)(code.b.size() - f.offset);
		code.u8(0xc3);                                  // ret
		while (code.b.size() % 16)
			code.u8(0xcc);
		f.size = code.b.size() - f.offset;
		funcs[f.name] = f;
	}

private:
	Code &code;
	std::map<std::string, Func> &funcs;
	uint64_t base;
	const char *p = nullptr;
	Func *cur = nullptr;
	int depth = 0;          // values pushed by the expression so far

	void skip() { while (*p == ' ') p++; }
	bool peek(char c) { skip(); return *p == c; }
	void expect(char c)
	{
		skip();
		if (*p != c)
			throw std::runtime_error(std::string("expected '") + c + "' at: " + p);
		p++;
	}
	std::string ident()
	{
		skip();
		std::string s;
		while (std::isalnum((unsigned char)*p) || *p == '_')
			s += *p++;
		if (s.empty())
			throw std::runtime_error(std::string("expected a name at: ") + p);
		return s;
	}
	void push() { code.u8(0x50); depth++; }                    // push rax
	void pop_rcx() { code.u8(0x59); depth--; }                 // pop rcx

	void expr()
	{
		term();
		while (peek('+') || peek('-')) {
			char op = *p++;
			push();
			term();
			code.u8(0x48); code.u8(0x89); code.u8(0xc1);   // mov rcx, rax
			code.u8(0x58); depth--;                         // pop rax
			code.u8(0x48); code.u8(op == '+' ? 0x01 : 0x29); code.u8(0xc8); // add/sub rax, rcx
		}
	}
	void term()
	{
		factor();
		while (peek('*')) {
			p++;
			push();
			factor();
			pop_rcx();
			code.u8(0x48); code.u8(0x0f); code.u8(0xaf); code.u8(0xc1); // imul rax, rcx
		}
	}
	void factor()
	{
		skip();
		if (std::isdigit((unsigned char)*p)) {
			long long v = std::strtoll(p, const_cast<char **>(&p), 10);
			code.u8(0x48); code.u8(0xb8); code.u64((uint64_t)v);    // mov rax, imm64
		} else if (*p == '(') {
			p++;
			expr();
			expect(')');
		} else {
			std::string n = ident();
			if (peek('('))
				call(n);
			else
				param(n);
		}
	}
	void param(const std::string &n)
	{
		for (size_t i = 0; i < cur->params.size(); i++)
			if (cur->params[i] == n) {
				code.u8(0x48); code.u8(0x8b); code.u8(0x45);    // mov rax, [rbp-8(i+1)]
				code.u8((uint8_t)(-8 * (int)(i + 1)));
				return;
			}
		throw std::runtime_error("unknown name " + n);
	}
	void call(const std::string &n)
	{
		static const uint8_t pops[6][2] = {                     // pop rdi, rsi, rdx, rcx, r8, r9
			{ 0x5f, 0 }, { 0x5e, 0 }, { 0x5a, 0 }, { 0x59, 0 }, { 0x41, 0x58 }, { 0x41, 0x59 },
		};
		uint64_t target;
		if (n == "probe")
			target = (uint64_t)(uintptr_t)&builtin_probe;
		else if (n == "fail")
			target = (uint64_t)(uintptr_t)&builtin_fail;
		else if (funcs.count(n))
			target = base + funcs[n].offset;
		else
			throw std::runtime_error("unknown function " + n);
		expect('(');
		int argc = 0;
		while (!peek(')')) {
			expr();
			push();
			argc++;
			if (!peek(')'))
				expect(',');
		}
		expect(')');
		for (int i = argc - 1; i >= 0; i--) {
			code.u8(pops[i][0]);
			if (pops[i][1])
				code.u8(pops[i][1]);
			depth--;
		}
		bool pad = depth % 2 != 0;     // keep rsp 16-byte aligned at the call
		if (pad) { code.u8(0x48); code.u8(0x83); code.u8(0xec); code.u8(8); }
		code.u8(0x48); code.u8(0xb8); code.u64(target);        // mov rax, target
		code.u8(0xff); code.u8(0xd0);                           // call rax
		if (pad) { code.u8(0x48); code.u8(0x83); code.u8(0xc4); code.u8(8); }
	}
};

// ------------------------------------------------------------------ main

typedef int64_t (*fn1)(int64_t);

static int64_t call_jit(fn1 f, int64_t x)
{
	Guard g("call_jit's local");   // a C++ frame between the JIT code and the catch
	return f(x);
}

// calc::risky(4) -> calc::boom -> fail throws; caught here
static void throw_through_jit(fn1 risky)
{
	try {
		call_jit(risky, 4);
		std::printf("  no exception?\n");
	} catch (const std::exception &e) {
		std::printf("  caught by the C++ caller: \"%s\" after crossing calc::boom and calc::risky;"
			    " %d destructors ran\n", e.what(), destructors_run);
	}
}

int main(int argc, char **argv)
{
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	bool gdb_part = argc > 1 && std::strcmp(argv[1], "--gdb") == 0;
	// built against libstackwalk_unwind (the Makefile's jit_demo_eh): the
	// exception part alone, with no publisher at all
	bool eh_part = argc > 1 && std::strcmp(argv[1], "--eh") == 0;
	const size_t cap = 1 << 16;
	uint8_t *mem = (uint8_t *)mmap(nullptr, cap, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	uint64_t base = (uint64_t)(uintptr_t)mem;

	// compile
	Code code;
	std::map<std::string, Func> funcs;
	Compiler comp(code, funcs, base);
	std::vector<std::string> order;
	for (const char *l = program; *l;) {
		const char *e = std::strchr(l, '\n');
		std::string line(l, e - l);
		comp.function(line);
		order.push_back(line.substr(0, line.find('(')));
		l = e + 1;
	}
	std::memcpy(mem, code.b.data(), code.b.size());
	mprotect(mem, cap, PROT_READ | PROT_EXEC);

	// register once: every consumer below sees the same registration (the
	// default publishers); the --eh part publishes nothing, to show
	// libstackwalk_unwind reading the registry itself
	if (eh_part)
		sw_jit_set_publishers(0);
	std::vector<sw_jit_proc> procs;
	std::vector<std::string> names;
	std::vector<uint32_t> rets(order.size());
	names.reserve(order.size());
	for (size_t i = 0; i < order.size(); i++) {
		const Func &f = funcs[order[i]];
		names.push_back("calc::" + f.name);
		rets[i] = f.ret_offset;
		sw_jit_proc pr;
		std::memset(&pr, 0, sizeof(pr));
		pr.start = base + f.offset;
		pr.end = base + f.offset + f.size;
		pr.name = names.back().c_str();
		pr.kind = SW_JIT_UNWIND_FRAME;
		pr.u.frame.flags = SW_JIT_FRAME_FP;
		pr.u.frame.frame_size = f.frame_size;
		pr.u.frame.nepilogues = 1;
		pr.u.frame.epilogues = &rets[i];
		procs.push_back(pr);
	}
	sw_jit_handle_t h;
	int rc = sw_jit_add_procs(procs.data(), procs.size(), &h);
	if (rc < 0) {
		std::printf("sw_jit_add_procs: %s\n", sw_strerror(rc));
		return 1;
	}
	fn1 outer = (fn1)(uintptr_t)(base + funcs["outer"].offset);
	fn1 risky = (fn1)(uintptr_t)(base + funcs["risky"].offset);

	if (gdb_part) {
		// under gdb: stop in demo_probe_hit, called from generated code
		quiet_probe = true;
		std::printf("outer(3) = %lld\n", (long long)outer(3));
		return 0;
	}
	if (eh_part) {
		Dl_info di;
		if (dladdr((void *)(uintptr_t)&_Unwind_RaiseException, &di) && di.dli_fname)
			std::printf("  _Unwind_RaiseException comes from %s; nothing is published\n",
				    std::strrchr(di.dli_fname, '/') ? std::strrchr(di.dli_fname, '/') + 1
								   : di.dli_fname);
		throw_through_jit(risky);
		sw_jit_remove(h);
		return 0;
	}

	std::printf("The program, compiled to %zu bytes of x86-64 at %p and registered once\n"
		    "with sw_jit_add_procs (standard-frame descriptors, %zu functions):\n\n",
		    code.b.size(), (void *)mem, order.size());
	for (const char *l = program; *l;) {
		const char *e = std::strchr(l, '\n');
		std::printf("    %.*s\n", (int)(e - l), l);
		l = e + 1;
	}

	std::printf("\n--- 1. stackwalk's unwinder (sw_step, sw_get_proc_name) ---\n\n");
	int64_t v = outer(3);
	std::printf("  outer(3) = %lld\n", (long long)v);

	std::printf("\n--- 2. libgcc's C++ exception unwinder (the default publishers registered the code with it) ---\n\n");
	std::printf("  main calls call_jit -> calc::risky -> calc::boom -> fail, which throws\n");
	throw_through_jit(risky);

	sw_jit_remove(h);
	return 0;
}
