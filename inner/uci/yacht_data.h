// yacht_data.h - the UCI Yacht regression data set as the PES / ES-Single
// L2-tuning experiment prepares it (ES-Single paper App. C, Fig. 14; PES,
// Vicol et al. 2021, Sec. 5 "UCI regression"): normalised, split 80/20 into
// training and validation rows, and reduced to the Gram quantities that the
// linear-regression inner problem needs.
//
// Preparation (facts taken from the PES code's UCI script):
//   * features X (all columns but the last) and target y (the last column)
//     are standardised with the mean and the population standard deviation
//     (ddof = 0) of ALL rows, before the split;
//   * the split is NumPy's legacy `np.random.seed(1);
//     np.random.choice(range(n), n, replace=False)`: a Fisher-Yates
//     permutation driven by MT19937 (NumpyLegacyPermutation below, which
//     reproduces NumPy's order exactly); the first round(0.8 n) permuted rows
//     train (246 for yacht), the rest validate (62);
//   * no bias column: the model is y_hat = x . w with D = 6 weights.
//
// Usage:
//   absl::StatusOr<UciTable> table = LoadYachtHydrodynamics(data_dir);
//   absl::StatusOr<RegressionSplit> split = PrepareRegressionSplit(*table, {});
//   // split->train_x: 246 x 6, split->gram_train = X^T X, ...
#ifndef ES_SINGLE_INNER_UCI_YACHT_DATA_H_
#define ES_SINGLE_INNER_UCI_YACHT_DATA_H_

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inner/data/uci_reader.h"

namespace es {

// The permutation NumPy's legacy RandomState(seed).permutation(n) returns
// (equivalently choice(range(n), n, replace=False)): MT19937 seeded with
// init_genrand(seed), then for i = n-1 .. 1 swap(i, j) with j uniform in
// [0, i] drawn by masked rejection of 32-bit outputs. n <= 2^32.
std::vector<int64_t> NumpyLegacyPermutation(int64_t n, uint32_t seed);

struct SplitOptions {
  // Fraction of rows (after the permutation) that train: round(f n) rows,
  // rounding half to even as Python's round().
  double train_fraction = 0.8;
  uint32_t split_seed = 1;  // PES: np.random.seed(1) before the permutation

  // At least one training and one validation row are needed.
  absl::Status Validate(int64_t num_rows) const;
};

using RowMatrix =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Standardised, split data plus the quantities the inner problem uses:
//   training loss   0.5 ||X_t w - y_t||^2 = 0.5 w'Aw - b'w + 0.5 c
//   validation loss 0.5 ||X_v w - y_v||^2 = 0.5 w'Vw - u'w + 0.5 s
struct RegressionSplit {
  RowMatrix train_x, val_x;           // rows = examples, D columns
  Eigen::VectorXd train_y, val_y;
  Eigen::MatrixXd gram_train;         // A = X_t' X_t   (D x D)
  Eigen::VectorXd xty_train;          // b = X_t' y_t
  double yty_train = 0.0;             // c = y_t' y_t
  Eigen::MatrixXd gram_val;           // V = X_v' X_v
  Eigen::VectorXd xty_val;            // u = X_v' y_v
  double yty_val = 0.0;               // s = y_v' y_v
  std::vector<int64_t> train_rows, val_rows;  // indices into the table
  Eigen::VectorXd feature_mean, feature_std;  // of the raw columns
  double target_mean = 0.0, target_std = 0.0;

  int num_features() const { return static_cast<int>(train_x.cols()); }
};

// Standardises and splits `table` (last column = target). InvalidArgument
// for fewer than 2 columns, a constant column (zero standard deviation, which
// standardisation cannot handle) or bad options.
absl::StatusOr<RegressionSplit> PrepareRegressionSplit(
    const UciTable& table, const SplitOptions& options = {});

}  // namespace es

#endif  // ES_SINGLE_INNER_UCI_YACHT_DATA_H_
