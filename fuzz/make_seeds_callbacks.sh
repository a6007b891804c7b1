#!/usr/bin/env bash
# Seeds for fuzz_callbacks (fuzz/fuzz_callbacks.c's input layout): a
# target image with one CIE and one FDE (.eh_frame: def_cfa rsp+8, the
# return address at cfa-8, then after one byte cfa rsp+16 and rbp saved)
# over code at 0x100..0x200, and a stack of return addresses into that
# code; once with the default arena, once with a 256-byte recycled one.
#   fuzz/make_seeds_callbacks.sh  -> fuzz/corpus/callbacks/seed-*
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/callbacks
python3 - <<'PY'
import struct
BASE = 0x400000
def uleb(v): return bytes([v])
cie_body = struct.pack('<I', 0) + b'\x01' + b'zR\x00' + uleb(1) + b'\x78' + b'\x10' + b'\x01' + b'\x1b' \
    + b'\x0c\x07\x08' + b'\x90\x01'
while (len(cie_body) + 4) % 8: cie_body += b'\x00'
cie = struct.pack('<I', len(cie_body)) + cie_body
fde_off = len(cie)
# FDE: CIE pointer (from this field back to the CIE), pc_begin (pcrel), range, aug len, insns
def fde(code_off, code_len):
    field = fde_off + 4
    pc_field = BASE + fde_off + 8
    body = struct.pack('<I', field) + struct.pack('<i', BASE + code_off - pc_field) \
        + struct.pack('<I', code_len) + b'\x00' + b'\x41' + b'\x0e\x10' + b'\x86\x02'
    while (len(body) + 4) % 8: body += b'\x00'
    return struct.pack('<I', len(body)) + body
img = bytearray(0x400)
eh = cie + fde(0x100, 0x100) + struct.pack('<I', 0)
img[0:len(eh)] = eh
for off in range(0x200, 0x3f0, 8):
    img[off:off + 8] = struct.pack('<Q', BASE + 0x150)
regs = [0] * 17
regs[7] = 0x200          # rsp: offset into the image
regs[16] = 0x150         # rip
regs[6] = BASE + 0x300   # rbp
for name, flags in (('seed-eh', 0), ('seed-recycle', 2)):
    hdr = struct.pack('<III', fde_off, 0, len(eh)) + bytes([flags]) + b''.join(struct.pack('<Q', r) for r in regs)
    open('fuzz/corpus/callbacks/' + name, 'wb').write(hdr + bytes(img))
PY
echo "seeds: $(ls fuzz/corpus/callbacks | wc -l) files in fuzz/corpus/callbacks"
