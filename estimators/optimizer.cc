#include "estimators/optimizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace es {
namespace {

absl::Status CheckGradient(const Eigen::VectorXd& g, const Eigen::VectorXd& theta) {
  if (g.size() != theta.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gradient has ", g.size(), " entries, theta has ", theta.size()));
  }
  for (int i = 0; i < g.size(); ++i) {
    if (!std::isfinite(g[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient[", i, "] = ", g[i], " is not finite; theta left unchanged"));
    }
  }
  return absl::OkStatus();
}

class Sgd : public OuterOptimizer {
 public:
  Sgd(const OptimizerOptions& o, int dim) : o_(o), v_(Eigen::VectorXd::Zero(dim)) {}
  absl::Status Update(const Eigen::VectorXd& g, Eigen::VectorXd* theta) override {
    if (auto s = CheckGradient(g, *theta); !s.ok()) return s;
    v_ = o_.momentum * v_ + g;
    *theta -= o_.learning_rate * v_;
    return absl::OkStatus();
  }
  absl::Status Save(StateWriter* out) const override {
    out->Tag("sgd");
    out->Matrix(v_);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("sgd"); !s.ok()) return s;
    return in->Matrix(&v_);
  }

 private:
  OptimizerOptions o_;
  Eigen::VectorXd v_;
};

class Adam : public OuterOptimizer {
 public:
  Adam(const OptimizerOptions& o, int dim)
      : o_(o), m_(Eigen::VectorXd::Zero(dim)), v_(Eigen::VectorXd::Zero(dim)) {}
  absl::Status Update(const Eigen::VectorXd& g, Eigen::VectorXd* theta) override {
    if (auto s = CheckGradient(g, *theta); !s.ok()) return s;
    ++k_;
    m_ = o_.beta1 * m_ + (1.0 - o_.beta1) * g;
    v_ = o_.beta2 * v_ + (1.0 - o_.beta2) * g.cwiseProduct(g);
    const double c1 = 1.0 - std::pow(o_.beta1, static_cast<double>(k_));
    const double c2 = 1.0 - std::pow(o_.beta2, static_cast<double>(k_));
    for (int i = 0; i < theta->size(); ++i) {
      (*theta)[i] -= o_.learning_rate * (m_[i] / c1) /
                     (std::sqrt(v_[i] / c2) + o_.epsilon);
    }
    return absl::OkStatus();
  }
  absl::Status Save(StateWriter* out) const override {
    out->Tag("adam");
    out->Matrix(m_);
    out->Matrix(v_);
    out->Pod(k_);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("adam"); !s.ok()) return s;
    if (auto s = in->Matrix(&m_); !s.ok()) return s;
    if (auto s = in->Matrix(&v_); !s.ok()) return s;
    return in->Pod(&k_);
  }

 private:
  OptimizerOptions o_;
  Eigen::VectorXd m_, v_;
  int64_t k_ = 0;
};

}  // namespace

absl::Status OptimizerOptions::Validate() const {
  if (kind != "adam" && kind != "sgd") {
    return absl::InvalidArgumentError(absl::StrCat(
        "optimizer kind must be \"adam\" or \"sgd\", got \"", kind, "\""));
  }
  if (!std::isfinite(learning_rate) || learning_rate <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "learning rate must be finite and > 0, got ", learning_rate));
  }
  if (!(momentum >= 0 && momentum < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SGD momentum must be in [0, 1), got ", momentum));
  }
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Adam betas must be in [0, 1), got beta1 = ", beta1, ", beta2 = ", beta2));
  }
  if (!(epsilon > 0) || !std::isfinite(epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Adam epsilon must be finite and > 0, got ", epsilon));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<OuterOptimizer>> MakeOptimizer(
    const OptimizerOptions& options, int dim) {
  if (auto s = options.Validate(); !s.ok()) return s;
  if (dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("optimizer dimension must be >= 1, got ", dim));
  }
  if (options.kind == "sgd") return std::unique_ptr<OuterOptimizer>(new Sgd(options, dim));
  return std::unique_ptr<OuterOptimizer>(new Adam(options, dim));
}

}  // namespace es
