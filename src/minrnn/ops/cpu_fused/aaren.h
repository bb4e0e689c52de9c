// Fused CPU kernels of Aaren (forward and backward); see kernels.cpp for the layout and the C ABI.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "parallel.h"

namespace {

// ---- Aaren: per (sequence n, head k), state (m, u, w[Dv]). ----

// exp(x - m) for x <= m, exactly 1 when x == m (also for -inf == -inf, where x - m is NaN): masked tokens
// with score -inf never produce NaN (minrnn/ops/aaren/reference.py, exp_diff).
template <typename T>
inline T exp_diff(T x, T m) {
  return x == m ? T(1) : std::exp(x - m);
}

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
        const T keep = exp_diff(m, mn), nw = exp_diff(st, mn);
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
      const T p = exp_diff(s[r], mt);
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
      ds[r] = s[r] == ninf ? T(0) : dst;  // a masked score (-inf) gets no gradient, as in the reference
      anext = (t > start || has_state) ? exp_diff(mprev, mt) : T(1);
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
