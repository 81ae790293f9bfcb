// yacht_l2_problem.h - tuning a global L2 coefficient for linear regression
// on UCI Yacht (ES-Single paper, Vicol et al. ICML 2023, App. C
// "Hyperparameter Optimization for UCI Regression", Fig. 14; the task of PES,
// Vicol et al. ICML 2021), batched over particles.
//
// Outer parameter (P = 1): theta = log lambda, the log L2 coefficient.
// Inner problem (never ends, never reset: horizon kNeverEnding), per particle:
//   w_0 ~ N(0, I_D)  from the episode key (D = 6 features, no bias)
//   for t = 0, 1, 2, ...:
//     w_{t+1} = w_t - lr * grad_w [ 0.5 ||X_t w - y_t||^2
//                                   + 0.5 exp(theta) ||w||^2 ]   at w_t
//             = w_t - lr * (A w_t - b + exp(theta) w_t)
//     L_{t+1} = 0.5 ||X_v w_{t+1} - y_v||^2      (validation loss, after
//                                                  the update)
// with (X_t, y_t) the 246 standardised training rows, (X_v, y_v) the 62
// validation rows (yacht_data.h), A = X_t'X_t, b = X_t'y_t, plain full-batch
// SGD with lr = 0.001 (the PES script's inner optimiser `sgd`, lr 0.001, no
// weight decay). Losses are sums over examples, not means, as in PES; the
// factor 0.5 on the penalty is PES's too.
//
// Computation: the training gradient and the validation loss use the Gram
// quantities (A, b, V = X_v'X_v, u = X_v'y_v, s = y_v'y_v):
//   L = 0.5 s - u'w + 0.5 w'Vw,
// O(D^2) per step instead of O(n D); equal to the row sums up to rounding
// (the tests compare with a row-by-row reference). Particles are laid out as
// a structure of arrays (w[d][particle]) and every loop over particles is
// element-wise, so a particle's bits do not depend on its neighbours, the
// range it is unrolled in, or the thread that runs it. Double precision.
//
// Long run: for lr (lambda_max(A) + lambda) < 2 the iteration converges, from
// any w_0, to the ridge solution w*(lambda) = (A + lambda I)^{-1} b; for
// larger lambda it diverges (|w| grows without bound). LongRunValidationLoss
// returns L(w*) or +inf; GridSearchLogL2 scans it over theta (the dashed line
// of Fig. 14a). With the PES split the optimum is theta = 1.33, the value
// the PES plotting script draws.
//
// Divergence: theta so large that SGD diverges (theta > about 7.3 here) gives
// losses that grow to +inf and then NaN; nothing traps or crashes.
//
// Thread safety: Unroll/Reset on disjoint particle ranges may run
// concurrently (scratch is per particle); the problem object is immutable.
//
// Checkpoints: ParticleStates::Save writes each particle's episode key and
// weights (the whole state: the dynamics do not depend on t); the gradient
// and loss buffers are scratch. A loaded state continues bit for bit.
//
// Usage:
//   auto table = LoadYachtHydrodynamics(data_dir);
//   auto problem = YachtL2Problem::Create(*table);      // PES settings
//   auto states = (*problem)->NewStates(4);            // StatusOr
//   absl::Status s = (*problem)->Unroll(states->get(), 0, 4, thetas, t0,
//                                       /*num_steps=*/1, losses);
//   auto grid = GridSearchLogL2(**problem, -8, 8, 1601);  // grid->best_theta
#ifndef ES_SINGLE_INNER_UCI_YACHT_L2_PROBLEM_H_
#define ES_SINGLE_INNER_UCI_YACHT_L2_PROBLEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "inner/data/uci_reader.h"
#include "inner/uci/yacht_data.h"

namespace es {

struct YachtL2Options {
  double learning_rate = 1e-3;  // inner SGD step (PES uci.py --lr 0.001)
  SplitOptions split;           // 80/20, NumPy seed 1 (PES)

  absl::Status Validate() const;
};

class YachtL2Problem : public UnrolledProblem {
 public:
  static absl::StatusOr<std::unique_ptr<YachtL2Problem>> Create(
      const UciTable& table, const YachtL2Options& options = {});

  std::string name() const override { return "yacht_l2"; }
  int theta_dim() const override { return 1; }
  int64_t horizon() const override { return kNeverEnding; }

  // ResourceExhausted when the states do not fit in memory.
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  // w = N(0, I) from Philox (episode key, Stream::kInit); t does not matter
  // (the problem never ends).
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  // t0 is ignored (the dynamics do not depend on t). InvalidArgument for a
  // bad range or theta shape (ValidateUnrollArgs).
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;
  // The validation loss of the current weights, in the Gram form of Unroll
  // (the same bits as the loss of the step that reached them).
  absl::Status MeasureLoss(ParticleStates* states, int begin, int end,
                           const RowMatrixXd& thetas,
                           double* losses) const override;

  // Direct access for tests and figure binaries.
  Eigen::VectorXd GetWeights(const ParticleStates& states, int particle) const;
  void SetWeights(ParticleStates* states, int particle,
                  const Eigen::VectorXd& w) const;

  // 0.5 ||X_v w - y_v||^2, summed row by row (the reference).
  double ValidationLoss(const Eigen::VectorXd& w) const;
  // The limit of the validation loss as t -> infinity at theta: L(w*) for
  // the ridge solution, or +inf where SGD diverges.
  double LongRunValidationLoss(double theta) const;
  // Largest theta for which SGD converges: log(2 / lr - lambda_max(A)).
  double MaxStableTheta() const;

  const RegressionSplit& data() const { return data_; }
  const YachtL2Options& options() const { return options_; }
  int num_features() const { return data_.num_features(); }

 private:
  YachtL2Problem(RegressionSplit data, const YachtL2Options& options);

  RegressionSplit data_;
  YachtL2Options options_;
  double lambda_max_ = 0.0;  // of A
  // Row-major copies of A and V for the inner loops.
  std::vector<double> gram_train_, gram_val_;
};

struct L2GridResult {
  std::vector<double> thetas;  // lo, lo + h, ..., hi
  std::vector<double> losses;  // LongRunValidationLoss(theta)
  double best_theta = 0.0;
  double best_loss = 0.0;
  int best_index = 0;
};

// Fine grid search of the long-run validation loss over theta in [lo, hi]
// with num_points >= 2 equally spaced points (e.g. -8, 8, 1601: step 0.01).
absl::StatusOr<L2GridResult> GridSearchLogL2(const YachtL2Problem& problem,
                                             double lo, double hi,
                                             int num_points);

}  // namespace es

#endif  // ES_SINGLE_INNER_UCI_YACHT_L2_PROBLEM_H_
