// application/problem+json answers (RFC 9457), the one error shape of the whole
// API.
#pragma once

#include "http/message.hpp"

#include <string>
#include <vector>

namespace ls::http {

struct field_error {
  std::string field;
  std::string message;
};

/// The standard title for a status ("Not Found", "Unprocessable Content", ...).
std::string_view status_title(unsigned status);

/// {"type","title","status","detail"} plus "errors" when given; content-type
/// application/problem+json.
response problem(unsigned status, std::string_view detail,
                 const std::vector<field_error>& errors = {});

} // namespace ls::http
