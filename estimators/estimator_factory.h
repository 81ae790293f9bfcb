// estimator_factory.h - builds any ES-family estimator by its method name
// (the names used in every CSV file):
//
//   es_single     ES-Single (Alg. 2)                         online_es.h
//   pes           PES (Vicol et al. 2021)                     online_es.h
//   es_gen        Alg. 4 / App. F, resampling interval M       online_es.h
//   es_mix        App. G alpha/beta mixture (eq. 42)           online_es.h
//   tes           truncated ES, one shared mean state (C.1)    truncated_es.h
//   tes_particle  truncated ES, a state per particle (C.1)     online_es.h
//   full_es       full-unroll ES (eq. 3)                       full_es.h
//
// Usage:
//   EstimatorSpec spec{.method = "pes"};
//   spec.es.num_particles = 100;
//   auto est = MakeEstimator(&problem, spec);
#ifndef ES_SINGLE_ESTIMATORS_ESTIMATOR_FACTORY_H_
#define ES_SINGLE_ESTIMATORS_ESTIMATOR_FACTORY_H_

#include <memory>
#include <string>
#include <vector>

#include "estimators/communicator.h"
#include "estimators/estimator.h"
#include "estimators/unrolled_problem.h"

namespace es {

struct EstimatorSpec {
  std::string method = "es_single";
  EsOptions es;
  int resample_interval = 1;  // es_gen: M
  double alpha = 0.5;         // es_mix
  double beta = 0.5;          // es_mix
};

// The method names MakeEstimator accepts.
const std::vector<std::string>& EsMethodNames();

absl::StatusOr<std::unique_ptr<GradientEstimator>> MakeEstimator(
    const UnrolledProblem* problem, const EstimatorSpec& spec,
    Communicator* comm = nullptr);

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_ESTIMATOR_FACTORY_H_
