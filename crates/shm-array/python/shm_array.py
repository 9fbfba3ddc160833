"""Numpy arrays in shared memory, shared zero-copy with the Rust crate shm-array.

A segment is a file in /dev/shm with a one-page header (magic, version, ready
flag, and per array its name, numpy type string, shape and offset) followed
by the arrays, page-aligned, in C order. The format is in SPEC.md next to
this crate's Cargo.toml; numpy is the only dependency (plus the standard
library).

    import numpy as np, shm_array
    seg = shm_array.create("lab-run-1", {"a": np.arange(10) / 2,
                                         "m": np.zeros((3, 4), np.float32)})
    # ... another process, Rust or Python, opens "lab-run-1" ...
    arrays = shm_array.open("lab-run-1")      # {"a": ndarray, "m": ndarray}
    arrays["m"][1, 2] = 7.0                   # seen by every process at once

Lifetime, as on the Rust side:

- Every process holding a mapping holds a shared ``flock`` on the segment,
  for as long as any numpy view of it lives (the lock sits on the descriptor
  that numpy's buffer, an ``mmap``, keeps open). The Rust sweeper
  (``shm_array::sweep_leaked``) never removes a segment someone holds; once
  every holder is gone (even killed with SIGKILL) it may.
- The creating process removes the name when its last view is collected,
  or at interpreter exit (``Segment.persist()`` keeps it), or earlier with
  ``Segment.unlink()``. Openers never remove it, nor do forked children.
- ``Segment.close()`` drops the segment's own references: views you still
  hold stay valid (no use-after-unmap segfault), the memory goes with them.

Every error is a subclass of ``shm_array.Error`` and names the segment.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import mmap
import os
import re
import secrets
import struct
import weakref
from typing import Any, Iterator, Mapping

import numpy as np

__all__ = [
    "SHM_DIR",
    "VERSION",
    "Error",
    "NotFound",
    "Exists",
    "PermissionDenied",
    "NoSpace",
    "BadHeader",
    "BadArray",
    "NoSuchArray",
    "TypeMismatch",
    "ShapeMismatch",
    "Segment",
    "create",
    "attach",
    "open",
    "unlink",
    "unique_name",
]

SHM_DIR = "/dev/shm"
MAGIC = b"SHMARRAY"
VERSION = 2
HEADER_BYTES = 4096
MAX_ARRAYS = 16
MAX_DIMS = 8
ARRAY_ALIGN = 4096

_FIXED = struct.Struct("<8sIIQII")  # magic, version, ready, total, n, pid
_ENTRY = struct.Struct("<32s32sQQQQQ8Q")  # name, dtype, align, size, off, len, ndim, shape
_READY_AT = 12
_TEXT = 32
_NUMPY_TYPESTR = re.compile(r"^[<>|=][biufc][1-9][0-9]*$")
_ISIZE_MAX = (1 << 63) - 1

assert _FIXED.size == 32 and _ENTRY.size == 168


class Error(Exception):
    """Any failure; ``.segment`` is the segment's name."""

    def __init__(self, segment: str, message: str):
        self.segment = segment
        super().__init__(f"shared memory segment {segment!r}: {message}")


class NotFound(Error, FileNotFoundError):
    """No segment with that name."""


class Exists(Error, FileExistsError):
    """``create`` found the name taken."""


class PermissionDenied(Error, PermissionError):
    """The OS refused, or the segment belongs to a user not trusted."""


class NoSpace(Error, OSError):
    """/dev/shm has no room for the segment (reported at creation)."""


class BadHeader(Error, ValueError):
    """Not a segment of this format, not ready, or a header that fails a check."""


class BadArray(Error, ValueError):
    """``create`` was given something it cannot store (name, dtype, shape, mode)."""


class NoSuchArray(Error, KeyError):
    """No array of that name in the segment."""

    def __str__(self) -> str:  # KeyError would quote the message again
        return Exception.__str__(self)


class TypeMismatch(Error, TypeError):
    """The array holds another dtype than the one expected."""


class ShapeMismatch(Error, ValueError):
    """The array has another shape than the one expected."""


def _check_name(name: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"a segment name is a str, not {type(name).__name__}")
    bare = name[1:] if name.startswith("/") else name
    reason = None
    if not bare:
        reason = "empty"
    elif "/" in bare:
        reason = "contains '/' after the first character"
    elif "\0" in bare:
        reason = "contains a NUL byte"
    elif bare in (".", ".."):
        reason = "'.' and '..' are not names"
    elif len(bare.encode()) > 255:
        reason = "longer than 255 bytes"
    if reason:
        raise Error(name, f"bad name: {reason}")
    return bare


def _path(bare: str) -> str:
    return os.path.join(SHM_DIR, bare)


def _os_error(segment: str, op: str, e: OSError) -> Error:
    msg = f"{op}: {e.strerror or e}"
    if e.errno == errno.ENOENT:
        return NotFound(segment, "not found")
    if e.errno == errno.EEXIST:
        return Exists(segment, "already exists")
    if e.errno in (errno.EACCES, errno.EPERM):
        return PermissionDenied(segment, f"permission denied ({msg})")
    if e.errno in (errno.ENOSPC, errno.EFBIG, errno.ENOMEM):
        return NoSpace(segment, f"no space ({msg})")
    if e.errno == errno.ENAMETOOLONG:
        return Error(segment, "bad name: longer than 255 bytes")
    return Error(segment, msg)


_counter = itertools.count()


def unique_name(prefix: str) -> str:
    """A name nobody else will pick: ``prefix``, pid, a counter, random hex
    (the shape of the Rust ``unique_name``, so its sweeper knows the prefix)."""
    return f"{prefix}{os.getpid()}-{next(_counter)}-{secrets.token_hex(4)}"


# --- the header -------------------------------------------------------------


def _text(segment: str, where: str, field: bytes, what: str) -> str:
    end = field.find(b"\0")
    if end < 0:
        raise BadHeader(segment, f"{where}: its {what} has no NUL in {_TEXT} bytes")
    try:
        return field[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise BadHeader(segment, f"{where}: its {what} is not UTF-8") from None


def _numpy_dtype(typestr: str, elem_size: int) -> np.dtype:
    """The numpy dtype for a recorded type string: itself when numpy knows
    it with that size, else raw bytes (a type only Rust knows)."""
    if _NUMPY_TYPESTR.match(typestr):
        try:
            dt = np.dtype(typestr)
        except TypeError:
            dt = None
        if dt is not None and dt.itemsize == elem_size:
            return dt
    return np.dtype((np.void, elem_size))


def _parse(segment: str, h: bytes, mapped: int) -> list[dict[str, Any]]:
    """Checks a header (see SPEC.md, "Checks every reader makes")."""
    if len(h) < HEADER_BYTES:
        raise BadHeader(segment, f"too small: {mapped} bytes, needs {HEADER_BYTES}")
    magic, version, ready, total, n, _pid = _FIXED.unpack_from(h, 0)
    if magic != MAGIC:
        raise BadHeader(segment, "not made by shm-array (no header magic)")
    if version != VERSION:
        raise BadHeader(
            segment,
            f"header version {version}, but this module reads version {VERSION} "
            "(version 1 is read by the Rust crate only; see SPEC.md)",
        )
    if ready != 1:
        raise BadHeader(segment, "its creator has not finished writing it")
    if total > mapped:
        raise BadHeader(segment, f"too small: {mapped} bytes, needs {total}")
    if n > MAX_ARRAYS:
        raise BadHeader(segment, f"{n} arrays (at most {MAX_ARRAYS})")
    arrays: list[dict[str, Any]] = []
    for i in range(n):
        fields = _ENTRY.unpack_from(h, _FIXED.size + i * _ENTRY.size)
        raw_name, raw_dtype, align, size, offset, length, ndim = fields[:7]
        name = _text(segment, f"array #{i}", raw_name, "name")
        where = f"array #{i} ({name!r})"
        typestr = _text(segment, where, raw_dtype, "type string")
        if not (1 <= ndim <= MAX_DIMS):
            raise BadHeader(segment, f"{where}: {ndim} dimensions (1 to {MAX_DIMS})")
        shape = tuple(fields[7 : 7 + ndim])
        product = 1
        for d in shape:
            product *= d
        if product != length or product >= 1 << 64:
            raise BadHeader(segment, f"{where}: shape {list(shape)} does not match length {length}")
        if not (1 <= size <= ARRAY_ALIGN):
            raise BadHeader(segment, f"{where}: element size {size}")
        if not typestr or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in typestr):
            raise BadHeader(segment, f"{where}: type string {typestr!r} is empty or has control characters")
        if _NUMPY_TYPESTR.match(typestr) and int(typestr[2:]) != size:
            raise BadHeader(
                segment,
                f"{where}: type string {typestr!r} means {int(typestr[2:])}-byte "
                f"elements, but the element size is {size}",
            )
        if align == 0 or align & (align - 1) or align > ARRAY_ALIGN or size % align:
            raise BadHeader(segment, f"{where}: alignment {align}")
        end = offset + length * size
        if end > mapped:
            raise BadHeader(segment, f"{where}: too small: {mapped} bytes, needs {end}")
        if offset < HEADER_BYTES:
            raise BadHeader(segment, f"{where}: offset {offset} inside the header")
        if offset % ARRAY_ALIGN:
            raise BadHeader(segment, f"{where}: offset {offset} is not page-aligned")
        if any(a["name"] == name for a in arrays):
            raise BadHeader(segment, f"array {name!r} appears twice")
        arrays.append(
            dict(name=name, dtype=typestr, size=size, align=align, offset=offset,
                 len=length, shape=shape)
        )
    spans = sorted((a["offset"], a["offset"] + a["len"] * a["size"], a["name"])
                   for a in arrays if a["len"] > 0)
    for (_, end0, n0), (start1, _, n1) in zip(spans, spans[1:]):
        if end0 > start1:
            raise BadHeader(segment, f"arrays {n0!r} and {n1!r} overlap")
    return arrays


def _round_up(n: int) -> int:
    return -(-n // ARRAY_ALIGN) * ARRAY_ALIGN


def _layout(segment: str, arrays: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int]:
    if not isinstance(arrays, Mapping):
        raise BadArray(segment, f"arrays must be a dict of name -> array, not {type(arrays).__name__}")
    if len(arrays) > MAX_ARRAYS:
        raise BadArray(segment, f"{len(arrays)} arrays (at most {MAX_ARRAYS})")
    out = []
    cursor = HEADER_BYTES
    for name, value in arrays.items():
        if not isinstance(name, str):
            raise BadArray(segment, f"array names are str, not {type(name).__name__}")
        where = f"array {name!r}"
        b = name.encode("utf-8")
        if len(b) > _TEXT - 1 or b"\0" in b:
            raise BadArray(segment, f"{where}: names are at most 31 bytes, without NUL")
        a = np.asarray(value)
        dt = a.dtype
        if dt.fields is not None or dt.subdtype is not None or dt.kind not in "biufc":
            raise BadArray(
                segment,
                f"{where}: dtype {dt} cannot be shared (numbers and booleans only: "
                "kinds b, i, u, f, c)",
            )
        if not (1 <= a.ndim <= MAX_DIMS):
            raise BadArray(segment, f"{where}: {a.ndim} dimensions (1 to {MAX_DIMS})")
        size = dt.itemsize
        offset = cursor
        end = offset + a.size * size
        if _round_up(end) > _ISIZE_MAX:
            raise BadArray(segment, f"{where}: shape {a.shape} needs more than isize::MAX bytes")
        out.append(dict(name=name, dtype=dt.str, size=size, align=dt.alignment,
                        offset=offset, len=a.size, shape=tuple(a.shape), value=a))
        cursor = _round_up(end)
    return out, cursor


def _encode(total: int, arrays: list[dict[str, Any]]) -> bytearray:
    h = bytearray(HEADER_BYTES)
    # Published by link(2) (see create), so ready is written as 1 here.
    _FIXED.pack_into(h, 0, MAGIC, VERSION, 1, total, len(arrays), os.getpid() & 0xFFFFFFFF)
    for i, a in enumerate(arrays):
        shape = list(a["shape"]) + [0] * (MAX_DIMS - len(a["shape"]))
        _ENTRY.pack_into(
            h, _FIXED.size + i * _ENTRY.size,
            a["name"].encode("utf-8"), a["dtype"].encode("ascii"),
            a["align"], a["size"], a["offset"], a["len"], len(a["shape"]), *shape,
        )
    return h


def _check_mode(segment: str, mode: int, writable_by_others: bool) -> None:
    if not isinstance(mode, int) or not (0 <= mode <= 0o777):
        raise BadArray(segment, f"mode {mode!r} is not 0 to 0o777")
    if mode & 0o600 != 0o600:
        raise BadArray(segment, f"mode {mode:#o}: the owner needs read and write (0o600)")
    if mode & 0o111:
        raise BadArray(segment, f"mode {mode:#o}: no execute bits")
    if mode & 0o022 and not writable_by_others:
        raise BadArray(
            segment,
            f"mode {mode:#o} lets others write (and truncate) it; pass "
            "writable_by_others=True if every writer coordinates",
        )


# --- segments ---------------------------------------------------------------


def _unlink_if_ours(path: str, pid: int, ident: tuple[int, int], state: dict[str, bool]) -> None:
    """Finalizer of a creator's mapping: removes the name unless persisted,
    already unlinked, in a forked child, or now naming another segment."""
    if os.getpid() != pid or state["persist"] or state["unlinked"]:
        return
    state["unlinked"] = True
    try:
        st = os.stat(path, follow_symlinks=False)
        if (st.st_dev, st.st_ino) == ident:
            os.unlink(path)
    except OSError:
        pass


class Segment:
    """A mapped segment: its arrays as numpy views, by name.

    Views keep the mapping (and its liveness lock) alive on their own;
    ``close()`` only drops the segment's references to them.
    """

    def __init__(self, name: str, mm: mmap.mmap, infos: list[dict[str, Any]],
                 readonly: bool, state: dict[str, bool] | None, ident: tuple[int, int]):
        self.name = name
        self.readonly = readonly
        self.bytes = len(mm)
        self._ident = ident
        self._state = state  # None unless this process created it
        self._infos = {a["name"]: a for a in infos}
        # The mapping itself too (a segment may hold no array at all).
        self._mm: mmap.mmap | None = mm
        self._arrays: dict[str, np.ndarray] | None = {
            a["name"]: np.ndarray(a["shape"], _numpy_dtype(a["dtype"], a["size"]),
                                  buffer=mm, offset=a["offset"], order="C")
            for a in infos
        }

    def _live(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            raise Error(self.name, "closed (views taken before close() stay valid)")
        return self._arrays

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """Every array, by name (a new dict of the same views each time)."""
        return dict(self._live())

    def dtypes(self) -> dict[str, str]:
        """The type string each array's header entry records."""
        return {n: a["dtype"] for n, a in self._infos.items()}

    def array(self, name: str, dtype: Any = None, shape: Any = None) -> np.ndarray:
        """The view of array ``name``, checking its dtype and/or shape."""
        arrays = self._live()
        if name not in arrays:
            raise NoSuchArray(self.name, f"no array {name!r} (it has {sorted(arrays)})")
        a = arrays[name]
        if dtype is not None:
            want = np.dtype(dtype)
            if a.dtype != want or a.dtype.str != want.str:
                raise TypeMismatch(self.name, f"array {name!r} holds {a.dtype.str}, not {want.str}")
        if shape is not None:
            want_shape = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
            if a.shape != want_shape:
                raise ShapeMismatch(
                    self.name, f"array {name!r} has shape {a.shape}, not {want_shape}"
                )
        return a

    def __getitem__(self, name: str) -> np.ndarray:
        return self.array(name)

    def __contains__(self, name: object) -> bool:
        return name in self._live()

    def __iter__(self) -> Iterator[str]:
        return iter(self._live())

    def __len__(self) -> int:
        return len(self._live())

    def keys(self):
        return self._live().keys()

    def unlink(self) -> None:
        """Removes the name now (idempotent); mappings stay valid."""
        if self._state is not None:
            if self._state["unlinked"]:
                return
            self._state["unlinked"] = True
        try:
            st = os.stat(_path(self.name), follow_symlinks=False)
            if (st.st_dev, st.st_ino) == self._ident:
                os.unlink(_path(self.name))
        except FileNotFoundError:
            pass
        except OSError as e:
            raise _os_error(self.name, "unlink", e) from None

    def persist(self) -> None:
        """Keeps the name after this process is done with it (creator only);
        someone must unlink it, or a sweeper removes it once nobody holds it."""
        if self._state is None:
            raise Error(self.name, "persist: only the creating process owns the name")
        self._state["persist"] = True

    def close(self) -> None:
        """Drops this handle's views; the memory (and the lock) goes with the
        last view anyone still holds, and then the creator removes the name."""
        self._arrays = None
        self._mm = None

    @property
    def closed(self) -> bool:
        return self._arrays is None

    def __enter__(self) -> "Segment":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ", ".join(
            f"{n}: {a['dtype']} {a['shape']}" for n, a in self._infos.items())
        return f"<shm_array.Segment {self.name!r} ({state})>"


def attach(name: str, *, readonly: bool = False, owner: int | None = None,
           expect: Mapping[str, Any] | None = None) -> Segment:
    """Opens the segment ``name`` made by anyone (Rust or Python).

    ``readonly`` maps it read-only (numpy views are not writeable).
    A segment owned by another user is refused unless ``owner`` is that uid
    (names in /dev/shm can be squatted). ``expect`` maps array names to
    ``(dtype, shape)`` (either may be None) to check.
    """
    bare = _check_name(name)
    flags = (os.O_RDONLY if readonly else os.O_RDWR) | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(_path(bare), flags)
    except OSError as e:
        raise _os_error(bare, "open", e) from None
    try:
        # Liveness first: the lock is held before anything is read.
        fcntl.flock(fd, fcntl.LOCK_SH)
        st = os.fstat(fd)
        me = os.geteuid()
        if st.st_uid != me and st.st_uid != owner:
            raise PermissionDenied(
                bare,
                f"permission denied (owned by uid {st.st_uid}, not by us (uid {me}); "
                f"pass owner={st.st_uid} to trust it)",
            )
        if st.st_size < HEADER_BYTES:
            raise BadHeader(bare, f"too small: {st.st_size} bytes, needs {HEADER_BYTES}")
        prot = mmap.PROT_READ if readonly else mmap.PROT_READ | mmap.PROT_WRITE
        # mmap keeps its own duplicate of fd, and with it the lock, until
        # the mapping is gone.
        mm = mmap.mmap(fd, st.st_size, flags=mmap.MAP_SHARED, prot=prot)
    except Error:
        raise
    except OSError as e:
        raise _os_error(bare, "open", e) from None
    finally:
        os.close(fd)
    infos = _parse(bare, bytes(mm[:HEADER_BYTES]), len(mm))
    seg = Segment(bare, mm, infos, readonly, None, (st.st_dev, st.st_ino))
    for array, want in (expect or {}).items():
        dtype, shape = want if isinstance(want, tuple) else (want, None)
        seg.array(array, dtype, shape)
    return seg


def open(name: str, *, readonly: bool = False, owner: int | None = None,
         expect: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Zero-copy views of every array of segment ``name``, by name (see
    ``attach`` for the options). The views keep the segment mapped and
    locked; drop them to let go."""
    return attach(name, readonly=readonly, owner=owner, expect=expect).arrays


def create(name: str, arrays: Mapping[str, Any], *, mode: int = 0o600,
           group: int | str | None = None, writable_by_others: bool = False) -> Segment:
    """Creates segment ``name`` holding a copy of each array (any layout in,
    C order stored), fails if the name exists. ``mode`` (default 0o600) may
    let a ``group`` (gid or name) or others read it, e.g. 0o640."""
    bare = _check_name(name)
    infos, total = _layout(bare, arrays)
    _check_mode(bare, mode, writable_by_others)
    gid = None
    if group is not None:
        if isinstance(group, str):
            import grp

            try:
                gid = grp.getgrnam(group).gr_gid
            except KeyError:
                raise BadArray(bare, f"no group {group!r}") from None
        else:
            gid = int(group)
    final = _path(bare)
    if os.path.lexists(final):
        raise Exists(bare, "already exists")
    # Written under a temporary name, published complete by link(2).
    tmp_bare = f"{bare[:200]}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    tmp = _path(tmp_bare)
    try:
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as e:
        raise _os_error(bare, "create", e) from None
    linked = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            os.fchmod(fd, mode)
            if gid is not None:
                os.fchown(fd, -1, gid)
            os.posix_fallocate(fd, 0, total)
            mm = mmap.mmap(fd, total, flags=mmap.MAP_SHARED,
                           prot=mmap.PROT_READ | mmap.PROT_WRITE)
            st = os.fstat(fd)
        except OSError as e:
            raise _os_error(bare, "create", e) from None
        mm[:HEADER_BYTES] = _encode(total, infos)
        for a in infos:
            view = np.ndarray(a["shape"], np.dtype(a["dtype"]), buffer=mm, offset=a["offset"])
            np.copyto(view, a["value"], casting="no")
            del view
        try:
            os.link(tmp, final)
            linked = True
        except OSError as e:
            raise _os_error(bare, "create", e) from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        os.close(fd)
    assert linked
    for a in infos:
        del a["value"]
    ident = (st.st_dev, st.st_ino)
    state = {"persist": False, "unlinked": False}
    weakref.finalize(mm, _unlink_if_ours, final, os.getpid(), ident, state)
    return Segment(bare, mm, infos, False, state, ident)


def unlink(name: str) -> None:
    """Removes segment ``name`` (like ``shm_unlink``); mappings stay valid."""
    bare = _check_name(name)
    try:
        os.unlink(_path(bare))
    except OSError as e:
        raise _os_error(bare, "unlink", e) from None
