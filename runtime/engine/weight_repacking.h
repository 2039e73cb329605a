// Repacking at load: a model's Q4_0 / Q8_0 product matrices (CausalLm::Movable) are copied into
// 16-row panels (platform/quant/row_panels.h), the layout of the AVX-512 VNNI panel kernels, and
// the views are pointed at the copies. The small tensors read in place between them (norms,
// biases) are copied unchanged beside them, and every source range's pages are given back
// (MappedFile::ReleasePages), so the process holds one copy of the weights: a norm left in the
// file would fault its whole 2 MiB page, neighbours included, back in.
// docs/quantization.md ("Row panels") says when it happens and what it changes.
#pragma once

#include <cstddef>
#include <memory>

#include "models/causal_lm.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/mapped_file.h"
#include "platform/base/status.h"

namespace floe {

// Memory holding repacked matrices (huge-page hinted); frees it on destruction.
class RepackedWeights {
 public:
  size_t matrices() const { return matrices_; }        // repacked
  size_t bytes() const { return bytes_; }              // of the repacked matrices
  size_t copied_bytes() const { return copied_; }      // of the tensors copied unchanged
  size_t released_bytes() const { return released_; }  // source pages given back
  double seconds() const { return seconds_; }

 private:
  friend Result<RepackedWeights> RepackWeights(CausalLm& lm, const MappedFile& file, int threads);
  struct Free {
    void operator()(uint8_t* p) const { AlignedFree(p); }
  };
  std::unique_ptr<uint8_t, Free> data_;
  size_t matrices_ = 0, bytes_ = 0, copied_ = 0, released_ = 0;
  double seconds_ = 0.0;
};

// Repacks every product matrix of `lm` that can be (CanRepackRowPanels) into one allocation, on
// `threads` threads (<= 0: the physical cores), copies the `others` there too when any matrix
// was repacked, and releases the source pages that lie in `file`. Repacks nothing unless `file`
// is mapped: a file read into memory could not give the source pages back, and the copies would
// double the weights' memory. The caller keeps the result alive
// as long as `lm`. Repacks nothing (an empty result) when no matrix qualifies. kOutOfMemory when
// the copies cannot be allocated (nothing changed then).
Result<RepackedWeights> RepackWeights(CausalLm& lm, const MappedFile& file, int threads = 0);

}  // namespace floe
