#include "estimators/testing/thread_group.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace es {

class ThreadGroup::Member : public Communicator {
 public:
  Member(ThreadGroup* group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size(); }
  absl::Status Allgather(const double* mine, absl::Span<const int> counts,
                         double* all) override {
    if (static_cast<int>(counts.size()) != size()) {
      return absl::InvalidArgumentError("counts must have one entry per rank");
    }
    group_->blocks_[rank_] = mine;
    group_->Wait();  // every block is in place
    double* out = all;
    for (int r = 0; r < size(); ++r) {
      std::copy(group_->blocks_[r], group_->blocks_[r] + counts[r], out);
      out += counts[r];
    }
    bytes_sent_ += sizeof(double) * counts[rank_];
    group_->Wait();  // nobody reuses its block before all have copied it
    return absl::OkStatus();
  }
  int64_t bytes_sent() const override { return bytes_sent_; }
  std::string Describe() const override {
    return absl::StrCat("thread group, ", size(), " ranks");
  }

 private:
  ThreadGroup* group_;
  int rank_;
  int64_t bytes_sent_ = 0;
};

ThreadGroup::ThreadGroup(int size) : blocks_(size, nullptr) {
  for (int r = 0; r < size; ++r) {
    members_.push_back(std::make_unique<Member>(this, r));
  }
}

ThreadGroup::~ThreadGroup() = default;

Communicator* ThreadGroup::member(int rank) { return members_[rank].get(); }

void ThreadGroup::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t gen = generation_;
  if (++arrived_ == size()) {
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
    return;
  }
  cv_.wait(lock, [&] { return generation_ != gen; });
}

}  // namespace es
