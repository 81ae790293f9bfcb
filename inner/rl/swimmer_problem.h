// swimmer_problem.h - a linear policy for the MuJoCo Swimmer (ES-Single
// paper, Vicol et al. ICML 2023, App. C.4, Fig. 22: "the continuous control
// task used in PES", T = 1000, K = 100), batched over particles and threads.
//
// Outer parameters theta = W, the 2 x 8 policy matrix, row-major
// (theta[8 a + j] = W(a, j)), P = 16. One episode, per particle:
//   reset:  qpos = qpos0 + U[-0.1, 0.1]^5, qvel = U[-0.1, 0.1]^5, mj_forward
//   for t = 0 .. T-1 (T = 1000):
//     o_t = (qpos[2..4], qvel[0..4])                  (8 values)
//     a_t = clip(W o_t, -1, 1)                        (2 motor controls)
//     x_before = qpos[0]; 4 x mj_step (frame skip); x_after = qpos[0]
//     r_t = (x_after - x_before) / dt - 1e-4 ||a_t||^2,  dt = 4 x 0.01
//     L_{t+1} = -r_t                                  (loss = minus reward)
//   meta-loss = sum_t L_t = minus the episode return.
// These are Gym's Swimmer settings (Swimmer-v2, the environment of the PES
// control experiment; v4 is the same): frame_skip 4, ctrl cost weight 1e-4,
// reset noise 0.1, 1000-step time limit. No observation normalisation (the
// PES runs did not pass --normalize_state). The clip is ours: Gym hands the
// raw W o to MuJoCo, which clamps the control to the actuators' ctrlrange
// [-1, 1] for the dynamics, but charges the control cost on the raw value;
// here the cost is charged on the clipped action (the dynamics are the same;
// SwimmerOptions::ctrl_cost_on_raw_action restores Gym's cost).
// docs/rl_uci_notes.md lists every setting with its source.
//
// Randomness: the reset noise is Philox (estimators/philox.h) keyed by the
// episode key (Stream::kEpisode; uniform j = 0..4 for qpos, 5..9 for qvel),
// so both members of an antithetic pair start from the same state.
//
// Layout: one mjData per particle, one shared read-only mjModel (owned by the
// problem; states must not outlive it). Unroll splits [begin, end) into
// `num_threads` contiguous chunks, one std::thread each (the caller runs the
// first). Particles never share data, so the results are the same bits for
// any thread count and any sub-range. Use the estimator's num_threads OR
// this one, not both (they multiply).
//
// Checkpoints: ParticleStates::Save writes each particle's episode key, its
// MuJoCo integration state (time, qpos, qvel, act, qacc_warmstart, ctrl,
// applied forces, mocap poses, userdata: what MuJoCo 3 calls
// mjSTATE_INTEGRATION) and its warning counters; Load restores them and
// recomputes the derived quantities with mj_forward. A loaded state
// continues bit for bit (the conformance suite and swimmer_problem_test).
//
// Divergence: the controls are bounded, so the simulation stays finite for
// any finite theta. A NaN action (theta with NaN or inf entries, 0 x inf)
// is not sent to MuJoCo (which would print a warning and write a log file):
// the control becomes 0 and that step's loss is NaN. A MuJoCo instability
// warning (bad qpos/qvel/qacc/ctrl) makes the losses NaN until the particle
// is reset. Nothing crashes.
//
// Usage:
//   auto path = SwimmerProblem::DefaultModelPath();   //
//   $ES_SINGLE_DATA_DIR/... auto problem = SwimmerProblem::Create(*path,
//   {.num_threads = 2}); if (!problem.ok()) return problem.status();        //
//   names the file double minus_return = *(*problem)->Evaluate(theta,
//   /*length=*/0, key);
#ifndef ES_SINGLE_INNER_RL_SWIMMER_PROBLEM_H_
#define ES_SINGLE_INNER_RL_SWIMMER_PROBLEM_H_

#include <mujoco/mujoco.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"

namespace es {

struct SwimmerOptions {
  int num_threads = 1;             // threads over particle chunks, >= 1
  int64_t horizon = 1000;          // T (Gym's TimeLimit for Swimmer)
  int frame_skip = 4;              // mj_steps per environment step
  double ctrl_cost_weight = 1e-4;  // Gym Swimmer ctrl_cost_weight
  double reset_noise_scale = 0.1;  // Gym Swimmer reset_noise_scale
  // false: the control cost is charged on the clipped action a_t (the
  // default here). true: on the raw W o_t, as Gym does (MuJoCo clamps the
  // control for the dynamics either way, so only the cost differs).
  bool ctrl_cost_on_raw_action = false;

  absl::Status Validate() const;
};

class SwimmerProblem : public UnrolledProblem {
 public:
  static constexpr int kObsDim = 8;  // qpos[2:] (3) + qvel (5)
  static constexpr int kActDim = 2;  // two motors
  static constexpr int kThetaDim = kActDim * kObsDim;
  static constexpr char kModelRelativePath[] = "mujoco-swimmer/swimmer.xml";

  // $ES_SINGLE_DATA_DIR/mujoco-swimmer/swimmer.xml, or FailedPrecondition
  // when the variable is unset.
  static absl::StatusOr<std::string> DefaultModelPath();

  // Loads the model. NotFound for a missing file; InvalidArgument with
  // MuJoCo's own message (mj_loadXML's error string) for a file MuJoCo cannot
  // load, or for a model that is not Gym's swimmer (nq = nv = 5, nu = 2,
  // a slide joint first).
  static absl::StatusOr<std::unique_ptr<SwimmerProblem>> Create(
      const std::string& model_path, const SwimmerOptions& options = {});
  ~SwimmerProblem() override;

  std::string name() const override { return "swimmer_linear"; }
  int theta_dim() const override { return kThetaDim; }
  int64_t horizon() const override { return options_.horizon; }

  // ResourceExhausted when the particles' mjData would not fit in memory.
  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  // InvalidArgument for a bad range or theta shape, or when some
  // t0[i] + num_steps > T.
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;

  // The observation of particle i (kObsDim values) and its simulator state,
  // for tests and for figure binaries that record trajectories.
  void Observation(const ParticleStates& states, int particle,
                   double* obs) const;
  const mjData* ParticleData(const ParticleStates& states, int particle) const;
  const mjModel* model() const { return model_; }
  // Environment time step: frame_skip x model timestep (0.04 s).
  double dt() const { return dt_; }
  const SwimmerOptions& options() const { return options_; }

 private:
  SwimmerProblem(mjModel* model, const SwimmerOptions& options);
  // Steps particles [begin, end) in the calling thread.
  void UnrollChunk(ParticleStates* states, int begin, int end,
                   const RowMatrixXd& thetas, int num_steps,
                   double* losses) const;

  mjModel* model_;  // owned (mj_deleteModel)
  SwimmerOptions options_;
  double dt_;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_RL_SWIMMER_PROBLEM_H_
