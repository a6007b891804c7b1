/* libFuzzer target: the perf.data reader (tools/perf_data.c) alone — the
 * header, the feature sections, then every record, touching what each
 * sample points at (callchain, registers, stack copy) so a bad bound shows
 * up under ASan. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../tools/perf_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pd_file f;
	volatile uint64_t sink = 0;
	if (pd_open(&f, data, size) == PD_OK) {
		uint64_t pos = f.data_off;
		struct pd_event ev;
		/* each record moves pos forward by at least 8 bytes */
		while (pd_next(&f, &pos, &ev) > 0) {
			if (ev.callchain)
				for (uint64_t i = 0; i < ev.nr_callchain; i++)
					sink += pd_u64(ev.callchain, i);
			if (ev.stack && ev.stack_size)
				sink += ev.stack[0] + ev.stack[ev.stack_size - 1];
			if (ev.filename)
				sink += strlen(ev.filename);
			if (ev.comm)
				sink += strlen(ev.comm);
			if (ev.attr)
				sink += ev.attr->sample_type;
		}
		for (size_t i = 0; i < f.nbuild_ids; i++)
			sink += strlen(f.build_ids[i].filename);
		for (size_t i = 0; i < f.nattrs; i++)
			for (uint64_t j = 0; j < f.attrs[i].nr_ids; j++)
				sink += pd_u64(f.attrs[i].ids, j);
		if (f.nattrs)
			sink += pd_find_build_id(&f, -1, "x") != NULL;
	}
	pd_close(&f);
	(void)sink;
	return 0;
}
