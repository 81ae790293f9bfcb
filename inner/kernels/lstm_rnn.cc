// lstm_rnn.cc - see lstm_rnn.h.
#include "inner/kernels/lstm_rnn.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "inner/kernels/batched_lstm_simd.h"
#include "inner/kernels/dnnl_status.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace {

using dnnl::memory;
using Dims = memory::dims;
using Dt = memory::data_type;
using Tag = memory::format_tag;

#define RNN_RETURN_IF_ERROR(expr)              \
  do {                                         \
    absl::Status rnn_status_ = (expr);         \
    if (!rnn_status_.ok()) return rnn_status_; \
  } while (0)

struct Exec {
  dnnl::primitive primitive;
  std::vector<dnnl_exec_arg_t> args;
  std::string name;
};

float* Ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }

}  // namespace

absl::Status LstmRnnConfig::Validate() const {
  RNN_RETURN_IF_ERROR(shape.Validate());
  if (batch_size < 1 || batch_size > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LstmRnn batch_size B = ", batch_size, " must be in [1, 2^20]"));
  }
  if (seq_length < 1 || seq_length > (int64_t{1} << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "LstmRnn seq_length K = ", seq_length, " must be in [1, 2^20]"));
  }
  const double widest =
      static_cast<double>(seq_length) * static_cast<double>(batch_size) *
      static_cast<double>(std::max(shape.vocab_size, 4 * shape.hidden_size));
  if (widest > static_cast<double>(int64_t{1} << 31)) {
    return absl::InvalidArgumentError(
        absl::StrCat("LstmRnn ", DebugString(), " needs ", widest,
                     " floats in one array; at most 2^31 are allowed"));
  }
  return absl::OkStatus();
}

std::string LstmRnnConfig::DebugString() const {
  return absl::StrCat("V=", shape.vocab_size, " H=", shape.hidden_size,
                      " B=", batch_size, " K=", seq_length);
}

struct LstmRnn::Impl {
  LstmRnnConfig config;
  std::string context;
  dnnl::engine engine;
  dnnl::stream stream;

  // User-layout (plain) memories, allocated by oneDNN.
  memory w_layer, w_iter, bias;          // W_x, W_h, b_x + b_h
  memory src_layer, dst_layer;           // one-hot {K,B,V}, h_1..h_K {K,B,H}
  memory src_iter, src_iter_c, dst_iter, dst_iter_c;
  memory w_o, b_o, logits, dlogits;      // {H,V}, {1,V}, {K*B,V} x 2
  memory h_2d, dh_2d, dst_layer_2d_t, w_o_t, dw_o;  // 2-D views, dW_o
  memory diff_dst_layer, diff_dst_iter, diff_dst_iter_c;
  memory diff_src_layer, diff_src_iter, diff_src_iter_c;
  memory diff_w_layer, diff_w_iter, diff_bias;
  memory workspace;
  // Primitive-format copies (equal to the user memories when no reorder).
  memory fwd_w_layer, fwd_w_iter, bwd_w_layer, bwd_w_iter;
  memory bwd_diff_w_layer, bwd_diff_w_iter;

  std::vector<Exec> to_fwd, to_bwd, from_bwd;  // weight reorders
  Exec fwd, bwd, logits_mm, dw_o_mm, dh_mm;

  absl::Status Init(const LstmRnnConfig& c);
  absl::Status Run(const Exec& e);
  absl::Status Prepare(absl::Span<const double> theta,
                       absl::Span<const int32_t> tokens,
                       absl::Span<const int32_t> targets, absl::Span<float> h,
                       absl::Span<float> c);
  absl::Status RunForward(absl::Span<const int32_t> targets,
                          absl::Span<float> h, absl::Span<float> c,
                          double* loss, absl::Span<double> step_losses);
};

absl::Status LstmRnn::Impl::Init(const LstmRnnConfig& c) {
  config = c;
  const int64_t K = c.seq_length, B = c.batch_size;
  const int64_t H = c.shape.hidden_size, V = c.shape.vocab_size;
  context = "creating the oneDNN CPU engine";
  engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
  stream = dnnl::stream(engine);
  auto md = [](Dims d, Tag t) { return memory::desc(d, Dt::f32, t); };
  auto any = [](Dims d) { return memory::desc(d, Dt::f32, Tag::any); };
  const Dims wl{1, 1, V, 4, H}, wi{1, 1, H, 4, H}, bi{1, 1, 4, H};
  const Dims sl{K, B, V}, dl{K, B, H}, it{1, 1, B, H};
  w_layer = memory(md(wl, Tag::ldigo), engine);
  w_iter = memory(md(wi, Tag::ldigo), engine);
  bias = memory(md(bi, Tag::ldgo), engine);
  src_layer = memory(md(sl, Tag::tnc), engine);
  dst_layer = memory(md(dl, Tag::tnc), engine);
  for (memory* m : {&src_iter, &src_iter_c, &dst_iter, &dst_iter_c,
                    &diff_dst_iter, &diff_dst_iter_c, &diff_src_iter,
                    &diff_src_iter_c}) {
    *m = memory(md(it, Tag::ldnc), engine);
  }
  diff_dst_layer = memory(md(dl, Tag::tnc), engine);
  diff_src_layer = memory(md(sl, Tag::tnc), engine);
  diff_w_layer = memory(md(wl, Tag::ldigo), engine);
  diff_w_iter = memory(md(wi, Tag::ldigo), engine);
  diff_bias = memory(md(bi, Tag::ldgo), engine);

  context = absl::StrCat("creating lstm_forward for ", c.DebugString());
  dnnl::lstm_forward::desc fwd_desc(
      dnnl::prop_kind::forward_training,
      dnnl::rnn_direction::unidirectional_left2right, src_layer.get_desc(),
      src_iter.get_desc(), src_iter_c.get_desc(), any(wl), any(wi),
      bias.get_desc(), dst_layer.get_desc(), dst_iter.get_desc(),
      dst_iter_c.get_desc());
  dnnl::lstm_forward::primitive_desc fwd_pd(fwd_desc, engine);
  context = absl::StrCat("creating lstm_backward for ", c.DebugString());
  dnnl::lstm_backward::desc bwd_desc(
      dnnl::prop_kind::backward, dnnl::rnn_direction::unidirectional_left2right,
      src_layer.get_desc(), src_iter.get_desc(), src_iter_c.get_desc(),
      any(wl), any(wi), bias.get_desc(), dst_layer.get_desc(),
      dst_iter.get_desc(), dst_iter_c.get_desc(), diff_src_layer.get_desc(),
      diff_src_iter.get_desc(), diff_src_iter_c.get_desc(), any(wl), any(wi),
      diff_bias.get_desc(), diff_dst_layer.get_desc(),
      diff_dst_iter.get_desc(), diff_dst_iter_c.get_desc());
  dnnl::lstm_backward::primitive_desc bwd_pd(bwd_desc, engine, fwd_pd);
  workspace = memory(fwd_pd.workspace_desc(), engine);

  // Weights in the primitives' formats, with reorders where they differ.
  auto adopt = [&](const memory& user, const memory::desc& want,
                   std::vector<Exec>* reorders, bool from_user) {
    if (want == user.get_desc()) return user;
    memory m(want, engine);
    const memory& src = from_user ? user : m;
    const memory& dst = from_user ? m : user;
    Exec e;
    e.primitive = dnnl::reorder(src, dst);
    e.args = {{DNNL_ARG_FROM, src.get()}, {DNNL_ARG_TO, dst.get()}};
    e.name = "weights reorder";
    reorders->push_back(std::move(e));
    return m;
  };
  context = "creating the weight reorders";
  fwd_w_layer = adopt(w_layer, fwd_pd.weights_layer_desc(), &to_fwd, true);
  fwd_w_iter = adopt(w_iter, fwd_pd.weights_iter_desc(), &to_fwd, true);
  bwd_w_layer = adopt(w_layer, bwd_pd.weights_layer_desc(), &to_bwd, true);
  bwd_w_iter = adopt(w_iter, bwd_pd.weights_iter_desc(), &to_bwd, true);
  bwd_diff_w_layer =
      adopt(diff_w_layer, bwd_pd.diff_weights_layer_desc(), &from_bwd, false);
  bwd_diff_w_iter =
      adopt(diff_w_iter, bwd_pd.diff_weights_iter_desc(), &from_bwd, false);

  fwd.primitive = dnnl::lstm_forward(fwd_pd);
  fwd.name = absl::StrCat("fwd=", fwd_pd.impl_info_str());
  fwd.args = {{DNNL_ARG_SRC_LAYER, src_layer.get()},
              {DNNL_ARG_SRC_ITER, src_iter.get()},
              {DNNL_ARG_SRC_ITER_C, src_iter_c.get()},
              {DNNL_ARG_WEIGHTS_LAYER, fwd_w_layer.get()},
              {DNNL_ARG_WEIGHTS_ITER, fwd_w_iter.get()},
              {DNNL_ARG_BIAS, bias.get()},
              {DNNL_ARG_DST_LAYER, dst_layer.get()},
              {DNNL_ARG_DST_ITER, dst_iter.get()},
              {DNNL_ARG_DST_ITER_C, dst_iter_c.get()},
              {DNNL_ARG_WORKSPACE, workspace.get()}};
  bwd.primitive = dnnl::lstm_backward(bwd_pd);
  bwd.name = absl::StrCat("bwd=", bwd_pd.impl_info_str());
  bwd.args = {{DNNL_ARG_SRC_LAYER, src_layer.get()},
              {DNNL_ARG_SRC_ITER, src_iter.get()},
              {DNNL_ARG_SRC_ITER_C, src_iter_c.get()},
              {DNNL_ARG_WEIGHTS_LAYER, bwd_w_layer.get()},
              {DNNL_ARG_WEIGHTS_ITER, bwd_w_iter.get()},
              {DNNL_ARG_BIAS, bias.get()},
              {DNNL_ARG_DST_LAYER, dst_layer.get()},
              {DNNL_ARG_DST_ITER, dst_iter.get()},
              {DNNL_ARG_DST_ITER_C, dst_iter_c.get()},
              {DNNL_ARG_WORKSPACE, workspace.get()},
              {DNNL_ARG_DIFF_SRC_LAYER, diff_src_layer.get()},
              {DNNL_ARG_DIFF_SRC_ITER, diff_src_iter.get()},
              {DNNL_ARG_DIFF_SRC_ITER_C, diff_src_iter_c.get()},
              {DNNL_ARG_DIFF_WEIGHTS_LAYER, bwd_diff_w_layer.get()},
              {DNNL_ARG_DIFF_WEIGHTS_ITER, bwd_diff_w_iter.get()},
              {DNNL_ARG_DIFF_BIAS, diff_bias.get()},
              {DNNL_ARG_DIFF_DST_LAYER, diff_dst_layer.get()},
              {DNNL_ARG_DIFF_DST_ITER, diff_dst_iter.get()},
              {DNNL_ARG_DIFF_DST_ITER_C, diff_dst_iter_c.get()}};

  // Output layer: logits = h W_o + b_o, dW_o = h^T dZ, dH = dZ W_o^T.
  context = absl::StrCat("creating the output matmuls for ", c.DebugString());
  const int64_t R = K * B;
  w_o = memory(md({H, V}, Tag::ab), engine);
  b_o = memory(md({1, V}, Tag::ab), engine);
  logits = memory(md({R, V}, Tag::ab), engine);
  dlogits = memory(md({R, V}, Tag::ab), engine);
  dw_o = memory(md({H, V}, Tag::ab), engine);
  h_2d = memory(md({R, H}, Tag::ab), engine, Ptr(dst_layer));
  dst_layer_2d_t = memory(md({H, R}, Tag::ba), engine, Ptr(dst_layer));
  w_o_t = memory(md({V, H}, Tag::ba), engine, Ptr(w_o));
  dh_2d = memory(md({R, H}, Tag::ab), engine, Ptr(diff_dst_layer));
  auto matmul = [&](const memory& src, const memory& wei, const memory& dst,
                    const memory* b, const char* name) {
    dnnl::matmul::desc d = b != nullptr
                               ? dnnl::matmul::desc(src.get_desc(),
                                                    wei.get_desc(),
                                                    b->get_desc(),
                                                    dst.get_desc())
                               : dnnl::matmul::desc(src.get_desc(),
                                                    wei.get_desc(),
                                                    dst.get_desc());
    dnnl::matmul::primitive_desc pd(d, engine);
    Exec e;
    e.primitive = dnnl::matmul(pd);
    e.name = absl::StrCat(name, "=", pd.impl_info_str());
    e.args = {{DNNL_ARG_SRC, src.get()},
              {DNNL_ARG_WEIGHTS, wei.get()},
              {DNNL_ARG_DST, dst.get()}};
    if (b != nullptr) e.args.push_back({DNNL_ARG_BIAS, b->get()});
    return e;
  };
  logits_mm = matmul(h_2d, w_o, logits, &b_o, "logits");
  dw_o_mm = matmul(dst_layer_2d_t, dlogits, dw_o, nullptr, "dW_o");
  dh_mm = matmul(dlogits, w_o_t, dh_2d, nullptr, "dH");
  // The memories above own their buffers; the views only alias them. Zero
  // the incoming gradients from beyond the window once: never written.
  std::memset(Ptr(diff_dst_iter), 0, B * H * sizeof(float));
  std::memset(Ptr(diff_dst_iter_c), 0, B * H * sizeof(float));
  return absl::OkStatus();
}

absl::Status LstmRnn::Impl::Run(const Exec& e) {
  const dnnl_status_t status =
      dnnl_primitive_execute(e.primitive.get(), stream.get(),
                             static_cast<int>(e.args.size()), e.args.data());
  if (status != dnnl_success) {
    return DnnlStatusToStatus(status, "dnnl_primitive_execute",
                              absl::StrCat("running ", e.name, " for ",
                                           config.DebugString()));
  }
  const dnnl_status_t wait = dnnl_stream_wait(stream.get());
  if (wait != dnnl_success) {
    return DnnlStatusToStatus(wait, "dnnl_stream_wait", e.name);
  }
  return absl::OkStatus();
}

// Checks the caller's arrays and loads weights, one-hot input and state.
absl::Status LstmRnn::Impl::Prepare(absl::Span<const double> theta,
                                    absl::Span<const int32_t> tokens,
                                    absl::Span<const int32_t> targets,
                                    absl::Span<float> h, absl::Span<float> c) {
  const LstmShape& s = config.shape;
  const int64_t K = config.seq_length, B = config.batch_size;
  const int64_t H = s.hidden_size, V = s.vocab_size, G = 4 * H;
  const std::string shape = config.DebugString();
  RNN_RETURN_IF_ERROR(ValidateSize("theta", theta.size(), s.num_params(),
                                   absl::StrCat("P for ", shape)));
  RNN_RETURN_IF_ERROR(ValidateSize("tokens", tokens.size(), K * B, shape));
  RNN_RETURN_IF_ERROR(ValidateSize("targets", targets.size(), K * B, shape));
  RNN_RETURN_IF_ERROR(ValidateSize("h", h.size(), B * H, shape));
  RNN_RETURN_IF_ERROR(ValidateSize("c", c.size(), B * H, shape));
  RNN_RETURN_IF_ERROR(ValidateTokenIds("tokens", tokens, B, V));
  RNN_RETURN_IF_ERROR(ValidateTokenIds("targets", targets, B, V));
  const double* th = theta.data();
  float* wl = Ptr(w_layer);
  for (int64_t k = 0; k < V * G; ++k) {
    wl[k] = static_cast<float>(th[s.w_x_offset() + k]);
  }
  float* wi = Ptr(w_iter);
  for (int64_t k = 0; k < H * G; ++k) {
    wi[k] = static_cast<float>(th[s.w_h_offset() + k]);
  }
  float* bs = Ptr(bias);
  for (int64_t k = 0; k < G; ++k) {
    bs[k] = static_cast<float>(th[s.b_x_offset() + k] + th[s.b_h_offset() + k]);
  }
  float* wo = Ptr(w_o);
  for (int64_t k = 0; k < H * V; ++k) {
    wo[k] = static_cast<float>(th[s.w_o_offset() + k]);
  }
  float* bo = Ptr(b_o);
  for (int64_t k = 0; k < V; ++k) {
    bo[k] = static_cast<float>(th[s.b_o_offset() + k]);
  }
  float* x = Ptr(src_layer);
  std::memset(x, 0, K * B * V * sizeof(float));
  for (int64_t r = 0; r < K * B; ++r) x[r * V + tokens[r]] = 1.0f;
  std::memcpy(Ptr(src_iter), h.data(), B * H * sizeof(float));
  std::memcpy(Ptr(src_iter_c), c.data(), B * H * sizeof(float));
  return absl::OkStatus();
}

absl::Status LstmRnn::Impl::RunForward(absl::Span<const int32_t> targets,
                                       absl::Span<float> h,
                                       absl::Span<float> c, double* loss,
                                       absl::Span<double> step_losses) {
  const int64_t K = config.seq_length, B = config.batch_size;
  const int64_t H = config.shape.hidden_size, V = config.shape.vocab_size;
  for (const Exec& e : to_fwd) RNN_RETURN_IF_ERROR(Run(e));
  RNN_RETURN_IF_ERROR(Run(fwd));
  RNN_RETURN_IF_ERROR(Run(logits_mm));
  const float* z = Ptr(logits);
  float* dz = Ptr(dlogits);
  const float inv_b = 1.0f / static_cast<float>(B);
  double total = 0.0;
  for (int64_t t = 0; t < K; ++t) {
    double step = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t r = t * B + b;
      step += lstm_simd::SoftmaxCrossEntropy(z + r * V, V, targets[r],
                                             dz + r * V, inv_b);
    }
    step /= static_cast<double>(B);
    if (!step_losses.empty()) step_losses[t] = step;
    total += step;
  }
  *loss = total;
  std::memcpy(h.data(), Ptr(dst_iter), B * H * sizeof(float));
  std::memcpy(c.data(), Ptr(dst_iter_c), B * H * sizeof(float));
  return absl::OkStatus();
}

LstmRnn::LstmRnn(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LstmRnn::~LstmRnn() = default;

absl::StatusOr<std::unique_ptr<LstmRnn>> LstmRnn::Create(
    const LstmRnnConfig& config) {
  RNN_RETURN_IF_ERROR(config.Validate());
  auto impl = std::make_unique<Impl>();
  try {
    RNN_RETURN_IF_ERROR(impl->Init(config));
  } catch (const dnnl::error& e) {
    return DnnlStatusToStatus(e.status, e.what(), impl->context);
  } catch (const std::bad_alloc&) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory while ", impl->context));
  }
  return std::unique_ptr<LstmRnn>(new LstmRnn(std::move(impl)));
}

const LstmRnnConfig& LstmRnn::config() const { return impl_->config; }

absl::Status LstmRnn::Forward(absl::Span<const double> theta,
                              absl::Span<const int32_t> tokens,
                              absl::Span<const int32_t> targets,
                              absl::Span<float> h, absl::Span<float> c,
                              double* loss, absl::Span<double> step_losses) {
  Impl& m = *impl_;
  if (!step_losses.empty()) {
    RNN_RETURN_IF_ERROR(ValidateSize("step_losses", step_losses.size(),
                                     m.config.seq_length,
                                     m.config.DebugString()));
  }
  RNN_RETURN_IF_ERROR(m.Prepare(theta, tokens, targets, h, c));
  return m.RunForward(targets, h, c, loss, step_losses);
}

absl::Status LstmRnn::ForwardBackward(absl::Span<const double> theta,
                                      absl::Span<const int32_t> tokens,
                                      absl::Span<const int32_t> targets,
                                      absl::Span<float> h, absl::Span<float> c,
                                      absl::Span<double> grad, double* loss) {
  Impl& m = *impl_;
  const LstmShape& s = m.config.shape;
  const int64_t K = m.config.seq_length, B = m.config.batch_size;
  const int64_t H = s.hidden_size, V = s.vocab_size, G = 4 * H;
  RNN_RETURN_IF_ERROR(ValidateSize("grad", grad.size(), s.num_params(),
                                   m.config.DebugString()));
  RNN_RETURN_IF_ERROR(m.Prepare(theta, tokens, targets, h, c));
  RNN_RETURN_IF_ERROR(m.RunForward(targets, h, c, loss, {}));
  // Output layer backward.
  RNN_RETURN_IF_ERROR(m.Run(m.dw_o_mm));
  RNN_RETURN_IF_ERROR(m.Run(m.dh_mm));
  // LSTM backward; diff weights are zeroed first (oneDNN accumulates them).
  for (const memory* d : {&m.bwd_diff_w_layer, &m.bwd_diff_w_iter,
                          &m.diff_bias}) {
    std::memset(d->get_data_handle(), 0, d->get_desc().get_size());
  }
  for (const Exec& e : m.to_bwd) RNN_RETURN_IF_ERROR(m.Run(e));
  RNN_RETURN_IF_ERROR(m.Run(m.bwd));
  for (const Exec& e : m.from_bwd) RNN_RETURN_IF_ERROR(m.Run(e));

  double* g = grad.data();
  const float* dwl = Ptr(m.diff_w_layer);
  for (int64_t k = 0; k < V * G; ++k) g[s.w_x_offset() + k] = dwl[k];
  const float* dwi = Ptr(m.diff_w_iter);
  for (int64_t k = 0; k < H * G; ++k) g[s.w_h_offset() + k] = dwi[k];
  const float* db = Ptr(m.diff_bias);
  for (int64_t k = 0; k < G; ++k) {
    g[s.b_x_offset() + k] = db[k];
    g[s.b_h_offset() + k] = db[k];
  }
  const float* dwo = Ptr(m.dw_o);
  for (int64_t k = 0; k < H * V; ++k) g[s.w_o_offset() + k] = dwo[k];
  // db_o = column sums of dZ, accumulated in double.
  const float* dz = Ptr(m.dlogits);
  double* dbo = g + s.b_o_offset();
  std::fill(dbo, dbo + V, 0.0);
  for (int64_t r = 0; r < K * B; ++r) {
    for (int64_t v = 0; v < V; ++v) dbo[v] += dz[r * V + v];
  }
  return absl::OkStatus();
}

std::string LstmRnn::ImplementationInfo() const {
  const Impl& m = *impl_;
  return absl::StrCat(m.fwd.name, " ", m.bwd.name, " ", m.logits_mm.name, " ",
                      m.dw_o_mm.name, " ", m.dh_mm.name, " reorders=",
                      m.to_fwd.size() + m.to_bwd.size() + m.from_bwd.size());
}

}  // namespace es
