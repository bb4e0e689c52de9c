// Work split of the fused CPU kernels: items of (sequence, channel block), run in parallel with OpenMP.
#pragma once

#include <algorithm>
#include <cstdint>

namespace {

constexpr int64_t DBMAX = 1024;  // most channels per work item

// Channels per work item: whole rows (contiguous reads) unless that leaves too few items for the threads.
inline int64_t block_width(int64_t N, int64_t D, int nth) {
  if (N < 1) N = 1;  // an empty batch: no items run, but the width must still be well defined
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

}  // namespace
