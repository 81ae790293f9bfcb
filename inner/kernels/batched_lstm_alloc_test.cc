// batched_lstm_alloc_test.cc - BatchedLstm::Step/Unroll allocate nothing
// (both paths), apart from what oneDNN's own dnnl_primitive_execute makes for
// its execution context (a few small nodes per call in oneDNN 2.6, counted
// apart, as in batched_mlp_alloc_test).
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "gtest/gtest.h"
#include "inner/kernels/batched_lstm.h"
#include "oneapi/dnnl/dnnl.h"

namespace {
std::atomic<long> g_outside_dnnl{0};
std::atomic<bool> g_in_dnnl{false};
}  // namespace

void* operator new(size_t n) {
  if (!g_in_dnnl.load(std::memory_order_relaxed)) ++g_outside_dnnl;
  void* p = std::malloc(n != 0 ? n : 1);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

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

TEST(BatchedLstmAllocTest, StepsAllocateNothingOutsideOneDnnExecute) {
  for (es::LstmPath path : {LstmPath::kSoa, LstmPath::kOneDnn}) {
    BatchedLstmConfig config;
    config.shape = {7, 9};
    config.batch_size = 3;
    config.num_particles = 11;
    config.path = path;
    SCOPED_TRACE(config.DebugString());
    auto lstm = BatchedLstm::Create(config);
    ASSERT_TRUE(lstm.ok()) << lstm.status();
    const int64_t n = 11, b = 3, k = 2;
    std::vector<float> packed((*lstm)->packed_size(), 0.01f);
    std::vector<int32_t> tokens(k * n * b, 2), targets(k * n * b, 5);
    std::vector<float> h(n * b * 9), c(n * b * 9);
    std::vector<double> loss(n);
    ASSERT_TRUE((*lstm)
                    ->Unroll(packed, 0, n, k, tokens, targets,
                             absl::MakeSpan(h), absl::MakeSpan(c),
                             absl::MakeSpan(loss))
                    .ok());
    const long before = g_outside_dnnl.load();
    for (int r = 0; r < 3; ++r) {
      ASSERT_TRUE((*lstm)
                      ->Unroll(packed, 1, 10, k, tokens, targets,
                               absl::MakeSpan(h), absl::MakeSpan(c),
                               absl::MakeSpan(loss))
                      .ok());
      ASSERT_TRUE((*lstm)
                      ->Step(packed, 0, n,
                             absl::MakeConstSpan(tokens).subspan(0, n * b),
                             absl::MakeConstSpan(targets).subspan(0, n * b),
                             absl::MakeSpan(h), absl::MakeSpan(c),
                             absl::MakeSpan(loss))
                      .ok());
    }
    EXPECT_EQ(g_outside_dnnl.load() - before, 0);
  }
}

}  // namespace
}  // namespace es
