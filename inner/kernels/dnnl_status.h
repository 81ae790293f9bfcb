// dnnl_status.h - converts oneDNN errors (dnnl::error, C status codes) into
// absl::Status so that kernels report failures instead of throwing.
//
// oneDNN's C++ API throws dnnl::error; catch it at the kernel boundary:
//   try {
//     pd = dnnl::matmul::primitive_desc(desc, engine);
//   } catch (const dnnl::error& e) {
//     return DnnlStatusToStatus(e.status, e.what(), "creating layer 0 matmul");
//   }
// Mapping: invalid_arguments -> InvalidArgument, unimplemented ->
// Unimplemented, out_of_memory -> ResourceExhausted, anything else ->
// Internal. The message keeps oneDNN's text, its numeric status and context.
#ifndef ES_SINGLE_INNER_KERNELS_DNNL_STATUS_H_
#define ES_SINGLE_INNER_KERNELS_DNNL_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace es {

// `dnnl_status` is a dnnl_status_t value (dnnl::error::status); 0 (success)
// gives OkStatus.
absl::Status DnnlStatusToStatus(int dnnl_status, absl::string_view what,
                                absl::string_view context);

}  // namespace es

#endif  // ES_SINGLE_INNER_KERNELS_DNNL_STATUS_H_
