#include "experiments/figure.h"
#include "experiments/mnist_lr_schedule.h"

int main(int argc, char** argv) {
  using es::experiments::LrSchedulePresets;
  return es::experiments::FigureMain(
      {.binary = "fig7_mnist_lr_schedule",
       .figure = "Fig. 7 (MNIST LR schedule, K = 10, Sec. 4.2)",
       .description =
           "theta = (log init LR, log LR decay) and meta-loss (sum of the T "
           "per-step training losses of a fresh unroll) over outer iterations "
           "for tes, pes, es_single; meta-loss grid",
       .presets = LrSchedulePresets({{"methods", "tes,pes,es_single"},
                                     {"iterations", "3000"},
                                     {"truncation", "10"},
                                     {"eval_every", "100"}},
                                    {{"iterations", "1000"}, {"eval_every", "25"}},
                                    {{"iterations", "40"}, {"eval_every", "10"}}),
       .run = [](es::experiments::FigureRun& run) {
         return es::experiments::RunLrScheduleFigure(run, {});
       }},
      argc, argv);
}
