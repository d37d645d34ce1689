#include "actors/supervisor.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace ls {

caf::behavior supervisor(caf::event_based_actor* self,
                         std::vector<caf::actor> children,
                         std::function<void(std::string)> on_failure) {
  for (auto& child : children)
    self->monitor(child);
  self->set_down_handler([=](const caf::down_msg& dm) {
    if (dm.reason == caf::exit_reason::user_shutdown ||
        dm.reason == caf::exit_reason::normal)
      return;
    auto what = caf::to_string(dm.reason);
    spdlog::critical("supervisor: a core actor died: {}", what);
    on_failure(what);
  });
  self->set_exit_handler([=](const caf::exit_msg& msg) {
    for (auto& child : children)
      self->send_exit(child, msg.reason);
    self->quit(msg.reason);
  });
  return {
      [](caf::ok_atom) {},
  };
}

} // namespace ls
