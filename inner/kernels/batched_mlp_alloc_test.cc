// batched_mlp_alloc_test.cc - BatchedMlp::Forward/Backward allocate nothing.
//
// This binary replaces the global operator new with a counting one and wraps
// oneDNN's dnnl_primitive_execute (found with dlsym(RTLD_NEXT)) so that
// allocations made inside oneDNN's own execute are counted apart: oneDNN 2.6
// builds an execution context with a few small heap nodes per call, which the
// kernel cannot avoid; everything else in a training step must allocate 0.
#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "gtest/gtest.h"
#include "inner/kernels/batched_mlp.h"
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

TEST(BatchedMlpAllocTest, StepAllocatesNothingOutsideOneDnnExecute) {
  for (InputMode mode : {InputMode::kShared, InputMode::kPerParticle}) {
    BatchedMlpConfig config;
    config.layer_sizes = {33, 17, 16, 10};
    config.num_particles = 3;
    config.batch_size = 5;
    config.input_mode = mode;
    SCOPED_TRACE(config.DebugString());
    absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp =
        BatchedMlp::Create(config);
    ASSERT_TRUE(mlp.ok()) << mlp.status();
    const std::vector<int32_t> masks = {17, 16, 3, 0, 9, 12};
    ASSERT_TRUE((*mlp)->SetActiveUnits(masks).ok());
    std::vector<float> params(config.num_params(), 0.01f);
    std::vector<float> grads(config.num_params());
    std::vector<float> inputs(config.inputs_size(), 0.5f);
    std::vector<int32_t> labels(config.labels_size(), 3);
    std::vector<double> loss(config.num_particles);
    // Warm-up: the first execute may initialise oneDNN's lazy state.
    ASSERT_TRUE((*mlp)
                    ->ForwardBackward(params, inputs, labels,
                                      absl::MakeSpan(loss),
                                      absl::MakeSpan(grads))
                    .ok());
    const long before = g_outside_dnnl.load();
    for (int r = 0; r < 5; ++r) {
      ASSERT_TRUE(
          (*mlp)->Forward(params, inputs, labels, absl::MakeSpan(loss)).ok());
      ASSERT_TRUE((*mlp)->Backward(params, inputs, absl::MakeSpan(grads)).ok());
    }
    EXPECT_EQ(g_outside_dnnl.load() - before, 0);
  }
}

}  // namespace
}  // namespace es
