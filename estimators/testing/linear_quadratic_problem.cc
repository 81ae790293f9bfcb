#include "estimators/testing/linear_quadratic_problem.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es {
namespace {

class LqStates : public ParticleStates {
 public:
  LqStates(int n, int p) : s(RowMatrixXd::Zero(n, p)) {}
  int num_particles() const override { return static_cast<int>(s.rows()); }
  void CopyParticle(int from, int to) override { s.row(to) = s.row(from); }
  absl::Status Save(StateWriter* out) const override {
    out->Tag("linear_quadratic");
    out->Matrix(s);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto st = in->Tag("linear_quadratic"); !st.ok()) return st;
    return in->Matrix(&s);
  }
  RowMatrixXd s;  // N x P
};

}  // namespace

absl::StatusOr<GradientScenario> ParseScenario(const std::string& name) {
  if (name == "iid") return GradientScenario::kIid;
  if (name == "identical") return GradientScenario::kIdentical;
  if (name == "correlated") return GradientScenario::kCorrelated;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown gradient scenario \"", name,
      "\"; allowed: iid, identical, correlated"));
}

std::string ScenarioName(GradientScenario s) {
  switch (s) {
    case GradientScenario::kIid: return "iid";
    case GradientScenario::kIdentical: return "identical";
    case GradientScenario::kCorrelated: return "correlated";
  }
  return "?";
}

absl::Status LinearQuadraticOptions::Validate() const {
  if (dim < 1) {
    return absl::InvalidArgumentError(absl::StrCat("dim must be >= 1, got ", dim));
  }
  if (horizon < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("horizon T must be >= 1, got ", horizon));
  }
  if (!(decay >= 0 && decay < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("decay lambda must be in [0, 1), got ", decay));
  }
  if (!(correlation >= 0 && correlation < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("correlation rho must be in [0, 1), got ", correlation));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LinearQuadraticProblem>>
LinearQuadraticProblem::Create(const LinearQuadraticOptions& options) {
  if (auto s = options.Validate(); !s.ok()) return s;
  return std::make_unique<LinearQuadraticProblem>(options);
}

LinearQuadraticProblem::LinearQuadraticProblem(
    const LinearQuadraticOptions& options)
    : options_(options) {
  ES_CHECK_MSG(options.Validate().ok(), "invalid LinearQuadraticOptions");
  const int p = options_.dim;
  const int64_t T = options_.horizon;
  const RandomKey key{options_.target_seed, Stream::kUser};
  Eigen::VectorXd m(p), z(p), a = Eigen::VectorXd::Zero(p);
  StandardNormals(key, /*draw=*/0, /*pair=*/0, p, m.data());
  targets_.resize(T, p);
  const double rho = options_.correlation;
  for (int64_t t = 0; t < T; ++t) {
    StandardNormals(key, /*draw=*/1 + t, /*pair=*/0, p, z.data());
    switch (options_.scenario) {
      case GradientScenario::kIid:
        targets_.row(t) = (m + z).transpose();
        break;
      case GradientScenario::kIdentical:
        targets_.row(t) = m.transpose();
        break;
      case GradientScenario::kCorrelated:
        a = (t == 0) ? z : Eigen::VectorXd(rho * a + std::sqrt(1 - rho * rho) * z);
        targets_.row(t) = (m + a).transpose();
        break;
    }
  }
}

std::string LinearQuadraticProblem::name() const {
  return absl::StrCat("linear_quadratic_", ScenarioName(options_.scenario));
}

absl::StatusOr<std::unique_ptr<ParticleStates>>
LinearQuadraticProblem::NewStates(int n) const {
  return MakeParticleStates(name(), n, [&] {
    return std::make_unique<LqStates>(n, options_.dim);
  });
}

void LinearQuadraticProblem::Reset(ParticleStates* states,
                                   absl::Span<const int> particles,
                                   absl::Span<const uint64_t>) const {
  auto* s = static_cast<LqStates*>(states);
  for (int i : particles) s->s.row(i).setZero();
}

absl::Status LinearQuadraticProblem::Unroll(ParticleStates* states, int begin,
                                            int end, const RowMatrixXd& thetas,
                                            const int64_t* t0, int num_steps,
                                            double* losses) const {
  auto* st = static_cast<LqStates*>(states);
  if (absl::Status v =
          ValidateUnrollArgs(*this, *st, begin, end, thetas, num_steps);
      !v.ok()) {
    return v;
  }
  const int p = options_.dim;
  const double lambda = options_.decay;
  for (int i = begin; i < end; ++i) {
    double* s = st->s.row(i).data();
    const double* th = thetas.row(i).data();
    double loss = 0.0;
    for (int k = 0; k < num_steps; ++k) {
      const double* c = targets_.row(t0[i] + k).data();
      for (int d = 0; d < p; ++d) {
        s[d] = lambda * s[d] + th[d];
        const double r = s[d] - c[d];
        loss += 0.5 * r * r;
      }
    }
    losses[i] = loss;
  }
  return absl::OkStatus();
}

absl::Status LinearQuadraticProblem::MeasureLoss(ParticleStates* states,
                                                 int begin, int end,
                                                 const RowMatrixXd&,
                                                 double* losses) const {
  auto* st = static_cast<LqStates*>(states);
  const Eigen::RowVectorXd c_bar = targets_.colwise().mean();
  for (int i = begin; i < end; ++i) {
    losses[i] = 0.5 * (st->s.row(i) - c_bar).squaredNorm();
  }
  return absl::OkStatus();
}

double LinearQuadraticProblem::MetaLoss(const Eigen::VectorXd& theta) const {
  Eigen::VectorXd s = Eigen::VectorXd::Zero(options_.dim);
  double loss = 0.0;
  for (int64_t t = 0; t < options_.horizon; ++t) {
    s = options_.decay * s + theta;
    loss += 0.5 * (s - targets_.row(t).transpose()).squaredNorm();
  }
  return loss;
}

Eigen::VectorXd LinearQuadraticProblem::MetaGradient(
    const Eigen::VectorXd& theta) const {
  Eigen::VectorXd s = Eigen::VectorXd::Zero(options_.dim);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(options_.dim);
  double ds_dtheta = 0.0;  // d s_t / d theta (scalar multiple of I)
  for (int64_t t = 0; t < options_.horizon; ++t) {
    s = options_.decay * s + theta;
    ds_dtheta = options_.decay * ds_dtheta + 1.0;
    g += ds_dtheta * (s - targets_.row(t).transpose());
  }
  return g;
}

std::vector<Eigen::VectorXd> LinearQuadraticProblem::UnrollGradientBlocks(
    const Eigen::VectorXd& theta, int truncation) const {
  ES_CHECK_MSG(truncation > 0 && options_.horizon % truncation == 0,
               "K must divide T");
  const int64_t T = options_.horizon;
  const int U = static_cast<int>(T / truncation);
  const int p = options_.dim;
  std::vector<Eigen::VectorXd> blocks(static_cast<size_t>(U) * U,
                                      Eigen::VectorXd::Zero(p));
  Eigen::VectorXd s = Eigen::VectorXd::Zero(p);
  for (int64_t t = 1; t <= T; ++t) {  // step t, loss L_t
    s = options_.decay * s + theta;
    const Eigen::VectorXd r = s - targets_.row(t - 1).transpose();
    const int m = static_cast<int>((t - 1) / truncation);
    // sum over tau in unroll j (tau <= t) of lambda^{t - tau}.
    for (int j = 0; j <= m; ++j) {
      const int64_t lo = int64_t{j} * truncation + 1;
      const int64_t hi = std::min<int64_t>(t, int64_t{j + 1} * truncation);
      double w = 0.0;
      for (int64_t tau = lo; tau <= hi; ++tau) {
        w += std::pow(options_.decay, static_cast<double>(t - tau));
      }
      blocks[static_cast<size_t>(m) * U + j] += w * r;
    }
  }
  return blocks;
}

}  // namespace es
