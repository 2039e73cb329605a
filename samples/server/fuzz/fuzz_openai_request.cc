// floe-serve's request parser (/v1/completions and /v1/chat/completions bodies): the first
// input byte picks the endpoint, the rest is the body. A body is answered with a request or
// an ApiError; nothing may throw out of the parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  floe::serve::CompletionRequest req;
  auto err = floe::serve::ParseCompletionRequest(body, (data[0] & 1) != 0, &req);
  if (err) (void)err->ToJson().dump();
  return 0;
}
