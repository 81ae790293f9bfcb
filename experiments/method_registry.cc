#include "experiments/method_registry.h"

#include "experiments/figure_io.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/estimator_factory.h"
#include "estimators/gradient/gradient_estimator_factory.h"
#include "experiments/figure_io.h"

namespace es::experiments {

absl::Status MethodRegistry::Add(MethodEntry entry) {
  if (entry.name.empty()) {
    return absl::InvalidArgumentError("method name must not be empty");
  }
  if (static_cast<bool>(entry.factory) == static_cast<bool>(entry.runner)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "method \"", entry.name, "\" needs exactly one of factory and runner"));
  }
  if (Find(entry.name) != nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("method \"", entry.name, "\" is registered twice"));
  }
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

const MethodEntry* MethodRegistry::Find(const std::string& name) const {
  for (const MethodEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::vector<std::string> MethodRegistry::names() const {
  std::vector<std::string> out;
  for (const MethodEntry& e : entries_) out.push_back(e.name);
  return out;
}

absl::StatusOr<std::vector<const MethodEntry*>> MethodRegistry::Select(
    const std::vector<std::string>& names) const {
  std::vector<const MethodEntry*> out;
  for (size_t i = 0; i < names.size(); ++i) {
    const MethodEntry* e = Find(names[i]);
    if (e == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--methods: unknown method \"", names[i],
                       "\"; this binary knows: ", absl::StrJoin(this->names(), ", ")));
    }
    if (std::find(names.begin(), names.begin() + i, names[i]) !=
        names.begin() + i) {
      return absl::InvalidArgumentError(
          absl::StrCat("--methods: \"", names[i], "\" is listed twice"));
    }
    out.push_back(e);
  }
  return out;
}

absl::Status AddEsMethods(const UnrolledProblem* problem,
                          const std::vector<std::string>& names,
                          MethodRegistry* registry) {
  const auto& known = EsMethodNames();
  for (const std::string& name : names) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\" is not an ES-family method; known: ",
                       absl::StrJoin(known, ", ")));
    }
    MethodEntry entry;
    entry.name = name;
    entry.description = "ES-family estimator (estimators/estimator_factory.h)";
    entry.factory = [problem, name](const MethodSettings& s)
        -> absl::StatusOr<std::unique_ptr<GradientEstimator>> {
      EstimatorSpec spec;
      spec.method = name;
      spec.es.num_particles = s.num_particles;
      spec.es.sigma = s.sigma;
      spec.es.truncation = s.truncation;
      spec.es.seed = s.seed;
      spec.es.num_threads = s.num_threads;
      return MakeEstimator(problem, spec);
    };
    if (auto st = registry->Add(std::move(entry)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status AddEsVariant(const UnrolledProblem* problem,
                          const std::string& base, const std::string& name,
                          const MethodOverrides& overrides,
                          MethodRegistry* registry) {
  if (overrides.optimizer) {
    if (auto s = overrides.optimizer->Validate(); !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("method ", name, ": ", s.message()));
    }
  }
  MethodRegistry one;
  if (auto s = AddEsMethods(problem, {base}, &one); !s.ok()) return s;
  MethodEntry e = *one.Find(base);
  e.name = name;
  if (overrides.sigma) {
    e.sigma = overrides.sigma;
    absl::StrAppend(&e.description, " sigma = ", FormatDouble(*overrides.sigma));
  }
  if (overrides.truncation) e.truncation = overrides.truncation;
  if (overrides.optimizer) {
    e.optimizer = overrides.optimizer;
    absl::StrAppend(&e.description, " (outer ", overrides.optimizer->kind,
                    " learning rate ",
                    FormatDouble(overrides.optimizer->learning_rate), ")");
  }
  return registry->Add(std::move(e));
}

namespace {

// The names MakeGradientEstimator accepts (GradientMethodNames(), with
// "tbptt_k<K>" for any integer K >= 1). Checked by name only: whether K
// divides T is the estimator's check, run by RunSweep before the first run.
bool IsGradientMethodName(const std::string& name) {
  if (name == "tbptt" || name == "rtrl" || name == "uoro" || name == "dodge") {
    return true;
  }
  if (!absl::StartsWith(name, "tbptt_k")) return false;
  const std::string digits = name.substr(7);
  int k = 0;
  return !digits.empty() && digits.size() <= 9 &&
         std::all_of(digits.begin(), digits.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) &&
         absl::SimpleAtoi(digits, &k) && k >= 1;
}

}  // namespace

absl::Status AddGradientMethods(const DifferentiableProblem* problem,
                                const std::vector<std::string>& names,
                                MethodRegistry* registry,
                                const GradientEstimatorSpec& base) {
  if (problem == nullptr) {
    return absl::InvalidArgumentError("AddGradientMethods: problem is null");
  }
  for (const std::string& name : names) {
    if (!IsGradientMethodName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", name, "\" is not a gradient-based method; known: ",
          absl::StrJoin(GradientMethodNames(), ", "),
          " (tbptt_k<K> with an integer K >= 1)"));
    }
    MethodEntry entry;
    entry.name = name;
    entry.description = absl::StrCat(
        "gradient-based baseline on the differentiable twin '", problem->name(),
        "' (estimators/gradient/gradient_estimator_factory.h)");
    const bool is_dodge = name == "dodge";
    entry.uses_particles = is_dodge;
    entry.factory = [problem, name, base, is_dodge](const MethodSettings& s)
        -> absl::StatusOr<std::unique_ptr<GradientEstimator>> {
      GradientEstimatorSpec spec = base;
      spec.method = name;
      spec.truncation = s.truncation;
      spec.seed = s.seed;
      spec.num_directions = is_dodge ? s.num_particles : 1;
      return MakeGradientEstimator(problem, spec);
    };
    if (auto st = registry->Add(std::move(entry)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace es::experiments
