// Tests of the checkpoint byte stream (estimators/state_io.h): round trips,
// and errors (never crashes) on truncated, mismatched or foreign input.
#include "estimators/state_io.h"

#include <vector>

#include "gtest/gtest.h"

namespace es {
namespace {

TEST(StateIoTest, RoundTripsValuesVectorsAndMatrices) {
  StateWriter w;
  w.Tag("demo");
  w.Pod(int64_t{-7});
  w.Vector(std::vector<double>{1.5, -0.0, 1e-300});
  Eigen::Matrix<double, 2, 3, Eigen::RowMajor> m;
  m << 1, 2, 3, 4, 5, 6;
  Eigen::MatrixXd dm = m;
  w.Matrix(dm);
  const std::string bytes = w.Take();

  StateReader r(bytes);
  ASSERT_TRUE(r.Tag("demo").ok());
  int64_t v = 0;
  ASSERT_TRUE(r.Pod(&v).ok());
  EXPECT_EQ(v, -7);
  std::vector<double> vec;
  ASSERT_TRUE(r.Vector(&vec, 3).ok());
  EXPECT_EQ(vec, (std::vector<double>{1.5, -0.0, 1e-300}));
  Eigen::MatrixXd back(2, 3);
  ASSERT_TRUE(r.Matrix(&back).ok());
  EXPECT_EQ(back, dm);
  EXPECT_TRUE(r.Finish().ok());
}

TEST(StateIoTest, RejectsTruncatedWrongTagWrongShapeAndLeftovers) {
  StateWriter w;
  w.Tag("toy2d");
  w.Vector(std::vector<double>(4, 1.0));
  const std::string bytes = w.Take();
  {
    StateReader r(bytes);
    EXPECT_FALSE(r.Tag("influence").ok());  // another problem's state
  }
  {
    StateReader r(bytes);
    ASSERT_TRUE(r.Tag("toy2d").ok());
    std::vector<double> v;
    EXPECT_FALSE(r.Vector(&v, 5).ok());  // another particle count
  }
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    StateReader r(absl::string_view(bytes).substr(0, cut));
    std::vector<double> v;
    const bool ok = r.Tag("toy2d").ok() && r.Vector(&v).ok();
    EXPECT_FALSE(ok) << "cut at " << cut;
  }
  {
    StateReader r(bytes);
    ASSERT_TRUE(r.Tag("toy2d").ok());
    EXPECT_FALSE(r.Finish().ok());  // unread bytes
  }
  // A length field claiming 2^60 entries is an error, not an allocation.
  StateWriter huge;
  huge.Pod(uint64_t{1} << 60);
  const std::string hb = huge.Take();
  StateReader r(hb);
  std::vector<double> v;
  EXPECT_FALSE(r.Vector(&v).ok());
  EXPECT_TRUE(v.empty());
}

}  // namespace
}  // namespace es
