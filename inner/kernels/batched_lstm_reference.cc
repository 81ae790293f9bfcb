// batched_lstm_reference.cc - see batched_lstm_reference.h.
#include "inner/kernels/batched_lstm_reference.h"

#include <cmath>

namespace es {
namespace {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic,
                             Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMat>;
using MutMap = Eigen::Map<RowMat>;

Eigen::MatrixXd Sigmoid(const Eigen::MatrixXd& x) {
  return x.unaryExpr([](double v) { return 1.0 / (1.0 + std::exp(-v)); });
}

Eigen::MatrixXd Tanh(const Eigen::MatrixXd& x) {
  return x.unaryExpr([](double v) { return std::tanh(v); });
}

struct StepRecord {
  Eigen::MatrixXd h_prev, c_prev, i, f, g, o, c, h, dz;
};

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<double> LstmTestValues(int64_t count, double scale,
                                   uint64_t seed) {
  std::vector<double> out(count);
  for (int64_t k = 0; k < count; ++k) {
    const uint64_t r = Mix(seed * 0x9E3779B97F4A7C15ull + Mix(k + 1));
    out[k] = scale * (2.0 * static_cast<double>(r >> 11) * 0x1.0p-53 - 1.0);
  }
  return out;
}

std::vector<int32_t> LstmTestTokens(int64_t count, int64_t vocab_size,
                                    uint64_t seed) {
  std::vector<int32_t> out(count);
  for (int64_t k = 0; k < count; ++k) {
    const uint64_t r = Mix(seed * 0xD1B54A32D192ED03ull + Mix(k + 7));
    out[k] = static_cast<int32_t>(r % static_cast<uint64_t>(vocab_size));
  }
  return out;
}

double LstmReferenceUnroll(const LstmShape& shape, int64_t batch,
                           const double* theta, int num_steps,
                           const int32_t* tokens, const int32_t* targets,
                           LstmReferenceState* state,
                           std::vector<double>* grad,
                           std::vector<double>* step_losses) {
  const int64_t B = batch, H = shape.hidden_size, V = shape.vocab_size;
  const int64_t G = 4 * H;
  const ConstMap w_x(theta + shape.w_x_offset(), V, G);
  const ConstMap w_h(theta + shape.w_h_offset(), H, G);
  const ConstMap b_x(theta + shape.b_x_offset(), 1, G);
  const ConstMap b_h(theta + shape.b_h_offset(), 1, G);
  const ConstMap w_o(theta + shape.w_o_offset(), H, V);
  const ConstMap b_o(theta + shape.b_o_offset(), 1, V);
  std::vector<StepRecord> records(grad != nullptr ? num_steps : 0);
  if (step_losses != nullptr) step_losses->assign(num_steps, 0.0);
  double total = 0.0;
  for (int t = 0; t < num_steps; ++t) {
    const int32_t* x = tokens + t * B;
    const int32_t* y = targets + t * B;
    Eigen::MatrixXd a = state->h * w_h;
    for (int64_t b = 0; b < B; ++b) {
      a.row(b) += w_x.row(x[b]) + b_x + b_h;
    }
    StepRecord r;
    r.h_prev = state->h;
    r.c_prev = state->c;
    r.i = Sigmoid(a.middleCols(0, H));
    r.f = Sigmoid(a.middleCols(H, H));
    r.g = Tanh(a.middleCols(2 * H, H));
    r.o = Sigmoid(a.middleCols(3 * H, H));
    r.c = r.f.cwiseProduct(state->c) + r.i.cwiseProduct(r.g);
    r.h = r.o.cwiseProduct(Tanh(r.c));
    Eigen::MatrixXd z = r.h * w_o;
    z.rowwise() += b_o.row(0);
    double step = 0.0;
    r.dz.resize(B, V);
    for (int64_t b = 0; b < B; ++b) {
      const double m = z.row(b).maxCoeff();
      const Eigen::RowVectorXd e =
          (z.row(b).array() - m).exp().matrix();
      const double s = e.sum();
      step += m + std::log(s) - z(b, y[b]);
      r.dz.row(b) = e / s;
      r.dz(b, y[b]) -= 1.0;
    }
    r.dz /= static_cast<double>(B);
    step /= static_cast<double>(B);
    if (step_losses != nullptr) (*step_losses)[t] = step;
    total += step;
    state->h = r.h;
    state->c = r.c;
    if (grad != nullptr) records[t] = std::move(r);
  }
  if (grad == nullptr) return total;

  grad->assign(shape.num_params(), 0.0);
  MutMap dw_x(grad->data() + shape.w_x_offset(), V, G);
  MutMap dw_h(grad->data() + shape.w_h_offset(), H, G);
  MutMap db_x(grad->data() + shape.b_x_offset(), 1, G);
  MutMap db_h(grad->data() + shape.b_h_offset(), 1, G);
  MutMap dw_o(grad->data() + shape.w_o_offset(), H, V);
  MutMap db_o(grad->data() + shape.b_o_offset(), 1, V);
  Eigen::MatrixXd dh_next = Eigen::MatrixXd::Zero(B, H);
  Eigen::MatrixXd dc_next = Eigen::MatrixXd::Zero(B, H);
  for (int t = num_steps - 1; t >= 0; --t) {
    const StepRecord& r = records[t];
    dw_o += r.h.transpose() * r.dz;
    db_o += r.dz.colwise().sum();
    const Eigen::MatrixXd dh = r.dz * w_o.transpose() + dh_next;
    const Eigen::MatrixXd tc = Tanh(r.c);
    const Eigen::ArrayXXd one = Eigen::ArrayXXd::Ones(B, H);
    const Eigen::MatrixXd dc =
        (dh.array() * r.o.array() * (one - tc.array().square())).matrix() +
        dc_next;
    Eigen::MatrixXd da(B, G);
    da.middleCols(0, H) = (dc.array() * r.g.array() * r.i.array() *
                           (one - r.i.array())).matrix();
    da.middleCols(H, H) = (dc.array() * r.c_prev.array() * r.f.array() *
                           (one - r.f.array())).matrix();
    da.middleCols(2 * H, H) =
        (dc.array() * r.i.array() * (one - r.g.array().square())).matrix();
    da.middleCols(3 * H, H) = (dh.array() * tc.array() * r.o.array() *
                               (one - r.o.array())).matrix();
    dw_h += r.h_prev.transpose() * da;
    const Eigen::RowVectorXd da_sum = da.colwise().sum();
    db_x += da_sum;
    db_h += da_sum;
    const int32_t* x = tokens + t * B;
    for (int64_t b = 0; b < B; ++b) dw_x.row(x[b]) += da.row(b);
    dh_next = da * w_h.transpose();
    dc_next = dc.cwiseProduct(r.f);
  }
  return total;
}

void LstmReferenceBatchedUnroll(const LstmShape& shape, int64_t batch,
                                int64_t num_particles, int64_t begin,
                                int64_t end, const double* thetas,
                                int num_steps, const int32_t* tokens,
                                const int32_t* targets, double* h, double* c,
                                double* loss) {
  const int64_t B = batch, H = shape.hidden_size, N = num_particles;
  std::vector<int32_t> x(static_cast<size_t>(num_steps) * B);
  std::vector<int32_t> y(x.size());
  for (int64_t i = begin; i < end; ++i) {
    for (int t = 0; t < num_steps; ++t) {
      for (int64_t b = 0; b < B; ++b) {
        x[t * B + b] = tokens[(t * N + i) * B + b];
        y[t * B + b] = targets[(t * N + i) * B + b];
      }
    }
    LstmReferenceState s;
    s.h = ConstMap(h + i * B * H, B, H);
    s.c = ConstMap(c + i * B * H, B, H);
    loss[i] = LstmReferenceUnroll(shape, B, thetas + i * shape.num_params(),
                                  num_steps, x.data(), y.data(), &s);
    MutMap(h + i * B * H, B, H) = s.h;
    MutMap(c + i * B * H, B, H) = s.c;
  }
}

}  // namespace es
