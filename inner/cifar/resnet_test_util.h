// resnet_test_util.h - deterministic test data for the batched ResNet
// (batched_resnet.h) and its reference (resnet_reference.h): parameters in
// the ranges a freshly initialised network has, normalised-looking images,
// labels. Test helper (testonly).
//
// Usage:
//   std::vector<float> params = RandomResNetParams(config, /*seed=*/1);
//   std::vector<float> inputs = RandomResNetInputs(config, /*seed=*/2);
//   std::vector<int32_t> labels = ResNetLabels(config);
#ifndef ES_SINGLE_INNER_CIFAR_RESNET_TEST_UTIL_H_
#define ES_SINGLE_INNER_CIFAR_RESNET_TEST_UTIL_H_

#include <cstdint>
#include <vector>

#include "inner/cifar/resnet_layout.h"

namespace es {

// Conv weights N(0, 1/fan_in), gamma 1 + 0.2 N(0, 1), beta 0.2 N(0, 1), fc
// weights N(0, 1/w3) (Philox, keyed by seed).
std::vector<float> RandomResNetParams(const ResNetConfig& config,
                                      uint64_t seed);
// N(0, 1) pixels, config.inputs_size() floats.
std::vector<float> RandomResNetInputs(const ResNetConfig& config,
                                      uint64_t seed);
// (7 * j + 3) mod C for every label entry.
std::vector<int32_t> ResNetLabels(const ResNetConfig& config);
// Positive "running" variances and means of size stats_size().
std::vector<float> RandomResNetStats(const ResNetConfig& config, uint64_t seed,
                                     bool variance);
// Particle i's images [B, 3, S, S] out of per-particle inputs
// [B, N, 3, S, S] (or the shared ones), as doubles for the reference.
std::vector<double> ParticleImages(const ResNetConfig& config,
                                   const std::vector<float>& inputs,
                                   int64_t particle);
std::vector<int32_t> ParticleLabels(const ResNetConfig& config,
                                    const std::vector<int32_t>& labels,
                                    int64_t particle);

}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_RESNET_TEST_UTIL_H_
