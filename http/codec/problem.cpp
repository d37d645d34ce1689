#include "http/codec/problem.hpp"

#include "http/codec/json.hpp"

namespace ls::http {

std::string_view status_title(unsigned status) {
  switch (status) {
  case 400:
    return "Bad Request";
  case 401:
    return "Unauthorized";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 409:
    return "Conflict";
  case 411:
    return "Length Required";
  case 413:
    return "Content Too Large";
  case 415:
    return "Unsupported Media Type";
  case 422:
    return "Unprocessable Content";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 502:
    return "Bad Gateway";
  case 503:
    return "Service Unavailable";
  case 504:
    return "Gateway Timeout";
  default:
    return status < 500 ? "Client Error" : "Server Error";
  }
}

response problem(unsigned status, std::string_view detail,
                 const std::vector<field_error>& errors) {
  json::writer w;
  auto title = status_title(status);
  std::string type = "about:blank";
  w.begin_object()
      .key("type")
      .value(type)
      .key("title")
      .value(title)
      .key("status")
      .value(status)
      .key("detail")
      .value(detail);
  if (!errors.empty()) {
    w.key("errors").begin_array();
    for (auto& e : errors)
      w.begin_object()
          .key("field")
          .value(e.field)
          .key("message")
          .value(e.message)
          .end_object();
    w.end_array();
  }
  w.end_object();
  response r;
  r.status = status;
  r.set("content-type", "application/problem+json");
  r.body = std::move(w).str();
  return r;
}

} // namespace ls::http
