// swimmer_problem_test.cc - the MuJoCo Swimmer linear-policy problem: model
// loading errors, the reset distribution, one environment step recomputed
// from mjData by hand (bit for bit), sub-range and thread independence (same
// bits), same key same bits, divergence without a crash, full episodes.
//
// Everything compared here is claimed bit-identical (the same MuJoCo calls on
// the same inputs), so comparisons use ==, except the reset noise range.
#include "inner/rl/swimmer_problem.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "estimators/philox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace es {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

std::string Write(const std::string& name, const std::string& bytes) {
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The swimmer from $ES_SINGLE_DATA_DIR, or a reason to skip (a failure when
// ES_CI=1).
std::unique_ptr<SwimmerProblem> Load(const SwimmerOptions& options,
                                     std::string* why) {
  absl::StatusOr<std::string> path = SwimmerProblem::DefaultModelPath();
  if (!path.ok()) {
    *why = absl::StrCat(path.status().message(),
                        " (bazel passes it with --test_env)");
    return nullptr;
  }
  auto p = SwimmerProblem::Create(*path, options);
  if (!p.ok()) {
    *why = std::string(p.status().message());
    return nullptr;
  }
  return *std::move(p);
}

#define SWIMMER_OR_SKIP(var, options)                                \
  std::string why_##var;                                             \
  std::unique_ptr<SwimmerProblem> var = Load(options, &why_##var);   \
  if (var == nullptr) {                                              \
    const char* ci = std::getenv("ES_CI");                           \
    const bool unset = std::getenv("ES_SINGLE_DATA_DIR") == nullptr; \
    if (!unset || (ci != nullptr && std::string(ci) == "1")) {       \
      FAIL() << why_##var;                                           \
    }                                                                \
    GTEST_SKIP() << why_##var;                                       \
  }

// A policy that drives the motors hard (one action saturates) and reads the
// joint angles and velocities.
RowMatrixXd Policies(int n) {
  RowMatrixXd t(n, SwimmerProblem::kThetaDim);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < SwimmerProblem::kThetaDim; ++j) {
      t(i, j) = std::sin(1.7 * j + 0.9 * i) * (j % 8 == 2 ? 40.0 : 1.5);
    }
  }
  return t;
}

// NewStates, which must succeed for these small batches.
std::unique_ptr<ParticleStates> NewStates(const SwimmerProblem& p, int n) {
  auto s = p.NewStates(n);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

void ResetAll(const SwimmerProblem& p, ParticleStates* s,
              const std::vector<uint64_t>& keys) {
  std::vector<int> idx(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) idx[i] = static_cast<int>(i);
  p.Reset(s, idx, keys);
}

// qpos, qvel and time of a particle, for bitwise comparisons.
std::vector<double> StateOf(const SwimmerProblem& p, const ParticleStates& s,
                            int i) {
  const mjData* d = p.ParticleData(s, i);
  std::vector<double> v(d->qpos, d->qpos + 5);
  v.insert(v.end(), d->qvel, d->qvel + 5);
  v.push_back(d->time);
  return v;
}

TEST(SwimmerLoadTest, BadFilesGiveStatusesNamingTheFile) {
  const std::string missing = TempPath("no_such_swimmer.xml");
  auto a = SwimmerProblem::Create(missing);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(a.status().message(), HasSubstr(missing));

  std::string binary;
  for (int i = 0; i < 3000; ++i)
    binary.push_back(static_cast<char>(i * 131 + 7));
  const struct {
    std::string name, bytes, expect;
  } cases[] = {
      {"garbage.xml", "this is not <xml", "XML parse error"},
      {"binary.xml", binary, "XML parse error"},
      {"empty.xml", "", "XML"},
      {"bad_attr.xml",
       "<mujoco><worldbody><body><geom "
       "size=\"a\"/></body></worldbody></mujoco>",
       "problem reading attribute 'size'"},
      {"not_swimmer.xml", "<mujoco model=\"x\"><worldbody/></mujoco>",
       "nq = 0, nv = 0, nu = 0; expected Gym's swimmer"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = Write(c.name, c.bytes);
    auto p = SwimmerProblem::Create(path);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(p.status().message(),
                AllOf(HasSubstr(path), HasSubstr(c.expect)));
  }
  const std::string dir = TempPath("swimmer_dir.xml");
  mkdir(dir.c_str(), 0755);
  EXPECT_THAT(SwimmerProblem::Create(dir).status().message(),
              HasSubstr("is a directory"));
  EXPECT_FALSE(SwimmerProblem::Create(missing, {.num_threads = 0}).ok());
  EXPECT_FALSE(SwimmerProblem::Create(missing, {.frame_skip = 0}).ok());
  EXPECT_FALSE(SwimmerProblem::Create(missing, {.ctrl_cost_weight = -1}).ok());
}

TEST(SwimmerProblemTest, Shapes) {
  SWIMMER_OR_SKIP(p, {});
  EXPECT_EQ(p->name(), "swimmer_linear");
  EXPECT_EQ(p->theta_dim(), 16);
  EXPECT_EQ(p->horizon(), 1000);
  EXPECT_DOUBLE_EQ(p->dt(), 0.04);
  EXPECT_EQ(p->model()->nq, 5);
  EXPECT_EQ(p->model()->nu, 2);
  EXPECT_EQ(p->model()->opt.integrator, mjINT_RK4);  // swimmer.xml
  auto s = NewStates(*p, 3);
  EXPECT_EQ(s->num_particles(), 3);
  // Far more mjData (about 10 MB each) than any machine holds: an error
  // before MuJoCo would exit the process.
  auto huge = p->NewStates(1 << 30);
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kResourceExhausted)
      << huge.status();
  // Past the horizon: an error naming the particle, nothing stepped.
  const RowMatrixXd thetas = Policies(3);
  const std::vector<int64_t> t0 = {0, 990, 0};
  std::vector<double> losses(3);
  const absl::Status st =
      p->Unroll(s.get(), 0, 3, thetas, t0.data(), 20, losses.data());
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("particle 1 at step 990"));
  EXPECT_EQ(p->ParticleData(*s, 0)->time, 0.0);
}

TEST(SwimmerProblemTest, ResetNoiseComesFromTheEpisodeKey) {
  SWIMMER_OR_SKIP(p, {});
  auto s = NewStates(*p, 3);
  ResetAll(*p, s.get(), {42, 42, 43});
  EXPECT_EQ(StateOf(*p, *s, 0), StateOf(*p, *s, 1));
  EXPECT_NE(StateOf(*p, *s, 0), StateOf(*p, *s, 2));
  const mjData* d = p->ParticleData(*s, 0);
  const RandomKey key{42, Stream::kEpisode};
  for (int j = 0; j < 5; ++j) {
    EXPECT_EQ(d->qpos[j],
              p->model()->qpos0[j] + (-0.1 + 0.2 * UniformOpen(key, 0, 0, j)));
    EXPECT_EQ(d->qvel[j], -0.1 + 0.2 * UniformOpen(key, 0, 0, 5 + j));
    EXPECT_LE(std::fabs(d->qpos[j] - p->model()->qpos0[j]), 0.1);
    EXPECT_LE(std::fabs(d->qvel[j]), 0.1);
  }
  EXPECT_EQ(d->time, 0.0);
  double obs[8];
  p->Observation(*s, 0, obs);
  EXPECT_EQ(obs[0], d->qpos[2]);
  EXPECT_EQ(obs[3], d->qvel[0]);
  EXPECT_EQ(obs[7], d->qvel[4]);
}

// One environment step recomputed from mjData: the loss is minus
// (x_after - x_before) / dt - 1e-4 ||clip(W o)||^2.
TEST(SwimmerProblemTest, OneStepRewardByHand) {
  SWIMMER_OR_SKIP(p, {});
  auto s = NewStates(*p, 1);
  ResetAll(*p, s.get(), {7});
  const RowMatrixXd theta = Policies(1);
  const mjModel* m = p->model();
  mjData* ref = mj_makeData(m);
  for (int step = 0; step < 3; ++step) {
    mj_copyData(ref, m, p->ParticleData(*s, 0));
    const double o[8] = {ref->qpos[2], ref->qpos[3], ref->qpos[4],
                         ref->qvel[0], ref->qvel[1], ref->qvel[2],
                         ref->qvel[3], ref->qvel[4]};
    double a[2];
    for (int r = 0; r < 2; ++r) {
      double v = 0.0;
      for (int j = 0; j < 8; ++j) v += theta(0, 8 * r + j) * o[j];
      a[r] = std::min(1.0, std::max(-1.0, v));
      ref->ctrl[r] = a[r];
    }
    if (step == 0) {
      EXPECT_TRUE(std::fabs(a[0]) == 1.0 || std::fabs(a[1]) == 1.0);
    }
    const double x0 = ref->qpos[0];
    for (int f = 0; f < 4; ++f) mj_step(m, ref);
    const double reward = (ref->qpos[0] - x0) / (m->opt.timestep * 4) -
                          1e-4 * (a[0] * a[0] + a[1] * a[1]);
    double loss;
    const int64_t t0 = step;
    ASSERT_TRUE(p->Unroll(s.get(), 0, 1, theta, &t0, 1, &loss).ok());
    EXPECT_EQ(loss, -reward) << "step " << step;
    const mjData* d = p->ParticleData(*s, 0);
    for (int j = 0; j < 5; ++j) {
      EXPECT_EQ(d->qpos[j], ref->qpos[j]);
      EXPECT_EQ(d->qvel[j], ref->qvel[j]);
    }
    EXPECT_DOUBLE_EQ(d->time, 0.04 * (step + 1));
  }
  mj_deleteData(ref);
}

// Gym's variant: the cost on the raw W o; the dynamics are the clipped ones.
TEST(SwimmerProblemTest, ControlCostOnTheRawActionAsGym) {
  SWIMMER_OR_SKIP(clipped, {});
  SWIMMER_OR_SKIP(gym, {.ctrl_cost_on_raw_action = true});
  const RowMatrixXd theta = Policies(1);
  auto a = NewStates(*clipped, 1);
  auto b = NewStates(*gym, 1);
  ResetAll(*clipped, a.get(), {3});
  ResetAll(*gym, b.get(), {3});
  double o[8];
  gym->Observation(*b, 0, o);
  double raw_sq = 0.0, clip_sq = 0.0;
  for (int r = 0; r < 2; ++r) {
    double v = 0.0;
    for (int j = 0; j < 8; ++j) v += theta(0, 8 * r + j) * o[j];
    raw_sq += v * v;
    const double c = std::min(1.0, std::max(-1.0, v));
    clip_sq += c * c;
  }
  ASSERT_GT(raw_sq, clip_sq);  // the policy saturates
  const double x0 = gym->ParticleData(*b, 0)->qpos[0];
  const int64_t t0 = 0;
  double la, lb;
  ASSERT_TRUE(clipped->Unroll(a.get(), 0, 1, theta, &t0, 1, &la).ok());
  ASSERT_TRUE(gym->Unroll(b.get(), 0, 1, theta, &t0, 1, &lb).ok());
  EXPECT_EQ(StateOf(*clipped, *a, 0), StateOf(*gym, *b, 0));
  const double dx = (gym->ParticleData(*b, 0)->qpos[0] - x0) / gym->dt();
  EXPECT_EQ(la, -(dx - 1e-4 * clip_sq));
  EXPECT_EQ(lb, -(dx - 1e-4 * raw_sq));
}

TEST(SwimmerProblemTest, SubRangeLeavesOthersAloneAndMatchesUnrollingAlone) {
  SWIMMER_OR_SKIP(p, {});
  const int n = 5;
  const std::vector<uint64_t> keys = {11, 12, 13, 14, 15};
  const RowMatrixXd thetas = Policies(n);
  const std::vector<int64_t> t0(n, 0);
  auto s = NewStates(*p, n);
  ResetAll(*p, s.get(), keys);
  std::vector<std::vector<double>> before;
  for (int i = 0; i < n; ++i) before.push_back(StateOf(*p, *s, i));
  std::vector<double> losses(n, -5.0);
  ASSERT_TRUE(
      p->Unroll(s.get(), 1, 4, thetas, t0.data(), 25, losses.data()).ok());
  for (int i : {0, 4}) {
    EXPECT_EQ(StateOf(*p, *s, i), before[i]);
    EXPECT_EQ(losses[i], -5.0);
  }
  for (int i = 1; i < 4; ++i) {
    auto one = NewStates(*p, 1);
    ResetAll(*p, one.get(), {keys[i]});
    RowMatrixXd th = thetas.row(i);
    double loss;
    ASSERT_TRUE(p->Unroll(one.get(), 0, 1, th, t0.data(), 25, &loss).ok());
    EXPECT_EQ(loss, losses[i]) << "particle " << i;
    EXPECT_EQ(StateOf(*p, *one, 0), StateOf(*p, *s, i));
  }
}

TEST(SwimmerProblemTest, OneTwoAndThreeThreadsGiveTheSameBits) {
  const int n = 7;
  std::vector<uint64_t> keys(n);
  for (int i = 0; i < n; ++i) keys[i] = 200 + i / 2;
  const RowMatrixXd thetas = Policies(n);
  const std::vector<int64_t> t0(n, 0);
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 3}) {
    SWIMMER_OR_SKIP(p, {.num_threads = threads});
    auto s = NewStates(*p, n);
    ResetAll(*p, s.get(), keys);
    std::vector<double> losses(n);
    ASSERT_TRUE(
        p->Unroll(s.get(), 0, n, thetas, t0.data(), 30, losses.data()).ok());
    std::vector<double> all = losses;
    for (int i = 0; i < n; ++i) {
      const std::vector<double> st = StateOf(*p, *s, i);
      all.insert(all.end(), st.begin(), st.end());
    }
    results.push_back(all);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(SwimmerProblemTest, SameKeySameBitsAndCopyParticle) {
  SWIMMER_OR_SKIP(p, {});
  const RowMatrixXd thetas = Policies(2);
  const int64_t t0[2] = {0, 0};
  auto a = NewStates(*p, 2);
  auto b = NewStates(*p, 2);
  ResetAll(*p, a.get(), {5, 6});
  ResetAll(*p, b.get(), {5, 6});
  double la[2], lb[2];
  ASSERT_TRUE(p->Unroll(a.get(), 0, 2, thetas, t0, 40, la).ok());
  ASSERT_TRUE(p->Unroll(b.get(), 0, 2, thetas, t0, 40, lb).ok());
  EXPECT_EQ(la[0], lb[0]);
  EXPECT_EQ(la[1], lb[1]);
  a->CopyParticle(1, 0);
  EXPECT_EQ(StateOf(*p, *a, 0), StateOf(*p, *a, 1));
}

// A checkpoint taken mid-episode, with joints pushed to their limits (the
// constraint solver's warm start is part of the state), restores every
// particle's simulator state and continues to the same bits; the integration
// state (including qacc_warmstart) matches the original after 200 more steps.
TEST(SwimmerProblemTest, CheckpointContinuesBitForBit) {
  SWIMMER_OR_SKIP(p, {.num_threads = 2});
  const int n = 4;
  const RowMatrixXd thetas = Policies(n);
  std::vector<int64_t> t0(n, 0);
  std::vector<double> la(n), lb(n);
  auto a = NewStates(*p, n);
  ResetAll(*p, a.get(), {1, 2, 3, 4});
  ASSERT_TRUE(p->Unroll(a.get(), 0, n, thetas, t0.data(), 150, la.data()).ok());
  StateWriter w;
  ASSERT_TRUE(a->Save(&w).ok());
  const std::string bytes = w.Take();
  auto b = NewStates(*p, n);
  StateReader r(bytes);
  ASSERT_TRUE(b->Load(&r).ok());
  EXPECT_TRUE(r.Finish().ok());
  for (int i = 0; i < n; ++i) EXPECT_EQ(StateOf(*p, *b, i), StateOf(*p, *a, i));
  for (auto& t : t0) t += 150;
  ASSERT_TRUE(p->Unroll(a.get(), 0, n, thetas, t0.data(), 200, la.data()).ok());
  ASSERT_TRUE(p->Unroll(b.get(), 0, n, thetas, t0.data(), 200, lb.data()).ok());
  EXPECT_EQ(la, lb);
  const int nv = p->model()->nv;
  for (int i = 0; i < n; ++i) {
    const mjData* da = p->ParticleData(*a, i);
    const mjData* db = p->ParticleData(*b, i);
    EXPECT_EQ(StateOf(*p, *a, i), StateOf(*p, *b, i));
    EXPECT_EQ(std::vector<double>(da->qacc_warmstart, da->qacc_warmstart + nv),
              std::vector<double>(db->qacc_warmstart, db->qacc_warmstart + nv));
  }
  // A state of another particle count is refused and changes nothing.
  auto c = NewStates(*p, n + 1);
  const std::vector<double> before = StateOf(*p, *c, 0);
  StateReader other(bytes);
  EXPECT_FALSE(c->Load(&other).ok());
  EXPECT_EQ(StateOf(*p, *c, 0), before);
}

TEST(SwimmerProblemTest, HugeOrNonFiniteThetaNeverCrashes) {
  SWIMMER_OR_SKIP(p, {});
  const int n = 4;
  RowMatrixXd thetas(n, 16);
  thetas.row(0).setConstant(1e300);
  thetas.row(1).setConstant(-1e300);
  thetas.row(2).setConstant(std::numeric_limits<double>::infinity());
  thetas.row(3).setConstant(std::nan(""));
  auto s = NewStates(*p, n);
  const std::vector<int64_t> t0(n, 0);
  std::vector<double> losses(n);
  ASSERT_TRUE(
      p->Unroll(s.get(), 0, n, thetas, t0.data(), 100, losses.data()).ok());
  // Saturated controls keep the simulation finite.
  EXPECT_TRUE(std::isfinite(losses[0]));
  EXPECT_TRUE(std::isfinite(losses[1]));
  // inf x 0 observations and NaN give NaN actions: NaN losses.
  EXPECT_TRUE(std::isnan(losses[3]));
  EXPECT_FALSE(std::isfinite(losses[2]) && std::isfinite(losses[3]));
  for (int i = 0; i < n; ++i) {
    for (double v : StateOf(*p, *s, i)) EXPECT_TRUE(std::isfinite(v));
  }
  // MuJoCo never had to warn (it would have written MUJOCO_LOG.TXT).
  struct stat st;
  EXPECT_NE(stat("MUJOCO_LOG.TXT", &st), 0);
}

TEST(SwimmerProblemTest, EvaluateIsOneFullEpisode) {
  SWIMMER_OR_SKIP(p, {});
  const RowMatrixXd theta = Policies(1);
  auto s = NewStates(*p, 1);
  ResetAll(*p, s.get(), {9});
  const int64_t t0 = 0;
  double loss;
  ASSERT_TRUE(p->Unroll(s.get(), 0, 1, theta, &t0, 1000, &loss).ok());
  auto eval = p->Evaluate(theta.row(0).transpose(), 0, 9);
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_EQ(*eval, loss);
  EXPECT_TRUE(std::isfinite(loss));
  // 4000 x 0.01 s, accumulated by MuJoCo (rounding grows with the count).
  EXPECT_NEAR(p->ParticleData(*s, 0)->time, 40.0, 1e-9);
  EXPECT_FALSE(p->Evaluate(theta.row(0).transpose(), 1001, 9).ok());
}

}  // namespace
}  // namespace es
