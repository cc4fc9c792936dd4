/* hillshade: Horn's method with the conventions of gdaldem hillshade (GDAL
 * 3.6): the same gradient, light model and byte mapping (1 = full shadow,
 * 255 = facing the light, 0 = nodata), the same 1-pixel nodata frame
 * without compute_edges and the same extrapolation rules with it, and the
 * same growth of nodata holes by one pixel. Computed in double precision
 * with an exact square root; gdaldem's approximate reciprocal square root
 * makes about one pixel in 10^4 differ by one grey level. */
#include <float.h>
#include <math.h>

#include "dem.h"

int sharc_dem_is_nodata(float v, float nodata) {
  if (isnan(nodata))
    return isnan(v);
  if (v == nodata)
    return 1;
  /* GDAL's ARE_REAL_EQUAL for floats. */
  double d = fabs((double)v - (double)nodata);
  return d < 2.0 * FLT_EPSILON * fabs((double)nodata);
}

void sharc_hillshade_defaults(sharc_hillshade_args *a, uint64_t width,
                              uint64_t height, double ewres, double nsres) {
  a->width = width;
  a->height = height;
  a->ewres = ewres;
  a->nsres = nsres;
  a->z = 1.0;
  a->xscale = 1.0;
  a->yscale = 1.0;
  a->azimuth = 315.0;
  a->altitude = 45.0;
  a->mode = SHARC_HILLSHADE_PLAIN;
  a->compute_edges = 0;
  a->has_nodata = 0;
  a->nodata = 0.0f;
  a->gradient = SHARC_GRADIENT_HORN;
  a->pad = 0;
}

typedef struct shade_ctx {
  const sharc_hillshade_args *a;
  const float *dem; /* pixel (r, c) at dem[(r - dr0) * stride + c - dc0] */
  size_t stride;
  uint64_t dr0, dc0;
  double sin_alt, cos_alt, sin_az, cos_az, az_rad;
  double kx, ky;    /* z / (8 * res * scale); 2 for Zevenbergen-Thorne */
  float nd, nd_tol; /* nodata and twice its equality tolerance (NaN: none) */
} shade_ctx;

static int nodata_at(const shade_ctx *s, float v) {
  return s->a->has_nodata && sharc_dem_is_nodata(v, s->a->nodata);
}

/* Does the window hold nodata? The common answer (no) with one compare per
 * value: the band of values sharc_dem_is_nodata() calls nodata, widened,
 * is tested first. */
static int window_has_nodata(const shade_ctx *s, const float w[9]) {
  for (int k = 0; k < 9; k++)
    if (!(fabsf(w[k] - s->nd) > s->nd_tol) && nodata_at(s, w[k]))
      return 1;
  return 0;
}

static float at(const shade_ctx *s, uint64_t r, uint64_t c) {
  return s->dem[(r - s->dr0) * s->stride + (c - s->dc0)];
}

/* gdaldem's INTERPOL: extrapolates past edge cell e from its inner
 * neighbour i; nodata in, nodata out. */
static float interpol(const shade_ctx *s, float e, float i) {
  if (nodata_at(s, e) || nodata_at(s, i))
    return s->a->nodata;
  return 2.0f * e - i;
}

/* The 3x3 window around (r, c), a b c / d e f / g h i row-major, north
 * first, with gdaldem's edge rules: on the first and last rows the missing
 * row is extrapolated per column and missing columns are clamped; on other
 * rows a missing column is extrapolated. */
static void window(const shade_ctx *s, int64_t r, int64_t c, float w[9]) {
  int64_t W = (int64_t)s->a->width, H = (int64_t)s->a->height;
  int edge_row = r == 0 || r == H - 1;
  for (int dr = -1; dr <= 1; dr++) {
    for (int dc = -1; dc <= 1; dc++) {
      int64_t rr = r + dr, cc = c + dc;
      float v;
      if (edge_row && (cc < 0 || cc >= W))
        cc = c;
      if (rr < 0 || rr >= H) {
        v = interpol(s, at(s, (uint64_t)r, (uint64_t)cc),
                     at(s, (uint64_t)(r - dr), (uint64_t)cc));
      } else if (cc < 0 || cc >= W) {
        v = interpol(s, at(s, (uint64_t)rr, (uint64_t)c),
                     at(s, (uint64_t)rr, (uint64_t)(c - dc)));
      } else {
        v = at(s, (uint64_t)rr, (uint64_t)cc);
      }
      w[(dr + 1) * 3 + (dc + 1)] = v;
    }
  }
}

static uint8_t to_byte(double v) {
  double r = floor(v + 0.5);
  return r >= 255.0 ? 255 : r <= 0.0 ? 0 : (uint8_t)r;
}

/* gdaldem's NormalizeAngle: into [0, 2 pi). */
static double normalize_angle(double a) {
  a = fmod(a, 2 * M_PI);
  return a < 0 ? 2 * M_PI + a : a;
}

static uint8_t shade(const shade_ctx *s, float w[9]) {
  if (s->a->has_nodata && window_has_nodata(s, w)) {
    if (nodata_at(s, w[4]))
      return 0;
    for (int k = 0; k < 9; k++) {
      if (!nodata_at(s, w[k]))
        continue;
      if (!s->a->compute_edges)
        return 0;
      w[k] = w[4];
    }
  }
  /* The sums in the DEM's own type (float), as gdaldem forms them. */
  float sx, sy;
  if (s->a->gradient == SHARC_GRADIENT_ZEVENBERGEN_THORNE) {
    sx = w[5] - w[3];
    sy = w[1] - w[7];
  } else {
    sx = (w[2] + w[5] + w[5] + w[8]) - (w[0] + w[3] + w[3] + w[6]);
    sy = (w[0] + w[1] + w[1] + w[2]) - (w[6] + w[7] + w[7] + w[8]);
  }
  double p = (double)sx * s->kx; /* dz/dx, eastward, times z */
  double q = (double)sy * s->ky; /* dz/dy, northward, times z */
  double pq2 = p * p + q * q;
  if (s->a->mode == SHARC_HILLSHADE_IGOR) {
    /* gdaldem -igor: a shadow darker the steeper the slope and the more
     * it faces away from the light; the aspect from the raw sums. */
    double slope_deg = atan(sqrt(pq2)) * (180.0 / M_PI);
    double aspect = atan2(-(double)sy, -(double)sx);
    double diff = fabs(normalize_angle(aspect) -
                       normalize_angle(M_PI * 3 / 2 - s->az_rad));
    if (diff > M_PI)
      diff = 2 * M_PI - diff;
    double shadowness = 1.0 - slope_deg / 90 * (1 - diff / M_PI);
    return to_byte(255.0 * shadowness);
  }
  double norm = sqrt(1.0 + pq2);
  if (s->a->mode == SHARC_HILLSHADE_MULTIDIRECTIONAL) {
    if (pq2 == 0.0)
      return to_byte(1.0 + 254.0 * s->sin_alt);
    /* USGS OF 92-422: four lights (225, 270, 315, 360 degrees) weighted by
     * the aspect. */
    static const double az[4] = {225.0, 270.0, 315.0, 360.0};
    double wk[4] = {0.5 * pq2 + p * q, p * p, 0.5 * pq2 - p * q, q * q};
    double sum = 0;
    for (int k = 0; k < 4; k++) {
      double ar = az[k] * M_PI / 180.0;
      double l = s->sin_alt - s->cos_alt * (p * sin(ar) + q * cos(ar));
      if (l > 0)
        sum += wk[k] * l;
    }
    return to_byte(1.0 + 127.0 * sum / (pq2 * norm));
  }
  double cang =
      (s->sin_alt - s->cos_alt * (p * s->sin_az + q * s->cos_az)) / norm;
  if (s->a->mode == SHARC_HILLSHADE_COMBINED) {
    double c = cang > 1.0 ? 1.0 : cang < -1.0 ? -1.0 : cang;
    double slope = atan(sqrt(pq2));
    cang = 1.0 - acos(c) * slope / ((M_PI / 2) * (M_PI / 2));
  }
  return cang <= 0.0 ? 1 : to_byte(1.0 + 254.0 * cang);
}

/* Hot path: the plain mode over the interior columns [ca, cb) of row r
 * (none on the raster's edge), into o[0 .. cb - ca). The same arithmetic
 * as shade() in the same order, without its branches, so the compiler can
 * keep the row in registers; windows holding nodata or NaN (flagged per
 * column, three rows at once) are then redone by shade() itself, so the
 * result is the same byte for byte. */
static void plain_interior(const shade_ctx *s, uint64_t r, uint64_t ca,
                           uint64_t cb, uint8_t *o) {
  /* up[i], mid[i], dn[i]: column ca - 1 + i of rows r - 1, r, r + 1 */
  size_t S = s->stride, n = cb - ca;
  const float *up = s->dem + (r - 1 - s->dr0) * S + (ca - 1 - s->dc0);
  const float *mid = up + S, *dn = mid + S;
  double kx = s->kx, ky = s->ky, sin_alt = s->sin_alt, cos_alt = s->cos_alt;
  double sin_az = s->sin_az, cos_az = s->cos_az;
  for (size_t i = 1; i <= n; i++) {
    float sx = (up[i + 1] + mid[i + 1] + mid[i + 1] + dn[i + 1]) -
               (up[i - 1] + mid[i - 1] + mid[i - 1] + dn[i - 1]);
    float sy = (up[i - 1] + up[i] + up[i] + up[i + 1]) -
               (dn[i - 1] + dn[i] + dn[i] + dn[i + 1]);
    double p = (double)sx * kx, q = (double)sy * ky;
    double norm = sqrt(1.0 + (p * p + q * q));
    double cang = (sin_alt - cos_alt * (p * sin_az + q * cos_az)) / norm;
    /* to_byte(): cang > 0 makes the value at least 1, so truncation is
     * floor; cang is bounded, so the conversion cannot overflow */
    int v = (int)((1.0 + 254.0 * cang) + 0.5);
    o[i - 1] = cang <= 0.0 ? 1 : v > 255 ? 255 : (uint8_t)v;
  }
  /* Nodata (or NaN) anywhere in a window: that pixel the slow way. The
   * band test is shade()'s own first test, widened. */
  int has = s->a->has_nodata;
  float nd = s->nd, tol = s->nd_tol;
  float w[9];
  int prev = 0, cur = 0, next;
  for (size_t i = 0; i <= n + 1; i++) {
    next = has ? !(fabsf(up[i] - nd) > tol) || !(fabsf(mid[i] - nd) > tol) ||
                     !(fabsf(dn[i] - nd) > tol)
               : isnan(up[i]) || isnan(mid[i]) || isnan(dn[i]);
    if (i >= 2 && (prev | cur | next)) {
      size_t x = i - 1;
      w[0] = up[x - 1], w[1] = up[x], w[2] = up[x + 1];
      w[3] = mid[x - 1], w[4] = mid[x], w[5] = mid[x + 1];
      w[6] = dn[x - 1], w[7] = dn[x], w[8] = dn[x + 1];
      o[x - 1] = shade(s, w);
    }
    prev = cur;
    cur = next;
  }
}

void sharc_hillshade_window(const sharc_hillshade_args *a, const float *dem,
                            size_t dem_stride, uint64_t dem_r0,
                            uint64_t dem_c0, uint8_t *out, size_t out_stride,
                            uint64_t r0, uint64_t r1, uint64_t c0,
                            uint64_t c1) {
  shade_ctx s = {a, dem, dem_stride, dem_r0, dem_c0, 0, 0, 0, 0,
                 0, 0, 0, a->nodata, 0};
  /* NaN tolerance (NaN nodata) makes every value take the exact test. */
  s.nd_tol =
      isnan(a->nodata) ? NAN : 4.0f * FLT_EPSILON * fabsf(a->nodata) + 1e-30f;
  double alt = a->altitude * M_PI / 180.0, az = a->azimuth * M_PI / 180.0;
  s.sin_alt = sin(alt);
  s.cos_alt = cos(alt);
  s.sin_az = sin(az);
  s.cos_az = cos(az);
  s.az_rad = az;
  /* Horn's weights sum to 8 across the window, Zevenbergen and Thorne's
   * difference to 2 */
  double span = a->gradient == SHARC_GRADIENT_ZEVENBERGEN_THORNE ? 2.0 : 8.0;
  s.kx = a->z / (span * a->ewres * a->xscale);
  s.ky = a->z / (span * a->nsres * a->yscale);
  uint64_t W = a->width, H = a->height;
  float w[9];
  for (uint64_t r = r0; r < r1; r++) {
    uint8_t *o = out + (r - r0) * out_stride;
    int edge_row = r == 0 || r + 1 == H;
    /* The plain mode's interior: the fast path over the row, the rest per
     * pixel below. */
    uint64_t fa = c0 > 1 ? c0 : 1, fb = c1 + 1 < W ? c1 : W - 1;
    if (edge_row || a->mode != SHARC_HILLSHADE_PLAIN ||
        a->gradient != SHARC_GRADIENT_HORN || W < 3 || fa >= fb)
      fa = fb = c1;
    else
      plain_interior(&s, r, fa, fb, o + (fa - c0));
    for (uint64_t c = c0; c < c1; c++) {
      if (c == fa)
        c = fb;
      if (c >= c1)
        break;
      int edge = edge_row || c == 0 || c + 1 == W;
      if (edge && (!a->compute_edges || W < 2 || H < 2)) {
        o[c - c0] = 0;
        continue;
      }
      if (!edge) {
        const float *p = dem + (r - 1 - dem_r0) * dem_stride + (c - 1 - dem_c0);
        size_t S = dem_stride;
        w[0] = p[0], w[1] = p[1], w[2] = p[2];
        w[3] = p[S], w[4] = p[S + 1], w[5] = p[S + 2];
        w[6] = p[2 * S], w[7] = p[2 * S + 1], w[8] = p[2 * S + 2];
      } else {
        window(&s, (int64_t)r, (int64_t)c, w);
      }
      o[c - c0] = shade(&s, w);
    }
  }
}

void sharc_hillshade_rows(const sharc_hillshade_args *a, const float *dem,
                          uint8_t *out, uint64_t r0, uint64_t r1) {
  sharc_hillshade_window(a, dem, a->width, 0, 0, out + r0 * a->width, a->width,
                         r0, r1, 0, a->width);
}

/* Hot path: one row per index; reads rows r-1..r+1 of the shared DEM. */
static int hillshade(const sharc_task *t, uint64_t begin, uint64_t end) {
  size_t len = 0;
  const sharc_hillshade_args *a = sharc_task_args(t, &len);
  const float *dem = sharc_task_array(t, 0);
  uint8_t *out = sharc_task_array(t, 1);
  if (!a || len != sizeof *a || !dem || !out || end > a->height ||
      sharc_task_array_size(t, 0) != a->width * a->height ||
      sharc_task_array_size(t, 1) != a->width * a->height)
    return SHARC_EINVAL;
  sharc_hillshade_rows(a, dem, out, begin, end);
  return 0;
}
SHARC_KERNEL(hillshade)
