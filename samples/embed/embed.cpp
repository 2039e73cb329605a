// A C++ application embedding floe through the RAII wrapper: streaming greedy generation on a
// worker thread (std::jthread); the main thread cancels it after CANCEL_AFTER tokens (0 = never).
// usage: embed_cpp MODEL TOKENIZER PROMPT N [CANCEL_AFTER]
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <floe/floe.hpp>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::cerr << "usage: " << argv[0] << " MODEL TOKENIZER PROMPT N [CANCEL_AFTER]\n";
    return 2;
  }
  const size_t cancel_after = argc > 5 ? std::strtoul(argv[5], nullptr, 10) : 0;
  try {
    floe_model_params mp = floe_model_default_params();
    mp.tokenizer_path = argv[2];
    floe::Model model(argv[1], mp);
    floe::Session session(model);
    floe_sampler_params sp = floe_sampler_default_params();
    sp.temperature = 0;
    floe::Sampler sampler(sp);
    std::atomic<size_t> seen{0};
    size_t generated = 0;
    {
      std::jthread worker([&] {
        generated = session.Generate(argv[3], std::strtoul(argv[4], nullptr, 10), sampler,
                                     [&](std::string_view text) {
                                       std::cout << text << std::flush;
                                       seen++;
                                       return true;
                                     });
      });
      if (cancel_after > 0) {
        while (seen.load() < cancel_after) std::this_thread::yield();
        session.Cancel();
      }
    }  // joins the worker
    std::cout << "\n[" << generated << " tokens, architecture " << model.architecture() << "]\n";
  } catch (const floe::Error& e) {
    std::cerr << "floe error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
