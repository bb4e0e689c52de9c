// Elementwise math of the fused CPU kernels (gate activations) and the per-op coefficient functors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace {

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

}  // namespace
