// dodge.h - DODGE, directional forward-mode gradient estimation (Silver,
// Goyal, Danihelka, Hessel, van Hasselt, "Learning by Directional Gradient
// Descent", ICLR 2022 / arXiv 2021). Paper App. C.6, eqs. 10-12 and Fig. 25.
//
// At the start of every inner problem, D directions u_1..u_D ~ N(0, I_P) are
// drawn and kept fixed for the whole inner problem. Each direction carries
// c_k = (ds_t/dtheta) u_k (eq. 12), so only the directional derivatives of
// the losses (eqs. 10-11) are accumulated:
//
//   c_{k,0} = 0;   c_{k,t} = F_th u_k + F_s c_{k,t-1}          (eq. 12)
//   d_k     = sum_{t in unroll} ( dL_t/ds_t . c_{k,t} + dL_t/dtheta . u_k )
//                                                            (eqs. 10-11)
//   g_hat   = (1/D) sum_k d_k u_k        (= (1/D) sum_k (grad . u_k) u_k)
//
// Since E[u u^T] = I, g_hat is an unbiased estimate of the RTRL gradient at a
// fixed theta; with D = P orthonormal directions, P * g_hat equals it
// exactly. Updates stay in the span of the directions of the current inner
// problem (the line segments of Fig. 25a). Cost per step O(S^2 D + S P D),
// memory O(S D + P D).
//
// Directions (DodgeOptions):
//   * default: StandardNormals(RandomKey{seed, direction_stream}, episode, k,
//     P) for direction k of inner problem `episode` (philox.h);
//   * direction_stream = Stream::kSinglePerturbation gives exactly the
//     directions ES-Single uses with the same seed (pair k of episode e,
//     online_es.h), so Fig. 25 can compare the two on the same sequence;
//   * direction_provider overrides both with explicit directions (tests:
//     orthonormal bases).
//
// Usage:
//   DodgeOptions o;  o.truncation = 1;  o.seed = 7;
//   o.direction_stream = Stream::kSinglePerturbation;   // same as ES-Single
//   auto est = Dodge::Create(&problem, o);
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_DODGE_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_DODGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/gradient/trajectory_estimator.h"
#include "estimators/philox.h"

namespace es {

// Writes direction k (0 <= k < D) of inner problem `episode` into u (size P).
using DirectionProvider =
    std::function<void(int64_t episode, int k, Eigen::Ref<Eigen::VectorXd> u)>;

struct DodgeOptions {
  int truncation = 1;      // K, steps per unroll (and per gradient estimate)
  uint64_t seed = 0;       // seeds the directions
  int num_directions = 1;  // D, directions per inner problem (averaged)
  // Stream of the default Gaussian directions; kSinglePerturbation matches
  // ES-Single's perturbation directions for the same seed.
  Stream direction_stream = Stream::kDirection;
  // Optional explicit directions (replaces the Gaussian draws).
  DirectionProvider direction_provider;

  absl::Status Validate() const;
};

class Dodge : public TrajectoryEstimator {
 public:
  static absl::StatusOr<std::unique_ptr<Dodge>> Create(
      const DifferentiableProblem* problem, const DodgeOptions& options);

  std::string name() const override { return "dodge"; }
  // The current inner problem's directions, one per column (P x D).
  const Eigen::MatrixXd& directions() const { return directions_; }

 private:
  Dodge(const DifferentiableProblem* problem, const DodgeOptions& options);
  void StartEpisode() override;
  void BeginUnroll() override { directional_.setZero(); }
  void ObserveStep(const StepDerivatives& d, int64_t step) override;
  void FinishUnroll(Eigen::VectorXd* gradient) override;
  void SaveCarry(StateWriter* out) const override {
    out->Matrix(directions_);
    out->Matrix(carry_);
  }
  absl::Status LoadCarry(StateReader* in) override {
    if (auto s = in->Matrix(&directions_); !s.ok()) return s;
    return in->Matrix(&carry_);
  }

  DodgeOptions options_;
  Eigen::MatrixXd directions_;  // U, P x D
  Eigen::MatrixXd carry_;       // C = [c_1 .. c_D], S x D
  Eigen::MatrixXd scratch_;     // S x D
  Eigen::VectorXd directional_; // d, D
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_DODGE_H_
