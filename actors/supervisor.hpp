#pragma once

#include <caf/fwd.hpp>
#include <functional>

namespace ls {

/// The root supervisor: monitors the long-lived actors it is given and, when
/// one of them dies for any reason but an orderly shutdown, calls `on_failure`
/// (the process then shuts down gracefully rather than run half-alive).
caf::behavior supervisor(caf::event_based_actor* self,
                         std::vector<caf::actor> children,
                         std::function<void(std::string)> on_failure);

} // namespace ls
