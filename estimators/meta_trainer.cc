#include "estimators/meta_trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace es {
namespace {
using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

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

MetaTrainer::MetaTrainer(const UnrolledProblem& problem,
                         GradientEstimator* estimator,
                         OuterOptimizer* optimizer, Eigen::VectorXd theta0,
                         MetaTrainingOptions options, StepCallback on_step)
    : problem_(problem),
      estimator_(estimator),
      optimizer_(optimizer),
      options_(std::move(options)),
      on_step_(std::move(on_step)),
      theta_(std::move(theta0)) {}

absl::Status MetaTrainer::Evaluate() {
  auto loss =
      problem_.Evaluate(theta_, options_.eval_length, options_.eval_key);
  if (!loss.ok()) return loss.status();
  result_.trace.push_back({iteration_, result_.particle_steps, *loss, theta_});
  return absl::OkStatus();
}

absl::Status MetaTrainer::RunUntil(int64_t until) {
  const auto start = Clock::now();
  auto last_print = start;
  if (!started_) {
    if (auto s = options_.Validate(); !s.ok()) return s;
    if (auto s = ValidateTheta(theta_, problem_.theta_dim()); !s.ok()) return s;
    if (auto s = Evaluate(); !s.ok()) return s;
    started_ = true;
  }
  until = std::min(until, options_.iterations);
  const int64_t first = iteration_;
  while (iteration_ < until) {
    const int64_t it = iteration_ + 1;
    const auto t0 = Clock::now();
    auto est = estimator_->Step(theta_);
    step_seconds_ += Seconds(t0, Clock::now());
    if (!est.ok()) return est.status();
    result_.particle_steps += est->particle_steps;
    result_.dropped_pairs += est->dropped_pairs;
    if (std::isnan(est->mean_loss)) ++result_.all_dropped_estimates;
    if (auto s = optimizer_->Update(est->gradient, &theta_); !s.ok()) {
      return absl::InternalError(absl::StrCat(
          "iteration ", it, " of ", estimator_->name(), ": ", s.message()));
    }
    iteration_ = it;
    if (on_step_) {
      if (auto s = on_step_(it, *est, theta_); !s.ok()) return s;
    }
    if ((options_.eval_every > 0 && it % options_.eval_every == 0) ||
        it == options_.iterations) {
      if (auto s = Evaluate(); !s.ok()) return s;
    }
    const auto now = Clock::now();
    if (options_.progress && (Seconds(last_print, now) >= 1.0 ||
                              it == options_.iterations)) {
      last_print = now;
      const double rate = (it - first) / std::max(Seconds(start, now), 1e-9);
      const double eta = (options_.iterations - it) / std::max(rate, 1e-9);
      std::fprintf(stderr,
                   "[%s] iter %lld/%lld  meta_loss %.6g  %.1f it/s  ETA %.0f s\n",
                   options_.label.empty() ? estimator_->name().c_str()
                                          : options_.label.c_str(),
                   static_cast<long long>(it),
                   static_cast<long long>(options_.iterations),
                   result_.trace.back().meta_loss, rate, eta);
    }
  }
  run_seconds_ += Seconds(start, Clock::now());
  return absl::OkStatus();
}

MetaTrainingResult MetaTrainer::Result() const {
  MetaTrainingResult r = result_;
  r.final_theta = theta_;
  r.wall_seconds = run_seconds_;
  r.seconds_per_step = iteration_ > 0 ? step_seconds_ / iteration_ : 0.0;
  return r;
}

absl::Status MetaTrainer::Save(StateWriter* out) const {
  out->Tag("meta_trainer");
  out->Matrix(theta_);
  out->Pod(iteration_);
  out->Pod(started_);
  out->Pod(result_.particle_steps);
  out->Pod(result_.dropped_pairs);
  out->Pod(result_.all_dropped_estimates);
  out->Pod(step_seconds_);
  out->Pod(run_seconds_);
  out->Pod(static_cast<uint64_t>(result_.trace.size()));
  for (const TracePoint& p : result_.trace) {
    out->Pod(p.iteration);
    out->Pod(p.particle_steps);
    out->Pod(p.meta_loss);
    out->Matrix(p.theta);
  }
  if (auto s = estimator_->Save(out); !s.ok()) return s;
  return optimizer_->Save(out);
}

absl::Status MetaTrainer::Load(StateReader* in) {
  if (auto s = in->Tag("meta_trainer"); !s.ok()) return s;
  if (auto s = in->Matrix(&theta_); !s.ok()) return s;
  if (auto s = in->Pod(&iteration_); !s.ok()) return s;
  if (auto s = in->Pod(&started_); !s.ok()) return s;
  for (int64_t* v : {&result_.particle_steps, &result_.dropped_pairs,
                     &result_.all_dropped_estimates}) {
    if (auto s = in->Pod(v); !s.ok()) return s;
  }
  if (auto s = in->Pod(&step_seconds_); !s.ok()) return s;
  if (auto s = in->Pod(&run_seconds_); !s.ok()) return s;
  uint64_t n = 0;
  if (auto s = in->Pod(&n); !s.ok()) return s;
  if (n > in->remaining()) {
    return absl::DataLossError("checkpoint: the trace length is corrupt");
  }
  result_.trace.assign(n, TracePoint{});
  for (TracePoint& p : result_.trace) {
    if (auto s = in->Pod(&p.iteration); !s.ok()) return s;
    if (auto s = in->Pod(&p.particle_steps); !s.ok()) return s;
    if (auto s = in->Pod(&p.meta_loss); !s.ok()) return s;
    p.theta.resize(theta_.size());
    if (auto s = in->Matrix(&p.theta); !s.ok()) return s;
  }
  if (auto s = estimator_->Load(in); !s.ok()) return s;
  return optimizer_->Load(in);
}

absl::StatusOr<MetaTrainingResult> RunMetaTraining(
    const UnrolledProblem& problem, GradientEstimator* estimator,
    OuterOptimizer* optimizer, Eigen::VectorXd theta0,
    const MetaTrainingOptions& options, const StepCallback& on_step) {
  MetaTrainer trainer(problem, estimator, optimizer, std::move(theta0),
                      options, on_step);
  if (auto s = trainer.RunUntil(options.iterations); !s.ok()) return s;
  return trainer.Result();
}

}  // namespace es
