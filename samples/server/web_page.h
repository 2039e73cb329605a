// The chat page served at GET / (static HTML + JS, no external resources).
#pragma once

namespace floe::serve {
extern const char kWebPage[];
}
