// dnnl_status.cc - see dnnl_status.h.
#include "inner/kernels/dnnl_status.h"

#include "absl/strings/str_cat.h"
#include "oneapi/dnnl/dnnl_types.h"

namespace es {

absl::Status DnnlStatusToStatus(int dnnl_status, absl::string_view what,
                                absl::string_view context) {
  if (dnnl_status == dnnl_success) return absl::OkStatus();
  const std::string message =
      absl::StrCat("oneDNN error while ", context, ": ", what,
                   " (dnnl_status_t ", dnnl_status, ")");
  switch (dnnl_status) {
    case dnnl_invalid_arguments:
      return absl::InvalidArgumentError(message);
    case dnnl_unimplemented:
      return absl::UnimplementedError(message);
    case dnnl_out_of_memory:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace es
