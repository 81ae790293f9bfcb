// figure_sidecar.cc - FigureRun::Finish: the JSON sidecar every figure
// writes beside its CSVs, and the commit of the outputs; see figure.h.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "experiments/figure.h"
#include "experiments/figure_io.h"

namespace es::experiments {

namespace {

nlohmann::ordered_json Number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
}

nlohmann::ordered_json Numbers(const std::vector<double>& v) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (double x : v) a.push_back(Number(x));
  return a;
}

}  // namespace

absl::Status FigureRun::Finish(double wall_seconds,
                               const std::string& command_line) {
  nlohmann::ordered_json& j = outputs_.sidecar();
  nlohmann::ordered_json extra = j;  // what the figure put there itself
  j = nlohmann::ordered_json::object();
  j["binary"] = binary();
  j["figure"] = figure_.figure;
  j["description"] = figure_.description;
  j["preset"] = preset_;
  j["command"] = command_line;
  j["git_commit"] = GitCommit();
  j["written_at_utc"] = UtcNow();
  j["wall_seconds"] = wall_seconds;
  j["processes"] = {
      {"ranks", ranks()},
      {"threads_per_rank", absl::GetFlag(FLAGS_threads)},
      {"bytes_sent_by_rank_0",
       group_ != nullptr && rank() == 0 ? group_->bytes_sent() : int64_t{0}}};
  auto seeds = Seeds();
  j["seeds"] = seeds.ok() ? nlohmann::ordered_json(*seeds)
                          : nlohmann::ordered_json::array();
  for (const auto& [k, v] : LibraryVersions()) j["library_versions"][k] = v;
  for (const auto& [k, v] : FigureFlags(figure_)) j["flags"][k] = v;
  for (const Preset& p : figure_.presets) {
    for (const auto& [k, v] : p.values) j["presets"][p.name][k] = v;
  }
  j["settings"] = settings_;
  j["methods"] = nlohmann::ordered_json::object();
  // Default: each method's "methods" entry aggregates its largest N.
  auto largest = [this](const std::string& method) {
    int n = 0;
    for (const RunSummary& r : runs_) {
      if (r.method == method) n = std::max(n, r.num_particles);
    }
    return n;
  };
  const std::vector<MethodSummary> methods =
      SummarizeMethods(runs_, primary_ ? primary_ : largest);
  std::printf("%s", SummaryTable(methods).c_str());
  for (const MethodSummary& m : methods) {
    auto& e = j["methods"][m.method];
    e["seconds_per_estimate"] = Number(m.seconds_per_estimate);
    e["final_meta_loss"] = Number(m.final_meta_loss);
    e["num_particles"] = m.num_particles;
    e["final_meta_loss_per_seed"] = Numbers(m.final_meta_loss_per_seed);
    e["final_theta_mean"] = Numbers(m.final_theta_mean);
  }
  j["runs"] = nlohmann::ordered_json::array();
  nlohmann::ordered_json diverged = nlohmann::ordered_json::array();
  for (const RunSummary& r : runs_) {
    nlohmann::ordered_json e;
    e["method"] = r.method;
    e["num_particles"] = r.num_particles;
    e["seed"] = r.seed;
    e["iterations"] = r.iterations;
    e["seconds_per_estimate"] = Number(r.seconds_per_estimate);
    e["wall_seconds"] = Number(r.wall_seconds);
    e["final_meta_loss"] = Number(r.final_meta_loss);
    e["final_theta"] = Numbers(r.final_theta);
    e["particle_steps"] = r.particle_steps;
    e["dropped_pairs"] = r.dropped_pairs;
    e["all_dropped_estimates"] = r.all_dropped_estimates;
    j["runs"].push_back(e);
    if (r.all_dropped_estimates > 0 || !std::isfinite(r.final_meta_loss)) {
      diverged.push_back(absl::StrCat(r.method, " N=", r.num_particles,
                                      " seed=", r.seed));
    }
  }
  j["divergence"] = diverged;
  for (const auto& t : outputs_.tables()) {
    j["outputs"][t->file_name()] = {{"rows", t->rows().size()},
                                    {"columns", t->columns()}};
  }
  for (auto& [k, v] : extra.items()) j[k] = v;
  if (rank() != 0) return absl::OkStatus();  // rank 0 writes
  return outputs_.Commit();
}

}  // namespace es::experiments
