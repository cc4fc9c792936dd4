"""Compares rasters for the tiles end-to-end tests (run with /usr/bin/python3,
which sees python3-gdal).

  tiles_compare.py raster OURS REF MIN_SHARE   every band: |ours - ref| <= 1 on
      at least MIN_SHARE of the pixels, nodata (0) on exactly the same pixels
      for a one-band hillshade, same size and georeferencing
  tiles_compare.py nogeo PATH                  writes a GeoTIFF with no
      georeferencing
  tiles_compare.py pyramid OURS REF MAX_MAD    the z/x/y.png sets are equal
      once tiles with no opaque pixel are left out of REF's, and each tile's
      mean absolute difference over the pixels opaque in both is <= MAX_MAD
  tiles_compare.py mbtiles FILE DIR            FILE holds exactly DIR's tiles
      (TMS rows), byte for byte, with MBTiles 1.3 metadata
"""
import sys

import numpy as np
from osgeo import gdal


def raster(ours, ref, min_share):
    a, b = gdal.Open(ours), gdal.Open(ref)
    if a is None or b is None:
        sys.exit("cannot open %s or %s" % (ours, ref))
    if (a.RasterXSize, a.RasterYSize, a.RasterCount) != (
            b.RasterXSize, b.RasterYSize, b.RasterCount):
        sys.exit("size/bands differ")
    ga, gb = a.GetGeoTransform(), b.GetGeoTransform()
    if any(abs(x - y) > 1e-9 * max(1, abs(y)) for x, y in zip(ga, gb)):
        sys.exit("geotransforms differ: %s %s" % (ga, gb))
    if a.GetSpatialRef() is None or not a.GetSpatialRef().IsSame(b.GetSpatialRef()):
        sys.exit("CRS differ")
    x = a.ReadAsArray().astype(np.int32)
    y = b.ReadAsArray().astype(np.int32)
    d = np.abs(x - y)
    if d.ndim == 3:
        d = d.max(axis=0)
    share = float((d <= 1).mean())
    if share < float(min_share):
        sys.exit("only %.5f of pixels within 1 (max %d)" % (share, d.max()))
    if a.RasterCount == 1 and not np.array_equal(x == 0, y == 0):
        sys.exit("nodata differs on %d pixels" % int(((x == 0) != (y == 0)).sum()))
    print("%.6f within 1, max %d" % (share, d.max()))


def nogeo(path):
    ds = gdal.GetDriverByName("GTiff").Create(path, 16, 16, 1, gdal.GDT_Float32)
    ds.GetRasterBand(1).Fill(10)
    ds = None


def tiles(root):
    import os
    out = {}
    for z in os.listdir(root):
        if not z.isdigit():
            continue
        for x in os.listdir(os.path.join(root, z)):
            for y in os.listdir(os.path.join(root, z, x)):
                if y.endswith(".png"):
                    out[(int(z), int(x), int(y[:-4]))] = os.path.join(root, z, x, y)
    return out


def read_png(path):
    ds = gdal.Open(path)
    a = ds.ReadAsArray().astype(np.int32)
    if a.ndim == 2:
        a = a[None]
    n = a.shape[0]
    if n in (2, 4):
        return a[:-1], a[-1]
    return a, np.full(a.shape[1:], 255, np.int32)


def pyramid(ours, ref, max_mad):
    mine, theirs = tiles(ours), tiles(ref)
    nonempty = {}
    for k, path in theirs.items():
        _, alpha = read_png(path)
        if (alpha == 255).any():
            nonempty[k] = path
    missing = sorted(set(nonempty) - set(mine))
    # Ours may hold tiles whose pixels are all partly transparent where the
    # reference's are: those must not be opaque anywhere.
    extra = []
    for k in sorted(set(mine) - set(nonempty)):
        _, alpha = read_png(mine[k])
        if (alpha == 255).any():
            extra.append(k)
    if missing or extra:
        sys.exit("tile sets differ: %d missing %s, %d extra %s" % (
            len(missing), missing[:5], len(extra), extra[:5]))
    worst, worst_k, compared = 0.0, None, 0
    for k in sorted(nonempty):
        a, aa = read_png(mine[k])
        b, ba = read_png(nonempty[k])
        both = (aa == 255) & (ba == 255)
        if not both.any():
            continue
        mad = float(np.abs(a - b)[:, both].mean())
        compared += 1
        if mad > worst:
            worst, worst_k = mad, k
    if worst > float(max_mad):
        sys.exit("tile %s differs by %.3f grey levels on average" % (worst_k, worst))
    print("%d tiles, %d compared, worst mean difference %.3f (%s)" % (
        len(nonempty), compared, worst, worst_k))


def mbtiles(path, root):
    import sqlite3
    db = sqlite3.connect(path)
    meta = dict(db.execute("select name, value from metadata"))
    for key in ("name", "format", "bounds", "minzoom", "maxzoom"):
        if key not in meta:
            sys.exit("metadata lacks " + key)
    if meta["format"] != "png":
        sys.exit("format is " + meta["format"])
    rows = {}
    for z, x, y, data in db.execute(
            "select zoom_level, tile_column, tile_row, tile_data from tiles"):
        rows[(z, x, (1 << z) - 1 - y)] = bytes(data)
    files = tiles(root)
    if set(rows) != set(files):
        sys.exit("tile sets differ: %d in the database, %d in the directory" % (
            len(rows), len(files)))
    for k, p in files.items():
        with open(p, "rb") as f:
            if f.read() != rows[k]:
                sys.exit("tile %s differs" % (k,))
    zs = sorted(k[0] for k in files)
    if (int(meta["minzoom"]), int(meta["maxzoom"])) != (zs[0], zs[-1]):
        sys.exit("zooms %s-%s, tiles %d-%d" % (meta["minzoom"], meta["maxzoom"], zs[0], zs[-1]))
    print("%d tiles identical" % len(rows))


if __name__ == "__main__":
    if sys.argv[1] == "raster":
        raster(*sys.argv[2:5])
    elif sys.argv[1] == "pyramid":
        pyramid(*sys.argv[2:5])
    elif sys.argv[1] == "mbtiles":
        mbtiles(*sys.argv[2:4])
    elif sys.argv[1] == "nogeo":
        nogeo(sys.argv[2])
    else:
        sys.exit("unknown check " + sys.argv[1])
