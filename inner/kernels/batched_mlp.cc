// batched_mlp.cc - see batched_mlp.h.
#include "inner/kernels/batched_mlp.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "inner/kernels/dnnl_status.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

using dnnl::memory;
using Dims = memory::dims;
using Dt = memory::data_type;

#define MLP_RETURN_IF_ERROR(expr)              \
  do {                                         \
    absl::Status mlp_status_ = (expr);         \
    if (!mlp_status_.ok()) return mlp_status_; \
  } while (0)

// 64-byte aligned storage (oneDNN's preferred alignment).
struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], FreeDeleter>;
using ByteBuffer = std::unique_ptr<unsigned char[], FreeDeleter>;

void* AllocateAligned(int64_t bytes) {
  const size_t rounded =
      static_cast<size_t>((std::max<int64_t>(bytes, 1) + 63) / 64 * 64);
  return std::aligned_alloc(64, rounded);
}

// A memory object without a buffer; Forward()/Backward() bind one.
void* const kNoHandle = DNNL_MEMORY_NONE;

// Row-major [d0, d1, d2].
memory::desc Plain(int64_t d0, int64_t d1, int64_t d2) {
  return memory::desc(Dims{d0, d1, d2}, Dt::f32, Dims{d1 * d2, d2, 1});
}

// Logical [d0, rows, cols] view of a row-major [d0, cols, rows] array.
memory::desc Transposed(int64_t d0, int64_t rows, int64_t cols) {
  return memory::desc(Dims{d0, rows, cols}, Dt::f32,
                      Dims{rows * cols, 1, rows});
}

// A primitive and its argument list for dnnl_primitive_execute (the C call
// takes a plain array, so executing builds no std::unordered_map).
struct Step {
  dnnl::primitive primitive;
  std::vector<dnnl_exec_arg_t> args;
  memory::desc scratchpad_md;
  std::string name;
  std::string impl;
};

absl::Status Bind(const memory& mem, const void* data) {
  // oneDNN never writes through src/weights handles; the cast only satisfies
  // the C signature.
  const dnnl_status_t status = dnnl_memory_set_data_handle_v2(
      mem.get(), const_cast<void*>(data), nullptr);
  if (status != dnnl_success) {
    return DnnlStatusToStatus(status, "dnnl_memory_set_data_handle_v2",
                              "binding a caller array");
  }
  return absl::OkStatus();
}

}  // namespace

struct BatchedMlp::Impl {
  BatchedMlpConfig config;
  std::string context;  // what Init() is doing, for error messages

  dnnl::engine engine;
  dnnl::stream stream;

  // Views on caller arrays; handles are rebound on every call.
  memory input;    // layer-0 src {N or 1, B, d_0}
  memory input_t;  // its transpose {N or 1, d_0, B}, src of dW_0
  std::vector<memory> weights, weights_t, bias, weight_grads;

  // Owned buffers: act[l] = h_{l+1} (act[L-1] = logits z_L), grad[l] =
  // dz_{l+1}.
  std::vector<Buffer> act, grad;
  std::vector<memory> act_mem, act_t_mem, grad_mem;
  ByteBuffer scratchpad;
  std::vector<memory> scratch_memories;

  std::vector<Step> forward, dw, dx;  // dx[0] is unused

  std::vector<int32_t> active_units;
  bool has_masks = false;

  bool has_forward = false;
  const float* forward_params = nullptr;
  const float* forward_inputs = nullptr;

  absl::Status Init(const BatchedMlpConfig& c);
  Step MakeMatmul(const std::string& name, const memory& src, const memory& wei,
                  const memory& dst, const memory* bias_mem, bool relu);
  absl::Status Execute(const Step& step);
  void ApplyMask(int layer);
  void SoftmaxCrossEntropy(const int32_t* labels, double* loss);
  void BiasGradient(int layer, float* grads);
  void ReluBackwardAndBiasGradient(int layer, float* grads);
};

Step BatchedMlp::Impl::MakeMatmul(const std::string& name, const memory& src,
                                  const memory& wei, const memory& dst,
                                  const memory* bias_mem, bool relu) {
  context =
      absl::StrCat("creating the ", name, " matmul for ", config.DebugString());
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops ops;
  // Per-particle bias {N, 1, d} as a binary post-op: matmul's own bias
  // argument with a batch dimension falls back to the reference kernel in
  // oneDNN 2.6, the post-op keeps the brgemm kernel.
  if (bias_mem != nullptr) {
    ops.append_binary(dnnl::algorithm::binary_add, bias_mem->get_desc());
  }
  if (relu) ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  attr.set_post_ops(ops);

  dnnl::matmul::desc desc(src.get_desc(), wei.get_desc(), dst.get_desc());
  dnnl::matmul::primitive_desc pd(desc, attr, engine);
  Step step;
  step.primitive = dnnl::matmul(pd);
  step.args = {{DNNL_ARG_SRC, src.get()},
               {DNNL_ARG_WEIGHTS, wei.get()},
               {DNNL_ARG_DST, dst.get()}};
  if (bias_mem != nullptr) {
    step.args.push_back(
        {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, bias_mem->get()});
  }
  step.scratchpad_md = pd.scratchpad_desc();
  step.name = name;
  step.impl = pd.impl_info_str();
  return step;
}

absl::Status BatchedMlp::Impl::Init(const BatchedMlpConfig& c) {
  config = c;
  const int L = config.num_layers();
  const int64_t N = config.num_particles;
  const int64_t B = config.batch_size;
  const std::vector<int64_t>& d = config.layer_sizes;
  const int64_t input_batch = config.input_mode == InputMode::kShared ? 1 : N;

  context = "creating the oneDNN CPU engine";
  engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
  stream = dnnl::stream(engine);

  input = memory(Plain(input_batch, B, d[0]), engine, kNoHandle);
  input_t = memory(Transposed(input_batch, d[0], B), engine, kNoHandle);
  for (int l = 0; l < L; ++l) {
    weights.emplace_back(Plain(N, d[l], d[l + 1]), engine, kNoHandle);
    weights_t.emplace_back(Transposed(N, d[l + 1], d[l]), engine, kNoHandle);
    bias.emplace_back(Plain(N, 1, d[l + 1]), engine, kNoHandle);
    weight_grads.emplace_back(Plain(N, d[l], d[l + 1]), engine, kNoHandle);
    const int64_t size = N * B * d[l + 1];
    act.emplace_back(static_cast<float*>(AllocateAligned(size * 4)));
    grad.emplace_back(static_cast<float*>(AllocateAligned(size * 4)));
    if (act.back() == nullptr || grad.back() == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot allocate activations for ", config.DebugString()));
    }
    // Zeroed once: logits() before the first Forward() reads zeros.
    std::memset(act.back().get(), 0, size * 4);
    std::memset(grad.back().get(), 0, size * 4);
    act_mem.emplace_back(Plain(N, B, d[l + 1]), engine, act.back().get());
    act_t_mem.emplace_back(Transposed(N, d[l + 1], B), engine,
                           act.back().get());
    grad_mem.emplace_back(Plain(N, B, d[l + 1]), engine, grad.back().get());
  }

  for (int l = 0; l < L; ++l) {
    const bool hidden = l + 1 < L;
    const memory& src = l == 0 ? input : act_mem[l - 1];
    forward.push_back(MakeMatmul(absl::StrCat("fwd", l), src, weights[l],
                                 act_mem[l], &bias[l], hidden));
    const memory& src_t = l == 0 ? input_t : act_t_mem[l - 1];
    dw.push_back(MakeMatmul(absl::StrCat("dW", l), src_t, grad_mem[l],
                            weight_grads[l], nullptr, false));
    if (l == 0) {
      dx.emplace_back();
    } else {
      dx.push_back(MakeMatmul(absl::StrCat("dX", l), grad_mem[l], weights_t[l],
                              grad_mem[l - 1], nullptr, false));
    }
  }

  // One scratchpad shared by all primitives (they run one after another).
  context = "allocating the oneDNN scratchpad";
  size_t scratch_bytes = 0;
  for (const auto* steps : {&forward, &dw, &dx}) {
    for (const Step& s : *steps) {
      if (s.primitive)
        scratch_bytes = std::max(scratch_bytes, s.scratchpad_md.get_size());
    }
  }
  scratchpad.reset(static_cast<unsigned char*>(AllocateAligned(scratch_bytes)));
  if (scratchpad == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot allocate ", scratch_bytes, " bytes of oneDNN scratchpad"));
  }
  for (auto* steps : {&forward, &dw, &dx}) {
    for (Step& s : *steps) {
      if (!s.primitive || s.scratchpad_md.get_size() == 0) continue;
      // The args hold raw handles; scratch_memories keeps them alive.
      scratch_memories.emplace_back(s.scratchpad_md, engine, scratchpad.get());
      s.args.push_back({DNNL_ARG_SCRATCHPAD, scratch_memories.back().get()});
    }
  }
  active_units.assign(config.active_units_size(), 0);
  return absl::OkStatus();
}

absl::Status BatchedMlp::Impl::Execute(const Step& step) {
  const dnnl_status_t status = dnnl_primitive_execute(
      step.primitive.get(), stream.get(), static_cast<int>(step.args.size()),
      step.args.data());
  if (status != dnnl_success) {
    return DnnlStatusToStatus(
        status, "dnnl_primitive_execute",
        absl::StrCat("running ", step.name, " for ", config.DebugString()));
  }
  // CPU streams execute synchronously; waiting is cheap and keeps the plain
  // loops between primitives correct for any runtime.
  const dnnl_status_t wait = dnnl_stream_wait(stream.get());
  if (wait != dnnl_success) {
    return DnnlStatusToStatus(wait, "dnnl_stream_wait",
                              absl::StrCat("waiting for ", step.name));
  }
  return absl::OkStatus();
}

// Zeroes units k_i..d-1 of hidden layer `layer` (output of linear layer
// `layer`) for every particle i.
void BatchedMlp::Impl::ApplyMask(int layer) {
  const int64_t N = config.num_particles;
  const int64_t B = config.batch_size;
  const int64_t d = config.layer_sizes[layer + 1];
  const int hidden = config.num_hidden_layers();
  float* h = act[layer].get();
  const int32_t* k = active_units.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const int64_t active = k[i * hidden + layer];
    if (active >= d) continue;
    for (int64_t b = 0; b < B; ++b) {
      std::memset(h + (i * B + b) * d + active, 0,
                  (d - active) * sizeof(float));
    }
  }
}

// loss[i] = mean_b [logsumexp(z_ib) - z_ib[y]]; grad[L-1] = dloss/dz.
void BatchedMlp::Impl::SoftmaxCrossEntropy(const int32_t* labels,
                                           double* loss) {
  const int64_t N = config.num_particles;
  const int64_t B = config.batch_size;
  const int64_t C = config.num_classes();
  const int L = config.num_layers();
  const bool shared = config.input_mode == InputMode::kShared;
  const float* z = act[L - 1].get();
  float* g = grad[L - 1].get();
  const float inv_b = 1.0f / static_cast<float>(B);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const int32_t* y = labels + (shared ? 0 : i * B);
    double sum = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      const float* row = z + (i * B + b) * C;
      float* grow = g + (i * B + b) * C;
      float max = row[0];
      for (int64_t c = 1; c < C; ++c) max = std::max(max, row[c]);
      float total = 0.0f;
      for (int64_t c = 0; c < C; ++c) {
        grow[c] = std::exp(row[c] - max);
        total += grow[c];
      }
      sum += static_cast<double>(max) + std::log(static_cast<double>(total)) -
             static_cast<double>(row[y[b]]);
      const float scale = inv_b / total;
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) grow[c] *= scale;
      grow[y[b]] -= inv_b;
    }
    loss[i] = sum / static_cast<double>(B);
  }
}

// db_layer[i] = sum_b grad[layer][i, b, :].
void BatchedMlp::Impl::BiasGradient(int layer, float* grads) {
  const int64_t N = config.num_particles;
  const int64_t B = config.batch_size;
  const int64_t d = config.layer_sizes[layer + 1];
  const float* g = grad[layer].get();
  float* db_all = grads + config.bias_offset(layer);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    float* db = db_all + i * d;
    std::fill(db, db + d, 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      const float* row = g + (i * B + b) * d;
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) db[j] += row[j];
    }
  }
}

// grad[layer] *= [act[layer] > 0] (ReLU derivative and the unit mask, since
// masked units hold 0), fused with db_layer = sum_b grad[layer].
void BatchedMlp::Impl::ReluBackwardAndBiasGradient(int layer, float* grads) {
  const int64_t N = config.num_particles;
  const int64_t B = config.batch_size;
  const int64_t d = config.layer_sizes[layer + 1];
  float* g = grad[layer].get();
  const float* h = act[layer].get();
  float* db_all = grads + config.bias_offset(layer);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    float* db = db_all + i * d;
    std::fill(db, db + d, 0.0f);
    for (int64_t b = 0; b < B; ++b) {
      float* grow = g + (i * B + b) * d;
      const float* hrow = h + (i * B + b) * d;
#pragma omp simd
      for (int64_t j = 0; j < d; ++j) {
        const float v = hrow[j] > 0.0f ? grow[j] : 0.0f;
        grow[j] = v;
        db[j] += v;
      }
    }
  }
}

BatchedMlp::BatchedMlp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchedMlp::~BatchedMlp() = default;

absl::StatusOr<std::unique_ptr<BatchedMlp>> BatchedMlp::Create(
    const BatchedMlpConfig& config) {
  MLP_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  try {
    MLP_RETURN_IF_ERROR(impl->Init(config));
  } catch (const dnnl::error& e) {
    return DnnlStatusToStatus(e.status, e.what(), impl->context);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory while ", impl->context));
  }
  return std::unique_ptr<BatchedMlp>(new BatchedMlp(std::move(impl)));
}

const BatchedMlpConfig& BatchedMlp::config() const { return impl_->config; }

absl::Status BatchedMlp::SetActiveUnits(
    absl::Span<const int32_t> active_units) {
  MLP_RETURN_IF_ERROR(ValidateActiveUnits(impl_->config, active_units));
  std::copy(active_units.begin(), active_units.end(),
            impl_->active_units.begin());
  impl_->has_masks = false;
  const int hidden = impl_->config.num_hidden_layers();
  for (int64_t j = 0; j < static_cast<int64_t>(active_units.size()); ++j) {
    if (active_units[j] < impl_->config.layer_sizes[j % hidden + 1]) {
      impl_->has_masks = true;
    }
  }
  return absl::OkStatus();
}

void BatchedMlp::ClearActiveUnits() { impl_->has_masks = false; }

absl::Status BatchedMlp::Forward(absl::Span<const float> params,
                                 absl::Span<const float> inputs,
                                 absl::Span<const int32_t> labels,
                                 absl::Span<double> loss) {
  Impl& m = *impl_;
  m.has_forward = false;
  MLP_RETURN_IF_ERROR(
      ValidateBatch(m.config, params.size(), inputs.size(), labels));
  if (static_cast<int64_t>(loss.size()) != m.config.num_particles) {
    return absl::InvalidArgumentError(absl::StrCat(
        "loss has ", loss.size(), " entries; ", m.config.DebugString(),
        " needs N = ", m.config.num_particles));
  }
  const int L = m.config.num_layers();
  MLP_RETURN_IF_ERROR(Bind(m.input, inputs.data()));
  MLP_RETURN_IF_ERROR(Bind(m.input_t, inputs.data()));
  for (int l = 0; l < L; ++l) {
    const float* w = params.data() + m.config.weight_offset(l);
    MLP_RETURN_IF_ERROR(Bind(m.weights[l], w));
    MLP_RETURN_IF_ERROR(Bind(m.weights_t[l], w));
    MLP_RETURN_IF_ERROR(
        Bind(m.bias[l], params.data() + m.config.bias_offset(l)));
  }
  for (int l = 0; l < L; ++l) {
    MLP_RETURN_IF_ERROR(m.Execute(m.forward[l]));
    if (m.has_masks && l + 1 < L) m.ApplyMask(l);
  }
  m.SoftmaxCrossEntropy(labels.data(), loss.data());
  m.has_forward = true;
  m.forward_params = params.data();
  m.forward_inputs = inputs.data();
  return absl::OkStatus();
}

absl::Status BatchedMlp::Backward(absl::Span<const float> params,
                                  absl::Span<const float> inputs,
                                  absl::Span<float> grads) {
  Impl& m = *impl_;
  if (!m.has_forward || params.data() != m.forward_params ||
      inputs.data() != m.forward_inputs) {
    return absl::FailedPreconditionError(
        "BatchedMlp::Backward needs a successful Forward() on the same params "
        "and inputs arrays first");
  }
  if (static_cast<int64_t>(grads.size()) != m.config.num_params()) {
    return absl::InvalidArgumentError(
        absl::StrCat("grads has ", grads.size(), " floats; ",
                     m.config.DebugString(), " needs ", m.config.num_params()));
  }
  const int L = m.config.num_layers();
  for (int l = 0; l < L; ++l) {
    MLP_RETURN_IF_ERROR(
        Bind(m.weight_grads[l], grads.data() + m.config.weight_offset(l)));
  }
  m.BiasGradient(L - 1, grads.data());
  for (int l = L - 1; l >= 0; --l) {
    MLP_RETURN_IF_ERROR(m.Execute(m.dw[l]));
    if (l > 0) {
      MLP_RETURN_IF_ERROR(m.Execute(m.dx[l]));
      m.ReluBackwardAndBiasGradient(l - 1, grads.data());
    }
  }
  return absl::OkStatus();
}

absl::Status BatchedMlp::ForwardBackward(absl::Span<const float> params,
                                         absl::Span<const float> inputs,
                                         absl::Span<const int32_t> labels,
                                         absl::Span<double> loss,
                                         absl::Span<float> grads) {
  MLP_RETURN_IF_ERROR(Forward(params, inputs, labels, loss));
  return Backward(params, inputs, grads);
}

absl::Span<const float> BatchedMlp::logits() const {
  return absl::Span<const float>(impl_->act.back().get(),
                                 impl_->config.logits_size());
}

std::string BatchedMlp::ImplementationInfo() const {
  std::string out;
  for (const auto* steps : {&impl_->forward, &impl_->dw, &impl_->dx}) {
    for (const Step& s : *steps) {
      if (!s.primitive) continue;
      absl::StrAppend(&out, out.empty() ? "" : " ", s.name, "=", s.impl);
    }
  }
  return out;
}

}  // namespace es
