"""Compares rasters for the tiles end-to-end tests (run with /usr/bin/python3,
which sees python3-gdal).

  tiles_compare.py raster OURS REF MIN_SHARE   every band: |ours - ref| <= 1 on
      at least MIN_SHARE of the pixels, nodata (0) on exactly the same pixels
      for a one-band hillshade, same size and georeferencing
  tiles_compare.py nogeo PATH                  writes a GeoTIFF with no
      georeferencing
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


if __name__ == "__main__":
    if sys.argv[1] == "raster":
        raster(*sys.argv[2:5])
    elif sys.argv[1] == "nogeo":
        nogeo(sys.argv[2])
    else:
        sys.exit("unknown check " + sys.argv[1])
