// HTML text escaping for the pages the service and the simulator render.
#pragma once

#include <string>
#include <string_view>

namespace ls::html {

/// Escapes & < > " ' so `s` is inert in element text and in quoted attribute
/// values.
std::string escape(std::string_view s);

} // namespace ls::html
