// char_lm_problem.cc - see char_lm_problem.h.
#include "inner/lstm/char_lm_problem.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <new>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "estimators/philox.h"
#include "inner/lstm/lstm_batch.h"

namespace es {
namespace {

using Source = CharLmConfig::Source;
using Keying = CharLmConfig::Keying;

class CharLmStates : public ParticleStates {
 public:
  explicit CharLmStates(std::unique_ptr<LstmBatch> batch)
      : batch(std::move(batch)) {
    keys.assign(this->batch->num_particles(), 0);
    starts.assign(this->batch->num_particles(), 0);
  }
  int num_particles() const override { return batch->num_particles(); }
  void CopyParticle(int from, int to) override {
    ES_CHECK(from >= 0 && from < num_particles() && to >= 0 &&
             to < num_particles());
    batch->CopyState(from, to);
    keys[to] = keys[from];
    starts[to] = starts[from];
  }
  absl::Status Save(StateWriter* out) const override {
    out->Tag("char_lm");
    out->Vector(keys);
    out->Vector(starts);
    batch->Save(out);
    return absl::OkStatus();
  }
  absl::Status Load(StateReader* in) override {
    if (auto s = in->Tag("char_lm"); !s.ok()) return s;
    std::vector<uint64_t> new_keys;
    std::vector<int64_t> new_starts;
    if (auto s = in->Vector(&new_keys, num_particles()); !s.ok()) return s;
    if (auto s = in->Vector(&new_starts, num_particles()); !s.ok()) return s;
    for (int64_t start : new_starts) {
      if (start < 0 || start > max_start) {
        return absl::DataLossError(absl::StrCat(
            "checkpoint state: char LM window start ", start,
            " is outside [0, ", max_start, "]"));
      }
    }
    if (auto s = batch->Load(in); !s.ok()) return s;
    keys = std::move(new_keys);
    starts = std::move(new_starts);
    return absl::OkStatus();
  }

  std::unique_ptr<LstmBatch> batch;
  std::vector<uint64_t> keys;   // [N] episode keys
  std::vector<int64_t> starts;  // [N] text offset of stream 0 (kPtb)
  int64_t max_start = 0;        // largest valid start
};

CharLmStates* Cast(ParticleStates* states) {
  ES_CHECK(states != nullptr);
  auto* s = dynamic_cast<CharLmStates*>(states);
  ES_CHECK_MSG(s != nullptr, "states were not created by CharLmProblem");
  return s;
}

// A draw of N(0, 1) conditioned on |z| <= 2, by rejection over the Philox
// pair word (P(reject) = 4.6%; 64 rejections in a row never happen in
// practice, and would give 0).
double TruncatedNormal(const RandomKey& key, uint64_t draw, uint32_t coord) {
  for (uint32_t attempt = 0; attempt < 64; ++attempt) {
    const double z = StandardNormal(key, draw, attempt, coord);
    if (std::abs(z) <= 2.0) return z;
  }
  return 0.0;
}

// Calls fn(k, symbol t = first + k) for k in [0, count) of stream `stream`
// of the text source (the one place the sources are defined): kRepeat the
// repeated symbol, kPtb text[start + stream (T + 1) + t], kRandom the Philox
// word t % 4 of block t / 4 (draw = stream), scaled to [0, V).
template <typename Fn>
void VisitSymbols(const CharLmConfig& config, const std::vector<int32_t>& text,
                  uint64_t key, int64_t start, int64_t stream, int64_t first,
                  int64_t count, Fn fn) {
  const int64_t T = config.horizon;
  switch (config.source) {
    case Source::kRepeat:
      for (int64_t k = 0; k < count; ++k) fn(k, config.repeat_token);
      return;
    case Source::kPtb: {
      const int32_t* src = text.data() + start + stream * (T + 1) + first;
      for (int64_t k = 0; k < count; ++k) fn(k, src[k]);
      return;
    }
    case Source::kRandom: {
      const RandomKey rk{key, Stream::kMinibatch};
      const uint64_t V = static_cast<uint64_t>(config.vocab_size);
      std::array<uint32_t, 4> block{};
      for (int64_t k = 0; k < count; ++k) {
        const int64_t t = first + k;
        if (k == 0 || t % 4 == 0) {
          block = RandomBlock(rk, static_cast<uint64_t>(stream), 0,
                              static_cast<uint32_t>(t / 4));
        }
        fn(k, static_cast<int32_t>((uint64_t{block[t % 4]} * V) >> 32));
      }
      return;
    }
  }
}

}  // namespace

const char* CharLmSourceName(Source source) {
  switch (source) {
    case Source::kRandom:
      return "random";
    case Source::kRepeat:
      return "repeat";
    case Source::kPtb:
      return "ptb";
  }
  return "?";
}

absl::Status CharLmConfig::Validate() const {
  if (horizon < 1 || horizon > (int64_t{1} << 30)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "char LM: horizon T must be in [1, 2^30], got ", horizon));
  }
  if (absl::Status s = shape().Validate(); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("char LM: ", s.message()));
  }
  if (source == Source::kPtb && vocab_size != kPtbVocabSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "char LM: the PTB source has V = ", kPtbVocabSize,
        " symbols; vocab_size is ", vocab_size));
  }
  if (batch_size < 1 || batch_size > (int64_t{1} << 16)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "char LM: batch_size B must be in [1, 65536], got ", batch_size));
  }
  if (source == Source::kRepeat &&
      (repeat_token < 0 || repeat_token >= vocab_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("char LM: repeat_token must be a symbol id in [0, V = ",
                     vocab_size, "), got ", repeat_token));
  }
  if (ptb_offset < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "char LM: ptb_offset must be >= 0, got ", ptb_offset));
  }
  return absl::OkStatus();
}

CharLmProblem::CharLmProblem(const CharLmConfig& config,
                             std::vector<int32_t> text)
    : config_(config), text_(std::move(text)) {
  const int64_t B = config.batch_size, T = config.horizon;
  if (config.keying == Keying::kFixed || config.source == Source::kRepeat) {
    fixed_.resize(B * (T + 1));
    for (int64_t b = 0; b < B; ++b) {
      FillSymbols(config.data_seed, config.ptb_offset, b, 0, T + 1,
                  fixed_.data() + b * (T + 1));
    }
  }
}

absl::StatusOr<std::unique_ptr<CharLmProblem>> CharLmProblem::Create(
    const CharLmConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  std::vector<int32_t> text;
  if (config.source == Source::kPtb) {
    absl::StatusOr<std::vector<int32_t>> read =
        LoadPtbChar(config.ptb_split, config.data_dir);
    if (!read.ok()) return read.status();
    text = *std::move(read);
  }
  return CreateWithText(config, std::move(text));
}

absl::StatusOr<std::unique_ptr<CharLmProblem>> CharLmProblem::CreateWithText(
    const CharLmConfig& config, std::vector<int32_t> text) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (config.source == Source::kPtb) {
    const int64_t need = config.batch_size * (config.horizon + 1) +
                         (config.keying == Keying::kFixed ? config.ptb_offset
                                                          : 0);
    if (static_cast<int64_t>(text.size()) < need) {
      return absl::InvalidArgumentError(absl::StrCat(
          "char LM: the text has ", text.size(), " symbols; B (T + 1)",
          config.keying == Keying::kFixed ? " + ptb_offset" : "", " = ", need,
          " are needed"));
    }
    for (size_t k = 0; k < text.size(); ++k) {
      if (text[k] < 0 || text[k] >= config.vocab_size) {
        return absl::InvalidArgumentError(
            absl::StrCat("char LM: text symbol ", k, " is ", text[k],
                         ", not in [0, V = ", config.vocab_size, ")"));
      }
    }
  }
  try {
    return std::unique_ptr<CharLmProblem>(
        new CharLmProblem(config, std::move(text)));
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        "char LM: not enough memory for the fixed sequence");
  }
}

std::string CharLmProblem::name() const {
  return absl::StrCat("char_lm_", CharLmSourceName(config_.source), "_V",
                      config_.vocab_size, "_H", config_.hidden_size, "_B",
                      config_.batch_size, "_T", config_.horizon);
}

int64_t CharLmProblem::WindowStart(uint64_t key) const {
  if (config_.source != Source::kPtb) return 0;
  if (config_.keying == Keying::kFixed) return config_.ptb_offset;
  const int64_t span =
      static_cast<int64_t>(text_.size()) -
      config_.batch_size * (config_.horizon + 1) + 1;
  const uint32_t u = RandomBlock(RandomKey{key, Stream::kMinibatch}, 0, 1, 0)[0];
  return static_cast<int64_t>(
      (static_cast<uint64_t>(u) * static_cast<uint64_t>(span)) >> 32);
}

void CharLmProblem::FillSymbols(uint64_t key, int64_t start, int64_t stream,
                                int64_t first, int64_t count,
                                int32_t* out) const {
  VisitSymbols(config_, text_, key, start, stream, first, count,
               [out](int64_t k, int32_t sym) { out[k] = sym; });
}

int32_t CharLmProblem::Symbol(uint64_t key, int64_t stream, int64_t t) const {
  ES_CHECK(stream >= 0 && stream < config_.batch_size && t >= 0 &&
           t <= config_.horizon);
  if (!fixed_.empty()) return fixed_[stream * (config_.horizon + 1) + t];
  int32_t s = 0;
  FillSymbols(key, WindowStart(key), stream, t, 1, &s);
  return s;
}

absl::StatusOr<std::unique_ptr<ParticleStates>> CharLmProblem::NewStates(
    int num_particles) const {
  absl::Status made = absl::OkStatus();
  auto states = MakeParticleStates(
      name(), num_particles, [&]() -> std::unique_ptr<ParticleStates> {
        BatchedLstmConfig kc;
        kc.shape = config_.shape();
        kc.batch_size = config_.batch_size;
        kc.num_particles = num_particles;
        kc.path = config_.path;
        absl::StatusOr<std::unique_ptr<LstmBatch>> batch = LstmBatch::Create(kc);
        if (!batch.ok()) {
          made = batch.status();
          return nullptr;
        }
        auto s = std::make_unique<CharLmStates>(*std::move(batch));
        s->max_start =
            config_.source == Source::kPtb
                ? static_cast<int64_t>(text_.size()) -
                      config_.batch_size * (config_.horizon + 1)
                : 0;
        std::vector<int> all(num_particles);
        for (int i = 0; i < num_particles; ++i) all[i] = i;
        const std::vector<uint64_t> keys(num_particles, 0);
        Reset(s.get(), all, keys);
        return s;
      });
  if (!made.ok()) return made;
  return states;
}

void CharLmProblem::Reset(ParticleStates* states,
                          absl::Span<const int> particles,
                          absl::Span<const uint64_t> episode_keys) const {
  ES_CHECK(particles.size() == episode_keys.size());
  CharLmStates* s = Cast(states);
  for (size_t k = 0; k < particles.size(); ++k) {
    const int i = particles[k];
    ES_CHECK(i >= 0 && i < s->num_particles());
    s->batch->ZeroState(i);
    s->keys[i] = episode_keys[k];
    s->starts[i] = WindowStart(episode_keys[k]);
  }
}

absl::Status CharLmProblem::Unroll(ParticleStates* states, int begin, int end,
                                   const RowMatrixXd& thetas,
                                   const int64_t* t0, int num_steps,
                                   double* losses) const {
  CharLmStates* s = Cast(states);
  if (absl::Status st =
          ValidateUnrollArgs(*this, *s, begin, end, thetas, num_steps);
      !st.ok()) {
    return st;
  }
  const int64_t N = s->num_particles(), B = config_.batch_size;
  const int64_t T = config_.horizon;
  if (thetas.rows() < N) {
    return absl::InvalidArgumentError(absl::StrCat(
        "problem '", name(), "': thetas has ", thetas.rows(),
        " rows; the batch has ", N, " particles and thetas must cover all"));
  }
  for (int i = begin; i < end; ++i) {
    if (t0[i] < 0 || t0[i] + num_steps > T) {
      return absl::InvalidArgumentError(absl::StrCat(
          "problem '", name(), "': particle ", i, " at step t0 = ", t0[i],
          " cannot take ", num_steps, " steps within the horizon T = ", T));
    }
  }
  const int K = num_steps;
  return s->batch->Unroll(
      thetas, begin, end, K,
      [&](int32_t* tokens, int32_t* targets) {
        for (int64_t i = begin; i < end; ++i) {
          for (int64_t b = 0; b < B; ++b) {
            // Symbols t0 .. t0 + K: inputs are the first K, targets the last.
            auto put = [&](int64_t k, int32_t sym) {
              if (k > 0) targets[((k - 1) * N + i) * B + b] = sym;
              if (k < K) tokens[(k * N + i) * B + b] = sym;
            };
            if (!fixed_.empty()) {
              const int32_t* row = fixed_.data() + b * (T + 1) + t0[i];
              for (int64_t k = 0; k <= K; ++k) put(k, row[k]);
            } else {
              VisitSymbols(config_, text_, s->keys[i], s->starts[i], b, t0[i],
                           K + 1, put);
            }
          }
        }
      },
      losses);
}

Eigen::VectorXd CharLmProblem::InitialTheta(uint64_t seed) const {
  const LstmShape shape = config_.shape();
  const int64_t V = shape.vocab_size, H = shape.hidden_size, G = 4 * H;
  const RandomKey key{seed, Stream::kInit};
  const double sigma = 1.0 / std::sqrt(static_cast<double>(H));
  Eigen::MatrixXd e(V, H), w_i2h(H, G);
  for (int64_t v = 0; v < V; ++v) {
    for (int64_t j = 0; j < H; ++j) {
      e(v, j) = -0.1 + 0.2 * UniformOpen(key, 0, 0,
                                         static_cast<uint32_t>(v * H + j));
    }
  }
  for (int64_t k = 0; k < H * G; ++k) {
    w_i2h(k / G, k % G) = sigma * TruncatedNormal(key, 1, static_cast<uint32_t>(k));
  }
  const Eigen::MatrixXd w_x = e * w_i2h;  // V x 4H
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(shape.num_params());
  for (int64_t v = 0; v < V; ++v) {
    for (int64_t j = 0; j < G; ++j) theta[shape.w_x_offset() + v * G + j] = w_x(v, j);
  }
  for (int64_t k = 0; k < H * G; ++k) {
    theta[shape.w_h_offset() + k] =
        sigma * TruncatedNormal(key, 2, static_cast<uint32_t>(k));
  }
  for (int64_t k = 0; k < H * V; ++k) {
    theta[shape.w_o_offset() + k] =
        sigma * TruncatedNormal(key, 3, static_cast<uint32_t>(k));
  }
  return theta;  // b_x, b_h, b_o stay 0
}

std::string CharLmProblem::ImplementationInfo(
    const ParticleStates& states) const {
  const auto* s = dynamic_cast<const CharLmStates*>(&states);
  ES_CHECK_MSG(s != nullptr, "states were not created by CharLmProblem");
  return s->batch->ImplementationInfo();
}

}  // namespace es
