#include "platform/aligned_buffer.h"

#include <mimalloc.h>

namespace floe {

void* AlignedAlloc(size_t bytes) { return mi_malloc_aligned(bytes, AlignedBuffer<uint8_t>::kAlignment); }
void AlignedFree(void* p) { mi_free(p); }

}  // namespace floe
