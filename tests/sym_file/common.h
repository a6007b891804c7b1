/* Types and helpers both dwz test programs share: dwz moves them into the
 * common file (.gnu_debugaltlink). */
#ifndef SYM_FILE_COMMON_H
#define SYM_FILE_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct shared_point {
	int x, y;
	double weight;
	const char *label;
#ifdef OTHER_BUILD
	long other; /* another dwz common file (make_variants.sh: dwzbad) */
#endif
};
struct shared_list { struct shared_list *next; struct shared_point pt; unsigned long tag[4]; };
union shared_value { long l; double d; struct shared_point p; };
enum shared_kind { SK_NONE, SK_POINT, SK_LIST, SK_VALUE };

static inline int shared_sum(const struct shared_list *l)
{
	int s = 0;
	for (; l; l = l->next)
		s += l->pt.x + l->pt.y;
	return s;
}
#endif
