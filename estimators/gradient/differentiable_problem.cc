#include "estimators/gradient/differentiable_problem.h"

#include <cmath>

namespace es {

void StepDerivatives::Resize(int state_dim, int theta_dim) {
  state.resize(state_dim);
  dstate_dstate.resize(state_dim, state_dim);
  dstate_dtheta.resize(state_dim, theta_dim);
  dloss_dstate.resize(state_dim);
  dloss_dtheta.resize(theta_dim);
}

bool StepDerivatives::AllFinite() const {
  return std::isfinite(loss) && state.allFinite() &&
         dstate_dstate.allFinite() && dstate_dtheta.allFinite() &&
         dloss_dstate.allFinite() && dloss_dtheta.allFinite();
}

double DifferentiableProblem::Advance(
    const Eigen::Ref<const Eigen::VectorXd>& state,
    const Eigen::Ref<const Eigen::VectorXd>& theta, int64_t step,
    uint64_t episode_key, Eigen::Ref<Eigen::VectorXd> next) const {
  StepDerivatives d;
  d.Resize(state_dim(), theta_dim());
  Step(state, theta, step, episode_key, &d);
  next = d.state;
  return d.loss;
}

}  // namespace es
