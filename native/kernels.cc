// The kernels of gemm.h. Compiled with -mavx2 -mfma: the addon calls them only after
// checking that the CPU has both (addon.cc).
//
// Every product runs on one micro-kernel: a panel of MR rows of A times a block of 8 or 16
// columns of B, held in registers over the whole summed dimension. A is read in place
// through offset tables (element (r, k) at data[rowAt[r] + kAt[k]]), so a convolution needs
// no im2col buffer: for the forward pass the rows are output positions and k the filter
// taps; for the filter gradient the rows are taps and k the positions. B is packed.
#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"

namespace advrob {
namespace {

typedef float v8 __attribute__((vector_size(32), aligned(32)));
typedef float v8u __attribute__((vector_size(32), aligned(4)));

inline v8 load(const float* p) { return *reinterpret_cast<const v8u*>(p); }
inline void store(float* p, v8 v) { *reinterpret_cast<v8u*>(p) = v; }

// Element (r, k) at data[rowAt[r] + kAt[k]].
struct Gather {
  const float* data;
  const int64_t* rowAt;
  const int64_t* kAt;
};

// Where C(i, j) goes: data[rowAt[i] + (colAt ? colAt[j] : j)], added to what is there or not.
struct Sink {
  float* data;
  const int64_t* rowAt;
  const int64_t* colAt;
  bool accumulate;
};

// Scratch, reused from call to call (the addon runs on one thread).
struct Scratch {
  std::vector<float> packedB, padded;
  std::vector<int64_t> tables[5];
};
Scratch scratch;

template <typename T>
T* reserve(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
  return v.data();
}

// table[i] = i * stride.
const int64_t* strided(std::vector<int64_t>& table, int64_t n, int64_t stride) {
  int64_t* t = reserve(table, static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) t[i] = i * stride;
  return t;
}

template <int MR, int NV>
void micro(int64_t depth, const float* const* rows, const int64_t* kAt, const float* bp,
           v8 (&acc)[MR][NV]) {
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = v8{};
  for (int64_t k = 0; k < depth; k++) {
    const int64_t o = kAt[k];
    v8 bv[NV];
    for (int v = 0; v < NV; v++) bv[v] = load(bp + (k * NV + v) * 8);
    for (int r = 0; r < MR; r++) {
      const v8 av = v8{} + rows[r][o];
      for (int v = 0; v < NV; v++) acc[r][v] += av * bv[v];
    }
  }
}

template <int MR, int NV>
void drain(const v8 (&acc)[MR][NV], const Sink& c, int64_t i0, int rows, int64_t j0, int cols) {
  for (int r = 0; r < rows; r++) {
    float* row = c.data + c.rowAt[i0 + r];
    for (int v = 0; v < NV; v++) {
      const int jv = v * 8;
      // A whole vector of columns lands on 8 consecutive floats: always without colAt, and
      // with it where 8 taps share a filter row (the input gradient's scatter).
      const bool consecutive =
          cols - jv >= 8 &&
          (c.colAt == nullptr || c.colAt[j0 + jv + 7] - c.colAt[j0 + jv] == 7);
      if (consecutive) {
        float* p = row + (c.colAt == nullptr ? j0 + jv : c.colAt[j0 + jv]);
        store(p, c.accumulate ? load(p) + acc[r][v] : acc[r][v]);
        continue;
      }
      for (int j = jv; j < std::min(cols, jv + 8); j++) {
        float* p = row + (c.colAt == nullptr ? j0 + j : c.colAt[j0 + j]);
        *p = c.accumulate ? *p + acc[r][v][j - jv] : acc[r][v][j - jv];
      }
    }
  }
}

// B(k, j0 .. j0 + width) into bp[k * width + ..], zeros past column n. B is a Gather indexed
// (column, summed index).
void packB(const Gather& b, int64_t depth, int64_t j0, int64_t n, int width, float* bp) {
  for (int64_t k = 0; k < depth; k++) {
    float* dst = bp + k * width;
    const float* src = b.data + b.kAt[k];
    for (int j = 0; j < width; j++) dst[j] = j0 + j < n ? src[b.rowAt[j0 + j]] : 0.0f;
  }
}

template <int MR>
void panels(int64_t m, int64_t n, int64_t depth, const Gather& a, const Gather& b, const Sink& c,
            bool wide) {
  struct Block {
    int64_t j0;
    int width;
    const float* packed;
  };
  Block blocks[64];
  int count = 0;
  float* bp = reserve(scratch.packedB, static_cast<size_t>(depth) * static_cast<size_t>(n + 16));
  for (int64_t j0 = 0; j0 < n;) {
    const int width = wide && n - j0 > 8 ? 16 : 8;
    packB(b, depth, j0, n, width, bp);
    blocks[count++] = {j0, width, bp};
    bp += depth * width;
    j0 += width;
  }
  const float* rows[MR];
  for (int64_t i0 = 0; i0 < m; i0 += MR) {
    const int live = static_cast<int>(std::min<int64_t>(MR, m - i0));
    // Rows past m repeat the last one: computed, never stored.
    for (int r = 0; r < MR; r++) rows[r] = a.data + a.rowAt[i0 + std::min(r, live - 1)];
    for (int q = 0; q < count; q++) {
      const int cols = static_cast<int>(std::min<int64_t>(blocks[q].width, n - blocks[q].j0));
      if (blocks[q].width == 16) {
        v8 acc[MR][2];
        micro<MR, 2>(depth, rows, a.kAt, blocks[q].packed, acc);
        drain<MR, 2>(acc, c, i0, live, blocks[q].j0, cols);
      } else {
        v8 acc[MR][1];
        micro<MR, 1>(depth, rows, a.kAt, blocks[q].packed, acc);
        drain<MR, 1>(acc, c, i0, live, blocks[q].j0, cols);
      }
    }
  }
}

// Columns of B in blocks of 16 need n <= 1024 for the block table; wider products go in
// slices of columns.
constexpr int64_t kMaxColumns = 1024;

void product(int64_t m, int64_t n, int64_t depth, const Gather& a, const Gather& b, const Sink& c) {
  if (m <= 0 || n <= 0) return;
  for (int64_t j0 = 0; j0 < n; j0 += kMaxColumns) {
    const int64_t width = std::min(kMaxColumns, n - j0);
    const Gather bj{b.data, b.rowAt + j0, b.kAt};
    const Sink cj{c.colAt == nullptr ? c.data + j0 : c.data, c.rowAt,
                  c.colAt == nullptr ? nullptr : c.colAt + j0, c.accumulate};
    if (width <= 8) {
      panels<8>(m, width, depth, a, bj, cj, false);
    } else {
      panels<6>(m, width, depth, a, bj, cj, true);
    }
  }
}

// The convolution's input with its padding made explicit, so every tap reads inside it.
struct Padded {
  const float* data;
  float* owned;  // the scratch copy, when padding was needed
  int64_t h, w;
};

Padded padInput(const ConvGeometry& g, const float* x) {
  const int64_t bottom =
      std::max<int64_t>(0, (g.outH - 1) * g.strideH + (g.kH - 1) * g.dilationH + 1 - g.inH - g.padTop);
  const int64_t right =
      std::max<int64_t>(0, (g.outW - 1) * g.strideW + (g.kW - 1) * g.dilationW + 1 - g.inW - g.padLeft);
  if (g.padTop == 0 && g.padLeft == 0 && bottom == 0 && right == 0) {
    return {x, nullptr, g.inH, g.inW};
  }
  const int64_t h = g.inH + g.padTop + bottom, w = g.inW + g.padLeft + right;
  float* p = reserve(scratch.padded, static_cast<size_t>(g.batch * h * w * g.inC));
  std::fill(p, p + g.batch * h * w * g.inC, 0.0f);
  if (x != nullptr) {
    for (int64_t n = 0; n < g.batch; n++)
      for (int64_t i = 0; i < g.inH; i++)
        std::memcpy(p + ((n * h + i + g.padTop) * w + g.padLeft) * g.inC,
                    x + (n * g.inH + i) * g.inW * g.inC, sizeof(float) * g.inW * g.inC);
  }
  return {p, p, h, w};
}

// Offset in the padded input of each output position's first tap, and of each tap from it.
const int64_t* positionTable(const ConvGeometry& g, const Padded& in, std::vector<int64_t>& t) {
  int64_t* at = reserve(t, static_cast<size_t>(g.batch * g.outH * g.outW));
  for (int64_t n = 0; n < g.batch; n++)
    for (int64_t oh = 0; oh < g.outH; oh++)
      for (int64_t ow = 0; ow < g.outW; ow++)
        *at++ = ((n * in.h + oh * g.strideH) * in.w + ow * g.strideW) * g.inC;
  return t.data();
}

const int64_t* tapTable(const ConvGeometry& g, const Padded& in, std::vector<int64_t>& t) {
  int64_t* at = reserve(t, static_cast<size_t>(g.kH * g.kW * g.inC));
  for (int64_t kh = 0; kh < g.kH; kh++)
    for (int64_t kw = 0; kw < g.kW; kw++)
      for (int64_t ci = 0; ci < g.inC; ci++)
        *at++ = (kh * g.dilationH * in.w + kw * g.dilationW) * g.inC + ci;
  return t.data();
}

// One input channel, unit strides and dilation (LeNet's first layer): its products have
// 25 terms and 6 columns, too narrow for `product`'s tiles, so these kernels put image
// columns in the lanes instead, reading rows of a zero-padded copy of the input plane.

// A copy of planes [count][h][w] (of src, placed at row `top` and column `left`), rows
// `slack` floats longer so a vector may start at any column and run past the last.
struct Planes {
  const float* data;
  int64_t h, w;
};
constexpr int64_t kSlack = 32;

// rows[p][r][c] = plane p of src at (r - top, c - left), zero outside; src's element
// (p, r, c) is at src[base(p) + (r * width + c) * step].
template <typename Base>
Planes copyPlanes(int64_t count, int64_t h, int64_t w, int64_t top, int64_t left, int64_t srcH,
                  int64_t srcW, int64_t step, const float* src, Base base) {
  const int64_t rowLen = w + kSlack;
  float* p = reserve(scratch.padded, static_cast<size_t>(count * h * rowLen));
  std::fill(p, p + count * h * rowLen, 0.0f);
  for (int64_t q = 0; q < count; q++) {
    const float* s = src + base(q);
    for (int64_t r = 0; r < srcH; r++) {
      float* d = p + (q * h + r + top) * rowLen + left;
      const float* sr = s + r * srcW * step;
      if (step == 1) {
        std::memcpy(d, sr, sizeof(float) * srcW);
      } else {
        for (int64_t c = 0; c < srcW; c++, sr += step) d[c] = *sr;
      }
    }
  }
  return {p, h, rowLen};
}

template <int V, int C>
inline void narrowBlock(const float* row0, int64_t rowStride, int64_t kH, int64_t kW,
                        const float* wt, v8 (&acc)[C][V]) {
  for (int c = 0; c < C; c++)
    for (int v = 0; v < V; v++) acc[c][v] = v8{};
  for (int64_t kh = 0; kh < kH; kh++) {
    const float* row = row0 + kh * rowStride;
    for (int64_t kw = 0; kw < kW; kw++) {
      v8 xv[V];
      for (int v = 0; v < V; v++) xv[v] = load(row + kw + 8 * v);
      const float* wk = wt + (kh * kW + kw) * C;
      for (int c = 0; c < C; c++) {
        const v8 wv = v8{} + wk[c];
        for (int v = 0; v < V; v++) acc[c][v] += wv * xv[v];
      }
    }
  }
}

bool singleChannel(const ConvGeometry& g) {
  return g.inC == 1 && g.strideH == 1 && g.strideW == 1 && g.dilationH == 1 && g.dilationW == 1;
}

constexpr int kNarrowChannels = 6;

void conv2dSingleChannel(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                         float* out, bool relu) {
  const int64_t h = g.outH + g.kH - 1, wd = g.outW + g.kW - 1;
  const Planes in = copyPlanes(g.batch, std::max(h, g.inH + g.padTop), std::max(wd, g.inW + g.padLeft),
                               g.padTop, g.padLeft, g.inH, g.inW, 1, x,
                               [&](int64_t n) { return n * g.inH * g.inW; });
  const int64_t taps = g.kH * g.kW;
  std::vector<float> wt(static_cast<size_t>(taps * kNarrowChannels));
  for (int64_t c0 = 0; c0 < g.outC; c0 += kNarrowChannels) {
    const int64_t cw = std::min<int64_t>(kNarrowChannels, g.outC - c0);
    for (int64_t t = 0; t < taps; t++)
      for (int c = 0; c < kNarrowChannels; c++)
        wt[t * kNarrowChannels + c] = c < cw ? w[t * g.outC + c0 + c] : 0.0f;
    for (int64_t n = 0; n < g.batch; n++)
      for (int64_t oh = 0; oh < g.outH; oh++) {
        const float* row0 = in.data + (n * in.h + oh) * in.w;
        float* o = out + (n * g.outH + oh) * g.outW * g.outC + c0;
        for (int64_t ow0 = 0; ow0 < g.outW; ow0 += 16) {
          const int64_t cols = std::min<int64_t>(16, g.outW - ow0);
          float lanes[kNarrowChannels][16];
          if (cols > 8) {
            v8 acc[kNarrowChannels][2];
            narrowBlock<2, kNarrowChannels>(row0 + ow0, in.w, g.kH, g.kW, wt.data(), acc);
            for (int c = 0; c < kNarrowChannels; c++) {
              store(lanes[c], acc[c][0]);
              store(lanes[c] + 8, acc[c][1]);
            }
          } else {
            v8 acc[kNarrowChannels][1];
            narrowBlock<1, kNarrowChannels>(row0 + ow0, in.w, g.kH, g.kW, wt.data(), acc);
            for (int c = 0; c < kNarrowChannels; c++) store(lanes[c], acc[c][0]);
          }
          for (int64_t j = 0; j < cols; j++) {
            float* oj = o + (ow0 + j) * g.outC;
            for (int64_t c = 0; c < cw; c++) {
              const float v = bias != nullptr ? bias[c0 + c] + lanes[c][j] : lanes[c][j];
              oj[c] = relu && !(v > 0.0f) ? 0.0f : v;
            }
          }
        }
      }
  }
}

// dx of a single-channel convolution: a correlation of dy (padded by the filter size less
// one) with the flipped filter, summed over dy's channels; image columns in the lanes.
void conv2dInputGradSingleChannel(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  const int64_t h = std::max(g.inH + g.padTop + g.kH - 1, g.outH + g.kH - 1);
  const int64_t wd = std::max(g.inW + g.padLeft + g.kW - 1, g.outW + g.kW - 1);
  // Plane (co, n) of dy, shifted by kH - 1 rows and kW - 1 columns.
  const Planes d = copyPlanes(g.outC * g.batch, h, wd, g.kH - 1, g.kW - 1, g.outH, g.outW, g.outC, dy,
                              [&](int64_t q) {
                                const int64_t co = q / g.batch, n = q % g.batch;
                                return n * g.outH * g.outW * g.outC + co;
                              });
  const int64_t taps = g.kH * g.kW;
  // Flipped filter: flip[co][t'] = w[taps - 1 - t'][co], one "channel" per dy channel.
  std::vector<float> flip(static_cast<size_t>(g.outC * taps));
  for (int64_t co = 0; co < g.outC; co++)
    for (int64_t t = 0; t < taps; t++) flip[co * taps + t] = w[(taps - 1 - t) * g.outC + co];
  for (int64_t n = 0; n < g.batch; n++)
    for (int64_t i = 0; i < g.inH; i++) {
      float* o = dx + (n * g.inH + i) * g.inW;
      for (int64_t j0 = 0; j0 < g.inW; j0 += 32) {
        const int64_t cols = std::min<int64_t>(32, g.inW - j0);
        v8 sum[4] = {v8{}, v8{}, v8{}, v8{}};
        for (int64_t co = 0; co < g.outC; co++) {
          const float* row0 = d.data + ((co * g.batch + n) * d.h + i + g.padTop) * d.w + g.padLeft + j0;
          v8 acc[1][4];
          narrowBlock<4, 1>(row0, d.w, g.kH, g.kW, flip.data() + co * taps, acc);
          for (int v = 0; v < 4; v++) sum[v] += acc[0][v];
        }
        float lanes[32];
        for (int v = 0; v < 4; v++) store(lanes + 8 * v, sum[v]);
        for (int64_t j = 0; j < cols; j++) o[j0 + j] = lanes[j];
      }
    }
}

}  // namespace

void gemm(int64_t m, int64_t n, int64_t depth, Strided a, Strided b, float* c, int64_t ldc,
          bool accumulate) {
  if (depth <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; i++) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  auto& t = scratch.tables;
  const Gather ga{a.data, strided(t[0], m, a.rs), strided(t[1], depth, a.ks)};
  const Gather gb{b.data, strided(t[2], n, b.rs), strided(t[3], depth, b.ks)};
  product(m, n, depth, ga, gb, Sink{c, strided(t[4], m, ldc), nullptr, accumulate});
}

void conv2d(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* out,
            bool relu) {
  if (singleChannel(g)) {
    conv2dSingleChannel(g, x, w, bias, out, relu);
    return;
  }
  const int64_t taps = g.kH * g.kW * g.inC;
  const int64_t positions = g.batch * g.outH * g.outW;
  const Padded in = padInput(g, x);
  auto& t = scratch.tables;
  const Gather a{in.data, positionTable(g, in, t[0]), tapTable(g, in, t[1])};
  const Gather b{w, strided(t[2], g.outC, 1), strided(t[3], taps, g.outC)};
  if (bias != nullptr) {
    for (int64_t p = 0; p < positions; p++) std::memcpy(out + p * g.outC, bias, sizeof(float) * g.outC);
  }
  product(positions, g.outC, taps, a, b,
          Sink{out, strided(t[4], positions, g.outC), nullptr, bias != nullptr});
  if (relu) {
    for (int64_t i = 0; i < positions * g.outC; i++) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
  }
}

void conv2dFilterGrad(const ConvGeometry& g, const float* x, const float* dy, float* dw) {
  const int64_t taps = g.kH * g.kW * g.inC;
  const int64_t positions = g.batch * g.outH * g.outW;
  const Padded in = padInput(g, x);
  auto& t = scratch.tables;
  const int64_t* tapAt = tapTable(g, in, t[0]);
  const int64_t* positionAt = positionTable(g, in, t[1]);
  const int64_t* dyAt = strided(t[2], positions, g.outC);
  const int64_t* channel = strided(t[3], g.outC, 1);
  const Sink c{dw, strided(t[4], taps, g.outC), nullptr, false};
  // In slices of positions, so the packed dy stays in cache.
  constexpr int64_t kSlice = 4096;
  if (positions == 0) std::fill(dw, dw + taps * g.outC, 0.0f);
  for (int64_t p0 = 0; p0 < positions; p0 += kSlice) {
    const int64_t depth = std::min(kSlice, positions - p0);
    const Gather a{in.data, tapAt, positionAt + p0};
    const Gather b{dy, channel, dyAt + p0};
    product(taps, g.outC, depth, a, b, Sink{c.data, c.rowAt, nullptr, p0 > 0});
  }
}

void conv2dInputGrad(const ConvGeometry& g, const float* dy, const float* w, float* dx) {
  if (singleChannel(g)) {
    conv2dInputGradSingleChannel(g, dy, w, dx);
    return;
  }
  const int64_t taps = g.kH * g.kW * g.inC;
  const int64_t positions = g.batch * g.outH * g.outW;
  const Padded in = padInput(g, nullptr);
  float* target = in.owned != nullptr ? in.owned : dx;
  if (in.owned == nullptr) std::fill(dx, dx + g.batch * g.inH * g.inW * g.inC, 0.0f);
  auto& t = scratch.tables;
  // dX(position + tap) += sum_co dy[position, co] * w[tap, co], panel by panel.
  const int64_t* channel = strided(t[1], g.outC, 1);
  const Gather a{dy, strided(t[0], positions, g.outC), channel};
  const Gather b{w, strided(t[2], taps, g.outC), channel};
  const Sink c{target, positionTable(g, in, t[3]), tapTable(g, in, t[4]), true};
  product(positions, taps, g.outC, a, b, c);
  if (in.owned != nullptr) {
    for (int64_t n = 0; n < g.batch; n++)
      for (int64_t i = 0; i < g.inH; i++)
        std::memcpy(dx + (n * g.inH + i) * g.inW * g.inC,
                    in.owned + ((n * in.h + i + g.padTop) * in.w + g.padLeft) * g.inC,
                    sizeof(float) * g.inW * g.inC);
  }
}

}  // namespace advrob
