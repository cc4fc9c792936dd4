"""Writes the seed corpus of tests/fuzz/fuzz_npy.c: real .npy files made by
NumPy, and broken ones cut or edited from them.

Run with /usr/bin/python3 (the interpreter that has NumPy):

  make_npy_corpus.py [DIR]      (default: corpus_npy beside this script)

The directory is emptied of *.npy first, so the output depends only on this
script and the NumPy version. Each file name starts with what sharc must
make of it, and tests/fuzz/replay_npy.c checks exactly that:

  ok-     a valid header sharc can map (returns 0, mappable)
  nomap-  a valid header of a dtype or byte order sharc refuses
          (returns 0, not mappable)
  bad-    malformed (SHARC_EFORMAT)
"""
import io
import os
import sys

import numpy as np


def npy_bytes(arr, version, allow_pickle=False):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, version=(version, 0),
                              allow_pickle=allow_pickle)
    return buf.getvalue()


def valid_files():
    """(name, array, versions) for headers NumPy writes and sharc maps."""
    out = []
    for dt in ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
               "uint32", "uint64", "float32", "float64", "complex64",
               "complex128"]:
        a = (np.arange(12) % 7).astype(dt).reshape(3, 4)
        out.append((f"{dt}-3x4-C", a))
    out.append(("float64-3x4-F", np.asfortranarray(np.arange(12.0).reshape(3, 4))))
    out.append(("int32-2x3x4-F", np.asfortranarray(np.arange(24, dtype="i4").reshape(2, 3, 4))))
    out.append(("float64-0d", np.array(3.5)))
    out.append(("float32-empty-0", np.zeros((0,), dtype="f4")))
    out.append(("int64-empty-0x3", np.zeros((0, 3), dtype="i8")))
    out.append(("uint8-1", np.array([7], dtype="u1")))
    out.append(("int16-1x1x1x1x1x1x1x1", np.ones((1,) * 8, dtype="i2")))
    return out


def refused_files():
    """(name, array, allow_pickle) for valid headers sharc does not map."""
    return [
        ("float64-big-endian", np.arange(6, dtype=">f8"), False),
        ("int32-big-endian-F", np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3)), False),
        ("float16", np.arange(4, dtype="f2"), False),
        ("unicode-U5", np.array(["ab", "cde"], dtype="<U5"), False),
        ("datetime64", np.array(["2020-01-01"], dtype="datetime64[D]"), False),
        ("structured", np.zeros(3, dtype=[("a", "<i4"), ("b", "<f8", (2,))]), False),
        ("structured-nested", np.zeros(2, dtype=[("p", [("x", "<f4"), ("y", "<f4")]), ("n", "u1")]), False),
        ("object", np.array([1, "a", None], dtype=object), True),
    ]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus_npy")
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".npy"):
            os.remove(os.path.join(out, f))

    def put(name, data):
        with open(os.path.join(out, name + ".npy"), "wb") as f:
            f.write(data)

    base = None
    for name, arr in valid_files():
        for v in (1, 2, 3):
            data = npy_bytes(arr, v)
            put(f"ok-{name}-v{v}", data)
            if base is None:
                base = data
    for name, arr, pickle in refused_files():
        for v in (1, 3):
            put(f"nomap-{name}-v{v}", npy_bytes(arr, v, pickle))
    # Structured dtype with a non-ASCII field name: NumPy needs 3.0 (UTF-8).
    put("nomap-structured-utf8-v3",
        npy_bytes(np.zeros(2, dtype=[("\u00e4", "<i4")]), 3))

    # Broken files, cut from or edited in the first valid one (bool 3x4, v1).
    hlen = base[8] | base[9] << 8
    data_off = 10 + hlen
    put("bad-empty", b"")
    put("bad-magic-only", base[:6])
    put("bad-cut-in-prefix", base[:9])
    put("bad-cut-in-header", base[:40])
    put("bad-cut-before-newline", base[:data_off - 1])
    put("bad-cut-in-data", base[:data_off + 5])
    put("bad-magic", b"\x93NUMPZ" + base[6:])
    put("bad-version-4", base[:6] + b"\x04\x00" + base[8:])
    put("bad-version-1.1", base[:6] + b"\x01\x01" + base[8:])
    put("bad-header-length-beyond-file", base[:8] + b"\xff\xff" + base[10:])
    put("bad-no-newline", base[:data_off - 1] + b" " + base[data_off:])
    hdr = base[10:data_off]

    def edit(name, old, new):
        # Same header length: the dict's padding absorbs the difference.
        h = hdr.replace(old, new, 1).rstrip(b"\n").rstrip(b" ")
        assert h != hdr.rstrip(b"\n").rstrip(b" ") and len(h) < len(hdr), name
        h = h + b" " * (len(hdr) - 1 - len(h)) + b"\n"
        put(name, base[:10] + h + base[data_off:])

    edit("bad-negative-extent", b"(3, 4)", b"(-3, 4)")
    edit("bad-shape-not-tuple", b"(3, 4)", b"[3, 4]")
    edit("bad-fortran-not-bool", b"False", b"0    ")
    edit("bad-duplicate-key", b"'fortran_order': False", b"'descr': '|b1'       ")
    edit("bad-extra-key", b"'fortran_order'", b"'fortran_ordex'")
    edit("bad-shape-overflow", b"(3, 4)", b"(99999999999, 99999999999)")
    edit("bad-shape-too-big-for-data", b"(3, 4)", b"(3, 5)")
    edit("bad-unterminated-string", b"'descr': '|b1'", b"'descr': '|b1 ")


if __name__ == "__main__":
    main()
