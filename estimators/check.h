// check.h - always-on internal invariant checks (this Abseil LTS has no
// absl/log, so there is no ABSL_CHECK). Use for programmer errors only; input
// errors are reported with absl::Status.
//
//   ES_CHECK(begin <= end) << "never printed; message is built into the macro";
//   ES_CHECK_MSG(n % 2 == 0, "odd particle count");
#ifndef ES_SINGLE_ESTIMATORS_CHECK_H_
#define ES_SINGLE_ESTIMATORS_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define ES_CHECK_MSG(cond, msg)                                            \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: check failed: %s (%s)\n", __FILE__,     \
                   __LINE__, #cond, msg);                                  \
      std::abort();                                                        \
    }                                                                      \
  } while (0)

#define ES_CHECK(cond) ES_CHECK_MSG(cond, "")

#endif  // ES_SINGLE_ESTIMATORS_CHECK_H_
