// state_io.h - a typed, bounds-checked byte stream for checkpoints: the exact
// state of particles, estimators and optimisers, written so that a resumed
// run continues to the same bits as an uninterrupted one.
//
// StateWriter appends raw little-endian bytes of trivially copyable values,
// std::vectors of them and Eigen matrices (with their shapes); StateReader
// reads them back in the same order and returns an absl::Status (never
// crashes) when the stream is short, a shape does not match or a tag
// differs. Tags ("online_es", ...) guard against restoring one object's
// state into another kind of object.
//
// Usage:
//   StateWriter w;  w.Tag("toy2d");  w.Pod(step);  w.Matrix(states);
//   std::string bytes = w.Take();
//   StateReader r(bytes);
//   if (auto s = r.Tag("toy2d"); !s.ok()) return s;
//   if (auto s = r.Pod(&step); !s.ok()) return s;
//   if (auto s = r.Matrix(&states); !s.ok()) return s;   // shape must match
//   if (auto s = r.Finish(); !s.ok()) return s;          // nothing left over
#ifndef ES_SINGLE_ESTIMATORS_STATE_IO_H_
#define ES_SINGLE_ESTIMATORS_STATE_IO_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace es {

class StateWriter {
 public:
  void Bytes(const void* data, size_t size) {
    buf_.append(static_cast<const char*>(data), size);
  }
  template <typename T>
  void Pod(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    Bytes(&value, sizeof(T));
  }
  // A string of any length (read back with StateReader::String).
  void String(absl::string_view text) {
    Pod(static_cast<uint64_t>(text.size()));
    Bytes(text.data(), text.size());
  }
  // A short string that the reader checks for equality.
  void Tag(absl::string_view tag) {
    Pod(static_cast<uint32_t>(tag.size()));
    Bytes(tag.data(), tag.size());
  }
  template <typename T>
  void Vector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Pod(static_cast<uint64_t>(v.size()));
    Bytes(v.data(), v.size() * sizeof(T));
  }
  template <typename Derived>
  void Matrix(const Eigen::PlainObjectBase<Derived>& m) {
    using Scalar = typename Derived::Scalar;
    Pod(static_cast<int64_t>(m.rows()));
    Pod(static_cast<int64_t>(m.cols()));
    Bytes(m.data(), static_cast<size_t>(m.size()) * sizeof(Scalar));
  }
  const std::string& bytes() const { return buf_; }
  std::string Take() { return std::move(buf_); }

 private:
  std::string buf_;
};

class StateReader {
 public:
  explicit StateReader(absl::string_view bytes) : data_(bytes) {}

  absl::Status Bytes(void* out, size_t size) {
    if (size > data_.size() - pos_) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint state is truncated: need ", size, " more bytes at offset ",
          pos_, ", have ", data_.size() - pos_));
    }
    if (size == 0) return absl::OkStatus();  // out may be null (empty vector)
    std::memcpy(out, data_.data() + pos_, size);
    pos_ += size;
    return absl::OkStatus();
  }
  template <typename T>
  absl::Status Pod(T* value) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Bytes(value, sizeof(T));
  }
  absl::Status Tag(absl::string_view expected) {
    uint32_t n = 0;
    if (auto s = Pod(&n); !s.ok()) return s;
    if (n != expected.size() || n > data_.size() - pos_ ||
        data_.substr(pos_, n) != expected) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint state: expected a section '", expected,
          "' at offset ", pos_, " (was it written by another method, problem "
          "or version?)"));
    }
    pos_ += n;
    return absl::OkStatus();
  }
  absl::Status String(std::string* text) {
    uint64_t n = 0;
    if (auto s = Pod(&n); !s.ok()) return s;
    if (n > data_.size() - pos_) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint state is truncated: a string of ", n, " bytes at offset ",
          pos_, " does not fit"));
    }
    text->assign(data_.data() + pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }
  // Reads a vector written by StateWriter::Vector; its length must be
  // `expected_size` unless that is negative.
  template <typename T>
  absl::Status Vector(std::vector<T>* v, int64_t expected_size = -1) {
    static_assert(std::is_trivially_copyable_v<T>);
    uint64_t n = 0;
    if (auto s = Pod(&n); !s.ok()) return s;
    if (expected_size >= 0 && n != static_cast<uint64_t>(expected_size)) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint state: a vector has ", n, " entries, expected ",
          expected_size));
    }
    if (n > (data_.size() - pos_) / sizeof(T)) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint state is truncated: a vector of ", n, " entries does not "
          "fit in the ", data_.size() - pos_, " bytes left"));
    }
    v->resize(n);
    return Bytes(v->data(), n * sizeof(T));
  }
  // Reads a matrix into `m`, whose shape must already be the written one.
  template <typename Derived>
  absl::Status Matrix(Eigen::PlainObjectBase<Derived>* m) {
    using Scalar = typename Derived::Scalar;
    int64_t rows = 0, cols = 0;
    if (auto s = Pod(&rows); !s.ok()) return s;
    if (auto s = Pod(&cols); !s.ok()) return s;
    if (rows != m->rows() || cols != m->cols()) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint state: a matrix is ", rows, " x ", cols, ", expected ",
          m->rows(), " x ", m->cols(), " (different settings?)"));
    }
    return Bytes(m->data(), static_cast<size_t>(m->size()) * sizeof(Scalar));
  }
  // OK when every byte was read.
  absl::Status Finish() const {
    if (pos_ == data_.size()) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat(
        "checkpoint state has ", data_.size() - pos_,
        " unread bytes at the end (different settings or version?)"));
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  absl::string_view data_;
  size_t pos_ = 0;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_STATE_IO_H_
