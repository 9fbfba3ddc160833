"""The Python side of lesson program shm-06-numpy (same flags).

--hold creates a segment with a (float64, a[i] = i / 2), b (int32, b[i] = i)
and m (float32, 3 x 4, 0..12 in C order), prints "ready", keeps it until
standard input closes (or SIGINT/SIGTERM), then unlinks it. --read NAME
opens a segment made by anyone (the Rust program included) and prints each
array's name, dtype, shape and first values; --negate ARRAY then negates
that array in place, which the segment's other users see at once.

    python3 crates/shm-array/python/shm_06_numpy.py --name demo --hold
    cargo run -p shm-array --example shm-06-numpy -- --read demo
"""

import argparse
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import shm_array  # noqa: E402

FIRST = 6


def record(metrics, t0):
    """A line `cargo xtask run-all` reads like the Rust programs' records."""
    return json.dumps({
        "program": "shm_06_numpy.py", "ok": True, "wall_s": time.monotonic() - t0,
        "peak_rss_bytes": None, "stages": [], "metrics": metrics, "errors": [],
    })


def read(args, t0):
    seg = shm_array.attach(args.read, readonly=args.negate is None)
    print(f"segment {seg.name}: {seg.bytes} bytes, {len(seg)} arrays")
    arrays = {}
    for name in seg:
        a = seg[name]
        first = a.ravel()[:FIRST].tolist() if a.dtype.kind in "biuf" else None
        print(f"  {name:<8} {a.dtype.str:<5} shape {str(list(a.shape)):<14} first: {first}")
        arrays[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "first": first}
    if args.negate is not None:
        a = seg.array(args.negate)
        np.negative(a, out=a)
        print(f"negated {args.negate} in place: {a.ravel()[:FIRST].tolist()} ...")
    return {"mode": "read", "segment": seg.name, "arrays": arrays, "negated": args.negate}


def hold(args, t0):
    name = args.name or shm_array.unique_name("shm-06-py-")
    n = args.len
    seg = shm_array.create(name, {
        "a": np.arange(n) / 2,
        "b": np.arange(n, dtype=np.int32),
        "m": np.arange(12, dtype=np.float32).reshape(3, 4),
    })

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for k, v in seg.arrays.items():
            print(f"array {k:<2} {v.dtype.str} shape {list(v.shape)}")
        print(f"ready: segment {name}; close standard input (Ctrl-D) or press Ctrl-C to unlink it",
              flush=True)
        held = time.monotonic()
        sys.stdin.read()
        m_after = seg["m"].ravel().tolist()
        print(f"after {time.monotonic() - held:.1f} s: m = {m_after}")
    finally:
        seg.unlink()
        seg.close()
    left = os.path.lexists(os.path.join(shm_array.SHM_DIR, name))
    print(f"unlinked {name}; left in /dev/shm: {left}")
    return {"mode": "hold", "segment": name, "len": n, "m_after": m_after,
            "segments_left": int(left)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--hold", action="store_true", help="create a segment and keep it")
    mode.add_argument("--read", metavar="NAME", help="open segment NAME and print its arrays")
    p.add_argument("--name", help="name of the segment to create (default: unique)")
    p.add_argument("--len", type=int, default=12, help="elements of a and b")
    p.add_argument("--negate", metavar="ARRAY", help="with --read: negate ARRAY in place")
    p.add_argument("--json", action="store_true", help="print a JSON record last")
    args = p.parse_args()
    if args.len < 0:
        p.error(f"--len {args.len}: must be at least 0")
    t0 = time.monotonic()
    try:
        metrics = read(args, t0) if args.read else hold(args, t0)
    except shm_array.Error as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    if args.json:
        print(record(metrics, t0))


if __name__ == "__main__":
    main()
