// dnnl_steps.h - small building blocks for a fixed sequence of oneDNN 2.6
// primitives (the batched ResNet of batched_resnet.h): a primitive with a
// prebuilt C argument array, caller arrays bound by offset on every call,
// reorders inserted only where two formats differ, and a pool of reusable
// gradient buffers. Internal to inner/cifar.
//
// Why the C API: dnnl_primitive_execute takes a plain array of arguments,
// so running a step builds no std::unordered_map (the C++ execute() does);
// see inner/kernels/batched_mlp.h for the same choice and the allocations
// oneDNN 2.6 still makes inside execute.
//
// Usage (inside a kernel's Create):
//   StepList steps(engine);
//   dnnl::memory user_w = steps.Bound(md, Source::kParams, offset);
//   dnnl::memory w = steps.Converted(user_w, pd.weights_desc(), &forward, "w0");
//   forward.push_back(steps.MakeStep(conv, pd, {{DNNL_ARG_WEIGHTS, w}, ...}, "conv0"));
//   ... steps.FinishScratchpad({&forward, &backward});
//   // per call:
//   steps.BindAll({params, grads, inputs, ...});
//   for (const Step& s : forward) RETURN_IF_ERROR(steps.Execute(s));
#ifndef ES_SINGLE_INNER_CIFAR_DNNL_STEPS_H_
#define ES_SINGLE_INNER_CIFAR_DNNL_STEPS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace es {
namespace cifar_internal {

#define CIFAR_RETURN_IF_ERROR(expr)              \
  do {                                           \
    absl::Status cifar_status_ = (expr);         \
    if (!cifar_status_.ok()) return cifar_status_; \
  } while (0)

// One primitive ready to run, or (callback set) a plain C++ loop.
struct Step {
  dnnl::primitive primitive;
  std::function<void()> callback;
  std::vector<dnnl_exec_arg_t> args;
  dnnl::memory::desc scratchpad_md;
  std::string name;
  std::string impl;
};
using StepSequence = std::vector<Step>;

// Caller arrays a memory object can be bound to on each call.
enum class Source { kParams, kGrads, kInputs, kRunMean, kRunVar, kCount };

class StepList {
 public:
  explicit StepList(const dnnl::engine& engine);

  const dnnl::engine& engine() const { return engine_; }

  // A memory object with no buffer, bound to (caller array `source`) +
  // `offset` floats by BindAll.
  dnnl::memory Bound(const dnnl::memory::desc& md, Source source,
                     int64_t offset);
  // A memory object with its own zeroed, 64-byte aligned buffer.
  dnnl::memory Owned(const dnnl::memory::desc& md);
  // A memory object over another one's buffer (a different view).
  dnnl::memory View(const dnnl::memory::desc& md, const dnnl::memory& base,
                    int64_t offset_floats = 0);

  // `from` if its desc equals `md`, else a new owned memory of `md` and a
  // reorder step from `from` appended to `seq`.
  dnnl::memory Converted(const dnnl::memory& from,
                         const dnnl::memory::desc& md, StepSequence* seq,
                         const std::string& name);
  // A reorder step from `from` into the existing memory `to`.
  Step Reorder(const dnnl::memory& from, const dnnl::memory& to,
               const std::string& name);

  // A step that runs `fn` (which must not allocate).
  static Step Callback(std::function<void()> fn, const std::string& name) {
    Step step;
    step.callback = std::move(fn);
    step.name = name;
    step.impl = "loop";
    return step;
  }

  // A step from a primitive descriptor and its arguments.
  template <typename Pd>
  Step MakeStep(const Pd& pd,
                std::vector<std::pair<int, dnnl::memory>> args,
                const std::string& name) {
    Step step;
    step.primitive = dnnl::primitive(pd.get());
    for (auto& [arg, mem] : args) {
      step.args.push_back({arg, mem.get()});
      keep_.push_back(mem);
    }
    step.scratchpad_md = pd.scratchpad_desc();
    step.name = name;
    step.impl = pd.impl_info_str();
    return step;
  }

  // Allocates one scratchpad for all steps of `seqs` (they run one after
  // another) and appends it to each step's arguments.
  void FinishScratchpad(const std::vector<StepSequence*>& seqs);

  // Binds every Bound() memory whose source array is given (non-null).
  absl::Status BindAll(
      const std::array<const float*, static_cast<int>(Source::kCount)>& arrays);

  absl::Status Execute(const Step& step, const std::string& context);

  // Attribute every primitive uses (user-managed scratchpad).
  static dnnl::primitive_attr Attr();

  // Bytes of every Owned() buffer so far (the scratchpad included).
  int64_t owned_bytes() const { return owned_bytes_; }

 private:
  struct Binding {
    dnnl::memory mem;
    Source source;
    int64_t offset;
  };
  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<Binding> bindings_;
  std::vector<dnnl::memory> keep_;  // the C args hold raw handles
  struct FreeDeleter {
    void operator()(void* p) const;
  };
  std::vector<std::unique_ptr<float[], FreeDeleter>> buffers_;
  int64_t owned_bytes_ = 0;
};

// Gradient buffers of one size, reused along the backward pass: Take()
// returns a free buffer's index (growing the pool), Give() frees it.
class BufferPool {
 public:
  BufferPool(StepList* steps, int64_t bytes) : steps_(steps), bytes_(bytes) {}
  // A memory of `md` over a free buffer; `*index` identifies the buffer.
  dnnl::memory Take(const dnnl::memory::desc& md, int* index);
  void Give(int index);
  int size() const { return static_cast<int>(base_.size()); }

 private:
  StepList* steps_;
  int64_t bytes_;
  std::vector<dnnl::memory> base_;
  std::vector<char> used_;
};

}  // namespace cifar_internal
}  // namespace es

#endif  // ES_SINGLE_INNER_CIFAR_DNNL_STEPS_H_
