// thread_group.h - R communicators inside one process, one per thread, for
// testing the distributed estimators without mpirun: member(r) is rank r;
// Allgather blocks until all R members have called it (like MPI's
// collective), then every member copies every block.
//
// Usage:
//   ThreadGroup group(3);
//   std::vector<std::thread> ranks;
//   for (int r = 0; r < 3; ++r) ranks.emplace_back([&, r] {
//     auto est = MakeEstimator(&problem, spec, group.member(r)); ... });
#ifndef ES_SINGLE_ESTIMATORS_TESTING_THREAD_GROUP_H_
#define ES_SINGLE_ESTIMATORS_TESTING_THREAD_GROUP_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "estimators/communicator.h"

namespace es {

class ThreadGroup {
 public:
  explicit ThreadGroup(int size);
  ~ThreadGroup();
  Communicator* member(int rank);
  int size() const { return static_cast<int>(members_.size()); }

 private:
  class Member;
  // Blocks until all members arrived (a reusable barrier).
  void Wait();

  std::vector<std::unique_ptr<Member>> members_;
  std::vector<const double*> blocks_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  int64_t generation_ = 0;
};

}  // namespace es

#endif  // ES_SINGLE_ESTIMATORS_TESTING_THREAD_GROUP_H_
