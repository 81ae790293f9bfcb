// The problem conformance suite (estimators/testing/problem_conformance.h)
// on the inner problems of this package: toy 2D regression, influence
// balancing, and the MLP hyperparameter problem in its three
// parametrisations (on a small random data set) and wrapped in the
// telescoping objective.
#include <memory>
#include <vector>

#include "estimators/philox.h"
#include "estimators/telescoping.h"
#include "estimators/testing/problem_conformance.h"
#include "inner/influence_balancing.h"
#include "inner/mlp/mlp_hpo.h"
#include "inner/toy2d.h"

namespace es::test {
namespace {

using Parametrization = MlpHpoConfig::Parametrization;
using Objective = MlpHpoConfig::Objective;

// A problem together with the data it points at (and an optional wrapper).
struct OwnedMlp {
  std::vector<float> images;
  std::vector<int32_t> labels;
  std::unique_ptr<MlpHpoProblem> problem;
  std::unique_ptr<TelescopingProblem> telescoping;
};

absl::StatusOr<std::shared_ptr<const UnrolledProblem>> MakeMlp(
    Parametrization p, Objective o, bool telescoping) {
  constexpr int kExamples = 96, kFeatures = 12, kClasses = 3;
  auto owned = std::make_shared<OwnedMlp>();
  const RandomKey rk{2024, Stream::kUser};
  owned->images.resize(kExamples * kFeatures);
  owned->labels.resize(kExamples);
  for (int i = 0; i < kExamples; ++i) {
    for (int f = 0; f < kFeatures; ++f) {
      owned->images[i * kFeatures + f] =
          static_cast<float>(UniformOpen(rk, i, 0, f));
    }
    owned->labels[i] = static_cast<int32_t>(RandomBlock(rk, i, 1, 0)[0] % 3);
  }
  MlpHpoConfig c;
  c.hidden_sizes = {7, 5};
  c.num_classes = kClasses;
  c.batch_size = 4;
  c.horizon = 12;
  c.parametrization = p;
  c.objective = o;
  c.schedule_q = 10.0;
  c.min_units = 2;
  c.measure_batch_size = 8;
  const MlpDataView view{owned->images, owned->labels, kFeatures};
  auto made = MlpHpoProblem::Create(c, view, view);
  if (!made.ok()) return made.status();
  owned->problem = *std::move(made);
  if (telescoping) {
    owned->telescoping =
        std::make_unique<TelescopingProblem>(owned->problem.get());
    return std::shared_ptr<const UnrolledProblem>(owned,
                                                  owned->telescoping.get());
  }
  return std::shared_ptr<const UnrolledProblem>(owned, owned->problem.get());
}

ProblemCase Mlp(const std::string& name, Parametrization p, Objective o,
                Eigen::VectorXd theta, bool telescoping = false) {
  return ProblemCase{
      .name = name,
      .make = [=] { return MakeMlp(p, o, telescoping); },
      .theta = std::move(theta),
      .num_steps = 3,
      // Sub-ranges run on oneDNN kernels built for fewer particles, whose
      // float32 blocking may differ (inner/mlp/mlp_hpo.h, "Batching").
      .range_rel_tol = 1e-6,
      .eval_rel_tol = 1e-6};
}

Eigen::VectorXd PerBlockTheta() {
  // 3 weight matrices: 6 log LRs, 6 momentum logits, 2 width logits.
  Eigen::VectorXd t(14);
  t.head(6).setConstant(-3.0);
  t.segment(6, 6).setConstant(0.5);
  t.tail(2).setConstant(0.3);
  return t;
}

INSTANTIATE_TEST_SUITE_P(
    InnerProblems, ProblemConformanceTest,
    ::testing::Values(
        ProblemCase{.name = "toy2d",
                    .make = [] { return MakeShared<Toy2d>(); },
                    .theta = Eigen::Vector2d(-2.0, -3.0),
                    .num_steps = 5},
        ProblemCase{.name = "toy2d_f32",
                    .make =
                        [] {
                          return MakeShared<Toy2d>(Toy2d::kPaperHorizon,
                                                   Toy2dPrecision::kFloat32);
                        },
                    .theta = Eigen::Vector2d(-2.0, -3.0),
                    .num_steps = 5},
        ProblemCase{.name = "influence_balancing",
                    .make = [] { return MakeShared<InfluenceBalancing>(); },
                    .theta = Eigen::VectorXd::Constant(1, 0.3),
                    .eval_length = 25},
        Mlp("mlp_lr_schedule", Parametrization::kLrSchedule,
            Objective::kSumTrainLoss, Eigen::Vector2d(-2.5, -1.0)),
        Mlp("mlp_global_lr_valid", Parametrization::kGlobalLr,
            Objective::kSumValidationLoss, Eigen::VectorXd::Constant(1, -2.0)),
        Mlp("mlp_per_block", Parametrization::kPerBlock,
            Objective::kSumValidationLoss, PerBlockTheta()),
        Mlp("mlp_telescoping", Parametrization::kLrSchedule,
            Objective::kSumTrainLoss, Eigen::Vector2d(-2.5, -1.0),
            /*telescoping=*/true)),
    ProblemCaseName);

}  // namespace
}  // namespace es::test
