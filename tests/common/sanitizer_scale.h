// Sizes for tests that repeat one check many times (every byte position of a file, thousands of
// tokens): the sanitizer stages of .ci/test (ASan + UBSan, TSan) run a share of the iterations,
// enough to put every code path under the sanitizer; the release stage runs them all. Only
// for loops whose iterations check the same property on different input: a test's claim must
// not depend on the count.
#pragma once

#include <cstddef>

namespace floe::testing {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
#else
inline constexpr bool kSanitized = false;
#endif

// `release` in a plain build, `sanitized` under a sanitizer.
constexpr size_t ReleaseOrSanitized(size_t release, size_t sanitized) {
  return kSanitized ? sanitized : release;
}

}  // namespace floe::testing
