#include "absl/flags/flag.h"
#include "experiments/figure.h"
#include "experiments/mnist_lr_schedule.h"

ABSL_FLAG(double, small_learning_rate, 0.001,
          "Adam learning rate of pes_lr_small (Fig. 18: 1e-3).");

namespace es::experiments {
namespace {

// pes_lr_small: PES at the smaller outer learning rate of Fig. 18.
absl::Status Run(FigureRun& run) {
  auto optimizer = run.Optimizer();
  if (!optimizer.ok()) return optimizer.status();
  optimizer->learning_rate = absl::GetFlag(FLAGS_small_learning_rate);
  run.Setting("small_learning_rate", optimizer->learning_rate);
  return RunLrScheduleFigure(
      run, {.register_methods = [&](const MlpHpoProblem* problem, MlpDataView,
                                    MethodRegistry* registry) {
        return AddEsVariant(problem, "pes", "pes_lr_small",
                            {.optimizer = *optimizer}, registry);
      }});
}

}  // namespace
}  // namespace es::experiments

int main(int argc, char** argv) {
  using es::experiments::LrSchedulePresets;
  return es::experiments::FigureMain(
      {.binary = "fig17_18_mnist_k1",
       .figure = "Figs. 17 and 18 (MNIST LR schedule, K = 1, App. C)",
       .description =
           "theta = (log init LR, log LR decay) and meta-loss (sum of the T "
           "per-step training losses of a fresh unroll) over outer "
           "iterations, K = 1: es_single, pes at two outer learning rates, "
           "tes; meta-loss grid",
       .presets = LrSchedulePresets({{"methods", "es_single,pes,pes_lr_small,tes"},
                                     {"iterations", "15000"},
                                     {"truncation", "1"},
                                     {"eval_every", "500"}},
                                    {{"iterations", "3000"}, {"eval_every", "100"}},
                                    {{"iterations", "160"}, {"eval_every", "40"}}),
       .run = es::experiments::Run},
      argc, argv);
}
