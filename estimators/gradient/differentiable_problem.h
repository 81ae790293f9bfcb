// differentiable_problem.h - the interface of inner problems that expose the
// derivatives of one unrolled step, for the gradient-based baselines (TBPTT,
// RTRL, UORO, DODGE; paper Sec. 2 and App. C.6) in this package.
//
// The unrolled computation graph of paper eqs. 1-2 (one trajectory, no
// particles):
//
//   s_0 = InitialState(),   s_t = f(s_{t-1}; theta, t),   L_t = L_t(s_t; theta)
//   L(theta) = sum_{t=1..T} L_t
//
// One call Step(s_{t-1}, theta, step = t-1) returns
//
//   state          s_t                       S
//   loss           L_t(s_t; theta)           scalar (loss of the NEW state)
//   dstate_dstate  F_s = d s_t / d s_{t-1}   S x S   (partial, theta fixed)
//   dstate_dtheta  F_th = d s_t / d theta    S x P   (partial, s_{t-1} fixed)
//   dloss_dstate   dL_t / d s_t              S       (partial, theta fixed)
//   dloss_dtheta   dL_t / d theta            P       (partial, s_t fixed)
//
// Every estimator here is a way of combining these: the total derivative
// J_t = d s_t / d theta obeys the forward recursion
//
//   J_0 = 0,   J_t = F_s J_{t-1} + F_th
//   d L_t / d theta (total) = (dL_t/ds_t)^T J_t + dL_t/dtheta.
//
// The Jacobians are full dense matrices: the problems meant for this
// interface are small (influence balancing S = 23, toy 2D S = 2).
//
// `step` is the number of steps taken before this one (0 .. T-1), i.e. the
// paper's t - 1; problems with a time-dependent f (the toy 2D learning-rate
// schedule) use it. The episode key selects the random instance of an inner
// problem (data order, initial state); deterministic problems ignore it.
//
// Thread safety: implementations are immutable after construction; Step and
// Advance are const and may run concurrently on different outputs.
//
// Usage:
//   StepDerivatives d;  d.Resize(problem.state_dim(), problem.theta_dim());
//   Eigen::VectorXd s;  problem.InitialState(key, &s);
//   for (int64_t t = 0; t < T; ++t) { problem.Step(s, theta, t, key, &d); s = d.state; }
#ifndef ES_SINGLE_ESTIMATORS_GRADIENT_DIFFERENTIABLE_PROBLEM_H_
#define ES_SINGLE_ESTIMATORS_GRADIENT_DIFFERENTIABLE_PROBLEM_H_

#include <cstdint>
#include <string>

#include <Eigen/Dense>

#include "estimators/unrolled_problem.h"  // kNeverEnding

namespace es {

// Outputs of one differentiable step. Resize once; Step then writes in place
// without allocating.
struct StepDerivatives {
  Eigen::VectorXd state;          // s_t (S)
  double loss = 0.0;              // L_t(s_t; theta)
  Eigen::MatrixXd dstate_dstate;  // d s_t / d s_{t-1} (S x S)
  Eigen::MatrixXd dstate_dtheta;  // d s_t / d theta (S x P)
  Eigen::VectorXd dloss_dstate;   // d L_t / d s_t (S)
  Eigen::VectorXd dloss_dtheta;   // d L_t / d theta (P)

  void Resize(int state_dim, int theta_dim);
  // True when the loss and every entry of every array are finite.
  bool AllFinite() const;
};

class DifferentiableProblem {
 public:
  virtual ~DifferentiableProblem() = default;

  virtual std::string name() const = 0;
  // S, the dimension of the state s_t.
  virtual int state_dim() const = 0;
  // P, the dimension of theta.
  virtual int theta_dim() const = 0;
  // T, or kNeverEnding (unrolled_problem.h).
  virtual int64_t horizon() const = 0;

  // s_0 of the inner problem selected by episode_key (resized to S).
  virtual void InitialState(uint64_t episode_key, Eigen::VectorXd* s0) const = 0;

  // One step from s_{t-1} = `state` with step counter `step` = t - 1; fills
  // every field of *out (already sized by out->Resize(S, P)). A diverging
  // step writes non-finite values; it must not crash.
  virtual void Step(const Eigen::Ref<const Eigen::VectorXd>& state,
                    const Eigen::Ref<const Eigen::VectorXd>& theta,
                    int64_t step, uint64_t episode_key,
                    StepDerivatives* out) const = 0;

  // Value-only step: writes s_t into *next (size S, may not alias `state`)
  // and returns L_t. The default calls Step and drops the derivatives (it
  // allocates a StepDerivatives per call); problems override it with a
  // cheaper, allocation-free path for evaluation and ES.
  virtual double Advance(const Eigen::Ref<const Eigen::VectorXd>& state,
                         const Eigen::Ref<const Eigen::VectorXd>& theta,
                         int64_t step, uint64_t episode_key,
                         Eigen::Ref<Eigen::VectorXd> next) const;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_GRADIENT_DIFFERENTIABLE_PROBLEM_H_
