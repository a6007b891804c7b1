// cppcheck input (tests/scripts/eh.sh): ordinary findings.
#include <cstring>
int g(int i)
{
	int a[10];
	a[10] = i;            // arrayIndexOutOfBounds
	int *p = nullptr;
	if (i > 3)
		return *p;        // nullPointer
	char buf[4];
	strcpy(buf, "too long for buf");   // bufferAccessOutOfBounds
	return a[0] + buf[0];
}
