// batched_resnet_alloc_test.cc - a training step of the batched ResNet
// (batched_resnet.h) and a lockstep Unroll of the CIFAR-10 problem
// (cifar_hpo_problem.h) allocate nothing.
//
// This binary replaces the global operator new with a counting one and wraps
// oneDNN's dnnl_primitive_execute (found with dlsym(RTLD_NEXT)) so that
// allocations made inside oneDNN's own execute are counted apart: oneDNN 2.6
// builds an execution context with a few small heap nodes per call, which
// the kernel cannot avoid (as inner/kernels/batched_mlp_alloc_test.cc);
// everything else must allocate 0.
#include <dlfcn.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "inner/cifar/batched_resnet.h"
#include "inner/cifar/cifar_hpo_problem.h"
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

TEST(BatchedResNetAllocTest, StepAllocatesNothingOutsideOneDnnExecute) {
  for (InputMode mode : {InputMode::kShared, InputMode::kPerParticle}) {
    for (BatchNormImpl bn :
         {BatchNormImpl::kDeterministic, BatchNormImpl::kOneDnn}) {
      ResNetConfig config;
      config.widths = {3, 16, 5, 16};
      config.image_size = 16;
      config.num_particles = 3;
      config.batch_size = 4;
      config.input_mode = mode;
      config.batch_norm = bn;
      SCOPED_TRACE(config.DebugString());
      auto net = BatchedResNet::Create(config);
      ASSERT_TRUE(net.ok()) << net.status();
      std::vector<int32_t> active(config.active_channels_size(), 2);
      ASSERT_TRUE((*net)->SetActiveChannels(active).ok());
      std::vector<float> params(config.num_params(), 0.05f);
      std::vector<float> grads(config.num_params());
      std::vector<float> inputs(config.inputs_size(), 0.5f);
      for (size_t j = 0; j < inputs.size(); ++j) inputs[j] = std::sin(j * 0.1f);
      std::vector<int32_t> labels(config.labels_size(), 3);
      std::vector<float> mean(config.stats_size(), 0.0f);
      std::vector<float> var(config.stats_size(), 1.0f);
      std::vector<double> loss(config.num_particles);
      // Warm-up: the first execute may initialise oneDNN's lazy state.
      ASSERT_TRUE((*net)
                      ->ForwardBackward(params, inputs, labels,
                                        absl::MakeSpan(loss),
                                        absl::MakeSpan(grads))
                      .ok());
      ASSERT_TRUE((*net)
                      ->ForwardInference(params, inputs, labels, mean, var,
                                         absl::MakeSpan(loss))
                      .ok());
      const long before = g_outside_dnnl.load();
      for (int r = 0; r < 3; ++r) {
        ASSERT_TRUE((*net)
                        ->ForwardBackward(params, inputs, labels,
                                          absl::MakeSpan(loss),
                                          absl::MakeSpan(grads))
                        .ok());
        ASSERT_TRUE((*net)
                        ->ForwardInference(params, inputs, labels, mean, var,
                                           absl::MakeSpan(loss))
                        .ok());
      }
      EXPECT_EQ(g_outside_dnnl.load() - before, 0);
    }
  }
}

TEST(CifarHpoAllocTest, LockstepUnrollAllocatesNothing) {
  const int64_t n = 40, d = 3 * 16 * 16;
  std::vector<float> images(n * d);
  for (size_t j = 0; j < images.size(); ++j) images[j] = std::cos(j * 0.3f);
  std::vector<int32_t> labels(n);
  for (int64_t j = 0; j < n; ++j) labels[j] = j % 10;
  const MlpDataView view{images, labels, d};
  CifarHpoConfig config = CifarHpoConfig::Fig24();
  config.widths = {4, 4, 4, 4};
  config.image_size = 16;
  config.batch_size = 4;
  config.horizon = 20;
  auto problem = CifarHpoProblem::Create(config, view, view);
  ASSERT_TRUE(problem.ok()) << problem.status();
  auto made = (*problem)->NewStates(2);
  ASSERT_TRUE(made.ok()) << made.status();
  std::unique_ptr<ParticleStates> states = *std::move(made);
  (*problem)->Reset(states.get(), {0, 1}, {5, 5});
  RowMatrixXd thetas(2, 24);
  thetas.row(0) = SampleCifarTheta(config, 1, 0).transpose();
  thetas.row(1) = SampleCifarTheta(config, 1, 1).transpose();
  int64_t t0[2] = {0, 0};
  double losses[2];
  // Warm-up.
  ASSERT_TRUE((*problem)->Unroll(states.get(), 0, 2, thetas, t0, 2, losses).ok());
  t0[0] = t0[1] = 2;
  const long before = g_outside_dnnl.load();
  const absl::Status status =
      (*problem)->Unroll(states.get(), 0, 2, thetas, t0, 5, losses);
  EXPECT_EQ(g_outside_dnnl.load() - before, 0);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(std::isfinite(losses[0]));
}

}  // namespace
}  // namespace es
