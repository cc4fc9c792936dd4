"""NumPy's side of the .npy exchange tests in tests/test_npy.c.

Run with /usr/bin/python3 (the interpreter that has NumPy):

  npy_tool.py make  FILE DTYPE ORDER SHAPE VERSION
      writes an array with np.lib.format.write_array(version=(VERSION, 0))
  npy_tool.py check FILE DTYPE ORDER SHAPE
      reads a file sharc wrote: the header's dtype, shape and fortran_order
      must be exactly these, np.load must accept it, and the values must be
      the expected ones
  npy_tool.py batch LISTFILE
      runs one make/check command per line (same arguments, separated by
      spaces), so that a test imports NumPy once for hundreds of files

DTYPE is a NumPy name (bool, int8, ..., complex128); ORDER is C or F;
SHAPE is extents separated by commas, or "-" for a 0-d array; VERSION is 1,
2 or 3.

Element k of the payload, counted in memory order, has the value that
expected() gives; fill_payload() in test_npy.c computes the same bytes.
Exits 0 when every command succeeds, else 1 with one line per failure on
stderr.
"""
import sys

import numpy as np


def parse_shape(text):
    if text == "-":
        return ()
    return tuple(int(x) for x in text.split(","))


def expected(dtype, n):
    """The payload in memory order, as a flat array of dtype."""
    k = np.arange(n, dtype=np.uint64)
    if dtype.kind == "b":
        return (k % np.uint64(3)) == np.uint64(1)
    if dtype.kind in "iu":
        # uint64 arithmetic wraps; keep the low bits, then reinterpret.
        u = k * np.uint64(2654435761) + np.uint64(7)
        bits = np.dtype("u%d" % dtype.itemsize)
        return u.astype(bits).view(dtype)
    re = k.astype(np.float64) * 0.5 - 3.25
    if dtype.kind == "f":
        return re.astype(dtype)
    im = 1.0 - k.astype(np.float64) * 0.25
    return (re + 1j * im).astype(dtype)


def make(path, dtype, order, shape, version):
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    arr = expected(dt, n).reshape(shape, order=order)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, arr, version=(int(version), 0),
                                  allow_pickle=False)


def read_header(f):
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return version, np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return version, np.lib.format.read_array_header_2_0(f)
    raise ValueError("sharc wrote version %r" % (version,))


def check(path, dtype, order, shape):
    dt = np.dtype(dtype)
    with open(path, "rb") as f:
        version, (hshape, hfortran, hdtype) = read_header(f)
        offset = f.tell()
    problems = []
    if hdtype != dt:
        problems.append("dtype %s, expected %s" % (hdtype, dt))
    if hshape != shape:
        problems.append("shape %r, expected %r" % (hshape, shape))
    if hfortran != (order == "F"):
        problems.append("fortran_order %r, expected %r" % (hfortran, order == "F"))
    if offset % 64 != 0:
        problems.append("data offset %d is not a multiple of 64" % offset)
    if problems:
        raise ValueError("; ".join(problems))
    arr = np.load(path, allow_pickle=False)
    if arr.dtype != dt or arr.shape != shape:
        raise ValueError("np.load gave %s %r" % (arr.dtype, arr.shape))
    flat = arr.ravel(order=order)
    want = expected(dt, flat.size)
    if not np.array_equal(flat, want):
        raise ValueError("values differ: %r, expected %r" % (flat[:8], want[:8]))


def run(args):
    if len(args) == 6 and args[0] == "make":
        make(args[1], args[2], args[3], parse_shape(args[4]), args[5])
    elif len(args) == 5 and args[0] == "check":
        check(args[1], args[2], args[3], parse_shape(args[4]))
    else:
        raise ValueError("usage: make FILE DTYPE ORDER SHAPE VERSION | "
                         "check FILE DTYPE ORDER SHAPE | batch LISTFILE")


def main(argv):
    if len(argv) == 2 and argv[0] == "batch":
        with open(argv[1]) as f:
            commands = [line.split() for line in f if line.strip()]
    else:
        commands = [argv]
    failed = 0
    for args in commands:
        try:
            run(args)
        except Exception as e:  # report every failure, not just the first
            print("npy_tool: %s: %s" % (" ".join(args), e), file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
