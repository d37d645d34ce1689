// The dashboard's static files (index.html, app.js, app.css, …), embedded in
// the binary at build time by cmake/embed_assets.cmake. No Beast, no CAF.
#pragma once

#include <span>
#include <string_view>

namespace ls::dashboard {

struct asset {
  std::string_view name;         ///< file name, e.g. "app.js"
  std::string_view content_type; ///< e.g. "text/javascript; charset=utf-8"
  std::string_view hash; ///< first 16 hex digits of the SHA-256 of the bytes
  std::string_view body;
};

/// Every embedded file, sorted by name.
std::span<const asset> assets();

/// The file called `name`, or nullptr.
inline const asset* find(std::string_view name) {
  for (auto& a : assets())
    if (a.name == name) return &a;
  return nullptr;
}

} // namespace ls::dashboard
