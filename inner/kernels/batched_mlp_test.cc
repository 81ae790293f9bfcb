// batched_mlp_test.cc - the oneDNN batched MLP (batched_mlp.h) against the
// double-precision reference (batched_mlp_reference.h), and the reference
// against central finite differences.
//
// Data. Most cases use "grid" data: inputs, weights and biases are small
// multiples of powers of two, so that every hidden pre-activation is computed
// exactly in float32 as well as in double (the partial sums stay far below
// 2^24 grid steps). The ReLU pattern is then identical in both
// implementations, and loss, logits and gradients differ only by the float
// rounding of the last layer, softmax and backward pass. Random continuous
// data would, rarely, put a pre-activation within float rounding of 0 and
// flip one ReLU; the "continuous" test below covers such data with a norm-wise
// tolerance instead. All data come from a counter-based hash (fixed seeds):
// the tests are deterministic.
//
// Tolerances: |kernel - reference| <= kTolFactor * eps_f * sqrt(F) * scale,
// with eps_f = 2^-23, F = d_0 + ... + d_{L-1} + B (the lengths of the float
// reductions along the forward and backward passes) and scale the largest
// magnitude in the reference tensor. kTolFactor = 16 leaves a margin: with
// grid data the whole sweep passes at kTolFactor = 1 except 5 entries.
//
// Reproduce one case: bazel test //inner/kernels:batched_mlp_test
//   --test_arg=--gtest_filter='*<case name printed in the failure>*'
#include "inner/kernels/batched_mlp.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inner/kernels/batched_mlp_layout.h"
#include "inner/kernels/batched_mlp_reference.h"
#include "inner/kernels/dnnl_status.h"
#include "oneapi/dnnl/dnnl_types.h"

namespace es {
namespace {

using ::testing::HasSubstr;

constexpr double kEpsF = std::numeric_limits<float>::epsilon();
constexpr double kTolFactor = 16.0;

// splitmix64 of (seed, index): a counter-based generator, no hidden state.
uint64_t Hash(uint64_t seed, uint64_t index) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ull + index + 0x632BE59BD9B4E019ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
// Uniform in [-1, 1).
double Uniform(uint64_t seed, uint64_t index) {
  return static_cast<double>(Hash(seed, index) >> 11) * 0x1.0p-52 - 1.0;
}
// Integer in [-m, m].
int64_t Grid(uint64_t seed, uint64_t index, int64_t m) {
  return static_cast<int64_t>(Hash(seed, index) % (2 * m + 1)) - m;
}

struct Case {
  std::vector<float> params;
  std::vector<float> inputs;
  std::vector<int32_t> labels;
  std::vector<int32_t> active_units;  // empty: no masks
};

// Grid data: inputs k/16 in [-1, 1]; weights k/32 with |w| <= 1/(2 sqrt(fan
// in)) rounded to the grid (at least 1/32); biases k/256 in [-1/8, 1/8].
Case MakeGridCase(const BatchedMlpConfig& config, uint64_t seed, bool masks) {
  Case c;
  c.params.assign(config.num_params(), 0.0f);
  for (int l = 0; l < config.num_layers(); ++l) {
    const int64_t m = std::max<int64_t>(
        1, std::lround(16.0 /
                       std::sqrt(static_cast<double>(config.layer_sizes[l]))));
    const int64_t nw =
        config.num_particles * config.weight_size_per_particle(l);
    for (int64_t j = 0; j < nw; ++j) {
      c.params[config.weight_offset(l) + j] =
          static_cast<float>(Grid(seed, 1000000 * l + j, m)) / 32.0f;
    }
    const int64_t nb = config.num_particles * config.bias_size_per_particle(l);
    for (int64_t j = 0; j < nb; ++j) {
      c.params[config.bias_offset(l) + j] =
          static_cast<float>(Grid(seed + 1, 1000000 * l + j, 32)) / 256.0f;
    }
  }
  c.inputs.resize(config.inputs_size());
  for (size_t j = 0; j < c.inputs.size(); ++j) {
    c.inputs[j] = static_cast<float>(Grid(seed + 2, j, 16)) / 16.0f;
  }
  c.labels.resize(config.labels_size());
  for (size_t j = 0; j < c.labels.size(); ++j) {
    c.labels[j] =
        static_cast<int32_t>(Hash(seed + 3, j) % config.num_classes());
  }
  if (masks) {
    c.active_units.resize(config.active_units_size());
    const int hidden = config.num_hidden_layers();
    for (size_t j = 0; j < c.active_units.size(); ++j) {
      const int64_t d = config.layer_sizes[j % hidden + 1];
      // Cover k = 0, k = d and values in between.
      c.active_units[j] = static_cast<int32_t>(Hash(seed + 4, j) % (d + 1));
    }
  }
  return c;
}

// Continuous data: weights U(-1, 1) * sqrt(3 / fan_in), biases U(-0.1, 0.1),
// inputs U(0, 1).
Case MakeContinuousCase(const BatchedMlpConfig& config, uint64_t seed) {
  Case c = MakeGridCase(config, seed, /*masks=*/false);
  for (int l = 0; l < config.num_layers(); ++l) {
    const double s =
        std::sqrt(3.0 / static_cast<double>(config.layer_sizes[l]));
    const int64_t nw =
        config.num_particles * config.weight_size_per_particle(l);
    for (int64_t j = 0; j < nw; ++j) {
      c.params[config.weight_offset(l) + j] =
          static_cast<float>(s * Uniform(seed + 5, 1000000 * l + j));
    }
    const int64_t nb = config.num_particles * config.bias_size_per_particle(l);
    for (int64_t j = 0; j < nb; ++j) {
      c.params[config.bias_offset(l) + j] =
          static_cast<float>(0.1 * Uniform(seed + 6, 1000000 * l + j));
    }
  }
  for (size_t j = 0; j < c.inputs.size(); ++j) {
    c.inputs[j] = static_cast<float>(0.5 + 0.5 * Uniform(seed + 7, j));
  }
  return c;
}

std::vector<double> ToDouble(const std::vector<float>& v) {
  return std::vector<double>(v.begin(), v.end());
}

struct KernelResult {
  std::vector<double> loss;
  std::vector<float> logits;
  std::vector<float> grads;
};

KernelResult RunKernel(const BatchedMlpConfig& config, const Case& c) {
  KernelResult r;
  absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp = BatchedMlp::Create(config);
  EXPECT_TRUE(mlp.ok()) << mlp.status();
  if (!mlp.ok()) return r;
  if (!c.active_units.empty()) {
    absl::Status s = (*mlp)->SetActiveUnits(c.active_units);
    EXPECT_TRUE(s.ok()) << s;
  }
  r.loss.assign(config.num_particles, 0.0);
  r.grads.assign(config.num_params(), std::nanf(""));
  absl::Status s =
      (*mlp)->ForwardBackward(c.params, c.inputs, c.labels,
                              absl::MakeSpan(r.loss), absl::MakeSpan(r.grads));
  EXPECT_TRUE(s.ok()) << s;
  r.logits.assign((*mlp)->logits().begin(), (*mlp)->logits().end());
  return r;
}

double SumFanIn(const BatchedMlpConfig& config) {
  double f = 0;
  for (int l = 0; l < config.num_layers(); ++l) f += config.layer_sizes[l];
  return f + config.batch_size;  // the backward pass also sums over B
}

// Elementwise comparison of tensor [begin, end) with a tolerance scaled by the
// largest reference magnitude in it; reports the first few failures.
template <typename T>
void ExpectTensorNear(const std::string& what, const T* actual,
                      const double* expected, int64_t size, double fan_in) {
  double scale = 0.0;
  for (int64_t j = 0; j < size; ++j)
    scale = std::max(scale, std::abs(expected[j]));
  const double tol =
      kTolFactor * kEpsF * std::sqrt(fan_in) * std::max(scale, 1e-30);
  int failures = 0;
  for (int64_t j = 0; j < size && failures < 5; ++j) {
    const double err = std::abs(static_cast<double>(actual[j]) - expected[j]);
    if (!(err <= tol)) {
      ++failures;
      ADD_FAILURE() << what << "[" << j << "]: kernel " << actual[j]
                    << ", reference " << expected[j] << ", |diff| " << err
                    << " > tol " << tol << " (scale " << scale << ")";
    }
  }
}

void CompareWithReference(const BatchedMlpConfig& config, const Case& c) {
  const KernelResult k = RunKernel(config, c);
  ASSERT_EQ(k.grads.size(), static_cast<size_t>(config.num_params()));
  absl::StatusOr<BatchedMlpReferenceResult> ref = BatchedMlpReference(
      config, ToDouble(c.params), ToDouble(c.inputs), c.labels, c.active_units);
  ASSERT_TRUE(ref.ok()) << ref.status();
  const double fan_in = SumFanIn(config);
  ExpectTensorNear("loss", k.loss.data(), ref->loss.data(),
                   config.num_particles, fan_in);
  ExpectTensorNear("logits", k.logits.data(), ref->logits.data(),
                   config.logits_size(), fan_in);
  for (int l = 0; l < config.num_layers(); ++l) {
    const int64_t w = config.weight_offset(l), b = config.bias_offset(l);
    ExpectTensorNear(
        absl::StrCat("dW", l), k.grads.data() + w, ref->grads.data() + w,
        config.num_particles * config.weight_size_per_particle(l), fan_in);
    ExpectTensorNear(
        absl::StrCat("db", l), k.grads.data() + b, ref->grads.data() + b,
        config.num_particles * config.bias_size_per_particle(l), fan_in);
  }
}

// ---------------------------------------------------------------------------
// Sweep: shapes around the AVX-512 width (16 floats), N = 1 and odd N, B = 1
// and around 16, shared and per-particle minibatches, with and without masks.

const std::vector<std::vector<int64_t>>& Shapes() {
  static const auto* shapes = new std::vector<std::vector<int64_t>>{
      {1, 15, 2},      {15, 16, 3},    {16, 17, 10},
      {17, 33, 16, 5}, {33, 1, 17, 2}, {17, 16, 15, 16, 3},
      {784, 100, 10},  {17, 3},  // no hidden layer
  };
  return *shapes;
}

using SweepParam = std::tuple<int /*shape*/, int64_t /*N*/, int64_t /*B*/,
                              bool /*shared*/, bool /*masks*/>;

BatchedMlpConfig ConfigFor(const SweepParam& p) {
  BatchedMlpConfig config;
  config.layer_sizes = Shapes()[std::get<0>(p)];
  config.num_particles = std::get<1>(p);
  config.batch_size = std::get<2>(p);
  config.input_mode =
      std::get<3>(p) ? InputMode::kShared : InputMode::kPerParticle;
  return config;
}

std::string SweepName(const testing::TestParamInfo<SweepParam>& info) {
  const SweepParam& p = info.param;
  return absl::StrCat("d", absl::StrJoin(Shapes()[std::get<0>(p)], "_"), "_N",
                      std::get<1>(p), "_B", std::get<2>(p),
                      std::get<3>(p) ? "_shared" : "_perparticle",
                      std::get<4>(p) ? "_masked" : "");
}

class BatchedMlpSweepTest : public testing::TestWithParam<SweepParam> {};

TEST_P(BatchedMlpSweepTest, MatchesReference) {
  const BatchedMlpConfig config = ConfigFor(GetParam());
  SCOPED_TRACE(absl::StrCat(
      "shape ", config.DebugString(), std::get<4>(GetParam()) ? " masked" : "",
      "; reproduce with --gtest_filter='*", SweepName({GetParam(), 0}), "'"));
  const Case c = MakeGridCase(config, /*seed=*/17 + std::get<0>(GetParam()),
                              std::get<4>(GetParam()));
  CompareWithReference(config, c);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, BatchedMlpSweepTest,
    testing::Combine(testing::Range(0, static_cast<int>(Shapes().size())),
                     testing::Values<int64_t>(1, 3, 17),
                     testing::Values<int64_t>(1, 16, 17), testing::Bool(),
                     testing::Bool()),
    SweepName);

// ---------------------------------------------------------------------------
// Continuous random data on a realistic shape: the loss is continuous in the
// data, so it is compared elementwise; the gradient is compared in norm (a
// ReLU flipped by rounding changes a few entries, not the norm).
TEST(BatchedMlpTest, ContinuousDataMatchesReference) {
  for (InputMode mode : {InputMode::kShared, InputMode::kPerParticle}) {
    BatchedMlpConfig config;
    config.layer_sizes = {784, 100, 100, 10};
    config.num_particles = 5;
    config.batch_size = 33;
    config.input_mode = mode;
    SCOPED_TRACE(config.DebugString());
    const Case c = MakeContinuousCase(config, /*seed=*/99);
    const KernelResult k = RunKernel(config, c);
    absl::StatusOr<BatchedMlpReferenceResult> ref = BatchedMlpReference(
        config, ToDouble(c.params), ToDouble(c.inputs), c.labels, {});
    ASSERT_TRUE(ref.ok()) << ref.status();
    const double fan_in = SumFanIn(config);
    ExpectTensorNear("loss", k.loss.data(), ref->loss.data(),
                     config.num_particles, fan_in);
    double diff2 = 0, norm2 = 0;
    for (size_t j = 0; j < ref->grads.size(); ++j) {
      diff2 += std::pow(k.grads[j] - ref->grads[j], 2);
      norm2 += std::pow(ref->grads[j], 2);
    }
    EXPECT_LE(std::sqrt(diff2), 1e-4 * std::sqrt(norm2));
  }
}

// ---------------------------------------------------------------------------
// The reference's analytic gradient against central finite differences in
// double: (L(p + h e_j) - L(p - h e_j)) / 2h, h = 1e-6. Truncation error is
// O(h^2 L''') ~ 1e-12 and rounding error ~ eps_d * |L| / h ~ 1e-10; a ReLU
// kink within h of a pre-activation has probability ~1e-5 over this case.
TEST(BatchedMlpReferenceTest, GradientMatchesFiniteDifferences) {
  for (bool masks : {false, true}) {
    BatchedMlpConfig config;
    config.layer_sizes = {5, 7, 6, 3};
    config.num_particles = 3;
    config.batch_size = 4;
    config.input_mode = InputMode::kPerParticle;
    SCOPED_TRACE(absl::StrCat(config.DebugString(), masks ? " masked" : ""));
    Case c = MakeContinuousCase(config, /*seed=*/5);
    if (masks) c.active_units = {7, 2, 0, 6, 3, 1};  // [N=3, L-1=2]
    std::vector<double> p = ToDouble(c.params);
    const std::vector<double> x = ToDouble(c.inputs);
    absl::StatusOr<BatchedMlpReferenceResult> ref =
        BatchedMlpReference(config, p, x, c.labels, c.active_units);
    ASSERT_TRUE(ref.ok()) << ref.status();
    const double h = 1e-6;
    for (int64_t j = 0; j < config.num_params(); ++j) {
      const double saved = p[j];
      p[j] = saved + h;
      const std::vector<double> up =
          *BatchedMlpReferenceLoss(config, p, x, c.labels, c.active_units);
      p[j] = saved - h;
      const std::vector<double> down =
          *BatchedMlpReferenceLoss(config, p, x, c.labels, c.active_units);
      p[j] = saved;
      // Parameter j belongs to one particle; the loss is per particle, so the
      // derivative is the sum of the per-particle differences (others are 0).
      double fd = 0;
      for (int64_t i = 0; i < config.num_particles; ++i) {
        fd += (up[i] - down[i]) / (2 * h);
      }
      EXPECT_NEAR(ref->grads[j], fd, 1e-7) << "parameter " << j;
    }
  }
}

// ---------------------------------------------------------------------------
// Masks: inactive units output 0 and all their weights get exactly 0.
TEST(BatchedMlpTest, MaskedUnitsHaveZeroGradient) {
  BatchedMlpConfig config;
  config.layer_sizes = {17, 33, 16, 5};
  config.num_particles = 3;
  config.batch_size = 16;
  Case c = MakeContinuousCase(config, /*seed=*/3);
  c.active_units = {33, 16, 5, 7, 0, 16};  // [N=3, 2 hidden layers]
  const KernelResult k = RunKernel(config, c);
  const int hidden = config.num_hidden_layers();
  for (int64_t i = 0; i < config.num_particles; ++i) {
    for (int l = 0; l < hidden; ++l) {
      const int64_t k_active = c.active_units[i * hidden + l];
      const int64_t din = config.layer_sizes[l];
      const int64_t d = config.layer_sizes[l + 1];
      const int64_t dout = config.layer_sizes[l + 2];
      for (int64_t u = k_active; u < d; ++u) {
        SCOPED_TRACE(
            absl::StrCat("particle ", i, " hidden layer ", l, " unit ", u));
        // Incoming weights (column u of W_l) and bias.
        for (int64_t r = 0; r < din; ++r) {
          EXPECT_EQ(k.grads[config.weight_offset(l) + (i * din + r) * d + u],
                    0.0f);
        }
        EXPECT_EQ(k.grads[config.bias_offset(l) + i * d + u], 0.0f);
        // Outgoing weights (row u of W_{l+1}).
        for (int64_t o = 0; o < dout; ++o) {
          EXPECT_EQ(
              k.grads[config.weight_offset(l + 1) + (i * d + u) * dout + o],
              0.0f);
        }
      }
    }
  }
}

TEST(BatchedMlpTest, FullMasksEqualNoMasks) {
  BatchedMlpConfig config;
  config.layer_sizes = {16, 17, 15, 4};
  config.num_particles = 3;
  config.batch_size = 5;
  Case c = MakeContinuousCase(config, /*seed=*/8);
  const KernelResult plain = RunKernel(config, c);
  c.active_units = {17, 15, 17, 15, 17, 15};
  const KernelResult full = RunKernel(config, c);
  EXPECT_EQ(plain.loss, full.loss);
  EXPECT_EQ(plain.grads, full.grads);
}

// The shared minibatch is broadcast: same results as copying it per particle.
TEST(BatchedMlpTest, SharedInputEqualsReplicatedInput) {
  BatchedMlpConfig shared;
  shared.layer_sizes = {33, 16, 10};
  shared.num_particles = 5;
  shared.batch_size = 17;
  shared.input_mode = InputMode::kShared;
  BatchedMlpConfig per = shared;
  per.input_mode = InputMode::kPerParticle;
  const Case cs = MakeContinuousCase(shared, /*seed=*/11);
  Case cp = cs;
  cp.inputs.clear();
  cp.labels.clear();
  for (int64_t i = 0; i < per.num_particles; ++i) {
    cp.inputs.insert(cp.inputs.end(), cs.inputs.begin(), cs.inputs.end());
    cp.labels.insert(cp.labels.end(), cs.labels.begin(), cs.labels.end());
  }
  const KernelResult a = RunKernel(shared, cs);
  const KernelResult b = RunKernel(per, cp);
  for (int64_t i = 0; i < shared.num_particles; ++i) {
    EXPECT_NEAR(a.loss[i], b.loss[i], 64 * kEpsF * std::abs(a.loss[i]));
  }
  double diff = 0, norm = 0;
  for (size_t j = 0; j < a.grads.size(); ++j) {
    diff =
        std::max(diff, static_cast<double>(std::abs(a.grads[j] - b.grads[j])));
    norm = std::max(norm, static_cast<double>(std::abs(a.grads[j])));
  }
  EXPECT_LE(diff, 64 * kEpsF * norm);
}

// Repeated calls reuse the primitives and give identical bits.
TEST(BatchedMlpTest, RepeatedCallsAreDeterministic) {
  BatchedMlpConfig config;
  config.layer_sizes = {17, 16, 3};
  config.num_particles = 4;
  config.batch_size = 9;
  const Case c = MakeContinuousCase(config, /*seed=*/2);
  absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp = BatchedMlp::Create(config);
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  std::vector<double> loss1(4), loss2(4);
  std::vector<float> g1(config.num_params()), g2(config.num_params());
  ASSERT_TRUE((*mlp)
                  ->ForwardBackward(c.params, c.inputs, c.labels,
                                    absl::MakeSpan(loss1), absl::MakeSpan(g1))
                  .ok());
  ASSERT_TRUE((*mlp)
                  ->ForwardBackward(c.params, c.inputs, c.labels,
                                    absl::MakeSpan(loss2), absl::MakeSpan(g2))
                  .ok());
  EXPECT_EQ(loss1, loss2);
  EXPECT_EQ(g1, g2);
}

// ---------------------------------------------------------------------------
// Errors are statuses that say what is wrong.

TEST(BatchedMlpTest, InvalidConfigIsAnError) {
  BatchedMlpConfig config;
  config.layer_sizes = {784};
  absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp = BatchedMlp::Create(config);
  EXPECT_EQ(mlp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mlp.status().message(), HasSubstr("layer_sizes"));

  config.layer_sizes = {4, 0, 3};
  EXPECT_THAT(config.Validate().message(), HasSubstr("layer_sizes[1] = 0"));
  config.layer_sizes = {4, 3, 1};
  EXPECT_THAT(config.Validate().message(), HasSubstr("at least 2"));
  config.layer_sizes = {4, 3};
  config.num_particles = 0;
  EXPECT_THAT(config.Validate().message(), HasSubstr("num_particles = 0"));
  config.num_particles = 1;
  config.batch_size = -2;
  EXPECT_THAT(config.Validate().message(), HasSubstr("batch_size = -2"));
}

TEST(BatchedMlpTest, BadArgumentsAreErrors) {
  BatchedMlpConfig config;
  config.layer_sizes = {4, 5, 3};
  config.num_particles = 2;
  config.batch_size = 3;
  Case c = MakeContinuousCase(config, /*seed=*/1);
  absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp = BatchedMlp::Create(config);
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  std::vector<double> loss(2);
  std::vector<float> grads(config.num_params());

  // Backward before any Forward.
  EXPECT_EQ((*mlp)->Backward(c.params, c.inputs, absl::MakeSpan(grads)).code(),
            absl::StatusCode::kFailedPrecondition);

  std::vector<float> short_params(c.params.begin(), c.params.end() - 1);
  absl::Status s =
      (*mlp)->Forward(short_params, c.inputs, c.labels, absl::MakeSpan(loss));
  EXPECT_THAT(s.message(), HasSubstr("params has"));
  s = (*mlp)->Forward(c.params, {}, c.labels, absl::MakeSpan(loss));
  EXPECT_THAT(s.message(), HasSubstr("inputs has 0 floats"));
  c.labels[1] = 3;
  s = (*mlp)->Forward(c.params, c.inputs, c.labels, absl::MakeSpan(loss));
  EXPECT_THAT(s.message(), HasSubstr("labels[1] = 3"));
  c.labels[1] = 0;
  s = (*mlp)->Forward(c.params, c.inputs, c.labels, absl::Span<double>());
  EXPECT_THAT(s.message(), HasSubstr("loss has 0"));

  EXPECT_THAT((*mlp)->SetActiveUnits({1}).message(), HasSubstr("N*(L-1) = 2"));
  EXPECT_THAT((*mlp)->SetActiveUnits({1, 6}).message(),
              HasSubstr("active_units[particle 1, hidden layer 0] = 6"));

  ASSERT_TRUE(
      (*mlp)->Forward(c.params, c.inputs, c.labels, absl::MakeSpan(loss)).ok());
  std::vector<float> other_params = c.params;
  EXPECT_EQ(
      (*mlp)->Backward(other_params, c.inputs, absl::MakeSpan(grads)).code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      (*mlp)
          ->Backward(c.params, c.inputs, absl::MakeSpan(grads).subspan(1))
          .message(),
      HasSubstr("grads has"));
  EXPECT_TRUE((*mlp)->Backward(c.params, c.inputs, absl::MakeSpan(grads)).ok());
}

TEST(DnnlStatusTest, MapsStatusCodes) {
  EXPECT_TRUE(DnnlStatusToStatus(dnnl_success, "", "").ok());
  absl::Status s =
      DnnlStatusToStatus(dnnl_invalid_arguments, "bad dims", "creating fwd0");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("creating fwd0: bad dims"));
  EXPECT_EQ(DnnlStatusToStatus(dnnl_unimplemented, "", "").code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(DnnlStatusToStatus(dnnl_out_of_memory, "", "").code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DnnlStatusToStatus(dnnl_runtime_error, "", "").code(),
            absl::StatusCode::kInternal);
}

// The benchmark shapes must not fall back to oneDNN's reference kernels (a
// per-particle matmul bias, for example, does in oneDNN 2.6).
TEST(BatchedMlpTest, BenchmarkShapesUseOptimisedKernels) {
  for (InputMode mode : {InputMode::kShared, InputMode::kPerParticle}) {
    BatchedMlpConfig config;
    config.layer_sizes = {784, 100, 100, 10};
    config.num_particles = 10;
    config.batch_size = 100;
    config.input_mode = mode;
    absl::StatusOr<std::unique_ptr<BatchedMlp>> mlp =
        BatchedMlp::Create(config);
    ASSERT_TRUE(mlp.ok()) << mlp.status();
    const std::string info = (*mlp)->ImplementationInfo();
    EXPECT_THAT(info, ::testing::Not(HasSubstr("ref:")))
        << config.DebugString();
    std::printf("%s: %s\n", config.DebugString().c_str(), info.c_str());
  }
}

}  // namespace
}  // namespace es
