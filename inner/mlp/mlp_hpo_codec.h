// mlp_hpo_codec.h - how the MLP hyperparameter problem (mlp_hpo.h) reads
// theta: the parametrisations of MlpHpoConfig, the LR schedule, the App. C
// random initialisation of theta and the names of its coordinates. One
// decoder serves MlpHpoProblem::Decode, the problem's batched update and the
// hypergradient baseline (mlp_hypergradient.h), so all three see the same
// learning rates bit for bit.
//
// Parametrisations (all coordinates unconstrained; L = H + 1 weight
// matrices, blocks b = 2l (W_l) and 2l + 1 (b_l)):
//   kLrSchedule  theta = (log init LR, log LR decay): base LR exp(theta_0)
//                for every block, decay exponent exp(theta_1), momentum
//                fixed_momentum;
//   kGlobalLr    theta = (log LR): base LR exp(theta_0), decay 0 (no
//                schedule), momentum fixed_momentum;
//   kPerBlock    theta[b] log LR of block b, theta[2L + b] logit momentum
//                of block b, theta[4L + h] logit width of hidden layer h:
//                base LR exp(.), momentum sigmoid(.), decay 0, width
//                WidthFromLogit.
// Learning rate of block b at step t (t = step counter before the update):
//   alpha_{b,t} = base_b * ScheduleFactor(decay, t, Q),
//   ScheduleFactor = (1 + t / Q)^-decay, exactly 1 when decay == 0
// (Sec. 4.2: alpha_t = exp(theta_0) / (1 + t / Q)^exp(theta_1)).
#ifndef ES_SINGLE_INNER_MLP_MLP_HPO_CODEC_H_
#define ES_SINGLE_INNER_MLP_MLP_HPO_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "inner/mlp/mlp_hpo_config.h"

namespace es {

// Hyperparameters decoded from one theta row (for inspection and tests).
struct MlpHyperparameters {
  std::vector<double> learning_rate;  // per block [W_0, b_0, W_1, ...] at t
  std::vector<double> momentum;       // per block
  std::vector<int32_t> active_units;  // per hidden layer
};

namespace mlp {

double Sigmoid(double x);
double Logit(double p);

// Units used of a hidden layer of max_units: clamp(round(sigmoid(logit) *
// max_units), min(min_units, max_units), max_units); every unit for a
// non-finite logit.
int32_t WidthFromLogit(double logit, int64_t max_units, int64_t min_units);

// In all functions below, layer_sizes = {d_0, h_1, ..., h_H, C}.

// P, the number of theta coordinates.
int ThetaDim(const MlpHpoConfig& config,
             const std::vector<int64_t>& layer_sizes);
// "log_lr_W0", "logit_mom_b2", "logit_width_h1", "log_init_lr",
// "log_lr_decay", ...
std::vector<std::string> ThetaNames(const MlpHpoConfig& config,
                                    const std::vector<int64_t>& layer_sizes);

// Decodes one theta row (P entries) into the base learning rate and the
// momentum of every block (2L entries each), the schedule's decay exponent
// and the active units of every hidden layer (H entries).
void DecodeRow(const MlpHpoConfig& config,
               const std::vector<int64_t>& layer_sizes, const double* theta,
               double* base_lr, double* momentum, double* decay,
               int32_t* active_units);

// (1 + t / q)^-decay; exactly 1 when decay == 0.
double ScheduleFactor(double decay, double t, double q);

// Hyperparameters of theta at step t (learning rates include the schedule).
MlpHyperparameters Decode(const MlpHpoConfig& config,
                          const std::vector<int64_t>& layer_sizes,
                          const Eigen::VectorXd& theta, int64_t t);

// The one learning rate alpha_t(theta) of the kLrSchedule and kGlobalLr
// parametrisations (every block's), as the problem's update uses it.
double LearningRate(const MlpHpoConfig& config, const Eigen::VectorXd& theta,
                    int64_t t);
// d alpha_t / d theta: alpha_t, and for kLrSchedule
// -alpha_t exp(theta_1) log(1 + t / Q).
Eigen::VectorXd LearningRateGradient(const MlpHpoConfig& config,
                                     const Eigen::VectorXd& theta, int64_t t);

// App. C random initialisation (MlpHpoProblem::SampleInitialTheta), keyed
// by (seed, index) on Stream::kUser.
Eigen::VectorXd SampleInitialTheta(const MlpHpoConfig& config,
                                   const std::vector<int64_t>& layer_sizes,
                                   uint64_t seed, uint64_t index);

}  // namespace mlp
}  // namespace es

#endif  // ES_SINGLE_INNER_MLP_MLP_HPO_CODEC_H_
