// The one error enum of the system, and its single mapping to HTTP statuses.
#pragma once

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <cstdint>
#include <string>

namespace ls {

enum class ls_error : uint8_t {
  unspecified = 1,
  not_found,
  conflict,
  invalid_argument,
  storage_failure,
  unauthenticated,
  forbidden,
  rate_limited,
  unavailable,
  upstream_failed, ///< Mailchimp (or another remote) failed or refused
  not_connected,   ///< the integration is not connected (or needs reconnecting)
  too_slow,        ///< an event consumer fell too far behind and was cut off
};

/// The human detail carried in an error's context, if any.
std::string error_detail(const caf::error& err);

std::string to_string(ls_error x);

/// The HTTP status for an error from any actor (CAF's own included).
unsigned to_http_status(const caf::error& err);

} // namespace ls

CAF_ERROR_CODE_ENUM(ls::ls_error, "ls")
