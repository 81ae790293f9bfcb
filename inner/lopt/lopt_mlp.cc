// lopt_mlp.cc - see lopt_mlp.h.
#include "inner/lopt/lopt_mlp.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "inner/kernels/dnnl_status.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

using dnnl::memory;
using Dims = memory::dims;

#define LOPT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    absl::Status lopt_status_ = (expr);          \
    if (!lopt_status_.ok()) return lopt_status_; \
  } while (0)

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], FreeDeleter>;
using ByteBuffer = std::unique_ptr<unsigned char[], FreeDeleter>;

// 64-byte aligned, zeroed.
void* AllocateZeroed(int64_t bytes) {
  const size_t rounded =
      static_cast<size_t>((std::max<int64_t>(bytes, 1) + 63) / 64 * 64);
  void* p = std::aligned_alloc(64, rounded);
  if (p != nullptr) std::memset(p, 0, rounded);
  return p;
}

memory::desc Plain(int64_t d0, int64_t d1, int64_t d2) {
  return memory::desc(Dims{d0, d1, d2}, memory::data_type::f32,
                      Dims{d1 * d2, d2, 1});
}

struct Step {
  dnnl::primitive primitive;
  std::vector<dnnl_exec_arg_t> args;
  memory::desc scratchpad_md;
  std::string impl;
};

}  // namespace

// ---------------------------------------------------------------------------
// The kernel.

struct LoptMlp::Impl {
  LoptMlpConfig config;
  std::vector<int64_t> d;  // layer sizes
  int num_hidden = 0;      // H
  std::string context;

  dnnl::engine engine;
  dnnl::stream stream;

  Buffer input;  // [N, M, F_r + 1]
  // weights[0] = W0 with folded bias row [N, F_r + 1, h_1];
  // weights[l] = W_l [N, h_l, h_{l+1}] for l = 1..H-1 (oneDNN layers).
  std::vector<Buffer> weights;
  // biases[l] = b_l [N, h_{l+1}] for l = 1..H-1 (plain loops).
  std::vector<Buffer> biases;
  Buffer out_weights;  // W_H transposed, [N, num_outputs, h_H] (contiguous
                       // per output: the dot products load it linearly)
  Buffer out_bias;     // b_H [N, num_outputs]
  // act[l] = output of oneDNN layer l, [N, M, h_{l+1}], l = 0..H-1.
  std::vector<Buffer> act;
  // Double copies for folding: W_0's particle-feature rows [N, F_p, h_1]
  // and b_0 [N, h_1].
  std::vector<double> w0_particle, b0;

  std::vector<memory> memories;  // keeps every bound memory alive
  std::vector<Step> steps;       // one per oneDNN layer
  ByteBuffer scratchpad;
  std::vector<memory> scratch_memories;
  bool has_weights = false;

  absl::Status Init(const LoptMlpConfig& c);
  absl::Status Execute(const Step& step);
  void FoldBias(const float* particle_features);
  void BiasRelu(int layer);
  void OutputLayer(float* outputs);
};

absl::Status LoptMlp::Impl::Init(const LoptMlpConfig& c) {
  config = c;
  d = c.layer_sizes();
  num_hidden = static_cast<int>(c.hidden_sizes.size());
  const int64_t N = c.num_particles, M = c.rows, Fs = c.input_stride();
  context = "creating the oneDNN CPU engine";
  engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
  stream = dnnl::stream(engine);

  auto alloc = [&](int64_t floats) {
    return Buffer(static_cast<float*>(AllocateZeroed(floats * 4)));
  };
  input = alloc(N * M * Fs);
  for (int l = 0; l < num_hidden; ++l) {
    const int64_t k = l == 0 ? Fs : d[l];
    weights.push_back(alloc(N * k * d[l + 1]));
    biases.push_back(alloc(l == 0 ? 1 : N * d[l + 1]));
    act.push_back(alloc(N * M * d[l + 1]));
  }
  out_weights = alloc(N * d[num_hidden] * c.num_outputs);
  out_bias = alloc(N * c.num_outputs);
  bool ok = input != nullptr && out_weights != nullptr && out_bias != nullptr;
  for (int l = 0; l < num_hidden; ++l) {
    ok = ok && weights[l] != nullptr && biases[l] != nullptr &&
         act[l] != nullptr;
  }
  if (!ok) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "lopt_mlp: cannot allocate buffers for ", c.DebugString()));
  }
  w0_particle.assign(N * c.particle_features * d[1], 0.0);
  b0.assign(N * d[1], 0.0);

  for (int l = 0; l < num_hidden; ++l) {
    context =
        absl::StrCat("creating the layer-", l, " matmul for ", c.DebugString());
    const int64_t k = l == 0 ? Fs : d[l];
    memory src(Plain(N, M, k), engine, l == 0 ? input.get() : act[l - 1].get());
    memory wei(Plain(N, k, d[l + 1]), engine, weights[l].get());
    memory dst(Plain(N, M, d[l + 1]), engine, act[l].get());
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (l == 0) {
      // Layer 0 carries its bias in the 1s column: ReLU fuses.
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc(src.get_desc(), wei.get_desc(), dst.get_desc());
    dnnl::matmul::primitive_desc pd(desc, attr, engine);
    Step step;
    step.primitive = dnnl::matmul(pd);
    step.args = {{DNNL_ARG_SRC, src.get()},
                 {DNNL_ARG_WEIGHTS, wei.get()},
                 {DNNL_ARG_DST, dst.get()}};
    step.scratchpad_md = pd.scratchpad_desc();
    step.impl = pd.impl_info_str();
    memories.push_back(src);
    memories.push_back(wei);
    memories.push_back(dst);
    steps.push_back(std::move(step));
  }
  context = "allocating the oneDNN scratchpad";
  size_t scratch_bytes = 0;
  for (const Step& s : steps) {
    scratch_bytes = std::max(scratch_bytes, s.scratchpad_md.get_size());
  }
  scratchpad.reset(static_cast<unsigned char*>(AllocateZeroed(scratch_bytes)));
  if (scratchpad == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "lopt_mlp: cannot allocate ", scratch_bytes, " bytes of scratchpad"));
  }
  for (Step& s : steps) {
    if (s.scratchpad_md.get_size() == 0) continue;
    scratch_memories.emplace_back(s.scratchpad_md, engine, scratchpad.get());
    s.args.push_back({DNNL_ARG_SCRATCHPAD, scratch_memories.back().get()});
  }
  return absl::OkStatus();
}

absl::Status LoptMlp::Impl::Execute(const Step& step) {
  const dnnl_status_t status = dnnl_primitive_execute(
      step.primitive.get(), stream.get(), static_cast<int>(step.args.size()),
      step.args.data());
  if (status != dnnl_success) {
    return DnnlStatusToStatus(status, "dnnl_primitive_execute",
                              absl::StrCat("lopt_mlp ", config.DebugString()));
  }
  const dnnl_status_t wait = dnnl_stream_wait(stream.get());
  if (wait != dnnl_success) {
    return DnnlStatusToStatus(wait, "dnnl_stream_wait",
                              absl::StrCat("lopt_mlp ", config.DebugString()));
  }
  return absl::OkStatus();
}

// Row F_r of W0 (the 1s column's weights) = b_0 + pf W_0[F_r:, :].
void LoptMlp::Impl::FoldBias(const float* pf) {
  const int64_t N = config.num_particles, Fr = config.row_features,
                Fp = config.particle_features, h = d[1];
  for (int64_t i = 0; i < N; ++i) {
    float* row = weights[0].get() + (i * (Fr + 1) + Fr) * h;
    for (int64_t u = 0; u < h; ++u) {
      double v = b0[i * h + u];
      for (int64_t f = 0; f < Fp; ++f) {
        v += static_cast<double>(pf == nullptr ? 0.0f : pf[i * Fp + f]) *
             w0_particle[(i * Fp + f) * h + u];
      }
      row[u] = static_cast<float>(v);
    }
  }
}

// act[layer] = relu(act[layer] + b_layer) in place.
void LoptMlp::Impl::BiasRelu(int layer) {
  const int64_t N = config.num_particles, M = config.rows, h = d[layer + 1];
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* b = biases[layer].get() + i * h;
    for (int64_t r = 0; r < M; ++r) {
      float* x = act[layer].get() + (i * M + r) * h;
#pragma omp simd
      for (int64_t u = 0; u < h; ++u) x[u] = std::max(x[u] + b[u], 0.0f);
    }
  }
}

// outputs = act_H W_H + b_H, where act_H = relu(act[H-1] + b_{H-1}) for
// H >= 2 (fused here) and act[0] itself (already activated) for H = 1.
void LoptMlp::Impl::OutputLayer(float* outputs) {
  const int64_t N = config.num_particles, M = config.rows;
  const int64_t h = d[num_hidden], O = config.num_outputs;
  const bool fuse = num_hidden >= 2;
  const float* x_all = act[num_hidden - 1].get();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i) {
    const float* w = out_weights.get() + i * h * O;
    const float* bo = out_bias.get() + i * O;
    const float* bh = fuse ? biases[num_hidden - 1].get() + i * h : nullptr;
    for (int64_t r = 0; r < M; ++r) {
      const float* x = x_all + (i * M + r) * h;
      float* out = outputs + (i * M + r) * O;
      if (O == 2) {
        float a0 = 0.0f, a1 = 0.0f;
        if (fuse) {
#pragma omp simd reduction(+ : a0, a1)
          for (int64_t u = 0; u < h; ++u) {
            const float v = std::max(x[u] + bh[u], 0.0f);
            a0 += v * w[u];
            a1 += v * w[h + u];
          }
        } else {
#pragma omp simd reduction(+ : a0, a1)
          for (int64_t u = 0; u < h; ++u) {
            a0 += x[u] * w[u];
            a1 += x[u] * w[h + u];
          }
        }
        out[0] = a0 + bo[0];
        out[1] = a1 + bo[1];
        continue;
      }
      for (int64_t o = 0; o < O; ++o) {
        float a = 0.0f;
        for (int64_t u = 0; u < h; ++u) {
          const float v = fuse ? std::max(x[u] + bh[u], 0.0f) : x[u];
          a += v * w[o * h + u];
        }
        out[o] = a + bo[o];
      }
    }
  }
}

LoptMlp::LoptMlp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LoptMlp::~LoptMlp() = default;

absl::StatusOr<std::unique_ptr<LoptMlp>> LoptMlp::Create(
    const LoptMlpConfig& config) {
  LOPT_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  try {
    LOPT_RETURN_IF_ERROR(impl->Init(config));
  } catch (const dnnl::error& e) {
    return DnnlStatusToStatus(e.status, e.what(), impl->context);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("lopt_mlp: out of memory while ", impl->context));
  }
  return std::unique_ptr<LoptMlp>(new LoptMlp(std::move(impl)));
}

const LoptMlpConfig& LoptMlp::config() const { return impl_->config; }

absl::Status LoptMlp::SetWeights(absl::Span<const double> thetas) {
  Impl& m = *impl_;
  const LoptMlpConfig& c = m.config;
  const int64_t N = c.num_particles, P = c.theta_dim();
  if (static_cast<int64_t>(thetas.size()) != N * P) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_mlp: SetWeights got ", thetas.size(), " values; ",
        c.DebugString(), " needs N * P = ", N, " * ", P, " = ", N * P));
  }
  const std::vector<int64_t>& d = m.d;
  const int64_t Fr = c.row_features, Fp = c.particle_features;
  const int H = m.num_hidden;
  for (int64_t i = 0; i < N; ++i) {
    const double* row = thetas.data() + i * P;
    // Layer 0: row-feature rows to float, the rest kept in double.
    const double* w0 = row + c.theta_weight_offset(0);
    float* dst0 = m.weights[0].get() + i * (Fr + 1) * d[1];
    for (int64_t k = 0; k < Fr * d[1]; ++k) dst0[k] = static_cast<float>(w0[k]);
    std::copy(w0 + Fr * d[1], w0 + (Fr + Fp) * d[1],
              m.w0_particle.begin() + i * Fp * d[1]);
    const double* b0 = row + c.theta_bias_offset(0);
    std::copy(b0, b0 + d[1], m.b0.begin() + i * d[1]);
    // Hidden layers 1..H-1 and the output layer H.
    for (int l = 1; l <= H; ++l) {
      const int64_t ws = d[l] * d[l + 1];
      const double* w = row + c.theta_weight_offset(l);
      const double* b = row + c.theta_bias_offset(l);
      float* bd = l < H ? m.biases[l].get() + i * d[l + 1]
                        : m.out_bias.get() + i * d[l + 1];
      if (l < H) {
        float* wd = m.weights[l].get() + i * ws;
        for (int64_t k = 0; k < ws; ++k) wd[k] = static_cast<float>(w[k]);
      } else {  // transposed: [num_outputs, h_H]
        float* wd = m.out_weights.get() + i * ws;
        for (int64_t a = 0; a < d[l]; ++a) {
          for (int64_t o = 0; o < d[l + 1]; ++o) {
            wd[o * d[l] + a] = static_cast<float>(w[a * d[l + 1] + o]);
          }
        }
      }
      for (int64_t k = 0; k < d[l + 1]; ++k) bd[k] = static_cast<float>(b[k]);
    }
  }
  m.FoldBias(nullptr);
  m.has_weights = true;
  return absl::OkStatus();
}

absl::Status LoptMlp::SetParticleFeatures(absl::Span<const float> features) {
  Impl& m = *impl_;
  const int64_t want = m.config.num_particles * m.config.particle_features;
  if (static_cast<int64_t>(features.size()) != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_mlp: SetParticleFeatures got ", features.size(), " values; ",
        m.config.DebugString(), " needs N * F_p = ", want));
  }
  if (!m.has_weights) {
    return absl::FailedPreconditionError(
        "lopt_mlp: SetParticleFeatures before SetWeights");
  }
  m.FoldBias(features.data());
  return absl::OkStatus();
}

absl::Span<float> LoptMlp::input() {
  const LoptMlpConfig& c = impl_->config;
  return absl::Span<float>(impl_->input.get(),
                           c.num_particles * c.rows * c.input_stride());
}

absl::Status LoptMlp::Run(absl::Span<float> outputs) {
  Impl& m = *impl_;
  const LoptMlpConfig& c = m.config;
  const int64_t want = c.num_particles * c.rows * c.num_outputs;
  if (static_cast<int64_t>(outputs.size()) != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("lopt_mlp: Run got ", outputs.size(), " output floats; ",
                     c.DebugString(), " needs N * M * num_outputs = ", want));
  }
  if (!m.has_weights) {
    return absl::FailedPreconditionError("lopt_mlp: Run before SetWeights");
  }
  const int64_t rows = c.num_particles * c.rows, Fs = c.input_stride();
  float* in = m.input.get();
  for (int64_t r = 0; r < rows; ++r) in[r * Fs + Fs - 1] = 1.0f;
  for (int l = 0; l < m.num_hidden; ++l) {
    LOPT_RETURN_IF_ERROR(m.Execute(m.steps[l]));
    if (l >= 1 && l + 1 < m.num_hidden) m.BiasRelu(l);
  }
  m.OutputLayer(outputs.data());
  return absl::OkStatus();
}

absl::Status LoptMlp::Apply(absl::Span<const float> row_features,
                            absl::Span<float> outputs) {
  const LoptMlpConfig& c = impl_->config;
  const int64_t rows = c.num_particles * c.rows, Fr = c.row_features;
  if (static_cast<int64_t>(row_features.size()) != rows * Fr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "lopt_mlp: Apply got ", row_features.size(), " feature floats; ",
        c.DebugString(), " needs N * M * F_r = ", rows * Fr));
  }
  float* in = impl_->input.get();
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(in + r * (Fr + 1), row_features.data() + r * Fr,
                Fr * sizeof(float));
  }
  return Run(outputs);
}

std::string LoptMlp::ImplementationInfo() const {
  std::string out;
  for (size_t l = 0; l < impl_->steps.size(); ++l) {
    absl::StrAppend(&out, l == 0 ? "" : " ", "L", l, "=", impl_->steps[l].impl);
  }
  return out;
}

}  // namespace es
