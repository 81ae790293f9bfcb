// Every ES estimator spread over R ranks (an in-process ThreadGroup standing
// in for MPI, communicator.h) gives bit-identical estimates and theta
// trajectories to one process: for every method, lockstep and breakstep,
// R that does not divide the number of pairs, more ranks than pairs, and
// with diverging pairs dropped. The same code runs under mpirun in
// //experiments:mpi_identity_test.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "estimators/estimator_factory.h"
#include "estimators/forwarding_problem.h"
#include "estimators/testing/linear_quadratic_problem.h"
#include "estimators/testing/thread_group.h"
#include "gtest/gtest.h"

namespace es {
namespace {

constexpr int kSteps = 13;  // spans several inner problems (T / K = 4)

LinearQuadraticProblem MakeProblem() {
  LinearQuadraticOptions o;
  o.dim = 3;
  o.horizon = 20;
  o.scenario = GradientScenario::kCorrelated;
  return LinearQuadraticProblem(o);
}

// Particles whose theta[0] exceeds a threshold report +inf (divergence).
class Diverging : public ForwardingProblem {
 public:
  Diverging(const UnrolledProblem* base, double threshold)
      : ForwardingProblem(base), threshold_(threshold) {}
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override {
    absl::Status s =
        base()->Unroll(states, begin, end, thetas, t0, num_steps, losses);
    for (int i = begin; i < end; ++i) {
      if (thetas(i, 0) > threshold_) {
        losses[i] = std::numeric_limits<double>::infinity();
      }
    }
    return s;
  }

 private:
  double threshold_;
};

// Fails (a kernel error, not divergence) whenever particle `bad` is unrolled.
class FailsOnParticle : public ForwardingProblem {
 public:
  FailsOnParticle(const UnrolledProblem* base, int bad)
      : ForwardingProblem(base), bad_(bad) {}
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override {
    if (begin <= bad_ && bad_ < end) {
      return absl::InternalError("injected kernel failure");
    }
    return base()->Unroll(states, begin, end, thetas, t0, num_steps, losses);
  }

 private:
  int bad_;
};

struct Trace {
  std::vector<double> values;  // every gradient entry, mean loss, theta
  std::vector<int> dropped;
  std::string error;
};

// kSteps of SGD with `spec`, on rank `comm` (null: one process).
Trace RunSteps(const UnrolledProblem& problem, const EstimatorSpec& spec,
          Communicator* comm) {
  Trace trace;
  auto est = MakeEstimator(&problem, spec, comm);
  if (!est.ok()) {
    trace.error = std::string(est.status().message());
    return trace;
  }
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(problem.theta_dim(), 0.2);
  for (int i = 0; i < kSteps; ++i) {
    auto e = (*est)->Step(theta);
    if (!e.ok()) {
      trace.error = std::string(e.status().message());
      return trace;
    }
    for (double g : e->gradient) trace.values.push_back(g);
    trace.values.push_back(e->mean_loss);
    trace.dropped.push_back(e->dropped_pairs);
    theta -= 0.05 * e->gradient;
    for (double t : theta) trace.values.push_back(t);
  }
  return trace;
}

std::vector<Trace> RunRanks(const UnrolledProblem& problem,
                            const EstimatorSpec& spec, int ranks) {
  ThreadGroup group(ranks);
  std::vector<Trace> traces(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back(
        [&, r] { traces[r] = RunSteps(problem, spec, group.member(r)); });
  }
  for (auto& t : threads) t.join();
  return traces;
}

bool SameBits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * a.size()) == 0;
}

std::vector<EstimatorSpec> AllSpecs() {
  std::vector<EstimatorSpec> specs;
  for (const std::string& m : EsMethodNames()) {
    for (bool breakstep : {false, true}) {
      if (breakstep && (m == "tes" || m == "full_es")) continue;
      EstimatorSpec spec;
      spec.method = m;
      spec.es.num_particles = 10;  // 5 pairs
      spec.es.sigma = 0.3;
      spec.es.truncation = 5;
      spec.es.seed = 7;
      spec.es.breakstep = breakstep;
      spec.resample_interval = 2;
      specs.push_back(spec);
    }
  }
  return specs;
}

TEST(DistributedTest, EveryRankMatchesOneProcessBitForBit) {
  const LinearQuadraticProblem problem = MakeProblem();
  for (const EstimatorSpec& spec : AllSpecs()) {
    const Trace single = RunSteps(problem, spec, nullptr);
    ASSERT_TRUE(single.error.empty()) << single.error;
    // 2 and 3 do not divide 5 pairs; 7 ranks leave two ranks without pairs.
    for (int ranks : {2, 3, 5, 7}) {
      const std::vector<Trace> traces = RunRanks(problem, spec, ranks);
      for (int r = 0; r < ranks; ++r) {
        ASSERT_TRUE(traces[r].error.empty()) << traces[r].error;
        EXPECT_TRUE(SameBits(traces[r].values, single.values))
            << spec.method << (spec.es.breakstep ? " breakstep" : "")
            << ": rank " << r << " of " << ranks << " differs";
      }
    }
  }
}

TEST(DistributedTest, DroppedPairsAreDroppedOnEveryRank) {
  const LinearQuadraticProblem base = MakeProblem();
  const Diverging problem(&base, 0.45);
  for (const EstimatorSpec& spec : AllSpecs()) {
    const Trace single = RunSteps(problem, spec, nullptr);
    ASSERT_TRUE(single.error.empty()) << single.error;
    int dropped = 0;
    for (int d : single.dropped) dropped += d;
    EXPECT_GT(dropped, 0) << spec.method << ": the test needs dropped pairs";
    for (int ranks : {2, 3}) {
      const std::vector<Trace> traces = RunRanks(problem, spec, ranks);
      for (int r = 0; r < ranks; ++r) {
        EXPECT_TRUE(SameBits(traces[r].values, single.values) &&
                    traces[r].dropped == single.dropped)
            << spec.method << ": rank " << r << " of " << ranks;
      }
    }
  }
}

TEST(DistributedTest, AFailingRankFailsEveryRankNamingIt) {
  const LinearQuadraticProblem base = MakeProblem();
  // Particle 8 is pair 4, which rank 1 of 2 owns (pairs 2..4).
  const FailsOnParticle problem(&base, 8);
  EstimatorSpec spec = AllSpecs()[0];
  const std::vector<Trace> traces = RunRanks(problem, spec, 2);
  EXPECT_NE(traces[1].error.find("rank 1 of 2: injected kernel failure"),
            std::string::npos)
      << traces[1].error;
  EXPECT_NE(traces[0].error.find("failed on rank(s) 1 of 2"), std::string::npos)
      << traces[0].error;
}

TEST(DistributedTest, PairsAreSplitContiguouslyAndEvenly) {
  for (int pairs : {0, 1, 5, 50, 1000}) {
    for (int size : {1, 2, 3, 7, 64}) {
      int next = 0;
      for (int r = 0; r < size; ++r) {
        const PairRange p = OwnedPairs(pairs, r, size);
        EXPECT_EQ(p.begin, next);
        EXPECT_GE(p.size(), pairs / size);
        EXPECT_LE(p.size(), pairs / size + 1);
        next = p.end;
      }
      EXPECT_EQ(next, pairs);
    }
  }
}

}  // namespace
}  // namespace es
