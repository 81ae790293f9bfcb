// yacht_data.cc - see yacht_data.h.
#include "inner/uci/yacht_data.h"

#include <cmath>
#include <numeric>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"

namespace es {
namespace {

// Uniform integer in [0, max] as NumPy's legacy bounded draw for max below
// 2^32: mask = the smallest all-ones word >= max, reject values above max.
uint32_t BoundedDraw(std::mt19937& gen, uint32_t max) {
  if (max == 0) return 0;
  uint32_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  uint32_t value;
  do {
    value = static_cast<uint32_t>(gen()) & mask;
  } while (value > max);
  return value;
}

int64_t TrainCount(int64_t n, double fraction) {
  // Python's round() rounds half to even, as nearbyint in the default mode.
  return static_cast<int64_t>(std::nearbyint(static_cast<double>(n) * fraction));
}

}  // namespace

std::vector<int64_t> NumpyLegacyPermutation(int64_t n, uint32_t seed) {
  ES_CHECK_MSG(n >= 0 && n <= (int64_t{1} << 32),
               "NumpyLegacyPermutation needs 0 <= n <= 2^32");
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  std::mt19937 gen(seed);  // init_genrand(seed), as RandomState.seed(int)
  for (int64_t i = n - 1; i >= 1; --i) {
    const int64_t j = BoundedDraw(gen, static_cast<uint32_t>(i));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

absl::Status SplitOptions::Validate(int64_t num_rows) const {
  if (!(train_fraction > 0.0 && train_fraction < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train_fraction = ", train_fraction, "; expected a value in (0, 1)"));
  }
  const int64_t train = TrainCount(num_rows, train_fraction);
  if (train < 1 || train > num_rows - 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "train_fraction = ", train_fraction, " of ", num_rows, " rows gives ",
        train, " training rows; expected at least one training and one "
        "validation row"));
  }
  return absl::OkStatus();
}

absl::StatusOr<RegressionSplit> PrepareRegressionSplit(
    const UciTable& table, const SplitOptions& options) {
  if (table.cols < 2 || table.rows < 2 ||
      static_cast<int64_t>(table.values.size()) != table.rows * table.cols) {
    return absl::InvalidArgumentError(absl::StrCat(
        "PrepareRegressionSplit: table is ", table.rows, " x ", table.cols,
        " with ", table.values.size(),
        " values; expected at least 2 rows and 2 columns (features, target)"));
  }
  if (absl::Status s = options.Validate(table.rows); !s.ok()) return s;
  const int64_t n = table.rows;
  const int64_t cols = table.cols;
  const int d = static_cast<int>(cols - 1);

  // Column means and population standard deviations over all rows.
  Eigen::VectorXd mean = Eigen::VectorXd::Zero(cols);
  Eigen::VectorXd stddev = Eigen::VectorXd::Zero(cols);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < cols; ++c) mean[c] += table.at(r, c);
  }
  mean /= static_cast<double>(n);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const double diff = table.at(r, c) - mean[c];
      stddev[c] += diff * diff;
    }
  }
  for (int64_t c = 0; c < cols; ++c) {
    stddev[c] = std::sqrt(stddev[c] / static_cast<double>(n));
    if (!(stddev[c] > 0.0) || !std::isfinite(stddev[c])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "PrepareRegressionSplit: column ", c + 1, " has standard deviation ",
          stddev[c], "; expected a positive finite spread to standardise"));
    }
  }

  RegressionSplit out;
  out.feature_mean = mean.head(d);
  out.feature_std = stddev.head(d);
  out.target_mean = mean[d];
  out.target_std = stddev[d];
  const std::vector<int64_t> perm = NumpyLegacyPermutation(n, options.split_seed);
  const int64_t n_train = TrainCount(n, options.train_fraction);
  out.train_rows.assign(perm.begin(), perm.begin() + n_train);
  out.val_rows.assign(perm.begin() + n_train, perm.end());

  auto fill = [&](const std::vector<int64_t>& rows, RowMatrix* x,
                  Eigen::VectorXd* y) {
    x->resize(static_cast<Eigen::Index>(rows.size()), d);
    y->resize(static_cast<Eigen::Index>(rows.size()));
    for (size_t k = 0; k < rows.size(); ++k) {
      for (int c = 0; c < d; ++c) {
        (*x)(k, c) = (table.at(rows[k], c) - mean[c]) / stddev[c];
      }
      (*y)[k] = (table.at(rows[k], d) - mean[d]) / stddev[d];
    }
  };
  fill(out.train_rows, &out.train_x, &out.train_y);
  fill(out.val_rows, &out.val_x, &out.val_y);

  // Gram quantities, summed in row order (fixed, so bits are reproducible).
  auto gram = [d](const RowMatrix& x, const Eigen::VectorXd& y,
                  Eigen::MatrixXd* g, Eigen::VectorXd* xty, double* yty) {
    *g = Eigen::MatrixXd::Zero(d, d);
    *xty = Eigen::VectorXd::Zero(d);
    *yty = 0.0;
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      for (int a = 0; a < d; ++a) {
        for (int b = 0; b < d; ++b) (*g)(a, b) += x(r, a) * x(r, b);
        (*xty)[a] += x(r, a) * y[r];
      }
      *yty += y[r] * y[r];
    }
  };
  gram(out.train_x, out.train_y, &out.gram_train, &out.xty_train,
       &out.yty_train);
  gram(out.val_x, out.val_y, &out.gram_val, &out.xty_val, &out.yty_val);
  return out;
}

}  // namespace es
