#include "actors/events.hpp"

#include "actors/errors.hpp"
#include "actors/routes/util.hpp"
#include "http/codec/json.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace ls {

event job_event(const store::sync_job& job) {
  json::writer w;
  api::write_job(w, job);
  return event{job.account_id, "job.updated", "job", std::move(w).str()};
}

event subscriber_event(std::string type, const store::subscriber& s) {
  json::writer w;
  api::write_subscriber(w, s);
  return event{s.account_id, std::move(type), "subscriber", std::move(w).str()};
}

event credentials_revoked(const std::string& account_id,
                          std::string credential) {
  return event{account_id, std::string{credentials_revoked_type}, "credential",
               std::move(credential)};
}

std::string credential_of_session(std::string_view session_token_hash) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "session:";
  for (unsigned char ch : session_token_hash) {
    out.push_back(hex[ch >> 4]);
    out.push_back(hex[ch & 0xF]);
  }
  return out;
}

event subscriber_deleted(const std::string& account_id, const std::string& id) {
  json::writer w;
  w.begin_object().key("id").value(id).end_object();
  return event{account_id, "subscriber.deleted", "subscriber",
               std::move(w).str()};
}

std::string account_frame(const event& e) {
  json::writer w;
  w.begin_object().key("type").value(e.type).key(e.subject).raw(e.object);
  return std::move(w.end_object()).str();
}

std::string admin_frame(const event& e) {
  json::writer w;
  w.begin_object().key("type").value(e.type);
  w.key("account_id").value(e.account_id).key(e.subject).raw(e.object);
  return std::move(w.end_object()).str();
}

namespace {

using bus_ptr = event_bus_actor::stateful_pointer<event_bus_state>;

void drop(bus_ptr self, const caf::actor_addr& who, const char* why) {
  auto& st = self->state;
  auto it = st.sinks.find(who);
  if (it == st.sinks.end()) return;
  auto sink = it->second.sink;
  st.sinks.erase(it);
  self->demonitor(sink.address());
  ++st.cut_off;
  spdlog::warn("event-bus: a sink was cut off ({})", why);
  // The sink (a websocket proxy) ends, and its session closes.
  self->send_exit(sink, caf::make_error(ls_error::too_slow, std::string{why}));
}

} // namespace

event_bus_actor::behavior_type
event_bus_impl(event_bus_actor::stateful_pointer<event_bus_state> self,
               event_bus_options opts) {
  self->state.opts = opts;
  self->set_down_handler(
      [=](const caf::down_msg& dm) { self->state.sinks.erase(dm.source); });
  return {
      [=](atom::publish, event& e) {
        auto& st = self->state;
        ++st.published;
        auto shared = std::make_shared<const event>(std::move(e));
        // Collected first: dropping a sink changes the map.
        std::vector<caf::actor_addr> behind;
        for (auto& [addr, sub] : st.sinks) {
          if (!sub.account.empty() && sub.account != shared->account_id)
            continue;
          if (sub.jobs_only && !shared->is_job()) continue;
          if (sub.unanswered >= st.opts.max_unanswered) {
            behind.push_back(addr);
            continue;
          }
          ++sub.unanswered;
          auto key = addr;
          self->request(sub.sink, st.opts.answer_timeout, atom::publish_v,
                        *shared)
              .then(
                  [=](bool) {
                    auto it = self->state.sinks.find(key);
                    if (it != self->state.sinks.end()) --it->second.unanswered;
                  },
                  [=](caf::error& err) {
                    if (err == caf::sec::request_timeout)
                      drop(self, key, "an event went unanswered too long");
                    else
                      self->state.sinks.erase(key); // gone
                  });
        }
        for (auto& addr : behind)
          drop(self, addr, "too many events unanswered");
      },
      [=](atom::subscribe, event_sink_actor& sink, std::string& account,
          bool jobs_only) {
        self->monitor(sink);
        self->state.sinks[sink.address()] =
            event_bus_state::subscription{sink, account, jobs_only, 0};
        return true;
      },
      [=](atom::unsubscribe, event_sink_actor& sink) {
        self->demonitor(sink.address());
        self->state.sinks.erase(sink.address());
      },
      [=](atom::status) {
        return static_cast<uint64_t>(self->state.sinks.size());
      },
  };
}

} // namespace ls
