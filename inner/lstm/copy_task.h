// copy_task.h - the data and the curriculum of the copy task of Mujika,
// Meier and Steger (2018, "Approximating real-time recurrent learning with
// random Kronecker factors", Sec. 5.1) as ES-Single uses it (Vicol, Kolter,
// Swersky, ICML 2023, Sec. 4.3 and App. C "LSTM Copy Task"; Figs. 10, 16).
// Shared by the ES problem (copy_task_problem.h) and the single-model TBPTT
// path (copy_task_tbptt.h), so both read exactly the same token streams.
//
// Task: the model reads a random binary string of length L and must then
// output it. Encoding (4 symbols, one-hot in and out, V = 4), as in the copy
// task code of Mujika's group (github marcelomatheusgauy/
// optimal_kronecker_approximation, OK/OK_rank_r_unbiased.py, cp_data(): the
// task of Mujika et al. and Benzing et al. 2019):
//   kBit0 = 0, kBit1 = 1, kDelimiter = 2 (start marker), kBlank = 3.
// One string b_1..b_L takes 2L + 2 steps (input x_t, target y_t):
//   step    0    1 .. L        L+1    L+2 .. 2L+1
//   x_t     D    b_1 .. b_L    _      _   .. _       (L + 1 blanks)
//   y_t     _    _   .. _      D      b_1 .. b_L     (L + 1 blanks first)
// i.e. the model must echo the delimiter and the bits, one step each, once
// the blanks start. Every step has a target (the kernels have no mask, and
// the reference code averages the loss over all steps too), so the
// per-character cross-entropy counts the blank targets of the reading phase:
// a model that has learned the format but remembers nothing scores
// L / (2L + 2) bits per character (1/4 at L = 1, -> 1/2 for long strings),
// a perfect copier 0. Example, L = 2, bits 1 0:
//   x = D 1 0 _ _ _    y = _ _ _ D 1 0     (ids x = 2 1 0 3 3 3, y = 3 3 3 2 1 0)
//
// Streams: B independent streams per model (the minibatch of 32), each an
// endless concatenation of strings; (h, c) is never reset between strings
// (online learning; the reference code zeroes a stream's h when its next
// string starts: docs/lstm_notes.md). String j of stream b of the episode
// with key k has
//   length  L = max(1, T - s + floor(u * (s + 1))), u uniform in [0, 1):
//           uniform over {T - s, ..., T} and 1 if that is below 1 (paper
//           Sec. 4.3, s = 5 = length_spread; the reference code draws
//           T - randint(5), i.e. s = 4), T = the curriculum length at the
//           step where the string starts;
//   bits    b_p = bit p of Philox words;
// both from RandomBlock(RandomKey{k, Stream::kMinibatch}, draw = j,
// pair = 2b + 1 (length) or 2b (bits), index = p / 128), so the data is a
// pure function of (key, stream, string index, T).
//
// Curriculum (Mujika et al. Sec. 5.1; paper Sec. 4.3; constants from the
// reference code): start at T = 1 with an exponential moving average m of
// the per-character cross-entropy in bits of the model being trained (for
// ES, the mean model theta) at m = 1 bit; the EMA is per data step, so it
// does not depend on how steps are grouped into unrolls: an observation of
// the mean bits x over K steps does
//   m <- d^K m + (1 - d^K) x,   d = ema_decay = 0.999 per step,
// and then, if m < 0.15: T <- T + 1 and m <- ema_reset_bits = 0.3 (the
// restart keeps the lagging EMA from raising T again for a length never
// tested). The reference code checks when a stream's string ends; we check
// after every observation. Non-finite observations (a diverged model) are
// skipped and counted. docs/lstm_notes.md discusses these choices.
//
// Usage:
//   CopyCurriculum curriculum(CopyCurriculumOptions{});   // T = 1
//   CopyStreamState s = StartCopyStream(key, /*stream=*/b, curriculum.length());
//   int32_t x, y;
//   CopyTokens(key, b, s, &x, &y);               // the current step's pair
//   AdvanceCopyStream(key, b, curriculum.length(), &s);
//   bool raised = curriculum.Observe(bits_per_char, /*num_steps=*/1, /*tokens=*/32);
#ifndef ES_SINGLE_INNER_LSTM_COPY_TASK_H_
#define ES_SINGLE_INNER_LSTM_COPY_TASK_H_

#include <cstdint>

#include "absl/status/status.h"
#include "estimators/state_io.h"

namespace es {

inline constexpr int kCopyVocabSize = 4;
inline constexpr int32_t kCopyBit0 = 0;
inline constexpr int32_t kCopyBit1 = 1;
inline constexpr int32_t kCopyDelimiter = 2;
inline constexpr int32_t kCopyBlank = 3;

// Where one stream is: string `sequence` of length `length`, at step
// `position` in [0, CopyStringSteps(length)) of that string.
struct CopyStreamState {
  int64_t sequence = 0;
  int32_t length = 1;
  int32_t position = 0;
};

// Steps of a string of length L: 2L + 2.
inline int64_t CopyStringSteps(int64_t length) { return 2 * length + 2; }
// sequence >= 0, length >= 1, position in [0, CopyStringSteps(length)).
inline bool IsValidCopyStreamState(const CopyStreamState& s) {
  return s.sequence >= 0 && s.length >= 1 && s.position >= 0 &&
         s.position < CopyStringSteps(s.length);
}

// Length of string `sequence` of stream `stream` when the curriculum is at T
// (T >= 1, spread s >= 0): max(1, T - s + floor(u (s + 1))).
int32_t CopySequenceLength(uint64_t key, int64_t stream, int64_t sequence,
                           int64_t curriculum_length, int64_t length_spread);
// Bit p (0-based) of string `sequence` of stream `stream`: 0 or 1.
int32_t CopySequenceBit(uint64_t key, int64_t stream, int64_t sequence,
                        int64_t p);

// The state of a stream at the start of its first string.
CopyStreamState StartCopyStream(uint64_t key, int64_t stream,
                                int64_t curriculum_length,
                                int64_t length_spread = 5);
// Input and target at the stream's current step.
void CopyTokens(uint64_t key, int64_t stream, const CopyStreamState& state,
                int32_t* input, int32_t* target);
// Moves one step on; past the end of a string, starts the next one with a
// length drawn at the current curriculum length.
void AdvanceCopyStream(uint64_t key, int64_t stream, int64_t curriculum_length,
                       int64_t length_spread, CopyStreamState* state);

struct CopyCurriculumOptions {
  double threshold_bits = 0.15;   // paper Sec. 4.3, Mujika et al. Sec. 5.1
  double ema_decay = 0.999;       // d per data step (reference code)
  double ema_initial_bits = 1.0;  // m at the start (reference code)
  double ema_reset_bits = 0.3;    // m after each raise (reference code)
  int64_t initial_length = 1;    // T at the start (paper: 1)
  int64_t length_spread = 5;     // s: lengths uniform in {T - s, ..., T}
  int64_t max_length = int64_t{1} << 20;  // T never exceeds this

  // threshold > 0, d in [0, 1), initial and reset EMA >= 0 and finite,
  // 1 <= initial_length <= max_length <= 2^30, spread in [0, 2^20]; names
  // the bad value.
  absl::Status Validate() const;
};

// The curriculum state. Thread-compatible; a value type (copyable).
class CopyCurriculum {
 public:
  // options must be valid (ES_CHECK).
  explicit CopyCurriculum(const CopyCurriculumOptions& options = {});

  const CopyCurriculumOptions& options() const { return options_; }
  // T, the length the strings are currently drawn at.
  int64_t length() const { return length_; }
  // The longest length that has passed the threshold (T - 1 after raises
  // from the initial T = 1; 0 before the first raise).
  int64_t max_copied_length() const { return length_ - 1; }
  double ema_bits() const { return ema_; }
  int64_t raises() const { return raises_; }
  // Data time: characters (steps x streams) the observed model has read.
  int64_t tokens() const { return tokens_; }
  int64_t observations() const { return observations_; }
  int64_t skipped_observations() const { return skipped_; }

  // One observation: `bits_per_char` is the mean per-character cross-entropy
  // in bits over `num_steps` >= 1 data steps in which the model read `tokens`
  // characters. Returns true if T was raised.
  bool Observe(double bits_per_char, int64_t num_steps, int64_t tokens);

  void Save(StateWriter* out) const;
  absl::Status Load(StateReader* in);

 private:
  CopyCurriculumOptions options_;
  int64_t length_ = 1;
  double ema_ = 0.0;
  int64_t raises_ = 0, tokens_ = 0, observations_ = 0, skipped_ = 0;
};

}  // namespace es

#endif  // ES_SINGLE_INNER_LSTM_COPY_TASK_H_
