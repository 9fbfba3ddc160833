#!/usr/bin/env python3
"""Writes the hand-made hostile inputs of tests/data/wav-regress (run from this folder).

Inputs the fuzz test (tests/wav_fuzz.rs) finds failing are added next to these,
as they were found, and kept; this script only makes the hand-made ones."""
import struct, os

os.makedirs("wav-regress", exist_ok=True)

def chunk(cid, body, size=None):
    size = len(body) if size is None else size
    return cid + struct.pack("<I", size) + body + (b"\0" if len(body) % 2 else b"")

def fmt(tag=1, ch=2, rate=8000, block=4, bits=16, ext=b""):
    return chunk(b"fmt ", struct.pack("<HHIIHH", tag, ch, rate, (rate * block) & 0xFFFFFFFF, block, bits) + ext)

def riff(*chunks, head=b"RIFF", size=None):
    body = b"WAVE" + b"".join(chunks)
    return head + struct.pack("<I", len(body) if size is None else size) + body

pcm = bytes(range(16))
files = {
    # found by the fuzz test (a NaN float sample; the test's comparison was wrong)
    "fuzz-float-nan.wav": riff(fmt(3, 2, 8000, 8, 32), chunk(b"data", struct.pack("<4f", float("nan"), 0.5, 0.25, -1.0))),
    # a chunk size that wraps a 32-bit position back before itself
    "looping-chunk-size.wav": riff(fmt(), chunk(b"JUNK", b"", 0xFFFFFFF8), chunk(b"data", pcm)),
    "rf64-ds64-data-size-max.wav": b"RF64\xff\xff\xff\xffWAVE" + chunk(b"ds64", struct.pack("<QQQI", 2**64 - 1, 2**64 - 1, 4, 0)) + fmt() + chunk(b"data", pcm, 0xFFFFFFFF),
    "channels-0.wav": riff(fmt(ch=0), chunk(b"data", pcm)),
    "block-align-0.wav": riff(fmt(block=0), chunk(b"data", pcm)),
    "riff-data-size-ffffffff.wav": riff(fmt(), chunk(b"data", pcm, 0xFFFFFFFF)),
    "extensible-cbsize-0.wav": riff(fmt(0xFFFE, ext=struct.pack("<HHI", 0, 0, 0) + bytes(16)), chunk(b"data", pcm)),
    "extensible-valid-bits-99.wav": riff(fmt(0xFFFE, ext=struct.pack("<HHI", 22, 99, 0) + struct.pack("<I", 1) + bytes(12)), chunk(b"data", pcm)),
    "ten-thousand-empty-chunks.wav": riff(*[chunk(b"JUNK", b"")] * 12000, fmt(), chunk(b"data", pcm)),
    "rate-max-one-frame.wav": riff(fmt(rate=0xFFFFFFFF), chunk(b"data", pcm[:4])),
    "odd-data-then-chunk-past-end.wav": riff(fmt(1, 1, 8000, 1, 8), chunk(b"data", b"\x80\x00\xff"), chunk(b"LIST", b"", 0x7FFFFFFF)),
}
for name, b in files.items():
    with open(os.path.join("wav-regress", name), "wb") as f:
        f.write(b)
