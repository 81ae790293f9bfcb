#include "experiments/method_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/estimator_factory.h"

namespace es::experiments {

absl::Status MethodRegistry::Add(MethodEntry entry) {
  if (entry.name.empty()) {
    return absl::InvalidArgumentError("method name must not be empty");
  }
  if (!entry.factory) {
    return absl::InvalidArgumentError(
        absl::StrCat("method \"", entry.name, "\" has no factory"));
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

absl::Status AddPlaceholder(const std::string& name,
                            const std::string& description,
                            MethodRegistry* registry) {
  MethodEntry entry;
  entry.name = name;
  entry.description = description;
  entry.uses_particles = false;
  entry.factory = [name, description](const MethodSettings&)
      -> absl::StatusOr<std::unique_ptr<GradientEstimator>> {
    return absl::UnimplementedError(absl::StrCat(
        "method \"", name, "\" (", description,
        ") is not built yet: it needs derivatives of the inner problem; "
        "register its factory in the binary's RegisterMethods()"));
  };
  return registry->Add(std::move(entry));
}

}  // namespace es::experiments
