// Tests of the batched optimiser MLP (lopt_mlp.h) against the plain double
// reference (lopt_reference.h):
//   * sweep: N in {1, 3, 8, 9, 17} x M in {1, 7, 15, 16, 17, 33} (around the
//     8- and 16-float vector widths) x four architectures: the LOLv2 one
//     (19 = 8 + 11 inputs, 32-32, 2 outputs), one hidden layer (no fused
//     bias+ReLU), three hidden layers (the plain bias+ReLU loop), and 3
//     outputs without particle features (the generic output loop);
//   * 1 vs 2 OpenMP threads give identical bits at the paper's shape;
//   * the paper shape uses no oneDNN reference ("ref:") kernel;
//   * bad configs and sizes give errors that name the value.
//
// Tolerance: with float rounding u = 2^-24, each output of an MLP with
// fan-ins K_l is within about u * (sum_l K_l) * S of the exact value, where S
// is the same network evaluated on |inputs| with |weights| (ReLU is
// 1-Lipschitz, so errors of a pre-activation near 0 do not grow). We allow
// 4 u (sum_l K_l + 1) S; a wrong weight, bias or feature column changes an
// output by O(S / sqrt(K)), orders of magnitude more.
#include "inner/lopt/lopt_mlp.h"

#include <omp.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inner/lopt/lopt_reference.h"

namespace es {
namespace {

using ::testing::HasSubstr;

constexpr double kU = std::numeric_limits<float>::epsilon() / 2;

struct Arch {
  const char* name;
  int64_t row_features, particle_features;
  std::vector<int64_t> hidden;
  int64_t outputs;
};

const Arch kArchs[] = {
    {"lolv2", 8, 11, {32, 32}, 2},
    {"one_hidden", 8, 11, {5}, 2},
    {"three_hidden", 3, 2, {16, 17, 4}, 2},
    {"three_outputs", 5, 0, {9, 7}, 3},
};

struct Case {
  int arch;
  int64_t n, m;
};

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return absl::StrCat(kArchs[info.param.arch].name, "_N", info.param.n, "_M",
                      info.param.m);
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (int a = 0; a < 4; ++a) {
    for (int64_t n : {1, 3, 8, 9, 17}) {
      for (int64_t m : {1, 7, 15, 16, 17, 33}) cases.push_back({a, n, m});
    }
  }
  return cases;
}

LoptMlpConfig ConfigOf(const Arch& a, int64_t n, int64_t m) {
  LoptMlpConfig c;
  c.num_particles = n;
  c.rows = m;
  c.row_features = a.row_features;
  c.particle_features = a.particle_features;
  c.hidden_sizes = a.hidden;
  c.num_outputs = a.outputs;
  return c;
}

// Random thetas (Haiku init scaled up, biases nonzero) and inputs.
struct Data {
  std::vector<double> thetas;   // N * P
  std::vector<float> rows;      // N * M * F_r
  std::vector<float> particle;  // N * F_p
};

Data MakeData(const LoptMlpConfig& c, uint64_t seed) {
  Data d;
  const int64_t N = c.num_particles, M = c.rows, P = c.theta_dim();
  const RandomKey rk{seed, Stream::kUser};
  for (int64_t i = 0; i < N; ++i) {
    std::vector<double> t = LoptMlpInitialTheta(c, seed, i);
    for (int64_t k = 0; k < P; ++k) {
      d.thetas.push_back(1.5 * t[k] +
                         0.2 * StandardNormal(rk, 1, i, k) * (t[k] == 0.0));
    }
  }
  for (int64_t k = 0; k < N * M * c.row_features; ++k) {
    d.rows.push_back(static_cast<float>(StandardNormal(rk, 2, 0, k)));
  }
  for (int64_t k = 0; k < N * c.particle_features; ++k) {
    d.particle.push_back(
        static_cast<float>(std::tanh(StandardNormal(rk, 3, 0, k))));
  }
  return d;
}

// Reference inputs of particle i: [rows of i | particle features of i].
Eigen::MatrixXd ReferenceInputs(const LoptMlpConfig& c, const Data& d,
                                int64_t i, bool absolute) {
  Eigen::MatrixXd x(c.rows, c.num_inputs());
  for (int64_t r = 0; r < c.rows; ++r) {
    for (int64_t f = 0; f < c.row_features; ++f) {
      x(r, f) = d.rows[(i * c.rows + r) * c.row_features + f];
    }
    for (int64_t f = 0; f < c.particle_features; ++f) {
      x(r, c.row_features + f) = d.particle[i * c.particle_features + f];
    }
  }
  return absolute ? Eigen::MatrixXd(x.cwiseAbs()) : x;
}

class LoptMlpSweepTest : public ::testing::TestWithParam<Case> {};

TEST_P(LoptMlpSweepTest, MatchesTheDoubleReference) {
  const Case& k = GetParam();
  const LoptMlpConfig c = ConfigOf(kArchs[k.arch], k.n, k.m);
  auto mlp = LoptMlp::Create(c);
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  const Data d = MakeData(c, 100 + k.n * 64 + k.m);
  ASSERT_TRUE((*mlp)->SetWeights(d.thetas).ok());
  ASSERT_TRUE((*mlp)->SetParticleFeatures(d.particle).ok());
  std::vector<float> out(c.num_particles * c.rows * c.num_outputs);
  ASSERT_TRUE((*mlp)->Apply(d.rows, absl::MakeSpan(out)).ok());

  const std::vector<int64_t> sizes = c.layer_sizes();
  double fan_in = 1.0;
  for (size_t l = 0; l + 1 < sizes.size(); ++l) fan_in += sizes[l];
  const int64_t P = c.theta_dim();
  int failures = 0;
  for (int64_t i = 0; i < c.num_particles; ++i) {
    const Eigen::Map<const Eigen::VectorXd> theta(d.thetas.data() + i * P, P);
    const Eigen::MatrixXd want =
        LoptReferenceMlp(c, theta, ReferenceInputs(c, d, i, false));
    const Eigen::MatrixXd scale =
        LoptReferenceMlp(c, theta.cwiseAbs(), ReferenceInputs(c, d, i, true));
    for (int64_t r = 0; r < c.rows; ++r) {
      for (int64_t o = 0; o < c.num_outputs; ++o) {
        const double got = out[(i * c.rows + r) * c.num_outputs + o];
        const double tol = 4 * kU * fan_in * scale(r, o);
        if (std::abs(got - want(r, o)) > tol && ++failures <= 5) {
          ADD_FAILURE() << c.DebugString() << " particle " << i << " row " << r
                        << " output " << o << ": got " << got << ", want "
                        << want(r, o) << " (tolerance " << tol << ")\n"
                        << "rerun: --gtest_filter=*"
                        << CaseName({GetParam(), 0});
        }
      }
    }
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LoptMlpSweepTest,
                         ::testing::ValuesIn(AllCases()), CaseName);

// Different particle features per call refold the bias; SetWeights resets
// them to zero.
TEST(LoptMlpTest, ParticleFeaturesRefoldTheBias) {
  LoptMlpConfig c = ConfigOf(kArchs[0], 2, 5);
  auto mlp = LoptMlp::Create(c);
  ASSERT_TRUE(mlp.ok());
  Data d = MakeData(c, 7);
  ASSERT_TRUE((*mlp)->SetWeights(d.thetas).ok());
  std::vector<float> zero_pf(d.particle.size(), 0.0f), a(2 * 5 * 2), b(a), z(a);
  ASSERT_TRUE((*mlp)->Apply(d.rows, absl::MakeSpan(z)).ok());
  ASSERT_TRUE((*mlp)->SetParticleFeatures(d.particle).ok());
  ASSERT_TRUE((*mlp)->Apply(d.rows, absl::MakeSpan(a)).ok());
  EXPECT_NE(a, z);
  ASSERT_TRUE((*mlp)->SetParticleFeatures(zero_pf).ok());
  ASSERT_TRUE((*mlp)->Apply(d.rows, absl::MakeSpan(b)).ok());
  EXPECT_EQ(b, z);
}

// The paper shape: N = 10 particles, 4096-row chunks, LOLv2.
std::vector<float> RunPaperShape(int threads) {
  omp_set_num_threads(threads);
  LoptMlpConfig c;
  c.num_particles = 10;
  c.rows = 4096;
  auto mlp = LoptMlp::Create(c);
  EXPECT_TRUE(mlp.ok()) << mlp.status();
  const Data d = MakeData(c, 21);
  EXPECT_TRUE((*mlp)->SetWeights(d.thetas).ok());
  EXPECT_TRUE((*mlp)->SetParticleFeatures(d.particle).ok());
  std::vector<float> out(c.num_particles * c.rows * 2);
  EXPECT_TRUE((*mlp)->Apply(d.rows, absl::MakeSpan(out)).ok());
  EXPECT_THAT((*mlp)->ImplementationInfo(), ::testing::Not(HasSubstr("ref")))
      << (*mlp)->ImplementationInfo();
  return out;
}

TEST(LoptMlpTest, OneAndTwoThreadsGiveIdenticalBits) {
  const std::vector<float> one = RunPaperShape(1);
  const std::vector<float> two = RunPaperShape(2);
  omp_set_num_threads(1);
  ASSERT_EQ(one.size(), two.size());
  size_t mismatches = 0;
  for (size_t k = 0; k < one.size(); ++k) mismatches += one[k] != two[k];
  EXPECT_EQ(mismatches, 0u) << "of " << one.size() << " outputs";
}

TEST(LoptMlpTest, BadConfigsNameTheValue) {
  auto error = [](LoptMlpConfig c) {
    return std::string(LoptMlp::Create(c).status().message());
  };
  LoptMlpConfig c;
  c.num_particles = 0;
  EXPECT_THAT(error(c),
              HasSubstr("num_particles N must be in [1, 2^24], got 0"));
  c = {};
  c.rows = -3;
  EXPECT_THAT(error(c), HasSubstr("rows M must be in [1, 2^24], got -3"));
  c = {};
  c.row_features = 0;
  EXPECT_THAT(error(c), HasSubstr("row_features must be in [1, 4096], got 0"));
  c = {};
  c.particle_features = -1;
  EXPECT_THAT(error(c),
              HasSubstr("particle_features must be in [0, 4096], got -1"));
  c = {};
  c.hidden_sizes = {};
  EXPECT_THAT(error(c), HasSubstr("1 to 8 layers, got 0"));
  c = {};
  c.hidden_sizes = {32, 0};
  EXPECT_THAT(error(c), HasSubstr("[1, 4096], got 32,0"));
  c = {};
  c.num_outputs = 0;
  EXPECT_THAT(error(c), HasSubstr("num_outputs must be in [1, 64], got 0"));
  c = {};
  c.num_particles = 1 << 20;
  c.rows = 1 << 20;
  EXPECT_THAT(error(c), HasSubstr("exceeds 2^36"));
}

TEST(LoptMlpTest, BadSizesAndOrderGiveErrors) {
  LoptMlpConfig c = ConfigOf(kArchs[0], 2, 3);
  auto mlp = LoptMlp::Create(c);
  ASSERT_TRUE(mlp.ok());
  std::vector<float> out(2 * 3 * 2);
  absl::Status s = (*mlp)->Run(absl::MakeSpan(out));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("before SetWeights"));
  s = (*mlp)->SetParticleFeatures(std::vector<float>(22));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  s = (*mlp)->SetWeights(std::vector<double>(1762));
  EXPECT_THAT(s.message(), HasSubstr("got 1762 values"));
  EXPECT_THAT(s.message(), HasSubstr("N * P = 2 * 1762 = 3524"));
  ASSERT_TRUE((*mlp)->SetWeights(std::vector<double>(3524, 0.01)).ok());
  s = (*mlp)->SetParticleFeatures(std::vector<float>(21));
  EXPECT_THAT(s.message(), HasSubstr("got 21 values"));
  s = (*mlp)->Run(absl::MakeSpan(out.data(), 11));
  EXPECT_THAT(s.message(), HasSubstr("got 11 output floats"));
  s = (*mlp)->Apply(std::vector<float>(47), absl::MakeSpan(out));
  EXPECT_THAT(s.message(), HasSubstr("got 47 feature floats"));
  EXPECT_THAT(s.message(), HasSubstr("N * M * F_r = 48"));
}

}  // namespace
}  // namespace es
