#include "estimators/gradient/gradient_estimator_factory.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/gradient/rtrl.h"
#include "estimators/gradient/tbptt.h"
#include "estimators/gradient/uoro.h"

namespace es {
namespace {

template <typename T>
absl::StatusOr<std::unique_ptr<GradientEstimator>> Upcast(
    absl::StatusOr<std::unique_ptr<T>> e) {
  if (!e.ok()) return e.status();
  return std::unique_ptr<GradientEstimator>(std::move(*e));
}

absl::Status UnknownMethod(const std::string& method) {
  return absl::InvalidArgumentError(
      absl::StrCat("unknown gradient estimator \"", method, "\"; allowed: ",
                   absl::StrJoin(GradientMethodNames(), ", ")));
}

}  // namespace

const std::vector<std::string>& GradientMethodNames() {
  static const auto* names = new std::vector<std::string>{
      "tbptt_k<K>", "tbptt", "rtrl", "uoro", "dodge"};
  return *names;
}

absl::StatusOr<std::unique_ptr<GradientEstimator>> MakeGradientEstimator(
    const DifferentiableProblem* problem, const GradientEstimatorSpec& spec) {
  const std::string& m = spec.method;
  if (m == "rtrl") {
    return Upcast(Rtrl::Create(problem, RtrlOptions{spec.truncation}));
  }
  if (m == "tbptt") {
    return Upcast(Tbptt::Create(problem, TbpttOptions{spec.truncation}));
  }
  if (absl::StartsWith(m, "tbptt_k")) {
    const std::string digits = m.substr(7);
    int k = 0;
    const bool all_digits =
        !digits.empty() && digits.size() <= 9 &&
        std::all_of(digits.begin(), digits.end(),
                    [](char c) { return std::isdigit(c) != 0; });
    if (!all_digits || !absl::SimpleAtoi(digits, &k) || k < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient estimator \"", m,
          "\": the truncation after 'tbptt_k' must be an integer >= 1 "
          "(e.g. tbptt_k10)"));
    }
    return Upcast(Tbptt::Create(problem, TbpttOptions{k}));
  }
  if (m == "uoro") {
    UoroOptions o;
    o.truncation = spec.truncation;
    o.seed = spec.seed;
    o.epsilon = spec.uoro_epsilon;
    return Upcast(Uoro::Create(problem, o));
  }
  if (m == "dodge") {
    DodgeOptions o;
    o.truncation = spec.truncation;
    o.seed = spec.seed;
    o.num_directions = spec.num_directions;
    o.direction_stream = spec.direction_stream;
    o.direction_provider = spec.direction_provider;
    return Upcast(Dodge::Create(problem, o));
  }
  return UnknownMethod(m);
}

}  // namespace es
