#include "web_page.h"

namespace floe::serve {
const char kWebPage[] = R"HTML(<!doctype html><html><body><p>floe-serve</p></body></html>)HTML";
}
