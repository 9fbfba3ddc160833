"""Tests of shm_array.py on its own (the Rust side is tests/numpy.rs, which
also runs this file: python3 -m unittest -v test_shm_array)."""

import gc
import os
import stat
import struct
import unittest

import numpy as np

import shm_array as sa


def exists(name):
    return os.path.lexists(os.path.join(sa.SHM_DIR, name))


class Names:
    """Unique names for one test, and a check that none is left."""

    def __init__(self, test):
        self.prefix = f"pytest-{os.getpid()}-{test}-"

    def new(self):
        return sa.unique_name(self.prefix)

    def left(self):
        return [n for n in os.listdir(sa.SHM_DIR) if n.startswith(self.prefix)]

    def clean(self):
        left = self.left()
        for n in left:
            os.unlink(os.path.join(sa.SHM_DIR, n))
        return left


class Base(unittest.TestCase):
    def setUp(self):
        self.names = Names(self.id().rsplit(".", 1)[-1])

    def tearDown(self):
        gc.collect()
        self.assertEqual(self.names.clean(), [], "segments left in /dev/shm")


class RoundTrip(Base):
    def test_create_then_open_gives_the_same_arrays_zero_copy(self):
        name = self.names.new()
        src = {
            "a": np.arange(7) / 2,
            "b": np.arange(7, dtype=np.int32),
            "m": np.arange(12, dtype=np.float32).reshape(3, 4),
            "big": np.arange(5000, dtype=np.uint16),
            "c": np.array([1 + 2j, 3 - 4j]),
            "flag": np.array([True, False, True]),
            "f": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
            "empty": np.zeros(0, np.int64),
        }
        seg = sa.create(name, src)
        views = sa.open(name)
        self.assertEqual(set(views), set(src))
        for k, v in src.items():
            self.assertEqual(views[k].dtype, v.dtype, k)
            self.assertEqual(views[k].shape, v.shape, k)
            self.assertTrue(np.array_equal(views[k], v), k)
            self.assertTrue(views[k].flags.c_contiguous, k)
        self.assertEqual(seg.dtypes()["m"], "<f4")
        # Page-aligned offsets, one after the other.
        offs = [int(v.__array_interface__["data"][0]) for v in views.values()]
        base = offs[0] - 4096
        self.assertTrue(all((o - base) % 4096 == 0 for o in offs))
        views["m"][2, 3] = -1
        self.assertEqual(seg["m"][2, 3], -1)
        del views
        seg.close()

    def test_views_outlive_close_and_the_creator_unlinks_with_the_last(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.arange(4.0)})
        a = seg["a"]
        seg.close()
        with self.assertRaises(sa.Error) as e:
            seg.arrays
        self.assertIn(name, str(e.exception))
        self.assertTrue(exists(name), "a live view keeps the name")
        self.assertEqual(a.sum(), 6.0)  # still mapped: no segfault
        del a, seg
        gc.collect()
        self.assertFalse(exists(name))

    def test_a_segment_without_arrays_lives_as_long_as_its_handle(self):
        name = self.names.new()
        seg = sa.create(name, {})
        gc.collect()
        self.assertTrue(exists(name))
        self.assertEqual(sa.open(name), {})
        seg.close()
        gc.collect()
        self.assertFalse(exists(name))

    def test_openers_never_unlink_and_persist_keeps_the_name(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.ones(3)})
        seg.persist()
        other = sa.attach(name)
        other.close()
        del other
        gc.collect()
        self.assertTrue(exists(name))
        del seg
        gc.collect()
        self.assertTrue(exists(name), "persisted")
        sa.unlink(name)
        self.assertFalse(exists(name))
        with self.assertRaises(sa.NotFound):
            sa.unlink(name)

    def test_unlink_is_idempotent_and_spares_a_new_segment_of_the_same_name(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.ones(3)})
        seg.unlink()
        seg.unlink()
        again = sa.create(name, {"b": np.zeros(2)})
        del seg
        gc.collect()
        self.assertTrue(exists(name), "the old handle removed someone else's segment")
        self.assertEqual(list(sa.open(name)), ["b"])
        del again
        gc.collect()
        self.assertFalse(exists(name))

    def test_a_forked_child_does_not_unlink_its_parents_segment(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.ones(3)})
        pid = os.fork()
        if pid == 0:
            seg.close()
            del seg
            gc.collect()
            os._exit(0)
        os.waitpid(pid, 0)
        self.assertTrue(exists(name))
        seg.close()

    def test_readonly_views_cannot_be_written(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.arange(3.0)})
        ro = sa.attach(name, readonly=True)
        self.assertTrue(ro.readonly)
        self.assertFalse(ro["a"].flags.writeable)
        with self.assertRaises(ValueError):
            ro["a"][0] = 5
        seg["a"][0] = 5
        self.assertEqual(ro["a"][0], 5)
        seg.close()


class Errors(Base):
    def test_errors_name_the_segment(self):
        name = self.names.new()
        with self.assertRaises(sa.NotFound) as e:
            sa.open(name)
        self.assertIn(name, str(e.exception))
        self.assertIsInstance(e.exception, FileNotFoundError)
        seg = sa.create(name, {"a": np.arange(3.0), "m": np.zeros((2, 2), np.int32)})
        with self.assertRaises(sa.Exists):
            sa.create(name, {"a": np.zeros(1)})
        for expect, kind in [
            ({"a": ("<f4", None)}, sa.TypeMismatch),
            ({"m": (np.int64, None)}, sa.TypeMismatch),
            ({"m": (None, (4,))}, sa.ShapeMismatch),
            ({"zz": (None, None)}, sa.NoSuchArray),
        ]:
            with self.assertRaises(kind) as e:
                sa.open(name, expect=expect)
            self.assertIn(name, str(e.exception))
        self.assertEqual(sa.open(name, expect={"m": ("<i4", (2, 2))})["m"].shape, (2, 2))
        seg.close()

    def test_what_cannot_be_stored_is_refused_before_anything_is_made(self):
        name = self.names.new()
        bad = [
            {"o": np.array([object()])},
            {"s": np.array(["text"])},
            {"d": np.array(["2024-01-01"], dtype="datetime64[D]")},
            {"r": np.zeros(2, dtype=[("x", "<f8")])},
            {"scalar": np.float64(1.0)},
            {"deep": np.zeros((1,) * 9)},
            {"x" * 32: np.zeros(1)},
            {f"a{i}": np.zeros(1) for i in range(17)},
        ]
        for arrays in bad:
            with self.assertRaises(sa.BadArray) as e:
                sa.create(name, arrays)
            self.assertIn(name, str(e.exception))
        for mode in [0o700, 0o400, 0o666, 0o1600, -1]:
            with self.assertRaises(sa.BadArray):
                sa.create(name, {"a": np.zeros(1)}, mode=mode)
        for bad_name in ["", "/", "a/b", ".", ".."]:
            with self.assertRaises(sa.Error):
                sa.create(bad_name, {"a": np.zeros(1)})
        self.assertEqual(self.names.left(), [])

    def test_modes_and_groups(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.zeros(1)}, mode=0o640, group=os.getgid())
        st = os.stat(os.path.join(sa.SHM_DIR, name))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual(st.st_gid, os.getgid())
        seg.close()
        name = self.names.new()
        seg = sa.create(name, {"a": np.zeros(1)})
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(sa.SHM_DIR, name)).st_mode), 0o600)
        seg.close()

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a segment to another user")
    def test_another_users_segment_is_refused_unless_trusted(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.arange(2.0)}, mode=0o644)
        os.chown(os.path.join(sa.SHM_DIR, name), 4321, -1)
        with self.assertRaises(sa.PermissionDenied) as e:
            sa.open(name)
        self.assertIn("uid 4321", str(e.exception))
        self.assertEqual(sa.open(name, owner=4321, readonly=True)["a"][1], 1.0)
        seg.close()

    def test_hostile_headers_are_refused_by_name(self):
        name = self.names.new()
        seg = sa.create(name, {"a": np.arange(4.0), "b": np.arange(4.0)})
        seg.persist()
        path = os.path.join(sa.SHM_DIR, name)
        with open(path, "rb") as f:
            good = f.read()
        seg.close()
        del seg
        gc.collect()
        e0 = 32  # first entry
        e1 = 32 + 168

        def u64(at, v):
            return lambda h: struct.pack_into("<Q", h, at, v)

        def u32(at, v):
            return lambda h: struct.pack_into("<I", h, at, v)

        def raw(at, b):
            def f(h):
                h[at:at + len(b)] = b
            return f

        cases = [
            (raw(0, b"X"), "magic"),
            (u32(8, 1), "version 1"),
            (u32(8, 3), "version 3"),
            (u32(12, 0), "not finished"),
            (u64(16, len(good) + 1), "too small"),
            (u32(24, 17), "arrays (at most"),
            (u64(e0 + 96, 0), "dimensions"),
            (u64(e0 + 96, 9), "dimensions"),
            (u64(e0 + 104, 5), "does not match length"),
            (u64(e0 + 72, 0), "element size"),
            (u64(e0 + 64, 3), "alignment"),
            (raw(e0 + 32, b"<f4"), "4-byte elements"),
            (raw(e0 + 32, b"\n"), "control characters"),
            (raw(e0 + 32, b"x" * 32), "no NUL"),
            (raw(e0, b"\xff"), "UTF-8"),
            (u64(e0 + 80, 0), "inside the header"),
            (u64(e0 + 80, 4104), "page-aligned"),
            (u64(e0 + 80, 1 << 62), "too small"),
            (u64(e1 + 80, 4096), "overlap"),
            (raw(e1, b"a"), "twice"),
        ]
        for edit, words in cases:
            h = bytearray(good)
            edit(h)
            with open(path, "wb") as f:
                f.write(h)
            with self.assertRaises(sa.BadHeader, msg=words) as e:
                sa.open(name)
            self.assertIn(name, str(e.exception))
            self.assertIn(words, str(e.exception))
        with open(path, "wb") as f:
            f.write(b"\0" * 100)
        with self.assertRaises(sa.BadHeader) as e:
            sa.open(name)
        self.assertIn("too small", str(e.exception))
        sa.unlink(name)

    def test_random_headers_never_crash(self):
        rng = np.random.default_rng(7)
        name = self.names.new()
        seg = sa.create(name, {"a": np.arange(4.0), "m": np.zeros((2, 3), np.int32)})
        seg.persist()
        path = os.path.join(sa.SHM_DIR, name)
        with open(path, "rb") as f:
            good = bytearray(f.read())
        seg.close()
        del seg
        gc.collect()
        accepted = 0
        for _ in range(300):
            h = bytearray(good)
            for _ in range(int(rng.integers(1, 4))):
                at = int(rng.integers(16, 32 + 2 * 168)) // 8 * 8
                h[at:at + 8] = struct.pack("<Q", int(rng.integers(0, 1 << 63)) % (1 << int(rng.integers(1, 64))))
            with open(path, "wb") as f:
                f.write(h)
            try:
                views = sa.open(name)
            except sa.BadHeader:
                continue
            accepted += 1
            for v in views.values():
                v.sum()  # every accepted view is readable
        sa.unlink(name)
        self.assertLess(accepted, 300)


if __name__ == "__main__":
    unittest.main()
