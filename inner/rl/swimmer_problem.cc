// swimmer_problem.cc - see swimmer_problem.h.
#include "inner/rl/swimmer_problem.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"

namespace es {
namespace {

// Gym's swimmer: slider x, slider y, root hinge, two motor hinges.
constexpr int kNq = 5;
constexpr int kNv = 5;

struct DataDeleter {
  void operator()(mjData* d) const { mj_deleteData(d); }
};
using DataPtr = std::unique_ptr<mjData, DataDeleter>;

// The integration state of one mjData: what mj_step reads besides the
// quantities it recomputes (MuJoCo 3's mjSTATE_INTEGRATION, which 2.2.2
// lacks: time, qpos, qvel, act, qacc_warmstart, ctrl, applied forces, mocap
// poses, userdata) and the warning counters that Unroll turns into NaN
// losses. Everything else in mjData is derived or scratch.
int64_t StateSize(const mjModel* m) {  // numbers per particle, time first
  return 1 + m->nq + m->nv + m->na + m->nv + m->nu + m->nv + 6 * m->nbody +
         3 * m->nmocap + 4 * m->nmocap + m->nuserdata;
}

// Calls f(pointer, count) for each array of the integration state, in the
// checkpoint's order.
template <typename F>
void ForEachStateArray(const mjModel* m, mjData* d, F f) {
  f(&d->time, 1);
  f(d->qpos, m->nq);
  f(d->qvel, m->nv);
  f(d->act, m->na);
  f(d->qacc_warmstart, m->nv);
  f(d->ctrl, m->nu);
  f(d->qfrc_applied, m->nv);
  f(d->xfrc_applied, 6 * m->nbody);
  f(d->mocap_pos, 3 * m->nmocap);
  f(d->mocap_quat, 4 * m->nmocap);
  f(d->userdata, m->nuserdata);
}

class SwimmerStates : public ParticleStates {
 public:
  // mj_makeData returns nullptr or calls mju_error (which exits) when it
  // cannot allocate; SwimmerProblem::NewStates checks the size first and
  // turns a nullptr into std::bad_alloc here (MakeParticleStates makes it
  // ResourceExhausted).
  SwimmerStates(const mjModel* model, int capacity)
      : keys(capacity, 0), model_(model) {
    data.reserve(capacity);
    for (int i = 0; i < capacity; ++i) {
      data.emplace_back(mj_makeData(model));
      if (data.back() == nullptr) throw std::bad_alloc();
    }
  }

  int num_particles() const override { return static_cast<int>(data.size()); }
  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < num_particles() && to >= 0 &&
             to < num_particles());
    if (from == to) return;
    mj_copyData(data[to].get(), model_, data[from].get());
    keys[to] = keys[from];
  }

  // Checkpoint: the model's sizes (a guard against another model), the
  // episode keys, each particle's integration state and warning counters.
  absl::Status Save(StateWriter* out) const override {
    out->Tag("swimmer_linear");
    out->Vector(ModelSizes());
    out->Vector(keys);
    const int n = num_particles();
    std::vector<double> values;
    values.reserve(static_cast<size_t>(StateSize(model_)) * n);
    std::vector<mjWarningStat> warnings;
    warnings.reserve(static_cast<size_t>(mjNWARNING) * n);
    for (int i = 0; i < n; ++i) {
      mjData* d = data[i].get();
      ForEachStateArray(model_, d, [&](const mjtNum* p, int count) {
        values.insert(values.end(), p, p + count);
      });
      warnings.insert(warnings.end(), d->warning, d->warning + mjNWARNING);
    }
    out->Vector(values);
    out->Vector(warnings);
    return absl::OkStatus();
  }

  // All or nothing: reads everything, then writes the particles. mj_forward
  // then recomputes the derived quantities (positions of bodies, ...), as
  // after Reset; mj_step recomputes them anyway, so this only matters to
  // readers of ParticleData.
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("swimmer_linear"); !s.ok()) return s;
    const std::vector<int32_t> expected = ModelSizes();
    std::vector<int32_t> sizes;
    if (auto s = in->Vector(&sizes, static_cast<int64_t>(expected.size()));
        !s.ok()) {
      return s;
    }
    if (sizes != expected) {
      return absl::DataLossError(
          "swimmer checkpoint was written for a model of other sizes");
    }
    const int n = num_particles();
    const int64_t per = StateSize(model_);
    std::vector<uint64_t> new_keys;
    std::vector<double> values;
    std::vector<mjWarningStat> warnings;
    if (auto s = in->Vector(&new_keys, n); !s.ok()) return s;
    if (auto s = in->Vector(&values, per * n); !s.ok()) return s;
    if (auto s = in->Vector(&warnings, int64_t{mjNWARNING} * n); !s.ok()) {
      return s;
    }
    const double* v = values.data();
    for (int i = 0; i < n; ++i) {
      mjData* d = data[i].get();
      ForEachStateArray(model_, d, [&](mjtNum* p, int count) {
        std::copy(v, v + count, p);
        v += count;
      });
      mj_forward(model_, d);
      std::copy(warnings.begin() + static_cast<int64_t>(i) * mjNWARNING,
                warnings.begin() + static_cast<int64_t>(i + 1) * mjNWARNING,
                d->warning);
    }
    keys.swap(new_keys);
    return absl::OkStatus();
  }

  std::vector<DataPtr> data;
  std::vector<uint64_t> keys;

 private:
  std::vector<int32_t> ModelSizes() const {
    return {model_->nq,    model_->nv,     model_->na,        model_->nu,
            model_->nbody, model_->nmocap, model_->nuserdata, mjNWARNING};
  }

  const mjModel* model_;
};

SwimmerStates* Cast(ParticleStates* states) {
  ES_CHECK(states != nullptr);
  auto* s = dynamic_cast<SwimmerStates*>(states);
  ES_CHECK_MSG(s != nullptr, "states were not created by SwimmerProblem");
  return s;
}

const SwimmerStates& Cast(const ParticleStates& states) {
  const auto* s = dynamic_cast<const SwimmerStates*>(&states);
  ES_CHECK_MSG(s != nullptr, "states were not created by SwimmerProblem");
  return *s;
}

inline void ObservationOf(const mjData* d, double* obs) {
  obs[0] = d->qpos[2];
  obs[1] = d->qpos[3];
  obs[2] = d->qpos[4];
  for (int j = 0; j < kNv; ++j) obs[3 + j] = d->qvel[j];
}

// Warnings after which MuJoCo has reset or distrusts the state.
inline bool Unstable(const mjData* d) {
  return d->warning[mjWARN_BADQPOS].number > 0 ||
         d->warning[mjWARN_BADQVEL].number > 0 ||
         d->warning[mjWARN_BADQACC].number > 0 ||
         d->warning[mjWARN_BADCTRL].number > 0;
}

}  // namespace

absl::Status SwimmerOptions::Validate() const {
  if (num_threads < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SwimmerOptions.num_threads = ", num_threads, "; expected >= 1"));
  }
  if (horizon < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SwimmerOptions.horizon = ", horizon, "; expected T >= 1 (Gym: 1000)"));
  }
  if (frame_skip < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SwimmerOptions.frame_skip = ", frame_skip,
                     "; expected >= 1 (Gym: 4)"));
  }
  if (!(ctrl_cost_weight >= 0.0) || !std::isfinite(ctrl_cost_weight)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SwimmerOptions.ctrl_cost_weight = ", ctrl_cost_weight,
                     "; expected a finite value >= 0 (Gym: 1e-4)"));
  }
  if (!(reset_noise_scale >= 0.0) || !std::isfinite(reset_noise_scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SwimmerOptions.reset_noise_scale = ", reset_noise_scale,
                     "; expected a finite value >= 0 (Gym: 0.1)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SwimmerProblem::DefaultModelPath() {
  const char* dir = std::getenv("ES_SINGLE_DATA_DIR");
  if (dir == nullptr || *dir == '\0') {
    return absl::FailedPreconditionError(absl::StrCat(
        "ES_SINGLE_DATA_DIR is unset; set it to the folder that holds ",
        kModelRelativePath, " (Gym's swimmer model)"));
  }
  return absl::StrCat(dir, "/", kModelRelativePath);
}

absl::StatusOr<std::unique_ptr<SwimmerProblem>> SwimmerProblem::Create(
    const std::string& model_path, const SwimmerOptions& options) {
  if (absl::Status s = options.Validate(); !s.ok()) return s;
  struct stat st;
  if (stat(model_path.c_str(), &st) != 0) {
    const int err = errno;
    const std::string message = absl::StrCat(
        "cannot open MuJoCo model ", model_path, ": ", std::strerror(err));
    if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
    return absl::UnavailableError(message);
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        model_path, " is a directory; expected a MuJoCo XML model file"));
  }
  char error[1024] = "";
  mjModel* model =
      mj_loadXML(model_path.c_str(), nullptr, error, sizeof(error));
  if (model == nullptr) {
    std::string why(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) {
      why.pop_back();
    }
    return absl::InvalidArgumentError(
        absl::StrCat("MuJoCo could not load the model ", model_path, ": ",
                     why.empty() ? "(no message)" : why));
  }
  if (model->nq != kNq || model->nv != kNv || model->nu != kActDim ||
      model->njnt < 1 || model->jnt_type[0] != mjJNT_SLIDE) {
    const std::string message = absl::StrCat(
        model_path, ": model has nq = ", model->nq, ", nv = ", model->nv,
        ", nu = ", model->nu,
        "; expected Gym's swimmer (nq = 5, nv = 5, nu = 2, a slide joint "
        "along x first)");
    mj_deleteModel(model);
    return absl::InvalidArgumentError(message);
  }
  return std::unique_ptr<SwimmerProblem>(new SwimmerProblem(model, options));
}

SwimmerProblem::SwimmerProblem(mjModel* model, const SwimmerOptions& options)
    : model_(model),
      options_(options),
      // Gym: dt = model.opt.timestep * frame_skip.
      dt_(model->opt.timestep * options.frame_skip) {}

SwimmerProblem::~SwimmerProblem() { mj_deleteModel(model_); }

absl::StatusOr<std::unique_ptr<ParticleStates>> SwimmerProblem::NewStates(
    int num_particles) const {
  // MuJoCo 2.2.2 exits the process (mju_error) when an mjData cannot be
  // allocated, so a request beyond the physical memory is refused first.
  // Each mjData holds its stack of nstack numbers (about 10 MB here).
  const double bytes_each =
      static_cast<double>(model_->nstack) * sizeof(mjtNum) + sizeof(mjData);
  const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                          static_cast<double>(sysconf(_SC_PAGESIZE));
  if (num_particles >= 1 && physical > 0 &&
      bytes_each * num_particles > physical) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "problem '", name(), "': ", num_particles, " particles need ",
        bytes_each * num_particles / 1e9,
        " GB of MuJoCo data, the machine has ", physical / 1e9, " GB"));
  }
  return MakeParticleStates(name(), num_particles, [&] {
    auto states = std::make_unique<SwimmerStates>(model_, num_particles);
    std::vector<int> all(num_particles);
    for (int i = 0; i < num_particles; ++i) all[i] = i;
    std::vector<uint64_t> keys(num_particles, 0);
    Reset(states.get(), all, keys);
    return states;
  });
}

void SwimmerProblem::Reset(ParticleStates* states,
                           absl::Span<const int> particles,
                           absl::Span<const uint64_t> episode_keys) const {
  ES_CHECK(particles.size() == episode_keys.size());
  SwimmerStates* s = Cast(states);
  const double c = options_.reset_noise_scale;
  for (size_t k = 0; k < particles.size(); ++k) {
    const int i = particles[k];
    ES_CHECK(i >= 0 && i < s->num_particles());
    mjData* d = s->data[i].get();
    mj_resetData(model_, d);  // qpos = qpos0, qvel = 0, time = 0, warnings
    const RandomKey key{episode_keys[k], Stream::kEpisode};
    for (int j = 0; j < kNq; ++j) {
      const double u = UniformOpen(key, /*draw=*/0, /*pair=*/0, j);
      d->qpos[j] = model_->qpos0[j] + (-c + 2.0 * c * u);
    }
    for (int j = 0; j < kNv; ++j) {
      const double u = UniformOpen(key, /*draw=*/0, /*pair=*/0, kNq + j);
      d->qvel[j] = -c + 2.0 * c * u;
    }
    mj_forward(model_, d);  // as Gym's set_state
    s->keys[i] = episode_keys[k];
  }
}

void SwimmerProblem::UnrollChunk(ParticleStates* states, int begin, int end,
                                 const RowMatrixXd& thetas, int num_steps,
                                 double* losses) const {
  SwimmerStates* s = Cast(states);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double w_ctrl = options_.ctrl_cost_weight;
  const bool raw_cost = options_.ctrl_cost_on_raw_action;
  for (int i = begin; i < end; ++i) {
    mjData* d = s->data[i].get();
    const double* w = thetas.row(i).data();  // row-major: W(a, j) = w[8a + j]
    double total = 0.0;
    for (int k = 0; k < num_steps; ++k) {
      double obs[kObsDim];
      ObservationOf(d, obs);
      double action[kActDim], raw[kActDim];
      bool bad = false;
      for (int a = 0; a < kActDim; ++a) {
        double v = 0.0;
        for (int j = 0; j < kObsDim; ++j) v += w[a * kObsDim + j] * obs[j];
        raw[a] = v;
        if (std::isnan(v)) {
          bad = true;
          v = 0.0;  // never hand MuJoCo a NaN control
        }
        action[a] = std::min(1.0, std::max(-1.0, v));
        d->ctrl[a] = action[a];
      }
      const double x_before = d->qpos[0];
      for (int f = 0; f < options_.frame_skip; ++f) mj_step(model_, d);
      const double x_after = d->qpos[0];
      const double* charged = raw_cost ? raw : action;
      const double ctrl_cost =
          w_ctrl * (charged[0] * charged[0] + charged[1] * charged[1]);
      const double reward = (x_after - x_before) / dt_ - ctrl_cost;
      total += (bad || Unstable(d)) ? nan : -reward;
    }
    losses[i] = total;
  }
}

absl::Status SwimmerProblem::Unroll(ParticleStates* states, int begin, int end,
                                    const RowMatrixXd& thetas,
                                    const int64_t* t0, int num_steps,
                                    double* losses) const {
  SwimmerStates* s = Cast(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  for (int i = begin; i < end; ++i) {
    if (t0[i] < 0 || t0[i] + num_steps > options_.horizon) {
      return absl::InvalidArgumentError(
          absl::StrCat("problem '", name(), "': particle ", i, " at step ",
                       t0[i], " cannot take ", num_steps,
                       " steps within the horizon T = ", options_.horizon));
    }
  }
  const int n = end - begin;
  const int chunks = std::max(1, std::min(options_.num_threads, n));
  if (chunks == 1) {
    UnrollChunk(states, begin, end, thetas, num_steps, losses);
    return absl::OkStatus();
  }
  auto bound = [&](int c) {
    return begin + static_cast<int>((static_cast<int64_t>(n) * c) / chunks);
  };
  // A chunk whose thread cannot be started runs in the calling thread
  // instead: the particles are independent, so the bits are the same.
  std::vector<std::thread> workers;
  std::vector<int> inline_chunks = {0};
  for (int c = 1; c < chunks; ++c) {
    const int b = bound(c), e = bound(c + 1);
    try {
      workers.emplace_back(
          [=] { UnrollChunk(states, b, e, thetas, num_steps, losses); });
    } catch (const std::exception&) {  // std::system_error, std::bad_alloc
      inline_chunks.push_back(c);
    }
  }
  for (int c : inline_chunks) {
    UnrollChunk(states, bound(c), bound(c + 1), thetas, num_steps, losses);
  }
  for (std::thread& t : workers) t.join();
  return absl::OkStatus();
}

void SwimmerProblem::Observation(const ParticleStates& states, int particle,
                                 double* obs) const {
  ObservationOf(ParticleData(states, particle), obs);
}

const mjData* SwimmerProblem::ParticleData(const ParticleStates& states,
                                           int particle) const {
  const SwimmerStates& s = Cast(states);
  ES_CHECK(particle >= 0 && particle < s.num_particles());
  return s.data[particle].get();
}

}  // namespace es
