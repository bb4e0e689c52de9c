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
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace {

constexpr int64_t DBMAX = 1024;  // most channels per work item

// Channels per work item: whole rows (contiguous reads) unless that leaves too few items for the threads.
inline int64_t block_width(int64_t N, int64_t D, int nth) {
  int64_t want_items = 4 * static_cast<int64_t>(nth);
  int64_t splits = N >= want_items ? 1 : (want_items + N - 1) / N;
  int64_t w = (D + splits - 1) / splits;
  w = ((w + 15) / 16) * 16;
  return std::max<int64_t>(16, std::min(w, DBMAX));
}

template <typename F>
void parallel_items(int64_t n_items, int nth, F&& f) {
  if (nth < 1) nth = 1;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth) if (nth > 1 && n_items > 1)
  for (int64_t it = 0; it < n_items; ++it) f(it);
}

// ---- elementwise math. float uses a branch-free polynomial exp (Cephes coefficients, ~1-2 ulp) that the
// compiler vectorises; double uses libm (exactness over speed). ----

inline float bits_to_float(int32_t i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}

// exp(x) for x <= 88; 0 below -87.3 (where float would go subnormal).
inline float vexp(float x) {
  const float xc = std::max(x, -87.3f);
  const float n = (xc * 1.44269504088896341f + 12582912.f) - 12582912.f;  // round to nearest
  const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const float scale = bits_to_float((static_cast<int32_t>(n) + 127) << 23);
  return x < -87.3f ? 0.0f : e * scale;
}
inline double vexp(double x) { return std::exp(x); }

// sigmoid(x) and sigmoid(-x) with one exp of a non-positive argument (never overflows); also returns
// e = exp(-|x|).
template <typename T>
inline T sig_pair(T x, T& pos, T& neg) {
  const T e = vexp(-std::fabs(x));
  const T inv = T(1) / (T(1) + e);
  const T ei = e * inv;
  pos = x >= T(0) ? inv : ei;
  neg = x >= T(0) ? ei : inv;
  return e;
}

// g(c) and g'(c).
template <typename T>
inline void g_and_grad(T c, T& gc, T& dg) {
  T s, sn;
  sig_pair(c, s, sn);
  gc = c >= T(0) ? c + T(0.5) : s;
  dg = c >= T(0) ? T(1) : s * sn;
}

// Normalised minLSTM gates without logarithms: with p_f = 1 + exp(-f) = 1 / sigmoid(f) (and p_i alike),
//   f' = sigmoid(f) / (sigmoid(f) + sigmoid(i)) = p_i / (p_i + p_f),  i' = p_f / (p_i + p_f),
// where p = exp(max(-x, 0)) (1 + exp(-|x|)) and the common factor exp(max of the two exponents) cancels, so
// nothing overflows. Also returns sigmoid(-f) and sigmoid(-i) (the derivatives of logsigmoid).
template <typename T>
inline void lstm_gates(T f, T i, T& fn, T& in_, T& sfn, T& sin_) {
  const T ef = vexp(-std::fabs(f)), ei = vexp(-std::fabs(i));
  const T qf = T(1) + ef, qi = T(1) + ei;
  const T dlt = std::max(-i, T(0)) - std::max(-f, T(0));
  const T e = vexp(-std::fabs(dlt));
  const T wi = dlt >= T(0) ? qi : qi * e, wf = dlt >= T(0) ? qf * e : qf;
  const T inv = T(1) / (wi + wf);
  fn = wi * inv;
  in_ = wf * inv;
  sfn = (f >= T(0) ? ef : T(1)) / qf;
  sin_ = (i >= T(0) ? ei : T(1)) / qi;
}

// ---- coefficient functors: coef() gives (a, b); grad() writes the input gradients from g_t and h_{t-1}
// and returns a_t. ----

template <typename T>
struct Scan {  // in = {a, b}
  static inline void coef(const T* const* in, int64_t k, T& a, T& b) { a = in[0][k]; b = in[1][k]; }
  static inline T decay(const T* const* in, int64_t k) { return in[0][k]; }
  static inline T grad(const T* const* in, int64_t k, T g, T hprev, T* const* out) {
    out[0][k] = g * hprev;
    out[1][k] = g;
    return in[0][k];
  }
};

template <typename T>
struct GRU {  // in = {gate, candidate}
  static inline void coef(const T* const* in, int64_t k, T& a, T& b) {
    T z, gc, dg;
    sig_pair(in[0][k], z, a);
    g_and_grad(in[1][k], gc, dg);
    b = z * gc;
  }
  static inline T decay(const T* const* in, int64_t k) {
    T z, a;
    sig_pair(in[0][k], z, a);
    return a;
  }
  static inline T grad(const T* const* in, int64_t k, T g, T hprev, T* const* out) {
    T z, a, gc, dg;
    sig_pair(in[0][k], z, a);
    g_and_grad(in[1][k], gc, dg);
    out[0][k] = g * z * a * (gc - hprev);  // d/dx of a hprev + b with da/dx = -za, db/dx = za g(c)
    out[1][k] = g * z * dg;
    return a;
  }
};

template <typename T>
struct LSTM {  // in = {forget, input, candidate}
  static inline void coef(const T* const* in, int64_t k, T& a, T& b) {
    T z, sfn, sin_, gc, dg;
    lstm_gates(in[0][k], in[1][k], a, z, sfn, sin_);
    g_and_grad(in[2][k], gc, dg);
    b = z * gc;
  }
  static inline T decay(const T* const* in, int64_t k) {
    T a, z, sfn, sin_;
    lstm_gates(in[0][k], in[1][k], a, z, sfn, sin_);
    return a;
  }
  static inline T grad(const T* const* in, int64_t k, T g, T hprev, T* const* out) {
    T a, z, sfn, sin_, gc, dg;
    lstm_gates(in[0][k], in[1][k], a, z, sfn, sin_);
    g_and_grad(in[2][k], gc, dg);
    // a = sigmoid(-d), z = sigmoid(d) with d = logsigmoid(i) - logsigmoid(f): dd/df = -sigmoid(-f),
    // dd/di = sigmoid(-i), and dL/dd = g z a (g(c) - h_{t-1}) as for minGRU.
    const T dd = g * z * a * (gc - hprev);
    out[0][k] = -dd * sfn;
    out[1][k] = dd * sin_;
    out[2][k] = g * z * dg;
    return a;
  }
};

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

// ---- Aaren: per (sequence n, head k), state (m, u, w[Dv]). ----

template <typename T>
void aaren_fwd(const T* s, const T* v, const T* m0, const T* u0, const T* w0, int has_state, T* o, T* m_all,
               T* u_all, T* mT, T* uT, T* wT, const int64_t* cu, int64_t N, int64_t H, int64_t Dv, int nth) {
  parallel_items(N * H, nth, [&](int64_t it) {
    const int64_t n = it / H, k = it % H;
    std::vector<T> w(Dv);
    T m = -std::numeric_limits<T>::infinity(), u = T(0);
    bool started = has_state != 0;
    if (started) {
      m = m0[it];
      u = u0[it];
      for (int64_t j = 0; j < Dv; ++j) w[j] = w0[it * Dv + j];
    }
    for (int64_t t = cu[n]; t < cu[n + 1]; ++t) {
      const int64_t r = t * H + k;
      const T st = s[r];
      const T* vt = v + r * Dv;
      if (!started) {
        m = st;
        u = T(1);
        for (int64_t j = 0; j < Dv; ++j) w[j] = vt[j];
        started = true;
      } else {
        const T mn = std::max(m, st);
        const T keep = std::exp(m - mn), nw = std::exp(st - mn);
        u = u * keep + nw;
        for (int64_t j = 0; j < Dv; ++j) w[j] = w[j] * keep + vt[j] * nw;
        m = mn;
      }
      T* ot = o + r * Dv;
      for (int64_t j = 0; j < Dv; ++j) ot[j] = w[j] / u;
      m_all[r] = m;
      u_all[r] = u;
    }
    mT[it] = m;
    uT[it] = u;
    for (int64_t j = 0; j < Dv; ++j) wT[it * Dv + j] = w[j];
  });
}

// Reverse pass. gU, gW are dL/du_t, dL/dw_t at fixed running maxima:
//   gW_t = go_t / u_t + a_{t+1} gW_{t+1},  gU_t = -(go_t . o_t) / u_t + a_{t+1} gU_{t+1},  a_t = exp(m_{t-1} - m_t)
//   dv_t = p_t gW_t,  ds_t = p_t (gU_t + gW_t . v_t),  p_t = exp(s_t - m_t).
// The outputs do not depend on the maxima; only the final m does, and dL/dm_final (with u_T, w_T rescaled)
// dm = gm - gu u_T - gw . w_T goes to the position where the final maximum was first reached.
template <typename T>
void aaren_bwd(const T* s, const T* v, const T* o, const T* m_all, const T* u_all, const T* m0, const T* u0,
               const T* w0, int has_state, const T* go, const T* gmT, const T* guT, const T* gwT, const T* mT,
               const T* uT, const T* wT, T* ds, T* dv, T* dm0, T* du0, T* dw0, const int64_t* cu, int64_t N,
               int64_t H, int64_t Dv, int nth) {
  const T ninf = -std::numeric_limits<T>::infinity();
  parallel_items(N * H, nth, [&](int64_t it) {
    const int64_t n = it / H, k = it % H;
    std::vector<T> gW(Dv);
    T gU = guT[it];
    T dm = gmT[it] - guT[it] * uT[it];
    for (int64_t j = 0; j < Dv; ++j) {
      gW[j] = gwT[it * Dv + j];
      dm -= gW[j] * wT[it * Dv + j];
    }
    const T mfin = mT[it];
    const int64_t start = cu[n];
    T anext = T(1);
    for (int64_t t = cu[n + 1] - 1; t >= start; --t) {
      const int64_t r = t * H + k;
      const T mt = m_all[r], inv = T(1) / u_all[r];
      const T* got = go + r * Dv;
      const T* ot = o + r * Dv;
      const T* vt = v + r * Dv;
      T dot_go = T(0);
      for (int64_t j = 0; j < Dv; ++j) dot_go += got[j] * ot[j];
      gU = anext * gU - dot_go * inv;
      T dot_v = T(0);
      const T p = std::exp(s[r] - mt);
      T* dvt = dv + r * Dv;
      for (int64_t j = 0; j < Dv; ++j) {
        const T gw = anext * gW[j] + got[j] * inv;
        gW[j] = gw;
        dot_v += gw * vt[j];
        dvt[j] = p * gw;
      }
      T dst = p * (gU + dot_v);
      const T mprev = t > start ? m_all[r - H] : (has_state ? m0[it] : ninf);
      if (mt == mfin && !(mprev == mfin)) dst += dm;
      ds[r] = dst;
      anext = (t > start || has_state) ? std::exp(mprev - mt) : T(1);
    }
    if (has_state) {
      T ga = gU * u0[it];
      for (int64_t j = 0; j < Dv; ++j) {
        ga += gW[j] * w0[it * Dv + j];
        dw0[it * Dv + j] = anext * gW[j];
      }
      du0[it] = anext * gU;
      dm0[it] = anext * ga + (m0[it] == mfin ? dm : T(0));
    }
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
