// batched_resnet_threads_test.cc - "same seed, same bits, whatever the
// thread count" for the batched ResNet (batched_resnet.h): one training
// step (forward + backward) and an inference forward with 1 and with 2
// OpenMP threads must agree bit for bit, tensor by tensor (loss, batch
// statistics, logits, every gradient). This holds with the default
// BatchNormImpl::kDeterministic and conv 0's weight gradient created
// single-threaded; with oneDNN's batch norm, 90-99% of the entries differ
// (by up to ~5e-6 relative; docs/cifar_notes.md).
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "inner/cifar/batched_resnet.h"
#include "inner/cifar/resnet_test_util.h"

namespace es {
namespace {

struct Result {
  std::vector<double> loss;
  std::vector<float> grads, mean, var, inference_logits;
};

Result RunStep(const ResNetConfig& config, int threads) {
  omp_set_num_threads(threads);
  auto net = BatchedResNet::Create(config);
  EXPECT_TRUE(net.ok()) << net.status();
  const std::vector<float> params = RandomResNetParams(config, 71);
  const std::vector<float> inputs = RandomResNetInputs(config, 72);
  const std::vector<int32_t> labels = ResNetLabels(config);
  Result r;
  r.loss.resize(config.num_particles);
  r.grads.resize(config.num_params());
  EXPECT_TRUE((*net)
                  ->ForwardBackward(params, inputs, labels,
                                    absl::MakeSpan(r.loss),
                                    absl::MakeSpan(r.grads))
                  .ok());
  r.mean.assign((*net)->batch_mean().begin(), (*net)->batch_mean().end());
  r.var.assign((*net)->batch_variance().begin(),
               (*net)->batch_variance().end());
  std::vector<double> loss(config.num_particles);
  EXPECT_TRUE((*net)
                  ->ForwardInference(params, inputs, labels, r.mean, r.var,
                                     absl::MakeSpan(loss))
                  .ok());
  r.inference_logits.assign((*net)->logits().begin(), (*net)->logits().end());
  omp_set_num_threads(omp_get_num_procs());
  return r;
}

// Entries that differ in bits, and the largest relative difference.
std::string Diff(const std::vector<float>& a, const std::vector<float>& b,
                 int64_t begin, int64_t end, int64_t* mismatches) {
  double worst = 0.0, scale = 0.0;
  *mismatches = 0;
  for (int64_t j = begin; j < end; ++j) {
    *mismatches += a[j] != b[j];
    worst = std::max(worst, std::abs(static_cast<double>(a[j]) - b[j]));
    scale = std::max(scale, std::abs(static_cast<double>(a[j])));
  }
  return absl::StrCat(*mismatches, " of ", end - begin,
                      " entries differ, max relative ", worst / scale);
}

struct Shape {
  std::array<int64_t, 4> widths;
  int64_t n, b;
  InputMode mode;
};

// ES_RESNET_THREADS_SHAPE=paper runs the paper's shape (widths
// 32-64-128-256, N = 10, B = 100; about 40 s here) instead: passes.
std::vector<Shape> Shapes() {
  const char* env = std::getenv("ES_RESNET_THREADS_SHAPE");
  if (env != nullptr && std::string(env) == "paper") {
    return {{kMyrtleMed, 10, 100, InputMode::kShared}};
  }
  return {{kMyrtleSmall, 3, 16, InputMode::kShared},
          {kMyrtleTiny, 3, 16, InputMode::kPerParticle},
          {kMyrtleMed, 2, 32, InputMode::kShared}};
}

class ThreadCountTest : public ::testing::TestWithParam<Shape> {};

TEST_P(ThreadCountTest, OneAndTwoThreadsGiveIdenticalBits) {
  ResNetConfig config;
  config.widths = GetParam().widths;
  config.num_particles = GetParam().n;
  config.batch_size = GetParam().b;
  config.input_mode = GetParam().mode;
  SCOPED_TRACE(config.DebugString());
  const Result one = RunStep(config, 1);
  const Result two = RunStep(config, 2);
  for (int64_t i = 0; i < config.num_particles; ++i) {
    EXPECT_EQ(one.loss[i], two.loss[i]) << "particle " << i;
  }
  auto check = [](const std::string& what, const std::vector<float>& a,
                  const std::vector<float>& b, int64_t begin, int64_t end) {
    int64_t mismatches = 0;
    const std::string diff = Diff(a, b, begin, end, &mismatches);
    EXPECT_EQ(mismatches, 0) << what << ": " << diff;
  };
  check("batch mean", one.mean, two.mean, 0, one.mean.size());
  check("batch variance", one.var, two.var, 0, one.var.size());
  check("inference logits", one.inference_logits, two.inference_logits, 0,
        one.inference_logits.size());
  for (int l = 0; l < kResNetConvLayers; ++l) {
    const int64_t w = config.conv_weight_offset(l);
    const int64_t g = config.bn_scale_offset(l);
    const int64_t e = config.bn_shift_offset(l) +
                      config.num_particles * config.conv_out(l);
    check(absl::StrCat("conv ", l, " weight gradient"), one.grads, two.grads,
          w, g);
    check(absl::StrCat("conv ", l, " gamma/beta gradient"), one.grads,
          two.grads, g, e);
  }
  check("fc gradient", one.grads, two.grads, config.fc_offset(),
        config.num_params());
}

INSTANTIATE_TEST_SUITE_P(Shapes, ThreadCountTest,
                         ::testing::ValuesIn(Shapes()));

}  // namespace
}  // namespace es
