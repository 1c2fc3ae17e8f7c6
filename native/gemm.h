// Float32 kernels for LeNet-sized convolutions and products, compiled with AVX2 and FMA
// (kernels.cc). Pointers are into the caller's memory (the wasm backend's heap); scratch
// space is the kernels' own. Every function is single-threaded and runs its loops in a
// fixed order, so results do not vary from run to run.
#pragma once
#include <cstdint>

namespace advrob {

// One operand of a product, in any layout (transposed included), indexed by its free index r
// (a row of A, a column of B) and the summed index k: data[r * rs + k * ks].
struct Strided {
  const float* data;
  int64_t rs, ks;
};

// C[i * ldc + j] (+)= sum_k A(i, k) * B(k, j) for i < m, j < n, k < depth. The sum over k
// runs in increasing k, one fused multiply-add at a time.
void gemm(int64_t m, int64_t n, int64_t depth, Strided a, Strided b, float* c, int64_t ldc,
          bool accumulate);

struct ConvGeometry {
  int64_t batch, inH, inW, inC;
  int64_t kH, kW, outC;
  int64_t outH, outW;
  int64_t strideH, strideW, dilationH, dilationW;
  int64_t padTop, padLeft;
};

// out[n, oh, ow, co] = bias[co] + sum x[n, ih, iw, ci] * w[kh, kw, ci, co] (NHWC, HWIO),
// then max(0, .) when relu. bias may be null.
void conv2d(const ConvGeometry& g, const float* x, const float* w, const float* bias,
            float* out, bool relu);
// dW[kh, kw, ci, co] = sum over n, oh, ow of x[n, ih, iw, ci] * dy[n, oh, ow, co].
void conv2dFilterGrad(const ConvGeometry& g, const float* x, const float* dy, float* dw);
// dX[n, ih, iw, ci] = sum over the taps that read it of dy[n, oh, ow, co] * w[kh, kw, ci, co].
void conv2dInputGrad(const ConvGeometry& g, const float* dy, const float* w, float* dx);

}  // namespace advrob
