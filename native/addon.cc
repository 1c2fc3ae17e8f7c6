// Node-API entry points of the native kernels. Every call names float32 arrays by byte
// offset into one ArrayBuffer (the wasm backend's heap), so tensors are neither copied nor
// moved; the geometry comes in a Float64Array. Built by scripts/build-native.mjs.
#include <node_api.h>

#include <cstdint>

#include "gemm.h"

namespace {

bool cpuHasKernels() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

struct Args {
  uint8_t* heap = nullptr;
  size_t heapBytes = 0;
  double* params = nullptr;
  size_t count = 0;
};

// (heap: ArrayBuffer, params: Float64Array) or a pending JS exception.
bool readArgs(napi_env env, napi_callback_info info, Args& out) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    napi_throw_type_error(env, nullptr, "expected (heap: ArrayBuffer, params: Float64Array)");
    return false;
  }
  void* data = nullptr;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &out.heapBytes) != napi_ok) {
    napi_throw_type_error(env, nullptr, "heap must be an ArrayBuffer");
    return false;
  }
  out.heap = static_cast<uint8_t*>(data);
  napi_typedarray_type type;
  void* values = nullptr;
  if (napi_get_typedarray_info(env, argv[1], &type, &out.count, &values, nullptr, nullptr) !=
          napi_ok ||
      type != napi_float64_array) {
    napi_throw_type_error(env, nullptr, "params must be a Float64Array");
    return false;
  }
  out.params = static_cast<double*>(values);
  return true;
}

// The float array at byte offset params[i] holding `floats` values, or null (and a pending
// exception) when it would reach outside the heap. A negative offset means "none".
const float* arrayAt(napi_env env, const Args& a, size_t i, int64_t floats, bool optional,
                     bool& ok) {
  const double at = a.params[i];
  if (optional && at < 0) return nullptr;
  const double end = at + 4.0 * static_cast<double>(floats);
  if (at < 0 || end > static_cast<double>(a.heapBytes) || static_cast<int64_t>(at) % 4 != 0) {
    napi_throw_range_error(env, nullptr, "array outside the heap or misaligned");
    ok = false;
    return nullptr;
  }
  return reinterpret_cast<const float*>(a.heap + static_cast<int64_t>(at));
}

float* mutableAt(napi_env env, const Args& a, size_t i, int64_t floats, bool& ok) {
  return const_cast<float*>(arrayAt(env, a, i, floats, false, ok));
}

// params: [x, w, bias, out offsets] then the geometry (15 numbers), then relu.
constexpr size_t kGeometryAt = 4;
constexpr size_t kConvParams = kGeometryAt + 15 + 1;

advrob::ConvGeometry geometryOf(const double* p) {
  auto v = [p](size_t i) { return static_cast<int64_t>(p[kGeometryAt + i]); };
  return advrob::ConvGeometry{v(0), v(1),  v(2),  v(3),  v(4),  v(5),  v(6), v(7),
                              v(8), v(9), v(10), v(11), v(12), v(13), v(14)};
}

int64_t inputSize(const advrob::ConvGeometry& g) { return g.batch * g.inH * g.inW * g.inC; }
int64_t filterSize(const advrob::ConvGeometry& g) { return g.kH * g.kW * g.inC * g.outC; }
int64_t outputSize(const advrob::ConvGeometry& g) { return g.batch * g.outH * g.outW * g.outC; }

enum class ConvOp { Forward, FilterGrad, InputGrad };

template <ConvOp op>
napi_value conv(napi_env env, napi_callback_info info) {
  Args a;
  if (!readArgs(env, info, a)) return nullptr;
  if (a.count != kConvParams) {
    napi_throw_range_error(env, nullptr, "conv: wrong number of params");
    return nullptr;
  }
  const advrob::ConvGeometry g = geometryOf(a.params);
  bool ok = true;
  if (op == ConvOp::Forward) {
    const float* x = arrayAt(env, a, 0, inputSize(g), false, ok);
    const float* w = ok ? arrayAt(env, a, 1, filterSize(g), false, ok) : nullptr;
    const float* bias = ok ? arrayAt(env, a, 2, g.outC, true, ok) : nullptr;
    float* out = ok ? mutableAt(env, a, 3, outputSize(g), ok) : nullptr;
    if (ok) advrob::conv2d(g, x, w, bias, out, a.params[kConvParams - 1] != 0);
  } else if (op == ConvOp::FilterGrad) {
    const float* x = arrayAt(env, a, 0, inputSize(g), false, ok);
    const float* dy = ok ? arrayAt(env, a, 1, outputSize(g), false, ok) : nullptr;
    float* dw = ok ? mutableAt(env, a, 3, filterSize(g), ok) : nullptr;
    if (ok) advrob::conv2dFilterGrad(g, x, dy, dw);
  } else {
    const float* dy = arrayAt(env, a, 0, outputSize(g), false, ok);
    const float* w = ok ? arrayAt(env, a, 1, filterSize(g), false, ok) : nullptr;
    float* dx = ok ? mutableAt(env, a, 3, inputSize(g), ok) : nullptr;
    if (ok) advrob::conv2dInputGrad(g, dy, w, dx);
  }
  return nullptr;
}

// params: [a, b, bias, out offsets, m, n, depth, a.rs, a.ks, b.rs, b.ks, relu]:
// out[i, j] = bias[j] + sum_k a[i * a.rs + k * a.ks] * b[j * b.rs + k * b.ks].
napi_value matmul(napi_env env, napi_callback_info info) {
  Args a;
  if (!readArgs(env, info, a)) return nullptr;
  if (a.count != 12) {
    napi_throw_range_error(env, nullptr, "matmul: wrong number of params");
    return nullptr;
  }
  auto v = [&a](size_t i) { return static_cast<int64_t>(a.params[i]); };
  const int64_t m = v(4), n = v(5), depth = v(6);
  const int64_t aSpan = (m - 1) * v(7) + (depth - 1) * v(8) + 1;
  const int64_t bSpan = (n - 1) * v(9) + (depth - 1) * v(10) + 1;
  bool ok = true;
  const float* lhs = arrayAt(env, a, 0, aSpan, false, ok);
  const float* rhs = ok ? arrayAt(env, a, 1, bSpan, false, ok) : nullptr;
  const float* bias = ok ? arrayAt(env, a, 2, n, true, ok) : nullptr;
  float* out = ok ? mutableAt(env, a, 3, m * n, ok) : nullptr;
  if (!ok) return nullptr;
  if (bias != nullptr) {
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) out[i * n + j] = bias[j];
  }
  advrob::gemm(m, n, depth, advrob::Strided{lhs, v(7), v(8)}, advrob::Strided{rhs, v(9), v(10)},
               out, n, bias != nullptr);
  if (a.params[11] != 0) {
    for (int64_t i = 0; i < m * n; i++) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
  }
  return nullptr;
}

napi_value init(napi_env env, napi_value exports) {
  napi_value supported;
  napi_get_boolean(env, cpuHasKernels(), &supported);
  napi_set_named_property(env, exports, "supported", supported);
  const struct {
    const char* name;
    napi_callback fn;
  } fns[] = {{"conv2d", conv<ConvOp::Forward>},
             {"conv2dFilterGrad", conv<ConvOp::FilterGrad>},
             {"conv2dInputGrad", conv<ConvOp::InputGrad>},
             {"matmul", matmul}};
  for (const auto& f : fns) {
    napi_value value;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &value);
    napi_set_named_property(env, exports, f.name, value);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
