"""The Python side of tests/numpy.rs: python3 peer.py ROLE NAME [ARGS...].

Every role prints one JSON line per result; roles that hold a segment print
a line with "ready" and keep it until their standard input closes.
"""

import json
import sys

import numpy as np

import shm_array


def values(v):
    flat = v.ravel()
    if v.dtype.kind == "V":  # a type only Rust knows: its bytes
        return [x.tobytes().hex() for x in flat]
    if v.dtype.kind == "c":
        return [[x.real, x.imag] for x in flat.tolist()]
    return flat.tolist()


def describe(arrays):
    return {
        k: {"dtype": v.dtype.str, "shape": list(v.shape), "values": values(v)}
        for k, v in arrays.items()
    }


def made_by_python():
    return {
        "a": np.arange(1000) / 2,
        "b": np.arange(1000, dtype=np.int32),
        "m": np.arange(12, dtype=np.float32).reshape(3, 4),
        "u": (np.arange(300) % 256).astype(np.uint8),
        # Fortran-ordered input: stored in C order all the same.
        "t": np.asfortranarray(np.arange(120, dtype=np.int64).reshape(2, 3, 4, 5)),
    }


def main():
    role, name = sys.argv[1], sys.argv[2]
    if role == "read":
        print(json.dumps(describe(shm_array.open(name))), flush=True)
    elif role == "double":
        arr = shm_array.open(name)[sys.argv[3]]
        arr *= 2
        print(json.dumps({"doubled": sys.argv[3]}), flush=True)
    elif role == "expect":
        # expect NAME ARRAY DTYPE SHAPE(comma-separated or "-")
        array, dtype, shape = sys.argv[3], sys.argv[4], sys.argv[5]
        want = (None if dtype == "-" else dtype,
                None if shape == "-" else tuple(int(d) for d in shape.split(",")))
        try:
            shm_array.open(name, expect={array: want})
        except shm_array.Error as e:
            print(json.dumps({"error": type(e).__name__, "message": str(e)}), flush=True)
            sys.exit(3)
        print(json.dumps({"ok": True}), flush=True)
    elif role in ("create", "single", "hold-open"):
        if role == "single":
            # One unnamed array: what ShmArray::open (not Segment) opens.
            seg = shm_array.create(name, {"": np.arange(5.0)})
        elif role == "create":
            mode = int(sys.argv[3], 8) if len(sys.argv) > 3 else 0o600
            seg = shm_array.create(name, made_by_python(), mode=mode)
        else:
            seg = shm_array.attach(name)
        print(json.dumps({"ready": name, "arrays": seg.dtypes()}), flush=True)
        # Each line asks for the current values (to see the other side's
        # writes, zero-copy); end of input ends the hold.
        for line in sys.stdin:
            key = line.rstrip("\n")
            print(json.dumps(describe({key: seg[key]})), flush=True)
        seg.close()
        print(json.dumps({"closed": name}), flush=True)
    else:
        sys.exit(f"error: unknown role {role!r}")


if __name__ == "__main__":
    main()
