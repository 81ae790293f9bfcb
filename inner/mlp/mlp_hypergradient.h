// mlp_hypergradient.h - hypergradient descent on the learning-rate
// hyperparameters of MLP training with SGD + momentum, as a
// GradientEstimator: the "GDTUO" baseline of the ES-Single paper's App. C.7
// ("Comparison to Hypergradient Descent", Fig. 26).
//
// Papers: Baydin, Cornish, Martinez Rubio, Schmidt, Wood, "Online Learning
// Rate Adaptation with Hypergradient Descent", ICLR 2018 (arXiv 2017), eq. 7
// and its SGD-with-momentum variant (Sec. 3.1); Chandra, Xie, Ragan-Kelley,
// Meijer, "Gradient Descent: The Ultimate Optimizer", NeurIPS 2022. Both
// adapt hyperparameters online with a 1-step lookahead meta-objective (the
// loss after the next step), so they are gradient analogues of truncated ES
// with K = 1 and carry the same truncation (short-horizon) bias.
//
// One network (particle 0 of an MlpHpoProblem inner problem: the same initial
// weights and minibatch order per episode key as the ES estimators'
// lockstep particles) is trained with the problem's update rule
//   v_{t+1} = mu v_t + g_t,   w_{t+1} = w_t - alpha_t(theta) v_{t+1},
//   g_t = d l_t / d w_t,  l_t = CE(w_t; training minibatch t of the episode)
// (the same codec, mlp_hpo_codec.h, and the same update of each block,
// mlp_sgd_step.h, as MlpHpoProblem::Unroll), where alpha_t(theta) is the
// problem's schedule (mlp::LearningRate):
//   kLrSchedule  alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)
//   kGlobalLr    alpha_t = exp(theta_0).
// Step(theta) makes ONE inner step with alpha_t(theta) and returns the
// 1-step-lookahead hypergradient
//   d l_{t+1} / d alpha_t = g_{t+1} . d w_{t+1} / d alpha_t = -g_{t+1} . v_{t+1}
// (w_t, v_t held fixed, as HD and GDTUO do: earlier steps are detached),
// chained to theta:
//   d l_{t+1} / d theta = -(g_{t+1} . v_{t+1}) * d alpha_t / d theta,
//   d alpha_t / d theta_0 = alpha_t,
//   d alpha_t / d theta_1 = -alpha_t exp(theta_1) log(1 + t / Q).
// The caller's outer optimiser (meta_trainer.h) applies it, so theta changes
// after every inner step. g_{t+1} is kept for the next step's update: one
// forward-backward pass per inner step, as in HD.
//
// Resets (HypergradientOptions::reset_inner_problem):
//   true   ("gdtuo_reset") after T steps the network restarts from the next
//          episode's initial weights with v = 0 and t = 0 (the schedule
//          restarts); theta carries over. This mimics truncated ES.
//   false  ("gdtuo") one network is trained forever (GDTUO's online
//          setting); t keeps growing past T, minibatch t of the episode key
//          is still defined (MlpHpoProblem::TrainIndices).
// Episode e (0, 1, ...) uses key MixKey(seed, e), the lockstep key of
// estimators/online_es.h and truncated_es.h, so with equal seeds every method
// sees the same sequence of inner problems.
//
// Estimate fields: gradient = the hypergradient above; mean_loss = l_t, the
// training loss of the minibatch the step's update used, at the weights the
// update started from (the per-step loss MlpHpoProblem::Unroll sums);
// particle_steps = 1; episodes_started = 1 when the step began a new episode.
// A non-finite loss or hypergradient (diverged training) returns a zero
// gradient, counts one dropped "pair" and restarts at the next episode.
//
// Requirements (Create checks): parametrization kLrSchedule or kGlobalLr,
// objective kSumTrainLoss. Thread safety: one estimator per thread; the
// oneDNN kernel runs on all cores. Ownership: the problem and the training
// data (the same arrays the problem was created with) must outlive it.
//
// Usage:
//   auto est = HypergradientEstimator::Create(problem.get(), train_view,
//                                             {.reset_inner_problem = true});
//   auto opt = MakeOptimizer({.kind = "adam", .learning_rate = 1e-3}, 2);
//   auto r = RunMetaTraining(*problem, est->get(), opt->get(), theta0, mo);
#ifndef ES_SINGLE_INNER_MLP_MLP_HYPERGRADIENT_H_
#define ES_SINGLE_INNER_MLP_MLP_HYPERGRADIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/estimator.h"
#include "inner/kernels/batched_mlp.h"
#include "inner/mlp/mlp_hpo.h"
#include "inner/mlp/mlp_minibatch.h"

namespace es {

struct HypergradientOptions {
  bool reset_inner_problem = true;
  uint64_t seed = 0;
};

class HypergradientEstimator : public GradientEstimator {
 public:
  static absl::StatusOr<std::unique_ptr<HypergradientEstimator>> Create(
      const MlpHpoProblem* problem, MlpDataView train,
      const HypergradientOptions& options);

  // "gdtuo_reset" or "gdtuo".
  std::string name() const override;
  absl::StatusOr<Estimate> Step(const Eigen::VectorXd& theta) override;
  void RestartInnerProblems() override { needs_reset_ = true; }
  int64_t total_dropped_pairs() const override { return total_dropped_; }

  // Inner step counter t of the current network (steps since its reset).
  int64_t step() const { return t_; }
  // Current weights [W_0 | b_0 | W_1 | ...] and momentum buffer v_t.
  const std::vector<float>& params() const { return params_; }
  const std::vector<float>& momentum() const { return momentum_; }

  // alpha_t(theta) as the inner update uses it (the problem's schedule,
  // mlp::LearningRate).
  static double LearningRate(const MlpHpoConfig& config,
                             const Eigen::VectorXd& theta, int64_t t);
  // d alpha_t / d theta (closed form above, mlp::LearningRateGradient).
  static Eigen::VectorXd LearningRateGradient(const MlpHpoConfig& config,
                                              const Eigen::VectorXd& theta,
                                              int64_t t);

 private:
  HypergradientEstimator(const MlpHpoProblem* problem, MlpDataView train,
                         const HypergradientOptions& options);
  void StartEpisode();
  // l_t and g_t at the current weights on minibatch t.
  absl::Status ForwardBackward();

  const MlpHpoProblem* problem_;
  MlpDataView train_;
  HypergradientOptions options_;
  std::unique_ptr<BatchedMlp> kernel_;  // N = 1, shared input
  std::unique_ptr<ParticleStates> init_states_;
  std::vector<float> params_, momentum_, grads_, images_;
  std::vector<int32_t> labels_;
  std::vector<int64_t> indices_;
  double loss_ = 0.0;  // l_t at the current weights
  uint64_t episode_ = ~uint64_t{0};
  uint64_t key_ = 0;
  int64_t t_ = 0;
  bool needs_reset_ = true;
  int64_t total_dropped_ = 0;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_MLP_MLP_HYPERGRADIENT_H_
