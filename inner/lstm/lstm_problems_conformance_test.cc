// The problem conformance suite (estimators/testing/problem_conformance.h)
// for the LSTM inner problems: the copy task (paper size and small models,
// both kernel paths) and the character LM (three sources, both keyings, both
// kernel paths). It covers: same key same bits, CopyParticle/Reset,
// sub-ranges equal to the particles alone (bit for bit), 1 vs 2 estimator
// threads and 1 vs 2 OpenMP threads (bit for bit), Evaluate, Save/Load
// continuing bit for bit, and divergence as a non-finite loss.
#include <memory>
#include <vector>

#include "estimators/testing/problem_conformance.h"
#include "inner/lstm/char_lm_problem.h"
#include "inner/lstm/copy_task_problem.h"

namespace es::test {
namespace {

using Source = CharLmConfig::Source;
using Keying = CharLmConfig::Keying;

ProblemCase CopyCase(const char* name, int64_t H, int64_t B, LstmPath path) {
  CopyTaskConfig config;
  config.hidden_size = H;
  config.batch_size = B;
  config.path = path;
  config.curriculum.initial_length = 3;  // strings end inside the unrolls
  ProblemCase c;
  c.name = name;
  c.make = [config]() -> absl::StatusOr<std::shared_ptr<const UnrolledProblem>> {
    auto p = CopyTaskProblem::Create(config);
    if (!p.ok()) return p.status();
    return std::shared_ptr<const UnrolledProblem>(*std::move(p));
  };
  c.theta = CopyTaskInitialTheta(config.shape(), 1);
  c.num_steps = 4;
  c.eval_length = 9;
  return c;
}

ProblemCase LmCase(const char* name, Source source, Keying keying, int64_t B,
                   LstmPath path) {
  CharLmConfig config;
  config.source = source;
  config.keying = keying;
  config.horizon = 20;
  config.batch_size = B;
  config.path = path;
  ProblemCase c;
  c.name = name;
  c.make = [config]() -> absl::StatusOr<std::shared_ptr<const UnrolledProblem>> {
    std::vector<int32_t> text(2000);
    for (size_t k = 0; k < text.size(); ++k) text[k] = (k * 13 + k / 7) % 50;
    auto p = config.source == Source::kPtb
                 ? CharLmProblem::CreateWithText(config, text)
                 : CharLmProblem::Create(config);
    if (!p.ok()) return p.status();
    return std::shared_ptr<const UnrolledProblem>(*std::move(p));
  };
  auto p = CharLmProblem::Create(
      [&] { CharLmConfig r = config; r.source = Source::kRandom; return r; }());
  c.theta = (*p)->InitialTheta(3);
  c.num_steps = 3;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Lstm, ProblemConformanceTest,
    ::testing::Values(
        CopyCase("copy_task_paper_size", 100, 32, LstmPath::kAuto),
        CopyCase("copy_task_small_onednn", 9, 5, LstmPath::kOneDnn),
        CopyCase("copy_task_small_soa", 16, 4, LstmPath::kAuto),
        LmCase("char_lm_random_fixed", Source::kRandom, Keying::kFixed, 1,
               LstmPath::kAuto),
        LmCase("char_lm_random_keyed", Source::kRandom, Keying::kEpisodeKey, 1,
               LstmPath::kAuto),
        LmCase("char_lm_repeat", Source::kRepeat, Keying::kFixed, 1,
               LstmPath::kAuto),
        LmCase("char_lm_ptb_keyed_b3", Source::kPtb, Keying::kEpisodeKey, 3,
               LstmPath::kAuto),
        LmCase("char_lm_ptb_fixed_onednn", Source::kPtb, Keying::kFixed, 2,
               LstmPath::kOneDnn)),
    ProblemCaseName);

}  // namespace
}  // namespace es::test
