// problem_conformance.cc - the tests of problem_conformance.h.
#include "estimators/testing/problem_conformance.h"

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "estimators/online_es.h"

namespace es::test {
namespace {

// a and b agree: bit for bit (rel_tol = 0; NaN matches NaN) or within rel_tol
// of the larger magnitude.
::testing::AssertionResult Agree(double a, double b, double rel_tol) {
  if (std::isnan(a) && std::isnan(b)) return ::testing::AssertionSuccess();
  if (rel_tol == 0.0 ? a == b
                     : std::fabs(a - b) <=
                           rel_tol * std::max(std::fabs(a), std::fabs(b))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << a << " vs " << b << " (difference " << (a - b)
         << ", rel_tol " << rel_tol << ")";
}

std::vector<int> Range(int begin, int end) {
  std::vector<int> v(end - begin);
  std::iota(v.begin(), v.end(), begin);
  return v;
}

constexpr int kN = 6;

}  // namespace

std::string ProblemCaseName(
    const ::testing::TestParamInfo<ProblemCase>& info) {
  return info.param.name;
}

void PrintTo(const ProblemCase& c, std::ostream* os) { *os << c.name; }

void ProblemConformanceTest::SetUp() {
  auto made = GetParam().make();
  ASSERT_TRUE(made.ok()) << made.status();
  problem_ = *std::move(made);
  ASSERT_NE(problem_, nullptr);
  ASSERT_EQ(GetParam().theta.size(), problem_->theta_dim())
      << "the case's theta does not have P entries";
  const int64_t T = problem_->horizon();
  ASSERT_TRUE(T == kNeverEnding || 2 * GetParam().num_steps <= T)
      << "num_steps must satisfy 2K <= T";
}

RowMatrixXd ProblemConformanceTest::Thetas(int n) const {
  const ProblemCase& c = GetParam();
  RowMatrixXd t(n, c.theta.size());
  for (int i = 0; i < n; ++i) {
    t.row(i) = c.theta.transpose().array() + c.spread * (i - 2.5) / 10.0;
  }
  return t;
}

std::unique_ptr<ParticleStates> ProblemConformanceTest::Fresh(
    int n, std::vector<uint64_t> keys) const {
  auto states = problem_->NewStates(n);
  EXPECT_TRUE(states.ok()) << states.status();
  if (!states.ok()) return nullptr;
  if (keys.empty()) keys.assign(n, 7);
  problem_->Reset(states->get(), Range(0, n), keys);
  return *std::move(states);
}

TEST_P(ProblemConformanceTest, Shapes) {
  EXPECT_GT(problem_->theta_dim(), 0);
  EXPECT_TRUE(problem_->horizon() > 0 || problem_->horizon() == kNeverEnding);
  EXPECT_FALSE(problem_->name().empty());
  auto states = problem_->NewStates(kN);
  ASSERT_TRUE(states.ok()) << states.status();
  EXPECT_EQ((*states)->num_particles(), kN);
  EXPECT_FALSE(problem_->NewStates(0).ok());
  EXPECT_FALSE(problem_->NewStates(-3).ok());

  const RowMatrixXd thetas = Thetas(kN);
  std::vector<int64_t> t0(kN + 1, 0);
  std::vector<double> losses(kN + 1, 0.0);
  EXPECT_FALSE(problem_->Unroll(states->get(), 2, kN + 1, Thetas(kN + 1),
                                t0.data(), 1, losses.data())
                   .ok())
      << "a range past the last particle must be an error";
  EXPECT_FALSE(problem_->Unroll(states->get(), 3, 2, thetas, t0.data(), 1,
                                losses.data())
                   .ok())
      << "begin > end must be an error";
  const RowMatrixXd wrong(kN, problem_->theta_dim() + 1);
  EXPECT_FALSE(problem_->Unroll(states->get(), 0, kN, wrong, t0.data(), 1,
                                losses.data())
                   .ok())
      << "thetas with P + 1 columns must be an error";
  // An empty range is fine and touches nothing.
  EXPECT_TRUE(problem_->Unroll(states->get(), 2, 2, thetas, t0.data(), 1,
                               losses.data())
                  .ok());
}

TEST_P(ProblemConformanceTest, SameKeySameBits) {
  const int K = GetParam().num_steps;
  const RowMatrixXd thetas = Thetas(kN);
  const std::vector<uint64_t> keys = {3, 3, 9, 9, 4, 4};
  auto a = Fresh(kN, keys), b = Fresh(kN, keys);
  ASSERT_TRUE(a && b);
  std::vector<int64_t> t0(kN, 0);
  for (int round = 0; round < 2; ++round) {
    std::vector<double> la(kN), lb(kN);
    ASSERT_TRUE(problem_->Unroll(a.get(), 0, kN, thetas, t0.data(), K,
                                 la.data()).ok());
    ASSERT_TRUE(problem_->Unroll(b.get(), 0, kN, thetas, t0.data(), K,
                                 lb.data()).ok());
    for (int i = 0; i < kN; ++i) {
      EXPECT_TRUE(Agree(la[i], lb[i], 0.0)) << "round " << round << " i " << i;
      EXPECT_TRUE(std::isfinite(la[i])) << "the case's theta should not diverge";
    }
    for (auto& t : t0) t += K;
  }
}

TEST_P(ProblemConformanceTest, ResetAndCopy) {
  const int K = GetParam().num_steps;
  RowMatrixXd thetas = Thetas(kN);
  thetas.row(4) = thetas.row(1);  // particle 4 will continue particle 1
  auto s = Fresh(kN, {1, 2, 3, 4, 5, 6});
  ASSERT_TRUE(s);
  std::vector<int64_t> t0(kN, 0);
  std::vector<double> l(kN);
  ASSERT_TRUE(problem_->Unroll(s.get(), 0, kN, thetas, t0.data(), K,
                               l.data()).ok());
  s->CopyParticle(1, 4);
  for (auto& t : t0) t += K;
  ASSERT_TRUE(problem_->Unroll(s.get(), 0, kN, thetas, t0.data(), K,
                               l.data()).ok());
  EXPECT_TRUE(Agree(l[4], l[1], GetParam().range_rel_tol));
  // Reset puts a particle back at the start of its (new) episode.
  auto ref = Fresh(1, {11});
  problem_->Reset(s.get(), std::vector<int>{3}, std::vector<uint64_t>{11});
  std::vector<int64_t> zero(kN, 0);
  std::vector<double> lr(1), ls(kN);
  const RowMatrixXd row3 = thetas.row(3);
  ASSERT_TRUE(problem_->Unroll(ref.get(), 0, 1, row3, zero.data(), K,
                               lr.data()).ok());
  ASSERT_TRUE(problem_->Unroll(s.get(), 3, 4, thetas, zero.data(), K,
                               ls.data()).ok());
  EXPECT_TRUE(Agree(ls[3], lr[0], GetParam().range_rel_tol));
}

TEST_P(ProblemConformanceTest, SubRangesLeaveOthersAloneAndMatchAlone) {
  const int K = GetParam().num_steps;
  const double tol = GetParam().range_rel_tol;
  const RowMatrixXd thetas = Thetas(kN);
  const std::vector<uint64_t> keys = {5, 5, 6, 6, 8, 8};
  std::vector<int64_t> t0(kN, 0);
  // Unroll [2, 4) only, then everything: particles 0, 1, 4, 5 must behave
  // as if [2, 4) had never run.
  auto a = Fresh(kN, keys), b = Fresh(kN, keys);
  ASSERT_TRUE(a && b);
  std::vector<double> la(kN, -1.0), lb(kN, -1.0);
  ASSERT_TRUE(problem_->Unroll(a.get(), 2, 4, thetas, t0.data(), K,
                               la.data()).ok());
  EXPECT_EQ(la[0], -1.0) << "Unroll wrote a loss outside its range";
  EXPECT_EQ(la[5], -1.0) << "Unroll wrote a loss outside its range";
  ASSERT_TRUE(problem_->Unroll(a.get(), 0, 2, thetas, t0.data(), K,
                               la.data()).ok());
  ASSERT_TRUE(problem_->Unroll(a.get(), 4, 6, thetas, t0.data(), K,
                               la.data()).ok());
  ASSERT_TRUE(problem_->Unroll(b.get(), 0, kN, thetas, t0.data(), K,
                               lb.data()).ok());
  for (int i = 0; i < kN; ++i) {
    EXPECT_TRUE(Agree(la[i], lb[i], tol)) << "particle " << i;
  }
  // Particles 2 and 3 alone in a batch of their own.
  auto alone = Fresh(2, {6, 6});
  const RowMatrixXd mid = thetas.middleRows(2, 2);
  std::vector<double> l2(2);
  ASSERT_TRUE(problem_->Unroll(alone.get(), 0, 2, mid, t0.data(), K,
                               l2.data()).ok());
  EXPECT_TRUE(Agree(l2[0], lb[2], tol));
  EXPECT_TRUE(Agree(l2[1], lb[3], tol));
}

TEST_P(ProblemConformanceTest, ThreadCountsGiveTheSameResults) {
  const int K = GetParam().num_steps;
  const RowMatrixXd thetas = Thetas(kN);
  std::vector<int64_t> t0(kN, 0);
  // Estimator-level chunking (ParallelUnroll over 1 or 2 threads).
  std::vector<std::vector<double>> chunked;
  for (int threads : {1, 2}) {
    auto s = Fresh(kN);
    ASSERT_TRUE(s);
    std::vector<double> l(kN);
    ASSERT_TRUE(ParallelUnroll(problem_.get(), s.get(), 0, kN, thetas,
                               t0.data(), K, l.data(), threads).ok());
    chunked.push_back(l);
  }
  for (int i = 0; i < kN; ++i) {
    EXPECT_TRUE(Agree(chunked[0][i], chunked[1][i], GetParam().range_rel_tol))
        << "ParallelUnroll 1 vs 2 threads, particle " << i;
  }
  // Kernel-level threads (OpenMP, which oneDNN also uses): same bits.
  const int saved = omp_get_max_threads();
  std::vector<std::vector<double>> omp;
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    auto s = Fresh(kN);
    ASSERT_TRUE(s);
    std::vector<double> l(kN);
    ASSERT_TRUE(problem_->Unroll(s.get(), 0, kN, thetas, t0.data(), K,
                                 l.data()).ok());
    omp.push_back(l);
  }
  omp_set_num_threads(saved);
  for (int i = 0; i < kN; ++i) {
    EXPECT_TRUE(Agree(omp[0][i], omp[1][i], 0.0))
        << "1 vs 2 OpenMP threads, particle " << i;
  }
}

TEST_P(ProblemConformanceTest, EvaluateEqualsAnUnrollLoop) {
  const int64_t T = problem_->horizon();
  const int64_t L = T == kNeverEnding ? GetParam().eval_length : T;
  const Eigen::VectorXd theta = GetParam().theta;
  auto e = problem_->Evaluate(theta, T == kNeverEnding ? L : 0, 13);
  ASSERT_TRUE(e.ok()) << e.status();
  auto s = Fresh(1, {13});
  ASSERT_TRUE(s);
  const RowMatrixXd row = theta.transpose();
  double total = 0.0;
  int64_t t = 0;
  while (t < L) {
    const int k = static_cast<int>(std::min<int64_t>(L - t, 997));
    double loss = 0.0;
    ASSERT_TRUE(problem_->Unroll(s.get(), 0, 1, row, &t, k, &loss).ok());
    total += loss;
    t += k;
  }
  EXPECT_TRUE(Agree(*e, total, GetParam().eval_rel_tol));
  if (T == kNeverEnding) {
    EXPECT_FALSE(problem_->Evaluate(theta, 0, 13).ok())
        << "a never-ending problem needs an explicit evaluation length";
  } else {
    EXPECT_FALSE(problem_->Evaluate(theta, T + 1, 13).ok())
        << "an evaluation longer than the horizon must be an error";
  }
  Eigen::VectorXd wrong(theta.size() + 1);
  wrong.setZero();
  EXPECT_FALSE(problem_->Evaluate(wrong, L, 13).ok());
}

TEST_P(ProblemConformanceTest, SaveLoadContinuesBitForBit) {
  const int K = GetParam().num_steps;
  const RowMatrixXd thetas = Thetas(kN);
  const std::vector<uint64_t> keys = {1, 1, 2, 2, 3, 3};
  auto a = Fresh(kN, keys);
  ASSERT_TRUE(a);
  std::vector<int64_t> t0(kN, 0);
  std::vector<double> la(kN), lb(kN);
  ASSERT_TRUE(problem_->Unroll(a.get(), 0, kN, thetas, t0.data(), K,
                               la.data()).ok());
  StateWriter w;
  ASSERT_TRUE(a->Save(&w).ok());
  const std::string bytes = w.Take();
  // Fresh states with other keys, then Load: must become a's copy.
  auto b = Fresh(kN, {9, 9, 9, 9, 9, 9});
  StateReader r(bytes);
  ASSERT_TRUE(b->Load(&r).ok());
  EXPECT_TRUE(r.Finish().ok()) << "Load did not read everything Save wrote";
  for (auto& t : t0) t += K;
  ASSERT_TRUE(problem_->Unroll(a.get(), 0, kN, thetas, t0.data(), K,
                               la.data()).ok());
  ASSERT_TRUE(problem_->Unroll(b.get(), 0, kN, thetas, t0.data(), K,
                               lb.data()).ok());
  for (int i = 0; i < kN; ++i) {
    EXPECT_TRUE(Agree(la[i], lb[i], 0.0)) << "particle " << i;
  }
  // Damaged or foreign state: errors, not crashes.
  auto c = Fresh(kN);
  for (size_t cut : {size_t{0}, size_t{3}, bytes.size() / 2,
                     bytes.size() - 1}) {
    StateReader shortr(absl::string_view(bytes).substr(0, cut));
    const absl::Status st = c->Load(&shortr);
    EXPECT_TRUE(!st.ok() || !shortr.Finish().ok() || cut == bytes.size())
        << "Load accepted a state cut at " << cut << " of " << bytes.size();
  }
  auto d = Fresh(kN + 2);
  StateReader other(bytes);
  const absl::Status st = d->Load(&other);
  EXPECT_TRUE(!st.ok() || !other.Finish().ok())
      << "a state saved for 6 particles was loaded into 8";
}

TEST_P(ProblemConformanceTest, DivergenceIsALossNotACrash) {
  const int K = GetParam().num_steps;
  const int P = problem_->theta_dim();
  const double kInf = std::numeric_limits<double>::infinity();
  const double kNaN = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> extremes = {1e300, -1e300, kInf, -kInf, kNaN, 0.0};
  const int n = static_cast<int>(extremes.size());
  RowMatrixXd thetas(n, P);
  for (int i = 0; i < n; ++i) thetas.row(i).setConstant(extremes[i]);
  auto s = Fresh(n, std::vector<uint64_t>(n, 7));
  ASSERT_TRUE(s);
  std::vector<int64_t> t0(n, 0);
  std::vector<double> l(n);
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(problem_->Unroll(s.get(), 0, n, thetas, t0.data(), K,
                                 l.data()).ok())
        << "divergence must be a non-finite loss, not an error";
    for (auto& t : t0) t += K;
  }
  // The NaN particle may not poison its neighbours: a reset particle is
  // clean again.
  problem_->Reset(s.get(), std::vector<int>{4}, std::vector<uint64_t>{7});
  thetas.row(4) = GetParam().theta.transpose();
  std::vector<int64_t> zero(n, 0);
  ASSERT_TRUE(problem_->Unroll(s.get(), 4, 5, thetas, zero.data(), K,
                               l.data()).ok());
  EXPECT_TRUE(std::isfinite(l[4]));
}

}  // namespace es::test
