// batched_lstm.cc - see batched_lstm.h. The oneDNN path lives here; the
// structure-of-arrays path is batched_lstm_soa.cc.
#include "inner/kernels/batched_lstm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "inner/kernels/batched_lstm_simd.h"
#include "inner/kernels/batched_lstm_soa.h"
#include "inner/kernels/dnnl_status.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

using dnnl::memory;
using Dims = memory::dims;
using Dt = memory::data_type;

#define LSTM_RETURN_IF_ERROR(expr)              \
  do {                                          \
    absl::Status lstm_status_ = (expr);         \
    if (!lstm_status_.ok()) return lstm_status_; \
  } while (0)

// Gates of one chunk of a step: small enough to stay in the caches of two
// cores between the matmul and the cell update (measured: ~25% faster than
// running each stage over all N = 1000 particles at the copy-task size).
constexpr int64_t kCacheChunkBytes = int64_t{2} << 20;

// Size check whose message (an expression) is only built on failure.
#define LSTM_CHECK_SIZE(what, actual, expected, shape_expr)              \
  do {                                                                   \
    if (static_cast<int64_t>(actual) != (expected)) {                    \
      return ValidateSize(what, static_cast<int64_t>(actual), expected,  \
                          shape_expr);                                   \
    }                                                                    \
  } while (0)

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <typename T>
using Buffer = std::unique_ptr<T[], FreeDeleter>;

template <typename T>
Buffer<T> AllocateZeroed(int64_t count) {
  const size_t bytes = static_cast<size_t>(
      (std::max<int64_t>(count * sizeof(T), 1) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, bytes);
  if (p != nullptr) std::memset(p, 0, bytes);
  return Buffer<T>(static_cast<T*>(p));
}

memory::desc Plain(int64_t d0, int64_t d1, int64_t d2) {
  return memory::desc(Dims{d0, d1, d2}, Dt::f32, Dims{d1 * d2, d2, 1});
}

// A primitive with its prebuilt argument array (executed through the C API,
// which allocates no argument map per call).
struct Exec {
  dnnl::primitive primitive;
  std::vector<dnnl_exec_arg_t> args;
  memory::desc scratchpad_md;
  std::string impl;
};

// The two matmuls of one step for a chunk of n consecutive particles; the
// memory objects are rebound to the chunk's offsets before each run.
struct Chunk {
  int64_t n = 0;
  memory h, w_h, gates, w_o, b_o, logits;
  Exec gates_mm, logits_mm;
};

absl::Status Bind(const memory& mem, const void* data) {
  const dnnl_status_t status = dnnl_memory_set_data_handle_v2(
      mem.get(), const_cast<void*>(data), nullptr);
  if (status != dnnl_success) {
    return DnnlStatusToStatus(status, "dnnl_memory_set_data_handle_v2",
                              "binding a caller array");
  }
  return absl::OkStatus();
}

}  // namespace

struct BatchedLstm::Impl {
  BatchedLstmConfig config;
  LstmPath path = LstmPath::kOneDnn;
  std::string context;

  // kOneDnn
  dnnl::engine engine;
  dnnl::stream stream;
  std::vector<Chunk> chunks;  // chunks[0].n == N, then powers of two < N
  Buffer<float> gates, logits;  // one chunk: [max_chunk, B, 4H], [.., V]
  Buffer<unsigned char> scratchpad;
  std::vector<memory> scratch_memories;

  // kSoa
  Buffer<float> soa_scratch;

  absl::Status Init(const BatchedLstmConfig& c);
  Exec MakeMatmul(const memory& src, const memory& wei, const memory& dst,
                  const memory* bias);
  absl::Status Run(const Exec& e);
  const Chunk& PickChunk(int64_t piece) const;
  absl::Status RunMatmul(const Chunk& ch, const float* packed, int64_t first,
                         float* h, bool logits_layer);
  int64_t max_chunk = 1;  // particles per chunk of a step
  absl::Status OneDnnUnroll(const float* packed, int64_t begin, int64_t end,
                            int num_steps, const int32_t* tokens,
                            const int32_t* targets, float* h, float* c,
                            double* loss);
};

Exec BatchedLstm::Impl::MakeMatmul(const memory& src, const memory& wei,
                                   const memory& dst, const memory* bias) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  // Per-particle bias {n, 1, V} as a binary post-op (matmul's own bias with a
  // batch dimension selects the reference kernel in oneDNN 2.6).
  if (bias != nullptr) {
    ops.append_binary(dnnl::algorithm::binary_add, bias->get_desc());
  }
  attr.set_post_ops(ops);
  dnnl::matmul::desc desc(src.get_desc(), wei.get_desc(), dst.get_desc());
  dnnl::matmul::primitive_desc pd(desc, attr, engine);
  Exec e;
  e.primitive = dnnl::matmul(pd);
  e.args = {{DNNL_ARG_SRC, src.get()},
            {DNNL_ARG_WEIGHTS, wei.get()},
            {DNNL_ARG_DST, dst.get()}};
  if (bias != nullptr) {
    e.args.push_back(
        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1,
         bias->get()});
  }
  e.scratchpad_md = pd.scratchpad_desc();
  e.impl = pd.impl_info_str();
  return e;
}

absl::Status BatchedLstm::Impl::Init(const BatchedLstmConfig& c) {
  config = c;
  path = c.ResolvedPath();
  if (path == LstmPath::kSoa) {
    context = "allocating the structure-of-arrays scratch";
    soa_scratch = AllocateZeroed<float>(lstm_soa::ScratchSize(c));
    if (soa_scratch == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot allocate scratch for ", c.DebugString()));
    }
    return absl::OkStatus();
  }
  const int64_t N = c.num_particles, B = c.batch_size;
  const int64_t H = c.shape.hidden_size, V = c.shape.vocab_size, G = 4 * H;
  context = "creating the oneDNN CPU engine";
  engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
  stream = dnnl::stream(engine);
  // Chunks of the step hold about kCacheChunkBytes of gates (32 particles
  // at the copy-task size B = 32, H = 100); every chunk reuses the same
  // gates and logits scratch, which therefore stays in cache.
  max_chunk = std::clamp<int64_t>(kCacheChunkBytes / (B * G * 4), 1, N);
  gates = AllocateZeroed<float>(max_chunk * B * G);
  logits = AllocateZeroed<float>(max_chunk * B * V);
  if (gates == nullptr || logits == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate gates/logits for ", c.DebugString()));
  }
  std::vector<int64_t> sizes = {N};
  for (int64_t p = int64_t{1} << 20; p >= 1; p /= 2) {
    if (p < N) sizes.push_back(p);
  }
  for (int64_t n : sizes) {
    context = absl::StrCat("creating the matmuls for ", n, " particles of ",
                           c.DebugString());
    Chunk ch;
    ch.n = n;
    ch.h = memory(Plain(n, B, H), engine, DNNL_MEMORY_NONE);
    ch.w_h = memory(Plain(n, H, G), engine, DNNL_MEMORY_NONE);
    ch.gates = memory(Plain(n, B, G), engine, DNNL_MEMORY_NONE);
    ch.w_o = memory(Plain(n, H, V), engine, DNNL_MEMORY_NONE);
    ch.b_o = memory(Plain(n, 1, V), engine, DNNL_MEMORY_NONE);
    ch.logits = memory(Plain(n, B, V), engine, DNNL_MEMORY_NONE);
    ch.gates_mm = MakeMatmul(ch.h, ch.w_h, ch.gates, nullptr);
    ch.logits_mm = MakeMatmul(ch.h, ch.w_o, ch.logits, &ch.b_o);
    chunks.push_back(std::move(ch));
  }
  context = "allocating the oneDNN scratchpad";
  size_t bytes = 0;
  for (const Chunk& ch : chunks) {
    bytes = std::max({bytes, ch.gates_mm.scratchpad_md.get_size(),
                      ch.logits_mm.scratchpad_md.get_size()});
  }
  scratchpad = AllocateZeroed<unsigned char>(static_cast<int64_t>(bytes));
  if (scratchpad == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", bytes, " bytes of scratchpad"));
  }
  scratch_memories.reserve(2 * chunks.size());
  for (Chunk& ch : chunks) {
    for (Exec* e : {&ch.gates_mm, &ch.logits_mm}) {
      if (e->scratchpad_md.get_size() == 0) continue;
      scratch_memories.emplace_back(e->scratchpad_md, engine,
                                    scratchpad.get());
      e->args.push_back({DNNL_ARG_SCRATCHPAD, scratch_memories.back().get()});
    }
  }
  return absl::OkStatus();
}

absl::Status BatchedLstm::Impl::Run(const Exec& e) {
  const dnnl_status_t status =
      dnnl_primitive_execute(e.primitive.get(), stream.get(),
                             static_cast<int>(e.args.size()), e.args.data());
  if (status != dnnl_success) {
    return DnnlStatusToStatus(status, "dnnl_primitive_execute",
                              absl::StrCat("running a matmul of ",
                                           config.DebugString()));
  }
  const dnnl_status_t wait = dnnl_stream_wait(stream.get());
  if (wait != dnnl_success) {
    return DnnlStatusToStatus(wait, "dnnl_stream_wait", config.DebugString());
  }
  return absl::OkStatus();
}

// The primitive for the next `piece` particles: the full batch if piece == N,
// else the largest power of two <= piece.
const Chunk& BatchedLstm::Impl::PickChunk(int64_t piece) const {
  if (piece == config.num_particles) return chunks[0];
  for (size_t k = 1; k < chunks.size(); ++k) {
    if (chunks[k].n <= piece) return chunks[k];
  }
  return chunks.back();
}

// Runs the h W_h (or the logits) matmul of chunk `ch` for particles
// [first, first + ch.n).
absl::Status BatchedLstm::Impl::RunMatmul(const Chunk& ch, const float* packed,
                                          int64_t first, float* h,
                                          bool logits_layer) {
  const int64_t N = config.num_particles, B = config.batch_size;
  const int64_t H = config.shape.hidden_size, V = config.shape.vocab_size;
  const int64_t G = 4 * H;
  const float* w_h = packed + N * V * G;
  const float* w_o = w_h + N * H * G;
  const float* b_o = w_o + N * H * V;
  LSTM_RETURN_IF_ERROR(Bind(ch.h, h + first * B * H));
  if (logits_layer) {
    LSTM_RETURN_IF_ERROR(Bind(ch.w_o, w_o + first * H * V));
    LSTM_RETURN_IF_ERROR(Bind(ch.b_o, b_o + first * V));
    LSTM_RETURN_IF_ERROR(Bind(ch.logits, logits.get()));
    return Run(ch.logits_mm);
  }
  LSTM_RETURN_IF_ERROR(Bind(ch.w_h, w_h + first * H * G));
  LSTM_RETURN_IF_ERROR(Bind(ch.gates, gates.get()));
  return Run(ch.gates_mm);
}

absl::Status BatchedLstm::Impl::OneDnnUnroll(
    const float* packed, int64_t begin, int64_t end, int num_steps,
    const int32_t* tokens, const int32_t* targets, float* h, float* c,
    double* loss) {
  const int64_t N = config.num_particles, B = config.batch_size;
  const int64_t H = config.shape.hidden_size, V = config.shape.vocab_size;
  const int64_t G = 4 * H;
  float* gates_all = gates.get();
  float* logits_all = logits.get();
  // Chunk by chunk (at most max_chunk particles), each chunk through all K
  // steps: its gates, h and c stay in cache from the matmul to the cell
  // update and on to the logits, and its weights (5 MB at the copy-task
  // size) stay in the last-level cache from one step to the next.
  for (int64_t first = begin; first < end;) {
    const Chunk& ch = PickChunk(std::min(end - first, max_chunk));
    const int64_t last = first + ch.n;
    for (int t = 0; t < num_steps; ++t) {
      const int32_t* tok = tokens + t * N * B;
      const int32_t* y = targets + t * N * B;
      // gates = h W_h; the cell adds the gathered row A[token] = W_x[token]
      // + b_x + b_h as it reads them (no separate gather pass).
      LSTM_RETURN_IF_ERROR(RunMatmul(ch, packed, first, h, false));
#pragma omp parallel for schedule(static)
      for (int64_t i = first; i < last; ++i) {
        const float* a = packed + i * V * G;
        for (int64_t b = 0; b < B; ++b) {
          const int64_t row = i * B + b;
          lstm_simd::LstmCellRow(gates_all + (row - first * B) * G,
                                 a + tok[row] * G, H,
                                 c + row * H, h + row * H);
        }
      }
      LSTM_RETURN_IF_ERROR(RunMatmul(ch, packed, first, h, true));
#pragma omp parallel for schedule(static)
      for (int64_t i = first; i < last; ++i) {
        double step = 0.0;
        for (int64_t b = 0; b < B; ++b) {
          const int64_t row = i * B + b;
          step +=
              lstm_simd::SoftmaxCrossEntropy(logits_all + (row - first * B) * V,
                                             V, y[row]);
        }
        const double mean = step / static_cast<double>(B);
        loss[i] = t == 0 ? 0.0 + mean : loss[i] + mean;
      }
    }
    first = last;
  }
  return absl::OkStatus();
}

BatchedLstm::BatchedLstm(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchedLstm::~BatchedLstm() = default;

absl::StatusOr<std::unique_ptr<BatchedLstm>> BatchedLstm::Create(
    const BatchedLstmConfig& config) {
  LSTM_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  try {
    LSTM_RETURN_IF_ERROR(impl->Init(config));
  } catch (const dnnl::error& e) {
    return DnnlStatusToStatus(e.status, e.what(), impl->context);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory while ", impl->context));
  }
  return std::unique_ptr<BatchedLstm>(new BatchedLstm(std::move(impl)));
}

const BatchedLstmConfig& BatchedLstm::config() const { return impl_->config; }
LstmPath BatchedLstm::path() const { return impl_->path; }
int64_t BatchedLstm::packed_size() const {
  return impl_->config.packed_size();
}

namespace {

absl::Status ValidateRange(const BatchedLstmConfig& c, int64_t begin,
                           int64_t end) {
  if (begin < 0 || begin > end || end > c.num_particles) {
    return absl::InvalidArgumentError(
        absl::StrCat("particle range [", begin, ", ", end,
                     ") is not inside [0, N = ", c.num_particles, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status BatchedLstm::Pack(absl::Span<const double> thetas, int64_t begin,
                               int64_t end, absl::Span<float> packed) const {
  const BatchedLstmConfig& c = impl_->config;
  const LstmShape& s = c.shape;
  LSTM_RETURN_IF_ERROR(ValidateRange(c, begin, end));
  LSTM_CHECK_SIZE("thetas", thetas.size(), c.num_particles * s.num_params(),
                  absl::StrCat("N x P for ", c.DebugString()));
  LSTM_CHECK_SIZE("packed", packed.size(), packed_size(), c.DebugString());
  if (begin == end) return absl::OkStatus();
  if (impl_->path == LstmPath::kSoa) {
    lstm_soa::Pack(c, thetas.data(), begin, end, packed.data());
    return absl::OkStatus();
  }
  const int64_t N = c.num_particles, H = s.hidden_size, V = s.vocab_size;
  const int64_t G = 4 * H, P = s.num_params();
  float* a_all = packed.data();
  float* w_h_all = a_all + N * V * G;
  float* w_o_all = w_h_all + N * H * G;
  float* b_o_all = w_o_all + N * H * V;
  const double* th = thetas.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = begin; i < end; ++i) {
    const double* row = th + i * P;
    const double* wx = row + s.w_x_offset();
    const double* bx = row + s.b_x_offset();
    const double* bh = row + s.b_h_offset();
    float* a = a_all + i * V * G;
    for (int64_t v = 0; v < V; ++v) {
      for (int64_t j = 0; j < G; ++j) {
        a[v * G + j] = static_cast<float>(wx[v * G + j] + (bx[j] + bh[j]));
      }
    }
    const double* wh = row + s.w_h_offset();
    float* dh = w_h_all + i * H * G;
    for (int64_t k = 0; k < H * G; ++k) dh[k] = static_cast<float>(wh[k]);
    const double* wo = row + s.w_o_offset();
    float* dout = w_o_all + i * H * V;
    for (int64_t k = 0; k < H * V; ++k) dout[k] = static_cast<float>(wo[k]);
    const double* bo = row + s.b_o_offset();
    for (int64_t k = 0; k < V; ++k) b_o_all[i * V + k] = static_cast<float>(bo[k]);
  }
  return absl::OkStatus();
}

absl::Status BatchedLstm::Step(absl::Span<const float> packed, int64_t begin,
                               int64_t end, absl::Span<const int32_t> tokens,
                               absl::Span<const int32_t> targets,
                               absl::Span<float> h, absl::Span<float> c,
                               absl::Span<double> loss) {
  return Unroll(packed, begin, end, 1, tokens, targets, h, c, loss);
}

absl::Status BatchedLstm::Unroll(absl::Span<const float> packed, int64_t begin,
                                 int64_t end, int num_steps,
                                 absl::Span<const int32_t> tokens,
                                 absl::Span<const int32_t> targets,
                                 absl::Span<float> h, absl::Span<float> c,
                                 absl::Span<double> loss) {
  Impl& m = *impl_;
  const BatchedLstmConfig& cfg = m.config;
  const int64_t N = cfg.num_particles, B = cfg.batch_size;
  const int64_t H = cfg.shape.hidden_size, V = cfg.shape.vocab_size;
  // Messages are only built on failure: a valid call allocates nothing.
  LSTM_RETURN_IF_ERROR(ValidateRange(cfg, begin, end));
  if (num_steps < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_steps = ", num_steps, " must be >= 1"));
  }
  LSTM_CHECK_SIZE("packed", packed.size(), cfg.packed_size(),
                  cfg.DebugString());
  const int64_t ids = static_cast<int64_t>(num_steps) * N * B;
  LSTM_CHECK_SIZE(
      "tokens", tokens.size(), ids,
      absl::StrCat("[K = ", num_steps, ", N, B] of ", cfg.DebugString()));
  LSTM_CHECK_SIZE(
      "targets", targets.size(), ids,
      absl::StrCat("[K = ", num_steps, ", N, B] of ", cfg.DebugString()));
  LSTM_CHECK_SIZE("h", h.size(), N * B * H, cfg.DebugString());
  LSTM_CHECK_SIZE("c", c.size(), N * B * H, cfg.DebugString());
  LSTM_CHECK_SIZE("loss", loss.size(), N, cfg.DebugString());
  for (int t = 0; t < num_steps; ++t) {
    for (int which = 0; which < 2; ++which) {
      const absl::Span<const int32_t> arr =
          (which == 0 ? tokens : targets)
              .subspan((t * N + begin) * B, (end - begin) * B);
      bool valid = true;
      for (int32_t id : arr) valid &= id >= 0 && id < V;
      if (!valid) {
        return ValidateTokenIds(
            absl::StrCat(which == 0 ? "tokens" : "targets", "[step ", t, "]"),
            arr, B, V, begin);
      }
    }
  }
  if (begin == end) return absl::OkStatus();
  if (m.path == LstmPath::kSoa) {
    lstm_soa::Unroll(cfg, packed.data(), begin, end, num_steps, tokens.data(),
                     targets.data(), h.data(), c.data(), loss.data(),
                     m.soa_scratch.get());
    return absl::OkStatus();
  }
  return m.OneDnnUnroll(packed.data(), begin, end, num_steps, tokens.data(),
                        targets.data(), h.data(), c.data(), loss.data());
}

std::string BatchedLstm::ImplementationInfo() const {
  if (impl_->path == LstmPath::kSoa) return "soa";
  const Chunk& ch = impl_->chunks[0];
  return absl::StrCat("gates=", ch.gates_mm.impl, " logits=", ch.logits_mm.impl);
}

}  // namespace es
