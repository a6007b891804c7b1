// cppcheck input (tests/scripts/eh.sh): a syntax error, which cppcheck
// reports by throwing internally.
int f(int x {
	return x +;
}
template <class T> struct S { S<T> s; };
