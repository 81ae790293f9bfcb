#include "estimators/meta_trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace es {

absl::Status MetaTrainingOptions::Validate() const {
  if (iterations < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("iterations must be >= 0, got ", iterations));
  }
  if (eval_every < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "eval_every must be >= 0 (0 = only first and last), got ", eval_every));
  }
  if (eval_length < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "eval_length must be >= 0 (0 = the horizon), got ", eval_length));
  }
  return absl::OkStatus();
}

absl::StatusOr<MetaTrainingResult> RunMetaTraining(
    const UnrolledProblem& problem, GradientEstimator* estimator,
    OuterOptimizer* optimizer, Eigen::VectorXd theta,
    const MetaTrainingOptions& options, const StepCallback& on_step) {
  if (auto s = options.Validate(); !s.ok()) return s;
  if (auto s = ValidateTheta(theta, problem.theta_dim()); !s.ok()) return s;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto last_print = start;
  MetaTrainingResult result;
  double step_seconds = 0.0;

  auto evaluate = [&](int64_t it) -> absl::Status {
    auto loss = problem.Evaluate(theta, options.eval_length, options.eval_key);
    if (!loss.ok()) return loss.status();
    result.trace.push_back({it, result.particle_steps, *loss, theta});
    return absl::OkStatus();
  };
  if (auto s = evaluate(0); !s.ok()) return s;

  for (int64_t it = 1; it <= options.iterations; ++it) {
    const auto t0 = Clock::now();
    auto est = estimator->Step(theta);
    step_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    if (!est.ok()) return est.status();
    result.particle_steps += est->particle_steps;
    result.dropped_pairs += est->dropped_pairs;
    if (auto s = optimizer->Update(est->gradient, &theta); !s.ok()) {
      return absl::InternalError(absl::StrCat(
          "iteration ", it, " of ", estimator->name(), ": ", s.message()));
    }
    if (on_step) on_step(it, *est, theta);
    const bool eval = (options.eval_every > 0 && it % options.eval_every == 0) ||
                      it == options.iterations;
    if (eval) {
      if (auto s = evaluate(it); !s.ok()) return s;
    }
    const auto now = Clock::now();
    if (options.progress &&
        (std::chrono::duration<double>(now - last_print).count() >= 1.0 ||
         it == options.iterations)) {
      last_print = now;
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const double rate = it / std::max(elapsed, 1e-9);
      const double eta = (options.iterations - it) / std::max(rate, 1e-9);
      std::fprintf(stderr,
                   "[%s] iter %lld/%lld  meta_loss %.6g  %.1f it/s  ETA %.0f s\n",
                   options.label.empty() ? estimator->name().c_str()
                                         : options.label.c_str(),
                   static_cast<long long>(it),
                   static_cast<long long>(options.iterations),
                   result.trace.back().meta_loss, rate, eta);
    }
  }
  result.final_theta = theta;
  result.wall_seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  result.seconds_per_step =
      options.iterations > 0 ? step_seconds / options.iterations : 0.0;
  return result;
}

}  // namespace es
