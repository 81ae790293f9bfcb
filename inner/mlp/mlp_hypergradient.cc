// mlp_hypergradient.cc - see mlp_hypergradient.h.
#include "inner/mlp/mlp_hypergradient.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"
#include "inner/mlp/mlp_hpo_codec.h"
#include "inner/mlp/mlp_sgd_step.h"

namespace es {

using Parametrization = MlpHpoConfig::Parametrization;

// The problem's codec (mlp_hpo_codec.h), so that a frozen theta trains the
// same network as MlpHpoProblem::Unroll.
double HypergradientEstimator::LearningRate(const MlpHpoConfig& config,
                                            const Eigen::VectorXd& theta,
                                            int64_t t) {
  return mlp::LearningRate(config, theta, t);
}

Eigen::VectorXd HypergradientEstimator::LearningRateGradient(
    const MlpHpoConfig& config, const Eigen::VectorXd& theta, int64_t t) {
  return mlp::LearningRateGradient(config, theta, t);
}

HypergradientEstimator::HypergradientEstimator(
    const MlpHpoProblem* problem, MlpDataView train,
    const HypergradientOptions& options)
    : problem_(problem), train_(train), options_(options) {}

absl::StatusOr<std::unique_ptr<HypergradientEstimator>>
HypergradientEstimator::Create(const MlpHpoProblem* problem, MlpDataView train,
                               const HypergradientOptions& options) {
  if (problem == nullptr) {
    return absl::InvalidArgumentError("hypergradient: problem is null");
  }
  const MlpHpoConfig& c = problem->config();
  if (c.parametrization == Parametrization::kPerBlock) {
    return absl::InvalidArgumentError(
        "hypergradient: needs one learning rate for every block (the "
        "kLrSchedule or kGlobalLr parametrisation), got kPerBlock");
  }
  if (c.objective != MlpHpoConfig::Objective::kSumTrainLoss) {
    return absl::InvalidArgumentError(
        "hypergradient: the 1-step lookahead targets the training loss; the "
        "problem's objective must be kSumTrainLoss");
  }
  if (train.num_features != problem->layer_sizes().front() ||
      train.num_examples() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hypergradient: training data has ", train.num_examples(),
        " examples of ", train.num_features, " features; the problem's input "
        "layer has ", problem->layer_sizes().front()));
  }
  auto est = std::unique_ptr<HypergradientEstimator>(
      new HypergradientEstimator(problem, train, options));
  BatchedMlpConfig kc;
  kc.layer_sizes = problem->layer_sizes();
  kc.num_particles = 1;
  kc.batch_size = c.batch_size;
  kc.input_mode = InputMode::kShared;
  auto kernel = BatchedMlp::Create(kc);
  if (!kernel.ok()) return kernel.status();
  est->kernel_ = std::move(*kernel);
  auto init_states = problem->NewStates(1);
  if (!init_states.ok()) return init_states.status();
  est->init_states_ = *std::move(init_states);
  est->params_.assign(kc.num_params(), 0.0f);
  est->momentum_.assign(kc.num_params(), 0.0f);
  est->grads_.assign(kc.num_params(), 0.0f);
  est->images_.assign(kc.inputs_size(), 0.0f);
  est->labels_.assign(kc.labels_size(), 0);
  est->indices_.assign(c.batch_size, 0);
  return est;
}

std::string HypergradientEstimator::name() const {
  return options_.reset_inner_problem ? "gdtuo_reset" : "gdtuo";
}

void HypergradientEstimator::StartEpisode() {
  ++episode_;
  key_ = MixKey(options_.seed, episode_);
  const int particle = 0;
  problem_->Reset(init_states_.get(), {&particle, 1}, {&key_, 1});
  // With N = 1 the per-particle order [W_0 | b_0 | W_1 | ...] is the
  // kernel's layout.
  params_ = problem_->GetParticleParams(*init_states_, 0);
  std::fill(momentum_.begin(), momentum_.end(), 0.0f);
  t_ = 0;
  needs_reset_ = false;
}

absl::Status HypergradientEstimator::ForwardBackward() {
  problem_->TrainIndices(key_, t_, indices_.data());
  mlp::GatherRows(train_, indices_.data(),
                  static_cast<int64_t>(indices_.size()), images_.data(),
                  labels_.data());
  double loss = 0.0;
  auto s = kernel_->ForwardBackward(params_, images_, labels_, {&loss, 1},
                                    absl::MakeSpan(grads_));
  loss_ = loss;
  return s;
}

absl::StatusOr<Estimate> HypergradientEstimator::Step(
    const Eigen::VectorXd& theta) {
  if (auto s = ValidateTheta(theta, problem_->theta_dim()); !s.ok()) return s;
  Estimate e;
  e.gradient = Eigen::VectorXd::Zero(theta.size());
  e.particle_steps = 1;
  if (needs_reset_) {
    StartEpisode();
    e.episodes_started = 1;
    if (auto s = ForwardBackward(); !s.ok()) return s;
  }
  e.mean_loss = loss_;
  // v_{t+1} = mu v_t + g_t;  w_{t+1} = w_t - alpha_t v_{t+1}  (float, the
  // problem's update, mlp_sgd_step.h).
  const double alpha = LearningRate(problem_->config(), theta, t_);
  const float lr = static_cast<float>(alpha);
  const float mu = static_cast<float>(problem_->config().fixed_momentum);
  const size_t n = params_.size();
  mlp::SgdMomentumStep(lr, mu, static_cast<int64_t>(n), grads_.data(),
                       params_.data(), momentum_.data());
  const float* v = momentum_.data();
  const Eigen::VectorXd dalpha =
      LearningRateGradient(problem_->config(), theta, t_);
  ++t_;
  if (auto s = ForwardBackward(); !s.ok()) return s;
  double dot = 0.0;
  for (size_t j = 0; j < n; ++j) {
    dot += static_cast<double>(grads_[j]) * static_cast<double>(v[j]);
  }
  const double hyper = -dot;  // d l_{t+1} / d alpha_t
  if (!std::isfinite(hyper) || !std::isfinite(loss_) || !dalpha.allFinite()) {
    e.dropped_pairs = 1;
    ++total_dropped_;
    needs_reset_ = true;
    return e;
  }
  e.gradient = hyper * dalpha;
  if (options_.reset_inner_problem && t_ >= problem_->horizon()) {
    needs_reset_ = true;
  }
  return e;
}

}  // namespace es
