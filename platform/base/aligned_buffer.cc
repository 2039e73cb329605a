#include "platform/base/aligned_buffer.h"

#include <mimalloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace floe {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// Buffers this large (KV caches, state) ask for transparent huge pages: attention over a long
// context reads rows scattered over gigabytes (kNN candidates, tiles of every layer), and with
// 4 KiB pages nearly every such row costs a TLB miss and a page walk. A hint only: the kernel
// may ignore it (THP off) and nothing depends on it.
constexpr size_t kHugePageHintBytes = size_t{8} << 20;

void AdviseHugePages(void* p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHugePage - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace

void* AlignedAlloc(size_t bytes) {
  void* p = mi_malloc_aligned(bytes, AlignedBuffer<uint8_t>::kAlignment);
  if (p != nullptr && bytes >= kHugePageHintBytes) AdviseHugePages(p, bytes);
  return p;
}
void* AlignedAllocHugePages(size_t bytes) {
  void* p = mi_malloc_aligned(bytes, kHugePage);
  if (p != nullptr) AdviseHugePages(p, bytes);
  return p;
}
void AlignedFree(void* p) { mi_free(p); }

size_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? size_t(pages) * size_t(page) : 0;
}

}  // namespace floe
