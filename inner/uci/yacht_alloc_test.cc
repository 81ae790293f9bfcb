// yacht_alloc_test.cc - YachtL2Problem::Unroll and MeasureLoss allocate
// nothing (style.md: no allocation in inner loops). Fig. 14 calls Unroll
// with N = 4, K = 1 about 10^5 times, so a per-call allocation would show.
//
// This binary replaces the global operator new with a counting one.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <vector>

#include "gtest/gtest.h"
#include "inner/data/uci_reader.h"
#include "inner/uci/yacht_l2_problem.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(size_t n) {
  ++g_allocations;
  void* p = std::malloc(n != 0 ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace es {
namespace {

TEST(YachtAllocTest, UnrollAndMeasureLossAllocateNothing) {
  UciTable t;
  t.rows = kYachtRows;
  t.cols = kYachtColumns;
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int64_t c = 0; c < t.cols; ++c) {
      t.values.push_back(std::sin(0.37 * r + 1.3 * c) + 0.01 * c * r);
    }
  }
  auto p = YachtL2Problem::Create(t);
  ASSERT_TRUE(p.ok()) << p.status();
  const int n = 5;
  auto s = (*p)->NewStates(n);
  ASSERT_TRUE(s.ok()) << s.status();
  RowMatrixXd thetas(n, 1);
  for (int i = 0; i < n; ++i) thetas(i, 0) = 0.5 * i;
  std::vector<int64_t> t0(n, 0);
  std::vector<double> losses(n);
  const long before = g_allocations.load();
  for (int k : {1, 100}) {
    ASSERT_TRUE(
        (*p)->Unroll(s->get(), 0, n, thetas, t0.data(), k, losses.data()).ok());
    ASSERT_TRUE(
        (*p)->Unroll(s->get(), 1, 4, thetas, t0.data(), k, losses.data()).ok());
  }
  ASSERT_TRUE((*p)->MeasureLoss(s->get(), 0, n, thetas, losses.data()).ok());
  EXPECT_EQ(g_allocations.load() - before, 0);
}

}  // namespace
}  // namespace es
