// dnnl_steps.cc - see dnnl_steps.h.
#include "inner/cifar/dnnl_steps.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"
#include "estimators/check.h"
#include "inner/kernels/dnnl_status.h"

namespace es {
namespace cifar_internal {

void StepList::FreeDeleter::operator()(void* p) const { std::free(p); }

StepList::StepList(const dnnl::engine& engine)
    : engine_(engine), stream_(engine) {}

dnnl::primitive_attr StepList::Attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory StepList::Bound(const dnnl::memory::desc& md, Source source,
                             int64_t offset) {
  dnnl::memory mem(md, engine_, DNNL_MEMORY_NONE);
  bindings_.push_back({mem, source, offset});
  return mem;
}

dnnl::memory StepList::Owned(const dnnl::memory::desc& md) {
  const size_t bytes = std::max<size_t>(md.get_size(), 64);
  const size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  buffers_.emplace_back(static_cast<float*>(p));
  owned_bytes_ += static_cast<int64_t>(rounded);
  dnnl::memory mem(md, engine_, p);
  keep_.push_back(mem);
  return mem;
}

dnnl::memory StepList::View(const dnnl::memory::desc& md,
                            const dnnl::memory& base, int64_t offset_floats) {
  float* p = static_cast<float*>(base.get_data_handle()) + offset_floats;
  dnnl::memory mem(md, engine_, p);
  keep_.push_back(mem);
  return mem;
}

Step StepList::Reorder(const dnnl::memory& from, const dnnl::memory& to,
                       const std::string& name) {
  dnnl::reorder::primitive_desc pd(engine_, from.get_desc(), engine_,
                                   to.get_desc(), Attr());
  return MakeStep(pd, {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, name);
}

dnnl::memory StepList::Converted(const dnnl::memory& from,
                                 const dnnl::memory::desc& md,
                                 StepSequence* seq, const std::string& name) {
  if (from.get_desc() == md) return from;
  dnnl::memory to = Owned(md);
  seq->push_back(Reorder(from, to, name));
  return to;
}

void StepList::FinishScratchpad(const std::vector<StepSequence*>& seqs) {
  size_t bytes = 0;
  for (const StepSequence* seq : seqs) {
    for (const Step& s : *seq) bytes = std::max(bytes, s.scratchpad_md.get_size());
  }
  if (bytes == 0) return;
  const dnnl::memory::desc flat({static_cast<int64_t>((bytes + 3) / 4)},
                                dnnl::memory::data_type::f32,
                                dnnl::memory::format_tag::a);
  const dnnl::memory pad = Owned(flat);
  for (StepSequence* seq : seqs) {
    for (Step& s : *seq) {
      if (s.scratchpad_md.get_size() == 0) continue;
      const dnnl::memory m = View(s.scratchpad_md, pad);
      s.args.push_back({DNNL_ARG_SCRATCHPAD, m.get()});
    }
  }
}

absl::Status StepList::BindAll(
    const std::array<const float*, static_cast<int>(Source::kCount)>& arrays) {
  for (const Binding& b : bindings_) {
    const float* base = arrays[static_cast<int>(b.source)];
    if (base == nullptr) continue;
    // oneDNN never writes through src/weights handles; the cast only
    // satisfies the C signature.
    const dnnl_status_t status = dnnl_memory_set_data_handle_v2(
        b.mem.get(), const_cast<float*>(base + b.offset), nullptr);
    if (status != dnnl_success) {
      return DnnlStatusToStatus(status, "dnnl_memory_set_data_handle_v2",
                                "binding a caller array");
    }
  }
  return absl::OkStatus();
}

absl::Status StepList::Execute(const Step& step, const std::string& context) {
  if (step.callback) {
    step.callback();
    return absl::OkStatus();
  }
  const dnnl_status_t status =
      dnnl_primitive_execute(step.primitive.get(), stream_.get(),
                             static_cast<int>(step.args.size()),
                             step.args.data());
  if (status != dnnl_success) {
    return DnnlStatusToStatus(status, "dnnl_primitive_execute",
                              absl::StrCat("running ", step.name, " for ",
                                           context));
  }
  const dnnl_status_t wait = dnnl_stream_wait(stream_.get());
  if (wait != dnnl_success) {
    return DnnlStatusToStatus(wait, "dnnl_stream_wait",
                              absl::StrCat("waiting for ", step.name));
  }
  return absl::OkStatus();
}

dnnl::memory BufferPool::Take(const dnnl::memory::desc& md, int* index) {
  ES_CHECK_MSG(static_cast<int64_t>(md.get_size()) <= bytes_,
               "gradient buffer too small for a tensor");
  int i = 0;
  while (i < size() && used_[i]) ++i;
  if (i == size()) {
    const dnnl::memory::desc flat({(bytes_ + 3) / 4},
                                  dnnl::memory::data_type::f32,
                                  dnnl::memory::format_tag::a);
    base_.push_back(steps_->Owned(flat));
    used_.push_back(0);
  }
  used_[i] = 1;
  *index = i;
  return steps_->View(md, base_[i]);
}

void BufferPool::Give(int index) {
  ES_CHECK(index >= 0 && index < size() && used_[index]);
  used_[index] = 0;
}

}  // namespace cifar_internal
}  // namespace es
