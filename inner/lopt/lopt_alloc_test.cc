// lopt_alloc_test.cc - LoptProblem::Unroll allocates nothing once its states
// exist (lopt_problem.h, "Allocation").
//
// As inner/kernels/batched_mlp_alloc_test.cc does, this binary replaces the
// global operator new (plain and aligned) with counting ones and wraps
// oneDNN's dnnl_primitive_execute (found with dlsym(RTLD_NEXT)) so that
// allocations made inside oneDNN's own execute are counted apart: oneDNN 2.6
// builds an execution context with a few small heap nodes per call, which
// the problem cannot avoid. Every other allocation of an Unroll must be 0:
//   * lockstep (every particle on the same key and step: the shared-minibatch
//     kernel), the whole batch, from the first call after NewStates;
//   * breakstep (per-particle minibatches), after one warm-up call that
//     creates the per-particle kernel;
//   * a sub-range, after one warm-up call that creates its pooled workspace.
// Two OpenMP threads (BUILD), so that the parallel loops really fork.
#include <dlfcn.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "estimators/philox.h"
#include "gtest/gtest.h"
#include "inner/lopt/lopt_problem.h"
#include "oneapi/dnnl/dnnl.h"

namespace {
std::atomic<long> g_outside_dnnl{0};
std::atomic<bool> g_in_dnnl{false};

void Count() {
  if (!g_in_dnnl.load(std::memory_order_relaxed)) ++g_outside_dnnl;
}
}  // namespace

void* operator new(size_t n) {
  Count();
  void* p = std::malloc(n != 0 ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(size_t n, std::align_val_t a) {
  Count();
  const size_t align = static_cast<size_t>(a);
  void* p = std::aligned_alloc(align, (n + align - 1) / align * align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}

extern "C" dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t p,
                                                dnnl_stream_t s, int nargs,
                                                const dnnl_exec_arg_t* args) {
  using Fn = dnnl_status_t (*)(const_dnnl_primitive_t, dnnl_stream_t, int,
                               const dnnl_exec_arg_t*);
  static const Fn real =
      reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "dnnl_primitive_execute"));
  g_in_dnnl = true;
  const dnnl_status_t status = real(p, s, nargs, args);
  g_in_dnnl = false;
  return status;
}

namespace es {
namespace {

constexpr int64_t kExamples = 64, kFeatures = 16, kClasses = 4;
constexpr int kN = 5;

class LoptAllocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const RandomKey rk{99, Stream::kUser};
    images_.resize(kExamples * kFeatures);
    labels_.resize(kExamples);
    for (int64_t i = 0; i < kExamples; ++i) {
      for (int64_t f = 0; f < kFeatures; ++f) {
        images_[i * kFeatures + f] =
            static_cast<float>(UniformOpen(rk, i, 0, static_cast<uint32_t>(f)));
      }
      labels_[i] = static_cast<int32_t>(i % kClasses);
    }
    LoptProblemConfig c;
    c.hidden_sizes = {8, 6};
    c.num_classes = kClasses;
    c.batch_size = 8;
    c.horizon = 100;
    c.rows_per_chunk = 48;  // 16*8+8 + 8*6+6 + 6*4+4 = 218 rows: 5 chunks
    auto p = LoptProblem::Create(c, MlpDataView{images_, labels_, kFeatures});
    ASSERT_TRUE(p.ok()) << p.status();
    problem_ = *std::move(p);
    thetas_.resize(kN, problem_->theta_dim());
    for (int i = 0; i < kN; ++i) {
      thetas_.row(i) = 3.0 * problem_->SampleInitialTheta(1, i).transpose();
    }
  }

  // Resets every particle with keys[i], then unrolls [begin, end) twice
  // (a warm-up call, then the counted one) and returns the allocations of
  // the counted call made outside oneDNN's execute.
  long CountedUnroll(const std::vector<uint64_t>& keys,
                     const std::vector<int64_t>& t0, int begin, int end,
                     bool warm_up) {
    auto states = problem_->NewStates(kN);
    EXPECT_TRUE(states.ok()) << states.status();
    if (!states.ok()) return -1;
    const std::vector<int> all = {0, 1, 2, 3, 4};
    problem_->Reset(states->get(), all, keys);
    std::vector<double> losses(kN, 0.0);
    if (warm_up) {
      EXPECT_TRUE(problem_
                      ->Unroll(states->get(), begin, end, thetas_, t0.data(), 2,
                               losses.data())
                      .ok());
    }
    std::vector<int64_t> later = t0;
    for (int64_t& t : later) t += 2;
    const long before = g_outside_dnnl.load();
    const absl::Status s = problem_->Unroll(states->get(), begin, end, thetas_,
                                            later.data(), 3, losses.data());
    const long count = g_outside_dnnl.load() - before;
    EXPECT_TRUE(s.ok()) << s;
    for (int i = begin; i < end; ++i) {
      EXPECT_TRUE(std::isfinite(losses[i])) << "particle " << i;
    }
    return count;
  }

  std::vector<float> images_;
  std::vector<int32_t> labels_;
  std::unique_ptr<LoptProblem> problem_;
  RowMatrixXd thetas_;
};

TEST_F(LoptAllocTest, LockstepUnrollAllocatesNothingOutsideOneDnnExecute) {
  // The first Unroll after NewStates: nothing is created on first use.
  EXPECT_EQ(CountedUnroll(std::vector<uint64_t>(kN, 7),
                          std::vector<int64_t>(kN, 0), 0, kN,
                          /*warm_up=*/false),
            0);
}

TEST_F(LoptAllocTest, BreakstepUnrollAllocatesNothingAfterItsFirstCall) {
  EXPECT_EQ(CountedUnroll({1, 1, 2, 2, 3}, {0, 0, 10, 10, 20}, 0, kN,
                          /*warm_up=*/true),
            0);
}

TEST_F(LoptAllocTest, SubRangeUnrollAllocatesNothingAfterItsFirstCall) {
  // [1, 4): pooled workspaces of 2 and 1 particles.
  EXPECT_EQ(CountedUnroll({1, 1, 2, 2, 3}, {0, 0, 10, 10, 20}, 1, 4,
                          /*warm_up=*/true),
            0);
}

}  // namespace
}  // namespace es
