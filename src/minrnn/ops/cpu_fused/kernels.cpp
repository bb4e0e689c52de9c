// Fused CPU kernels of minrnn: linear scan, minGRU, minLSTM and Aaren, forward and backward.
//
// Plain C ABI (no torch headers, so the build takes seconds): the Python side passes raw pointers of
// contiguous tensors and loads this file as a shared library with ctypes.
//
// Layout. Every op sees its sequences packed along one time axis: an input of shape (L, D) row-major and
// offsets cu[0..N] (cu[0] = 0, cu[N] = L); sequence n covers rows cu[n] .. cu[n+1]-1. A batch (B, T, D) is
// the special case cu = {0, T, 2T, ..., BT}. States are (N, D).
//
// Work split. Items are (sequence n, block of contiguous channels: whole rows when there are enough
// sequences); OpenMP runs items in parallel, each item walks its sequence in time order (backward: in reverse,
// see GatedBwd) and the innermost loop runs over the contiguous channels of its block, so every step reads
// and writes whole cache lines.
//
// Equations (see minrnn/ops/gated/coefficients.py and minrnn/ops/aaren/reference.py):
//   linear scan  h_t = a_t h_{t-1} + b_t
//   minGRU       z = sigmoid(x), a = sigmoid(-x), b = z g(c)
//   minLSTM      a = f' = f / (f + i), b = i' g(c) with f, i the gate sigmoids (see lstm_gates)
//                (= sigmoid(-d), sigmoid(d) g(c) with d = logsigmoid(i) - logsigmoid(f): minGRU with logit d)
//   g(c) = c + 0.5 (c >= 0), sigmoid(c) (c < 0)
// Backward: g_t = dL/dh_t + a_{t+1} g_{t+1} (reverse linear scan), dL/da_t = g_t h_{t-1}, dL/db_t = g_t; the
// gate gradients are formed in the same pass from the logits (nothing but the outputs is saved).


#include <algorithm>
#include <cstdint>
#include <vector>

#include "aaren.h"
#include "gate_math.h"
#include "parallel.h"

namespace {

// Inputs may be row-strided views (e.g. chunks of one projection): row t of input i starts at in[i] + t * xs[i].
template <typename T, template <typename> class Op, int NIN>
void gated_fwd(const T* const* in, const int64_t* xs, const T* h0, T* h, T* hlast, const int64_t* cu, int64_t N,
               int64_t D, int nth) {
  const int64_t DB = block_width(N, D, nth), nb = (D + DB - 1) / DB;
  parallel_items(N * nb, nth, [&](int64_t it) {
    const int64_t n = it / nb, d0 = (it % nb) * DB, w = std::min(DB, D - d0);
    T st[DBMAX];
    for (int64_t j = 0; j < w; ++j) st[j] = h0[n * D + d0 + j];
    for (int64_t t = cu[n]; t < cu[n + 1]; ++t) {
      const int64_t base = t * D + d0;
      T* ht = h + base;
      const T* p[NIN];
      for (int i = 0; i < NIN; ++i) p[i] = in[i] + t * xs[i] + d0;
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) {
        T a, b;
        Op<T>::coef(p, j, a, b);
        st[j] = a * st[j] + b;
        ht[j] = st[j];
      }
    }
    for (int64_t j = 0; j < w; ++j) hlast[n * D + d0 + j] = st[j];
  });
}

// Backward: g_t = dL/dh_t + a_{t+1} g_{t+1} walks time backwards. Two ways to walk an item:
//
// GatedBwd::reverse_rows: one pass, row by row from the end, with software prefetch (the hardware prefetchers
//   follow descending addresses poorly). Best for narrow items (few channels per row), which are bound by the
//   gate arithmetic rather than by memory.
// GatedBwd::chunked: time chunks of K rows, latest chunk first, three passes per chunk whose global reads and writes
//   all go forwards: (1) a_t and dL/dh_t into local buffers A, G (L1/L2-resident); (2) backwards over the local
//   buffers only: G_t += a_{t+1} G_{t+1}; (3) the input gradients from G_t, h_{t-1} and the inputs. It
//   recomputes a_t once more, so it pays off only where memory is the limit: wide items (A/B on the 2-core
//   EPYC VM at B=16, T=2048: 1.3x faster backward at 256 channels per item, 1.7x slower at 64).
constexpr int64_t PF = 4;               // rows prefetched ahead by reverse_rows
constexpr int64_t CHUNK_ELEMS = 16384;  // chunked: rows per chunk = CHUNK_ELEMS / channels per item
constexpr int64_t CHUNKED_MIN_W = 128;  // items at least this wide use chunked

template <typename T, template <typename> class Op, int NIN>
struct GatedBwd {
  const T* const* in;
  const int64_t* xs;
  const T *h, *h0, *gh;
  T* const* out;
  int64_t os, D;

  // g, anext (w each): on entry dL/dh_{end-1} from after the sequence and a_end = 1; on exit g_start, a_start.
  void reverse_rows(int64_t n, int64_t start, int64_t end, int64_t d0, int64_t w, T* g, T* anext) const {
    for (int64_t t = end - 1; t >= start; --t) {
      const T* ghp = gh + t * D + d0;
      const T* hp = t > start ? h + (t - 1) * D + d0 : h0 + n * D + d0;
      const T* p[NIN];
      T* q[NIN];
      for (int i = 0; i < NIN; ++i) {
        p[i] = in[i] + t * xs[i] + d0;
        q[i] = out[i] + t * os + d0;
      }
      if (t - PF > start) {
        for (int64_t j = 0; j < w; j += 64 / sizeof(T)) {
          for (int i = 0; i < NIN; ++i) __builtin_prefetch(p[i] - PF * xs[i] + j);
          __builtin_prefetch(ghp - PF * D + j);
          __builtin_prefetch(hp - PF * D + j);
        }
      }
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) {
        const T gj = ghp[j] + anext[j] * g[j];
        g[j] = gj;
        anext[j] = Op<T>::grad(p, j, gj, hp[j], q);
      }
    }
  }

  void chunked(int64_t n, int64_t start, int64_t end, int64_t d0, int64_t w, T* g, T* anext) const {
    const int64_t K = std::max<int64_t>(4, CHUNK_ELEMS / w);
    std::vector<T> A(K * w), G(K * w);
    for (int64_t c1 = end; c1 > start; c1 -= K) {
      const int64_t c0 = std::max(start, c1 - K);
      for (int64_t t = c0; t < c1; ++t) {  // pass 1
        const T* p[NIN];
        for (int i = 0; i < NIN; ++i) p[i] = in[i] + t * xs[i] + d0;
        const T* ghp = gh + t * D + d0;
        T* Ar = A.data() + (t - c0) * w;
        T* Gr = G.data() + (t - c0) * w;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
          Ar[j] = Op<T>::decay(p, j);
          Gr[j] = ghp[j];
        }
      }
      for (int64_t t = c1 - 1; t >= c0; --t) {  // pass 2
        const T* Ar = A.data() + (t - c0) * w;
        T* Gr = G.data() + (t - c0) * w;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) {
          const T gj = Gr[j] + anext[j] * g[j];
          Gr[j] = gj;
          g[j] = gj;
          anext[j] = Ar[j];
        }
      }
      for (int64_t t = c0; t < c1; ++t) {  // pass 3
        const T* p[NIN];
        T* q[NIN];
        for (int i = 0; i < NIN; ++i) {
          p[i] = in[i] + t * xs[i] + d0;
          q[i] = out[i] + t * os + d0;
        }
        const T* hp = t > start ? h + (t - 1) * D + d0 : h0 + n * D + d0;
        const T* Gr = G.data() + (t - c0) * w;
#pragma omp simd
        for (int64_t j = 0; j < w; ++j) Op<T>::grad(p, j, Gr[j], hp[j], q);
      }
    }
  }
};

template <typename T, template <typename> class Op, int NIN>
void gated_bwd(const T* const* in, const int64_t* xs, const T* h, const T* h0, const T* gh, const T* glast,
               T* const* out, int64_t os, T* gh0, const int64_t* cu, int64_t N, int64_t D, int nth) {
  const int64_t DB = block_width(N, D, nth), nb = (D + DB - 1) / DB;
  const GatedBwd<T, Op, NIN> bwd{in, xs, h, h0, gh, out, os, D};
  parallel_items(N * nb, nth, [&](int64_t it) {
    const int64_t n = it / nb, d0 = (it % nb) * DB, w = std::min(DB, D - d0);
    T g[DBMAX], anext[DBMAX];
    for (int64_t j = 0; j < w; ++j) {
      g[j] = glast[n * D + d0 + j];
      anext[j] = T(1);
    }
    if (w >= CHUNKED_MIN_W) bwd.chunked(n, cu[n], cu[n + 1], d0, w, g, anext);
    else bwd.reverse_rows(n, cu[n], cu[n + 1], d0, w, g, anext);
    for (int64_t j = 0; j < w; ++j) gh0[n * D + d0 + j] = anext[j] * g[j];
  });
}

}  // namespace


#define MR_GATED(NAME, OP, NIN)                                                                                 \
  template <typename T>                                                                                       \
  void NAME##_fwd_t(const void* const* in, const int64_t* xs, const void* h0, void* h, void* hl,            \
                    const int64_t* cu, int64_t N, int64_t D, int nth) {                                       \
    gated_fwd<T, OP, NIN>(reinterpret_cast<const T* const*>(in), xs, static_cast<const T*>(h0),               \
                          static_cast<T*>(h), static_cast<T*>(hl), cu, N, D, nth);                            \
  }                                                                                                           \
  template <typename T>                                                                                       \
  void NAME##_bwd_t(const void* const* in, const int64_t* xs, const void* h, const void* h0, const void* gh, \
                    const void* gl, void* const* out, int64_t os, void* gh0, const int64_t* cu, int64_t N,    \
                    int64_t D, int nth) {                                                                     \
    gated_bwd<T, OP, NIN>(reinterpret_cast<const T* const*>(in), xs, static_cast<const T*>(h),                 \
                          static_cast<const T*>(h0), static_cast<const T*>(gh), static_cast<const T*>(gl),    \
                          reinterpret_cast<T* const*>(out), os, static_cast<T*>(gh0), cu, N, D, nth);         \
  }                                                                                                           \
  extern "C" void mr_##NAME##_fwd(int dbl, const void* const* in, const int64_t* xs, const void* h0, void* h,  \
                                  void* hl, const int64_t* cu, int64_t N, int64_t D, int nth) {               \
    if (dbl) NAME##_fwd_t<double>(in, xs, h0, h, hl, cu, N, D, nth);                                          \
    else NAME##_fwd_t<float>(in, xs, h0, h, hl, cu, N, D, nth);                                               \
  }                                                                                                           \
  extern "C" void mr_##NAME##_bwd(int dbl, const void* const* in, const int64_t* xs, const void* h,           \
                                  const void* h0, const void* gh, const void* gl, void* const* out,           \
                                  int64_t os, void* gh0, const int64_t* cu, int64_t N, int64_t D, int nth) {  \
    if (dbl) NAME##_bwd_t<double>(in, xs, h, h0, gh, gl, out, os, gh0, cu, N, D, nth);                        \
    else NAME##_bwd_t<float>(in, xs, h, h0, gh, gl, out, os, gh0, cu, N, D, nth);                             \
  }

MR_GATED(scan, Scan, 2)
MR_GATED(gru, GRU, 2)
MR_GATED(lstm, LSTM, 3)

template <typename T>
static void aaren_fwd_t(const void* const* p, int has_state, const int64_t* cu, int64_t N, int64_t H,
                        int64_t Dv, int nth) {
  auto c = [&](int i) { return static_cast<const T*>(p[i]); };
  auto w = [&](int i) { return static_cast<T*>(const_cast<void*>(p[i])); };
  aaren_fwd<T>(c(0), c(1), c(2), c(3), c(4), has_state, w(5), w(6), w(7), w(8), w(9), w(10), cu, N, H, Dv, nth);
}

template <typename T>
static void aaren_bwd_t(const void* const* p, int has_state, const int64_t* cu, int64_t N, int64_t H,
                        int64_t Dv, int nth) {
  auto c = [&](int i) { return static_cast<const T*>(p[i]); };
  auto w = [&](int i) { return static_cast<T*>(const_cast<void*>(p[i])); };
  aaren_bwd<T>(c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), has_state, c(8), c(9), c(10), c(11), c(12),
               c(13), c(14), w(15), w(16), w(17), w(18), w(19), cu, N, H, Dv, nth);
}

// p = {s, v, m0, u0, w0 | o, m_all, u_all, mT, uT, wT}
extern "C" void mr_aaren_fwd(int dbl, const void* const* p, int has_state, const int64_t* cu, int64_t N,
                             int64_t H, int64_t Dv, int nth) {
  if (dbl) aaren_fwd_t<double>(p, has_state, cu, N, H, Dv, nth);
  else aaren_fwd_t<float>(p, has_state, cu, N, H, Dv, nth);
}

// p = {s, v, o, m_all, u_all, m0, u0, w0, go, gmT, guT, gwT, mT, uT, wT | ds, dv, dm0, du0, dw0}
extern "C" void mr_aaren_bwd(int dbl, const void* const* p, int has_state, const int64_t* cu, int64_t N,
                             int64_t H, int64_t Dv, int nth) {
  if (dbl) aaren_bwd_t<double>(p, has_state, cu, N, H, Dv, nth);
  else aaren_bwd_t<float>(p, has_state, cu, N, H, Dv, nth);
}
