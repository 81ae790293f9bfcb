#include "estimators/estimator_factory.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "estimators/full_es.h"
#include "estimators/online_es.h"
#include "estimators/truncated_es.h"

namespace es {

const std::vector<std::string>& EsMethodNames() {
  static const auto* names = new std::vector<std::string>{
      "es_single", "pes", "es_gen", "es_mix", "tes", "tes_particle", "full_es"};
  return *names;
}

absl::StatusOr<std::unique_ptr<GradientEstimator>> MakeEstimator(
    const UnrolledProblem* problem, const EstimatorSpec& spec,
    Communicator* comm) {
  auto online = [&](OnlineEsRule rule)
      -> absl::StatusOr<std::unique_ptr<GradientEstimator>> {
    auto e = OnlineEs::Create(problem, spec.es, rule, comm);
    if (!e.ok()) return e.status();
    return std::unique_ptr<GradientEstimator>(std::move(*e));
  };
  const std::string& m = spec.method;
  if (m == "es_single") return online(MakeEsSingle());
  if (m == "pes") return online(MakePes());
  if (m == "es_gen") return online(MakeEsGeneralised(spec.resample_interval));
  if (m == "es_mix") return online(MakeEsMixture(spec.alpha, spec.beta));
  if (m == "tes_particle") return online(MakeTruncatedEsPerParticle());
  if (m == "tes") {
    auto e = TruncatedEs::Create(problem, spec.es, comm);
    if (!e.ok()) return e.status();
    return std::unique_ptr<GradientEstimator>(std::move(*e));
  }
  if (m == "full_es") {
    auto e = FullEs::Create(problem, spec.es, comm);
    if (!e.ok()) return e.status();
    return std::unique_ptr<GradientEstimator>(std::move(*e));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown estimator \"", m, "\"; allowed: ",
                   absl::StrJoin(EsMethodNames(), ", ")));
}

}  // namespace es
