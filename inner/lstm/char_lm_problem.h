// char_lm_problem.h - online training of a tiny character-level LSTM
// language model as a batched UnrolledProblem: the inner problem of
// ES-Single's variance study (Vicol, Kolter, Swersky, ICML 2023, Sec. 3.1,
// Fig. 1), which reuses the PES paper's experiment (Vicol, Metz,
// Sohl-Dickstein, ICML 2021; google-research persistent_es/rnn_variance.py).
//
// Inner problem of particle i (theta row i = all weights of one LSTM):
//   one-hot input over V symbols -> 1-layer LSTM (H units) -> softmax over V;
//   maths and layout in inner/kernels/batched_lstm_layout.h, P = 4H(V + H) +
//   8H + HV + V (1,440 for the default V = 50, H = 5);
//   state s = (h, c) of B streams (B = 1 by default, as the PES code);
//   per-step loss L_t = mean over streams of the cross-entropy (nats) of
//   predicting x_{t+1} from x_0..x_t; T steps read T + 1 symbols
//   x_0..x_T of each stream; meta-loss = sum_{t=1..T} L_t. T = 1000 in
//   Fig. 1 (configurable). The step counter t0 of Unroll indexes the text.
//
// Text sources (the paper's three Fig. 1 scenarios):
//   kRandom  i.i.d. uniform symbols: symbol t of stream b is
//            floor(u V), u = the 32-bit Philox word t % 4 of
//            RandomBlock(RandomKey{seed, Stream::kMinibatch}, draw = b,
//            pair = 0, index = t / 4) (unroll gradients i.i.d.);
//   kRepeat  one symbol repeated (`repeat_token`; default 24 = 'a', the
//            first symbol of ptb.char.train as in the PES code), so every
//            unroll has the same gradient;
//   kPtb     real text: stream b reads ptb.char.<split> (inner/data/
//            ptb_reader.h) from offset start + b (T + 1).
// Keying (what `seed`/`start` are):
//   kFixed       one sequence for every episode: seed = data_seed, start =
//                ptb_offset (default 0: the PES code takes the first T + 1
//                symbols of the training text and a fixed random sequence).
//                Right for Fig. 1, where the gradient of ONE fixed L(theta)
//                is estimated over many repeats with different seeds.
//   kEpisodeKey  seed = the episode key; PTB start uniform over the valid
//                offsets, floor(u (n - B (T + 1) + 1)) from the key's first
//                Philox word (RandomKey{key, kMinibatch}, draw 0, pair 1).
//
// Model size (PES rnn_variance.py: nhid = 5, batch_size = 1, sigma = 1e-3):
// H = 5, V = 50. The PES model feeds an embedding E (V x 5) into i2h
// (5 x 4H); our kernel takes a one-hot input, so W_x = E W_i2h is one V x 4H
// matrix (790 parameters there, 1,440 here: the same functions and more).
// InitialTheta reproduces the PES (Haiku) initial distribution: E uniform in
// [-0.1, 0.1]; W_i2h, W_h, W_o truncated normal (2 sigma) with sigma =
// 1/sqrt(fan in) (5, H, H); every bias 0; W_x = E W_i2h.
//
// Layout and kernel: batched over particles on BatchedLstm (kAuto: the SoA
// path at H = 5, B = 1). Unroll fills the [K, N, B] tokens of its particle
// range, packs only that range's theta rows, and runs the kernel
// (lstm_batch.h; calls on disjoint ranges are serialised).
//
// Divergence: huge or non-finite weights give non-finite losses; nothing
// crashes.
//
// Usage:
//   CharLmConfig config;                          // PTB, T = 1000, H = 5
//   auto problem = CharLmProblem::Create(config); // reads $ES_SINGLE_DATA_DIR
//   Eigen::VectorXd theta = (*problem)->InitialTheta(/*seed=*/42);
//   double meta_loss = *(*problem)->Evaluate(theta, 0, /*key=*/0);
#ifndef ES_SINGLE_INNER_LSTM_CHAR_LM_PROBLEM_H_
#define ES_SINGLE_INNER_LSTM_CHAR_LM_PROBLEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "estimators/unrolled_problem.h"
#include "inner/data/ptb_reader.h"
#include "inner/kernels/batched_lstm.h"
#include "inner/kernels/batched_lstm_layout.h"

namespace es {

struct CharLmConfig {
  enum class Source { kRandom, kRepeat, kPtb };
  enum class Keying { kFixed, kEpisodeKey };

  Source source = Source::kPtb;
  Keying keying = Keying::kFixed;
  int64_t horizon = 1000;   // T (Sec. 3.1)
  int64_t hidden_size = 5;  // H (PES rnn_variance.py nhid)
  int64_t vocab_size = kPtbVocabSize;  // V; must be 50 for kPtb
  int64_t batch_size = 1;   // B (PES rnn_variance.py batch_size)
  uint64_t data_seed = 5;   // kRandom + kFixed (PES: PRNGKey(5))
  int32_t repeat_token = 24;  // kRepeat ('a')
  PtbSplit ptb_split = PtbSplit::kTrain;
  int64_t ptb_offset = 0;   // kPtb + kFixed
  std::string data_dir;     // kPtb: "" means $ES_SINGLE_DATA_DIR
  LstmPath path = LstmPath::kAuto;

  // T >= 1, H in [1, 2^14], V in [2, 2^16] (50 for kPtb), B in [1, 2^16],
  // repeat_token in [0, V), ptb_offset >= 0; names the bad value.
  absl::Status Validate() const;
  LstmShape shape() const { return LstmShape{vocab_size, hidden_size}; }
};

// "random", "repeat", "ptb".
const char* CharLmSourceName(CharLmConfig::Source source);

class CharLmProblem : public UnrolledProblem {
 public:
  // Reads the PTB split for kPtb (errors name the path) and checks that the
  // text holds the B (T + 1) symbols a window needs.
  static absl::StatusOr<std::unique_ptr<CharLmProblem>> Create(
      const CharLmConfig& config);
  // kPtb on the given symbols instead of a file (ids in [0, V)).
  static absl::StatusOr<std::unique_ptr<CharLmProblem>> CreateWithText(
      const CharLmConfig& config, std::vector<int32_t> text);

  // e.g. "char_lm_ptb_V50_H5_B1_T1000".
  std::string name() const override;
  int theta_dim() const override {
    return static_cast<int>(config_.shape().num_params());
  }
  int64_t horizon() const override { return config_.horizon; }

  absl::StatusOr<std::unique_ptr<ParticleStates>> NewStates(
      int num_particles) const override;
  void Reset(ParticleStates* states, absl::Span<const int> particles,
             absl::Span<const uint64_t> episode_keys) const override;
  // Particle i reads symbols t0[i] .. t0[i] + K of its streams; needs
  // 0 <= t0[i] and t0[i] + K <= T (InvalidArgument otherwise), and thetas
  // with a row for every particle of the batch (N rows).
  absl::Status Unroll(ParticleStates* states, int begin, int end,
                      const RowMatrixXd& thetas, const int64_t* t0,
                      int num_steps, double* losses) const override;

  const CharLmConfig& config() const { return config_; }
  // Symbol t in [0, T] of stream b of the episode with key `key`.
  int32_t Symbol(uint64_t key, int64_t stream, int64_t t) const;
  // First text offset of the episode (kPtb; 0 for the other sources).
  int64_t WindowStart(uint64_t key) const;
  // The PES initial distribution (banner), keyed by RandomKey{seed,
  // Stream::kInit}: draw 0 = E, 1 = W_i2h, 2 = W_h, 3 = W_o.
  Eigen::VectorXd InitialTheta(uint64_t seed) const;
  std::string ImplementationInfo(const ParticleStates& states) const;

 private:
  CharLmProblem(const CharLmConfig& config, std::vector<int32_t> text);
  void FillSymbols(uint64_t key, int64_t start, int64_t stream, int64_t first,
                   int64_t count, int32_t* out) const;

  CharLmConfig config_;
  std::vector<int32_t> text_;   // kPtb: the corpus
  std::vector<int32_t> fixed_;  // kFixed / kRepeat: [B, T + 1] symbols
};

}  // namespace es

#endif  // ES_SINGLE_INNER_LSTM_CHAR_LM_PROBLEM_H_
