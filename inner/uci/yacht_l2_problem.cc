// yacht_l2_problem.cc - see yacht_l2_problem.h.
#include "inner/uci/yacht_l2_problem.h"

#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es {
namespace {

// Structure of arrays: w[d * capacity + i] is weight d of particle i;
// scratch has the same shape. Keys are kept for CopyParticle.
class YachtStates : public ParticleStates {
 public:
  YachtStates(int capacity, int dim)
      : capacity_(capacity),
        dim_(dim),
        w(static_cast<size_t>(capacity) * dim),
        grad(static_cast<size_t>(capacity) * dim),
        lambda(capacity),
        step_loss(capacity),
        keys(capacity) {}

  int num_particles() const override { return capacity_; }
  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < capacity_ && to >= 0 && to < capacity_);
    for (int d = 0; d < dim_; ++d) {
      w[static_cast<size_t>(d) * capacity_ + to] =
          w[static_cast<size_t>(d) * capacity_ + from];
    }
    keys[to] = keys[from];
  }

  // Checkpoint: keys and weights; grad, lambda and step_loss are scratch.
  absl::Status Save(StateWriter* out) const override {
    out->Tag("yacht_l2");
    out->Pod(static_cast<int32_t>(dim_));
    out->Vector(keys);
    out->Vector(w);
    return absl::OkStatus();
  }
  // All or nothing: the states change only when everything was read.
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("yacht_l2"); !s.ok()) return s;
    int32_t dim = 0;
    if (auto s = in->Pod(&dim); !s.ok()) return s;
    if (dim != dim_) {
      return absl::DataLossError(absl::StrCat(
          "yacht_l2 checkpoint has ", dim, " features, these states have ",
          dim_));
    }
    std::vector<uint64_t> new_keys;
    std::vector<double> new_w;
    if (auto s = in->Vector(&new_keys, capacity_); !s.ok()) return s;
    if (auto s = in->Vector(&new_w, static_cast<int64_t>(w.size())); !s.ok()) {
      return s;
    }
    keys.swap(new_keys);
    w.swap(new_w);
    return absl::OkStatus();
  }

  double* row(int d) { return w.data() + static_cast<size_t>(d) * capacity_; }
  double* grad_row(int d) {
    return grad.data() + static_cast<size_t>(d) * capacity_;
  }
  int dim() const { return dim_; }

 private:
  int capacity_;
  int dim_;

 public:
  std::vector<double> w;
  std::vector<double> grad;    // scratch, per particle
  std::vector<double> lambda;  // scratch: exp(theta_i)
  std::vector<double> step_loss;  // scratch: L_t of the current step
  std::vector<uint64_t> keys;
};

YachtStates* Cast(ParticleStates* states) {
  ES_CHECK(states != nullptr);
  auto* s = dynamic_cast<YachtStates*>(states);
  ES_CHECK_MSG(s != nullptr, "states were not created by YachtL2Problem");
  return s;
}

const YachtStates& Cast(const ParticleStates& states) {
  const auto* s = dynamic_cast<const YachtStates*>(&states);
  ES_CHECK_MSG(s != nullptr, "states were not created by YachtL2Problem");
  return *s;
}

}  // namespace

absl::Status YachtL2Options::Validate() const {
  if (!(learning_rate > 0.0) || !std::isfinite(learning_rate)) {
    return absl::InvalidArgumentError(
        absl::StrCat("YachtL2Options.learning_rate = ", learning_rate,
                     "; expected a positive finite step size (PES: 0.001)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<YachtL2Problem>> YachtL2Problem::Create(
    const UciTable& table, const YachtL2Options& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  absl::StatusOr<RegressionSplit> split =
      PrepareRegressionSplit(table, options.split);
  if (!split.ok()) return split.status();
  return std::unique_ptr<YachtL2Problem>(
      new YachtL2Problem(*std::move(split), options));
}

YachtL2Problem::YachtL2Problem(RegressionSplit data,
                               const YachtL2Options& options)
    : data_(std::move(data)), options_(options) {
  const int d = data_.num_features();
  gram_train_.resize(static_cast<size_t>(d) * d);
  gram_val_.resize(static_cast<size_t>(d) * d);
  for (int a = 0; a < d; ++a) {
    for (int b = 0; b < d; ++b) {
      gram_train_[a * d + b] = data_.gram_train(a, b);
      gram_val_[a * d + b] = data_.gram_val(a, b);
    }
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(data_.gram_train,
                                                     Eigen::EigenvaluesOnly);
  lambda_max_ = eig.eigenvalues().maxCoeff();
}

absl::StatusOr<std::unique_ptr<ParticleStates>> YachtL2Problem::NewStates(
    int num_particles) const {
  return MakeParticleStates(name(), num_particles, [&] {
    auto states = std::make_unique<YachtStates>(num_particles, num_features());
    std::vector<int> all(num_particles);
    for (int i = 0; i < num_particles; ++i) all[i] = i;
    std::vector<uint64_t> keys(num_particles, 0);
    Reset(states.get(), all, keys);
    return states;
  });
}

void YachtL2Problem::Reset(ParticleStates* states,
                           absl::Span<const int> particles,
                           absl::Span<const uint64_t> episode_keys) const {
  ES_CHECK(particles.size() == episode_keys.size());
  YachtStates* s = Cast(states);
  const int d = num_features();
  double normals[64];
  ES_CHECK_MSG(d <= 64, "more than 64 features");
  for (size_t k = 0; k < particles.size(); ++k) {
    const int i = particles[k];
    ES_CHECK(i >= 0 && i < s->num_particles());
    StandardNormals(RandomKey{episode_keys[k], Stream::kInit}, /*draw=*/0,
                    /*pair=*/0, d, normals);
    for (int j = 0; j < d; ++j) s->row(j)[i] = normals[j];
    s->keys[i] = episode_keys[k];
  }
}

absl::Status YachtL2Problem::Unroll(ParticleStates* states, int begin,
                                    int end, const RowMatrixXd& thetas,
                                    const int64_t*, int num_steps,
                                    double* losses) const {
  YachtStates* s = Cast(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  const int d = num_features();
  const double lr = options_.learning_rate;
  const double half_s = 0.5 * data_.yty_val;
  double* __restrict lam = s->lambda.data();
  for (int i = begin; i < end; ++i) {
    lam[i] = std::exp(thetas(i, 0));
    losses[i] = 0.0;
  }
  for (int k = 0; k < num_steps; ++k) {
    // g = A w - b + lambda w, in the order (lambda w - b) + A[0] w_0 + ...
    for (int a = 0; a < d; ++a) {
      double* __restrict g = s->grad_row(a);
      const double* __restrict wa = s->row(a);
      const double ba = data_.xty_train[a];
      for (int i = begin; i < end; ++i) g[i] = lam[i] * wa[i] - ba;
      for (int b = 0; b < d; ++b) {
        const double coeff = gram_train_[a * d + b];
        const double* __restrict wb = s->row(b);
        for (int i = begin; i < end; ++i) g[i] += coeff * wb[i];
      }
    }
    for (int a = 0; a < d; ++a) {
      double* __restrict w = s->row(a);
      const double* __restrict g = s->grad_row(a);
      for (int i = begin; i < end; ++i) w[i] -= lr * g[i];
    }
    // L = 0.5 s + sum_a w_a (0.5 (V w)_a - u_a); grad row 0 holds (V w)_a.
    double* __restrict vw = s->grad_row(0);
    double* __restrict step = s->step_loss.data();
    for (int i = begin; i < end; ++i) step[i] = half_s;
    for (int a = 0; a < d; ++a) {
      for (int i = begin; i < end; ++i) vw[i] = 0.0;
      for (int b = 0; b < d; ++b) {
        const double coeff = gram_val_[a * d + b];
        const double* __restrict wb = s->row(b);
        for (int i = begin; i < end; ++i) vw[i] += coeff * wb[i];
      }
      const double ua = data_.xty_val[a];
      const double* __restrict wa = s->row(a);
      for (int i = begin; i < end; ++i) step[i] += wa[i] * (0.5 * vw[i] - ua);
    }
    for (int i = begin; i < end; ++i) losses[i] += step[i];
  }
  return absl::OkStatus();
}

absl::Status YachtL2Problem::MeasureLoss(ParticleStates* states, int begin,
                                         int end, const RowMatrixXd&,
                                         double* losses) const {
  YachtStates* s = Cast(states);
  if (begin < 0 || begin > end || end > s->num_particles()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "yacht_l2 MeasureLoss: particle range [", begin, ", ", end,
        ") is not within the ", s->num_particles(), " particles"));
  }
  const int d = num_features();
  const int cap = s->num_particles();
  for (int i = begin; i < end; ++i) {
    // The Unroll loop's operations in the same order, one particle: the
    // same bits as the last step's loss.
    double step = 0.5 * data_.yty_val;
    for (int a = 0; a < d; ++a) {
      double vw = 0.0;
      for (int b = 0; b < d; ++b) {
        vw += gram_val_[a * d + b] * s->w[static_cast<size_t>(b) * cap + i];
      }
      step += s->w[static_cast<size_t>(a) * cap + i] *
              (0.5 * vw - data_.xty_val[a]);
    }
    losses[i] = step;
  }
  return absl::OkStatus();
}

Eigen::VectorXd YachtL2Problem::GetWeights(const ParticleStates& states,
                                           int particle) const {
  const YachtStates& s = Cast(states);
  ES_CHECK(particle >= 0 && particle < s.num_particles());
  Eigen::VectorXd w(num_features());
  for (int a = 0; a < num_features(); ++a) {
    w[a] = s.w[static_cast<size_t>(a) * s.num_particles() + particle];
  }
  return w;
}

void YachtL2Problem::SetWeights(ParticleStates* states, int particle,
                                const Eigen::VectorXd& w) const {
  YachtStates* s = Cast(states);
  ES_CHECK(particle >= 0 && particle < s->num_particles());
  ES_CHECK(w.size() == num_features());
  for (int a = 0; a < num_features(); ++a) s->row(a)[particle] = w[a];
}

double YachtL2Problem::ValidationLoss(const Eigen::VectorXd& w) const {
  ES_CHECK(w.size() == num_features());
  double total = 0.0;
  for (Eigen::Index r = 0; r < data_.val_x.rows(); ++r) {
    double pred = 0.0;
    for (int a = 0; a < num_features(); ++a) pred += data_.val_x(r, a) * w[a];
    const double e = pred - data_.val_y[r];
    total += e * e;
  }
  return 0.5 * total;
}

double YachtL2Problem::MaxStableTheta() const {
  const double room = 2.0 / options_.learning_rate - lambda_max_;
  return room > 0.0 ? std::log(room) : -std::numeric_limits<double>::infinity();
}

double YachtL2Problem::LongRunValidationLoss(double theta) const {
  if (std::isnan(theta)) return std::numeric_limits<double>::quiet_NaN();
  // SGD's iteration matrix I - lr (A + lambda I) has spectral radius < 1
  // iff lr (lambda_max(A) + lambda) < 2 (A is positive definite).
  if (!(theta < MaxStableTheta())) {
    return std::numeric_limits<double>::infinity();
  }
  const int d = num_features();
  const Eigen::MatrixXd m =
      data_.gram_train + std::exp(theta) * Eigen::MatrixXd::Identity(d, d);
  const Eigen::VectorXd w = m.ldlt().solve(data_.xty_train);
  return ValidationLoss(w);
}

absl::StatusOr<L2GridResult> GridSearchLogL2(const YachtL2Problem& problem,
                                             double lo, double hi,
                                             int num_points) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi) ||
      num_points < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GridSearchLogL2: range [", lo, ", ", hi, "] with ", num_points,
        " points; expected finite lo < hi and at least 2 points"));
  }
  L2GridResult result;
  result.thetas.resize(num_points);
  result.losses.resize(num_points);
  result.best_loss = std::numeric_limits<double>::infinity();
  for (int k = 0; k < num_points; ++k) {
    // lo + k h, computed from both ends so that the last point is hi.
    const double f = static_cast<double>(k) / (num_points - 1);
    const double theta = (k == num_points - 1) ? hi : lo + (hi - lo) * f;
    result.thetas[k] = theta;
    result.losses[k] = problem.LongRunValidationLoss(theta);
    if (result.losses[k] < result.best_loss) {
      result.best_loss = result.losses[k];
      result.best_theta = theta;
      result.best_index = k;
    }
  }
  if (!std::isfinite(result.best_loss)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "GridSearchLogL2: SGD diverges at every theta in [", lo, ", ", hi,
        "] (largest stable theta ", problem.MaxStableTheta(), ")"));
  }
  return result;
}

}  // namespace es
