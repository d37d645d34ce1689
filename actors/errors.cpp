#include "actors/errors.hpp"

#include <caf/message.hpp>
#include <caf/sec.hpp>

namespace ls {

std::string to_string(ls_error x) {
  switch (x) {
  case ls_error::unspecified:
    return "unspecified";
  case ls_error::not_found:
    return "not_found";
  case ls_error::conflict:
    return "conflict";
  case ls_error::invalid_argument:
    return "invalid_argument";
  case ls_error::storage_failure:
    return "storage_failure";
  case ls_error::unauthenticated:
    return "unauthenticated";
  case ls_error::forbidden:
    return "forbidden";
  case ls_error::rate_limited:
    return "rate_limited";
  case ls_error::unavailable:
    return "unavailable";
  case ls_error::upstream_failed:
    return "upstream_failed";
  case ls_error::not_connected:
    return "not_connected";
  case ls_error::too_slow:
    return "too_slow";
  }
  return "unknown";
}

std::string error_detail(const caf::error& err) {
  auto& ctx = err.context();
  for (size_t i = 0; i < ctx.size(); ++i)
    if (ctx.match_element<std::string>(i)) return ctx.get_as<std::string>(i);
  return {};
}

unsigned to_http_status(const caf::error& err) {
  if (err.category() == caf::atom("ls")) {
    switch (static_cast<ls_error>(err.code())) {
    case ls_error::not_found:
      return 404;
    case ls_error::conflict:
      return 409;
    case ls_error::invalid_argument:
      return 422;
    case ls_error::unauthenticated:
      return 401;
    case ls_error::forbidden:
      return 403;
    case ls_error::rate_limited:
      return 429;
    case ls_error::unavailable:
      return 503;
    case ls_error::upstream_failed:
      return 502;
    case ls_error::not_connected:
      return 409;
    case ls_error::storage_failure:
    case ls_error::too_slow:
    case ls_error::unspecified:
      return 500;
    }
    return 500;
  }
  if (err == caf::sec::request_timeout) return 504;
  if (err == caf::sec::request_receiver_down) return 503;
  return 500;
}

} // namespace ls
