// One estimate (Step) of each ES-family estimator, N = 100 particles, K = 10,
// on the linear-quadratic problem with P = 10 (T = 100), reported as
// particle-steps per second (N x K inner steps per estimate). The inner
// problem costs ~P multiply-adds per step, so this measures the estimators'
// own overhead: perturbation generation, bookkeeping and the reduction.
//
// BM_RankOverhead measures what every MPI rank repeats however many ranks
// share the pairs (docs/scaling.md, the S of the cost model): one estimate
// of rank 0 in a job of 100000 ranks, which owns no pair, on a problem whose
// unroll costs nothing, at the paper's copy-task size (N = 1000, P = 42.8k,
// K = 1, T = 100) and an MLP-figure size (P = 29).
//
//   bazel run //estimators:estimator_benchmark
#include <algorithm>

#include "benchmark/benchmark.h"
#include "estimators/communicator.h"
#include "estimators/estimator_factory.h"
#include "estimators/testing/linear_quadratic_problem.h"

namespace es {
namespace {

// Rank 0 of `size` ranks; the other ranks' losses arrive as zeros.
class LoneRank : public Communicator {
 public:
  explicit LoneRank(int size) : size_(size) {}
  int rank() const override { return 0; }
  int size() const override { return size_; }
  absl::Status Allgather(const double* mine, absl::Span<const int> counts,
                         double* all) override {
    int total = 0;
    for (int c : counts) total += c;
    std::copy(mine, mine + counts[0], all);
    std::fill(all + counts[0], all + total, 0.0);
    return absl::OkStatus();
  }
  int64_t bytes_sent() const override { return 0; }
  std::string Describe() const override { return "lone rank"; }

 private:
  int size_;
};

// theta_dim P, horizon T; an unroll costs O(1) per particle.
class FreeProblem : public UnrolledProblem {
 public:
  FreeProblem(int dim, int64_t horizon) : dim_(dim), horizon_(horizon) {}
  std::string name() const override { return "free"; }
  int theta_dim() const override { return dim_; }
  int64_t horizon() const override { return horizon_; }
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override {
    return std::unique_ptr<ParticleStates>(new States(num_particles));
  }
  void Reset(ParticleStates*, absl::Span<const int>,
             absl::Span<const uint64_t>) const override {}
  absl::Status Unroll(ParticleStates*, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t*, int,
                      double* losses) const override {
    for (int i = begin; i < end; ++i) losses[i] = thetas(i, 0);
    return absl::OkStatus();
  }

 private:
  class States : public ParticleStates {
   public:
    explicit States(int n) : n_(n) {}
    int num_particles() const override { return n_; }
    void CopyParticle(int, int) override {}
    absl::Status Save(StateWriter*) const override { return absl::OkStatus(); }
    absl::Status Load(StateReader*) override { return absl::OkStatus(); }

   private:
    int n_;
  };
  int dim_;
  int64_t horizon_;
};

void BM_RankOverhead(benchmark::State& state, const std::string& method) {
  FreeProblem problem(static_cast<int>(state.range(1)), 100);
  LoneRank comm(100000);
  EstimatorSpec spec;
  spec.method = method;
  spec.es.num_particles = static_cast<int>(state.range(0));
  spec.es.truncation = 1;
  auto est = MakeEstimator(&problem, spec, &comm);
  if (!est.ok()) {
    state.SkipWithError(std::string(est.status().message()).c_str());
    return;
  }
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(problem.theta_dim(), 0.1);
  // The first Step starts every inner problem (ES-Single draws its
  // perturbations then, once per T / K = 100 steps): not timed.
  (void)(*est)->Step(theta);
  for (auto _ : state) {
    auto e = (*est)->Step(theta);
    benchmark::DoNotOptimize(e->gradient.data());
  }
}

#define ES_RANK_BENCH(name)                                              \
  BENCHMARK_CAPTURE(BM_RankOverhead, name, std::string(#name))           \
      ->Args({1000, 42800})                                              \
      ->Args({1000, 29})                                                 \
      ->Iterations(5)                                                    \
      ->Unit(benchmark::kMillisecond)

ES_RANK_BENCH(es_single);
ES_RANK_BENCH(pes);
ES_RANK_BENCH(tes);

void BM_EstimatorStep(benchmark::State& state, const std::string& method) {
  LinearQuadraticOptions o;
  o.dim = static_cast<int>(state.range(1));
  o.horizon = 100;
  LinearQuadraticProblem problem(o);
  EstimatorSpec spec;
  spec.method = method;
  spec.es.num_particles = static_cast<int>(state.range(0));
  spec.es.truncation = 10;
  spec.resample_interval = 2;
  auto est = MakeEstimator(&problem, spec);
  if (!est.ok()) {
    state.SkipWithError(std::string(est.status().message()).c_str());
    return;
  }
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(o.dim, 0.1);
  int64_t steps = 0;
  for (auto _ : state) {
    auto e = (*est)->Step(theta);
    benchmark::DoNotOptimize(e->gradient.data());
    steps += e->particle_steps;
  }
  state.counters["particle_steps_per_s"] =
      benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsRate);
}

#define ES_BENCH(name)                                                   \
  BENCHMARK_CAPTURE(BM_EstimatorStep, name, std::string(#name))          \
      ->Args({100, 10})                                                  \
      ->Args({100, 2})                                                   \
      ->Unit(benchmark::kMicrosecond)

ES_BENCH(es_single);
ES_BENCH(pes);
ES_BENCH(es_gen);
ES_BENCH(es_mix);
ES_BENCH(tes);
ES_BENCH(tes_particle);
ES_BENCH(full_es);

}  // namespace
}  // namespace es
