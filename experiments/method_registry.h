// method_registry.h - the methods a figure binary can run, by the names used
// in --methods and in the CSV's method column.
//
// ES-family methods (es_single, pes, tes, ...) come from
// estimators/estimator_factory.h and run on the batched UnrolledProblem.
// Gradient-based baselines (tbptt_k<K>, rtrl, uoro, dodge) come from
// estimators/gradient/gradient_estimator_factory.h and run on the inner
// problem's differentiable twin (inner/diff/); the sweep (sweep.h) evaluates
// the meta-loss of every method on the same batched problem, so the twin
// must compute the same function (experiments/twin_check.h checks that).
//
// Usage:
//   InfluenceBalancing problem;          // batched, for ES and evaluation
//   InfluenceBalancingDiff twin;         // differentiable, for RTRL etc.
//   MethodRegistry registry;
//   AddEsMethods(&problem, {"es_single", "pes", "tes"}, &registry);
//   AddGradientMethods(&twin, {"tbptt_k10", "rtrl"}, &registry);
//   auto entries = registry.Select({"es_single", "rtrl"});
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
#include "estimators/gradient/differentiable_problem.h"
#include "estimators/gradient/gradient_estimator_factory.h"
#include "estimators/meta_trainer.h"
#include "estimators/optimizer.h"
#include "estimators/unrolled_problem.h"

namespace es::experiments {

// What a method factory receives for one run (after per-method overrides).
struct MethodSettings {
  // N (ignored by methods without particles; DODGE reads its number of
  // directions D from it, see AddGradientMethods).
  int num_particles = 100;
  double sigma = 0.1;
  int truncation = 1;       // K
  uint64_t seed = 0;
  int num_threads = 1;
};

using MethodFactory =
    std::function<absl::StatusOr<std::unique_ptr<GradientEstimator>>(
        const MethodSettings&)>;

// Methods that are not gradient estimators (random search, hypergradient
// baselines) run through a runner that does a whole run itself.
struct CustomRunContext {
  const UnrolledProblem* problem = nullptr;
  Eigen::VectorXd theta0;
  MetaTrainingOptions meta;  // iterations, eval cadence, key, progress
  MethodSettings settings;
};
struct CustomRunResult {
  std::vector<TracePoint> trace;
  Eigen::VectorXd final_theta;
  int64_t iterations = 0;
  int64_t particle_steps = 0;
  double seconds_per_estimate = 0.0;
  double wall_seconds = 0.0;
  // The run's summary value; default: the last trace point's meta-loss.
  std::optional<double> final_meta_loss;
};
using MethodRunner = std::function<absl::StatusOr<CustomRunResult>(
    const CustomRunContext&)>;

struct MethodEntry {
  std::string name;         // CSV / --methods name
  std::string description;  // for --help style listings and errors
  MethodFactory factory;  // an estimator, meta-trained by the run loop
  MethodRunner runner;    // or a whole run of its own (exactly one is set)
  // False for methods without particles (TBPTT, RTRL, UORO): they run once
  // per seed, whatever the particle list, with num_particles = 0 in the CSV.
  // (DODGE has "particles": its N is the number of directions D.)
  bool uses_particles = true;
  // Per-method overrides of the binary's settings (e.g. sigma = 1 for
  // truncated ES on toy 2D, a different outer optimiser for one method).
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

// Per-method settings that differ from the binary's (see MethodEntry).
struct MethodOverrides {
  std::optional<double> sigma;
  std::optional<int> truncation;
  std::optional<OptimizerOptions> optimizer;
};

// Registers the ES-family method `base` for `problem` under the name `name`
// with `overrides` (e.g. truncated ES at another sigma on toy 2D, PES at a
// smaller outer learning rate in Figs. 17/18, ES-Single at several sigmas in
// Fig. 25).
absl::Status AddEsVariant(const UnrolledProblem* problem,
                          const std::string& base, const std::string& name,
                          const MethodOverrides& overrides,
                          MethodRegistry* registry);

// Registers the named gradient-based baselines of
// estimators/gradient/gradient_estimator_factory.h ("tbptt_k<K>" for any
// K >= 1, "rtrl", "uoro", "dodge") for the differentiable `problem` (which
// must outlive the registry's factories). Each runs one trajectory, advanced
// MethodSettings::truncation steps per estimate (tbptt_k<K>: K steps), seeded
// with MethodSettings::seed (UORO's and DODGE's random vectors). They have
// no particles (uses_particles = false, N = 0 in the CSV), except "dodge",
// whose N is its number of directions D. The other fields of `base`
// (uoro_epsilon, direction_stream, direction_provider) are passed through
// unchanged; its method, truncation, seed and num_directions are replaced.
// Unknown names are rejected here; settings the estimator rejects (a K that
// does not divide T) when RunSweep builds every run's estimator, before the
// first run.
absl::Status AddGradientMethods(const DifferentiableProblem* problem,
                                const std::vector<std::string>& names,
                                MethodRegistry* registry,
                                const GradientEstimatorSpec& base = {});

}  // namespace es::experiments

#endif  // ES_SINGLE_EXPERIMENTS_METHOD_REGISTRY_H_
