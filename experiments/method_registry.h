// method_registry.h - the methods a figure binary can run, by the names used
// in --methods and in the CSV's method column.
//
// ES-family methods (es_single, pes, tes, ...) come from
// estimators/estimator_factory.h. Gradient-based baselines (tbptt_k1,
// tbptt_k10, tbptt_k100, rtrl, uoro) need derivatives of the inner problem;
// until those land, the figure binaries register them as placeholders that
// fail with a clear message. To add one, replace its AddPlaceholder call in
// the binary's RegisterMethods() with Add({...factory...}); nothing else in
// the binary changes (the sweep, CSV and JSON handle any GradientEstimator).
//
// Usage:
//   MethodRegistry registry;
//   AddEsMethods(&problem, {"es_single", "pes", "tes"}, &registry);
//   AddPlaceholder("rtrl", "RTRL (exact online gradient)", &registry);
//   auto entries = registry.Select({"es_single", "pes"});
//   auto est = (*entries)[0]->factory(settings);
#ifndef ES_SINGLE_EXPERIMENTS_METHOD_REGISTRY_H_
#define ES_SINGLE_EXPERIMENTS_METHOD_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/estimator.h"
#include "estimators/optimizer.h"
#include "estimators/unrolled_problem.h"

namespace es::experiments {

// What a method factory receives for one run (after per-method overrides).
struct MethodSettings {
  int num_particles = 100;  // N (ignored by methods without particles)
  double sigma = 0.1;
  int truncation = 1;       // K
  uint64_t seed = 0;
  int num_threads = 1;
};

using MethodFactory =
    std::function<absl::StatusOr<std::unique_ptr<GradientEstimator>>(
        const MethodSettings&)>;

struct MethodEntry {
  std::string name;         // CSV / --methods name
  std::string description;  // for --help style listings and errors
  MethodFactory factory;
  // False for methods without particles (TBPTT, RTRL, UORO): they run once
  // per seed, whatever the particle list, with num_particles = 0 in the CSV.
  bool uses_particles = true;
  // Per-method overrides of the binary's settings (e.g. sigma = 1 for
  // truncated ES on toy 2D, K = 10 for tbptt_k10, a smaller learning rate
  // for UORO as in the PES code).
  std::optional<double> sigma;
  std::optional<int> truncation;
  std::optional<OptimizerOptions> optimizer;
};

class MethodRegistry {
 public:
  // Fails if the name is empty, already registered, or has no factory.
  absl::Status Add(MethodEntry entry);
  const MethodEntry* Find(const std::string& name) const;
  std::vector<std::string> names() const;
  // The entries for `names`, in that order; an unknown or repeated name is an
  // error that lists the registered names.
  absl::StatusOr<std::vector<const MethodEntry*>> Select(
      const std::vector<std::string>& names) const;

 private:
  std::vector<MethodEntry> entries_;
};

// Registers the named ES-family methods of estimators/estimator_factory.h
// for `problem` (which must outlive the registry's factories).
absl::Status AddEsMethods(const UnrolledProblem* problem,
                          const std::vector<std::string>& names,
                          MethodRegistry* registry);

// Registers a method that is not built yet: its factory returns
// UnimplementedError naming the method and `description`.
absl::Status AddPlaceholder(const std::string& name,
                            const std::string& description,
                            MethodRegistry* registry);

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_METHOD_REGISTRY_H_
