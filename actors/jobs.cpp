#include "actors/jobs.hpp"

#include "actors/errors.hpp"
#include "actors/events.hpp"
#include "actors/mapper.hpp"
#include "actors/routes/util.hpp"
#include "actors/webhooks.hpp"
#include "http/codec/time.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

namespace ls {

namespace {

constexpr auto store_timeout = std::chrono::seconds(60);

/// Tells the EVENT BUS that a job changed (once the change is durable, so what
/// the event shows is what a GET answers).
void publish(const jobs_config& cfg, const store::sync_job& job) {
  if (cfg.bus) caf::anon_send(cfg.bus, atom::publish_v, job_event(job));
}

// -- MAPPER
// --------------------------------------------------------------------------------------

mapped_batch map_batch(const subscriber_list& subs, bool double_optin) {
  mapped_batch out;
  std::vector<mapper::member> members;
  members.reserve(subs.size());
  for (auto& s : subs) {
    mapper::skip_reason why = mapper::skip_reason::none;
    if (auto m = mapper::to_member(s, why))
      members.push_back(std::move(*m));
    else if (why == mapper::skip_reason::phone_only)
      ++out.phone_only;
    else
      ++out.unsubscribed;
  }
  out.members = members.size();
  if (!members.empty()) out.body = mapper::batch_body(members, double_optin);
  return out;
}

// -- SYNC JOB
// ------------------------------------------------------------------------------------

struct batch_outcome {
  mapper::batch_result result;
  size_t phone_only = 0;
  size_t unsubscribed = 0;
  size_t sent = 0;
  std::string last_key; ///< the resume point once acknowledged; "end" after the
                        ///< last page
};

struct sync_job_state {
  static inline const char* name = "sync-job";
  jobs_config cfg;
  job_supervisor_actor supervisor;
  store::sync_job job;
  job_credentials creds;
  bool double_optin = false;
  std::string read_cursor; ///< next page starts after this key
  bool exhausted = false;
  bool cancelling = false;
  bool failing = false;
  bool finished = false;
  uint64_t next_seq = 0;
  uint64_t commit_seq = 0;
  /// Bumped when the FETCHER dies: answers sent before then are void.
  uint64_t epoch = 0;
  uint64_t pages_read = 0;
  size_t in_flight = 0;
  std::map<uint64_t, batch_outcome>
      acknowledged; ///< answered, not yet checkpointed
  bool checkpointing = false;
  bool checkpoint_again = false;
  mapper::batch_result totals; ///< since this run's start, for the notes
};

using job_ptr = sync_job_actor::stateful_pointer<sync_job_state>;

void pump(job_ptr self);
void maybe_finish(job_ptr self);

void load_totals(sync_job_state& st) {
  auto to_list = [](const store::skip_count& c) {
    mapper::example_list l;
    l.count = c.count;
    l.examples = c.examples;
    return l;
  };
  st.totals.created = st.job.created;
  st.totals.updated = st.job.updated;
  st.totals.must_resubscribe = to_list(st.job.must_resubscribe);
  st.totals.invalid_email = to_list(st.job.invalid_email);
  st.totals.forgotten = to_list(st.job.forgotten);
  st.totals.other = to_list(st.job.other);
  st.totals.other_reasons = st.job.other_reasons;
}

void store_totals(sync_job_state& st) {
  auto to_count = [](const mapper::example_list& l) {
    return store::skip_count{l.count, l.examples};
  };
  auto& j = st.job;
  j.created = st.totals.created;
  j.updated = st.totals.updated;
  j.must_resubscribe = to_count(st.totals.must_resubscribe);
  j.invalid_email = to_count(st.totals.invalid_email);
  j.forgotten = to_count(st.totals.forgotten);
  j.other = to_count(st.totals.other);
  j.other_reasons = st.totals.other_reasons;
  j.skipped = j.phone_only + st.totals.errors();
  j.processed = j.created + j.updated + j.skipped;
  // The total is counted at the start, but signups during the sync are sent
  // too (they land after the cursor) and subscribers may leave meanwhile: the
  // count grows when it is passed, and a finished job's total is what it went
  // through.
  if (j.processed > j.total || j.status == "COMPLETED") j.total = j.processed;
  j.notes = mapper::skip_notes(st.totals, j.phone_only);
  if (j.unsubscribed > 0)
    j.notes.push_back(std::to_string(j.unsubscribed) +
                      (j.unsubscribed == 1 ? " has" : " have") +
                      " unsubscribed on LinkStacked and " +
                      (j.unsubscribed == 1 ? "was" : "were") + " not sent");
}

/// Writes the job record; `then` runs once it is durable.
/// The webhook event of a job that ended this way ("" for none).
std::string webhook_type(const std::string& status) {
  if (status == "COMPLETED") return "sync_job.completed";
  if (status == "FAILED") return "sync_job.failed";
  return {};
}

/// Writes the job record (with its webhook message, in the same commit, when
/// it has ended); `then` runs once it is durable.
template <class F>
void persist(job_ptr self, F then) {
  auto copy = std::make_shared<store::sync_job>(self->state.job);
  copy->updated_at = timefmt::now_us();
  auto hook = self->state.finished ? webhook_type(copy->status) : std::string{};
  auto queued = std::make_shared<bool>(false);
  auto op =
      store::make_op([copy, hook, queued](store::database& db, lmdb::txn& t) {
        auto r = db.put_job(t, *copy);
        if (r && !hook.empty())
          *queued = outbox(
              db, t, copy->account_id, hook, copy->id,
              [&] {
                json::writer w;
                api::write_job(w, *copy);
                return std::move(w).str();
              },
              copy->updated_at);
        return r;
      });
  self->request(self->state.cfg.store, store_timeout, atom::write_v, op)
      .then(
          [=](store::outcome& o) mutable {
            if (!o) {
              spdlog::error("sync-job {}: checkpoint failed: {}", copy->id,
                            o.message);
            } else {
              publish(self->state.cfg, *copy);
              if (*queued && self->state.cfg.webhooks)
                caf::anon_send(self->state.cfg.webhooks, atom::next_v,
                               copy->account_id);
            }
            then();
          },
          [=](caf::error& e) mutable {
            spdlog::error("sync-job {}: checkpoint failed: {}", copy->id,
                          caf::to_string(e));
            then();
          });
}

void end(job_ptr self, std::string status, std::string note = {}) {
  auto& st = self->state;
  if (st.finished) return;
  st.finished = true;
  st.job.status = std::move(status);
  st.job.finished_at = timefmt::now_us();
  st.job.cancel_requested = false;
  store_totals(st);
  if (!note.empty()) st.job.notes.push_back(std::move(note));
  persist(self, [=] {
    self->send(self->state.supervisor, atom::job_done_v,
               self->state.job.account_id, self->state.job.id);
    self->quit();
  });
}

void fail(job_ptr self, std::string code, std::string message) {
  auto& st = self->state;
  if (st.finished) return;
  if (!st.failing) { // the first error is the one the creator sees
    st.failing = true;
    st.job.error_code = std::move(code);
    st.job.error_message = std::move(message);
  }
  // Every failed batch must still count down to the end.
  maybe_finish(self);
}

/// Folds answered batches into the job, in order, and checkpoints the cursor
/// after them.
void checkpoint(job_ptr self) {
  auto& st = self->state;
  bool advanced = false;
  while (true) {
    auto it = st.acknowledged.find(st.commit_seq);
    if (it == st.acknowledged.end()) break;
    mapper::merge(st.totals, it->second.result);
    st.job.phone_only += it->second.phone_only;
    st.job.unsubscribed += it->second.unsubscribed;
    st.job.cursor = it->second.last_key;
    st.acknowledged.erase(it);
    ++st.commit_seq;
    advanced = true;
  }
  if (!advanced) return maybe_finish(self);
  store_totals(st);
  if (st.checkpointing) {
    st.checkpoint_again = true;
    return;
  }
  st.checkpointing = true;
  persist(self, [=] {
    auto& s = self->state;
    s.checkpointing = false;
    if (s.checkpoint_again) {
      s.checkpoint_again = false;
      persist(self, [=] { maybe_finish(self); });
      return;
    }
    maybe_finish(self);
  });
}

/// Sends more while the job goes on; once it stops (failed, cancelled or every
/// page read), ends it when the last batch in flight is answered and
/// checkpointed.
void maybe_finish(job_ptr self) {
  auto& st = self->state;
  if (st.finished) return;
  if (!st.failing && !st.cancelling && !st.exhausted) return pump(self);
  if (st.in_flight > 0 || st.checkpointing) return;
  if (st.failing) return end(self, "FAILED");
  if (st.cancelling)
    return end(self, "CANCELLED",
               "cancelled after " + std::to_string(st.job.processed) + " of " +
                   std::to_string(st.job.total) +
                   " contacts; retry to go on from there");
  if (st.acknowledged.empty()) return end(self, "COMPLETED");
}

void on_answer(job_ptr self, uint64_t seq, batch_outcome outcome, mc_reply& r) {
  auto& st = self->state;
  --st.in_flight;
  if (!r.error.empty())
    return fail(self, "mailchimp_unreachable",
                "Mailchimp could not be reached (" + r.error +
                    ") even after several tries; retry the job later");
  if (r.status == 401) {
    self->send(st.cfg.integrations, atom::rejected_v, st.job.account_id);
    return fail(
        self, "token_revoked",
        "Mailchimp no longer accepts this connection (was the app removed "
        "in Mailchimp?): connect Mailchimp again, then retry");
  }
  if (r.status == 404)
    return fail(
        self, "audience_deleted",
        "the audience \"" + st.job.audience_name +
            "\" no longer exists in Mailchimp: choose another one, then retry");
  if (r.status != 200)
    return fail(self,
                r.status >= 500 || r.status == 429 ? "mailchimp_unavailable"
                                                   : "mailchimp_refused",
                "Mailchimp answered HTTP " + std::to_string(r.status) + ": " +
                    mailchimp::problem_detail(r.status, r.body) +
                    (r.status >= 500 || r.status == 429
                         ? " (after several tries; retry the job later)"
                         : ""));
  std::string error;
  auto result = mapper::classify_batch(r.body, error);
  if (!result)
    return fail(self, "mailchimp_answer",
                "Mailchimp's answer was not understood: " + error);
  outcome.result = std::move(*result);
  st.acknowledged.emplace(seq, std::move(outcome));
  checkpoint(self);
}

/// Reads the next page and sends it; keeps at most max_in_flight batches going.
void pump(job_ptr self) {
  auto& st = self->state;
  while (!st.exhausted && !st.cancelling && !st.failing && !st.finished &&
         st.in_flight < st.cfg.max_in_flight) {
    store::subscriber_filter filter;
    filter.campaign_id =
        st.job.scope_type == "campaign" ? st.job.scope_campaign_id : "";
    subscriber_list page;
    auto next = st.cfg.db->export_page(
        st.job.account_id, filter, st.read_cursor, st.cfg.batch_size,
        [&](const store::subscriber& s) { page.push_back(s); });
    if (page.empty()) {
      st.exhausted = true;
      break;
    }
    // `next` is the key of this page's last row, or empty when the page ends
    // the scope.
    st.exhausted = next.empty();
    // Pages already read stay mapped and count as our memory: hand them back
    // now and then (they stay in the page cache).
    if (++st.pages_read % 8 == 0) st.cfg.db->release_mapped_pages();
    auto seq = st.next_seq++;
    auto epoch = st.epoch;
    ++st.in_flight;
    st.read_cursor = next;
    self->request(st.cfg.mapper, std::chrono::seconds(60), atom::call_v,
                  std::move(page), st.double_optin)
        .then(
            [=](mapped_batch& m) {
              auto& s = self->state;
              if (s.epoch != epoch) return;
              batch_outcome outcome;
              outcome.phone_only = m.phone_only;
              outcome.unsubscribed = m.unsubscribed;
              outcome.sent = m.members;
              outcome.last_key = next.empty() ? "end" : next;
              if (m.members == 0) { // nothing to send in this page
                --s.in_flight;
                s.acknowledged.emplace(seq, std::move(outcome));
                return checkpoint(self);
              }
              mc_call call;
              call.method = "POST";
              call.url = s.creds.api + "/lists/" + s.job.audience_id;
              call.headers = {{"authorization", "Bearer " + s.creds.token},
                              {"content-type", "application/json"}};
              call.body = std::move(m.body);
              call.timeout_ms = s.cfg.request_timeout.count();
              // The FETCHER retries with backoff; give it time for every
              // attempt.
              self->request(s.creds.fetcher, s.cfg.request_timeout * 6,
                            atom::call_v, std::move(call))
                  .then(
                      [=](mc_reply& r) mutable {
                        if (self->state.epoch == epoch)
                          on_answer(self, seq, outcome, r);
                      },
                      [=](caf::error& e) {
                        if (self->state.epoch != epoch) return;
                        mc_reply r;
                        r.error = caf::to_string(e);
                        on_answer(self, seq, outcome, r);
                      });
            },
            [=](caf::error& e) {
              if (self->state.epoch != epoch) return;
              --self->state.in_flight;
              fail(self, "internal", "mapping failed: " + caf::to_string(e));
            });
  }
  if (st.exhausted && st.in_flight == 0 && !st.checkpointing)
    maybe_finish(self);
}

/// Counts what the job will go through, so progress has a total.
void count_total(sync_job_state& st) {
  store::subscriber_filter filter;
  filter.campaign_id =
      st.job.scope_type == "campaign" ? st.job.scope_campaign_id : "";
  uint64_t total = 0;
  std::string after;
  do {
    after = st.cfg.db->export_page(st.job.account_id, filter, after, 10000,
                                   [&](const store::subscriber& s) {
                                     if (s.status == "subscribed") ++total;
                                   });
    st.cfg.db->release_mapped_pages();
  } while (!after.empty());
  st.job.total = total;
}

sync_job_actor::behavior_type sync_job_impl(job_ptr self, jobs_config cfg,
                                            job_supervisor_actor supervisor,
                                            store::sync_job job) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.supervisor = std::move(supervisor);
  st.job = std::move(job);
  load_totals(st);
  // Resume after the last acknowledged batch ("end": every batch was
  // acknowledged).
  st.read_cursor = st.job.cursor == "end" ? "" : st.job.cursor;
  st.exhausted = st.job.cursor == "end";
  // The FETCHER died with our batches: their answers will never come, so the
  // job ends now instead of at the request timeouts.
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& s = self->state;
    if (!s.creds.fetcher || dm.source != s.creds.fetcher.address()) return;
    ++s.epoch;
    s.in_flight = 0;
    fail(self, "mailchimp_unreachable",
         "the connection to Mailchimp stopped unexpectedly; retry the job");
  });
  return {
      [=](atom::start) {
        auto& s = self->state;
        self->request(s.cfg.integrations, std::chrono::seconds(60),
                      atom::credentials_v, s.job.account_id)
            .then(
                [=](job_credentials& c) {
                  auto& s2 = self->state;
                  s2.creds = std::move(c);
                  self->monitor(s2.creds.fetcher);
                  if (s2.job.audience_id.empty()) {
                    s2.job.audience_id = s2.creds.audience_id;
                    s2.job.audience_name = s2.creds.audience_name;
                  }
                  // The audience as it is now: does it exist, does it want
                  // double opt-in?
                  mc_call call;
                  call.url = s2.creds.api + "/lists/" + s2.job.audience_id +
                             "?fields=id,name,double_optin,stats.member_count";
                  call.headers = {
                      {"authorization", "Bearer " + s2.creds.token}};
                  call.timeout_ms = s2.cfg.request_timeout.count();
                  self->request(s2.creds.fetcher, s2.cfg.request_timeout * 6,
                                atom::call_v, std::move(call))
                      .then(
                          [=](mc_reply& r) {
                            auto& s3 = self->state;
                            if (r.error.empty() && r.status == 200) {
                              std::string err;
                              if (auto a = mailchimp::parse_list(r.body, err)) {
                                s3.double_optin = a->double_optin;
                                s3.job.audience_name = a->name;
                              }
                              s3.job.status = "RUNNING";
                              if (s3.job.started_at == 0)
                                s3.job.started_at = timefmt::now_us();
                              if (s3.job.total == 0) count_total(s3);
                              persist(self, [=] { pump(self); });
                              return;
                            }
                            ++s3.in_flight; // on_answer takes one off
                            on_answer(self, 0, {}, r);
                          },
                          [=](caf::error& e) {
                            fail(self, "mailchimp_unreachable",
                                 "Mailchimp did not answer: " +
                                     caf::to_string(e));
                          });
                },
                [=](caf::error& e) {
                  auto detail = error_detail(e);
                  fail(self, "not_connected",
                       detail.empty() ? "Mailchimp is not connected" : detail);
                });
      },
      [=](atom::cancel) {
        self->state.cancelling = true;
        self->state.job.cancel_requested = true;
        maybe_finish(self);
        return self->state.job;
      },
  };
}

// -- JOB SUPERVISOR
// ------------------------------------------------------------------------------

using sup_ptr = job_supervisor_actor::stateful_pointer<job_supervisor_state>;

void start_next_job(sup_ptr self, const std::string& account) {
  auto& st = self->state;
  if (st.running.count(account)) return;
  auto& queue = st.waiting[account];
  while (!queue.empty()) {
    auto id = queue.front();
    queue.pop_front();
    auto job = st.cfg.db->job_by_id(account, id);
    if (!job || (job->status != "PENDING" && job->status != "RUNNING"))
      continue;
    // Linked: when the supervisor stops (shutdown), its jobs stop too,
    // checkpointed.
    auto actor = self->spawn<caf::linked>(sync_job_impl, st.cfg,
                                          job_supervisor_actor{self}, *job);
    self->monitor(actor);
    st.children.insert(actor.address());
    st.running[account] = {id, actor};
    self->send(actor, atom::start_v);
    return;
  }
  st.waiting.erase(account);
}

/// Changes a stored job that no actor runs; replies with the result.
template <class Change>
caf::result<store::sync_job> change_job(sup_ptr self, std::string account,
                                        std::string id, Change change) {
  auto rp = self->make_response_promise<store::sync_job>();
  auto result = std::make_shared<store::sync_job>();
  auto op = store::make_op([=](store::database& db, lmdb::txn& t) {
    return db.modify_job(t, account, id, change, *result);
  });
  self->request(self->state.cfg.store, store_timeout, atom::write_v, op)
      .then(
          [=](store::outcome& o) mutable {
            if (o.code == store::outcome::not_found)
              return void(
                  rp.deliver(caf::make_error(ls_error::not_found, o.message)));
            if (o.code == store::outcome::conflict)
              return void(
                  rp.deliver(caf::make_error(ls_error::conflict, o.message)));
            if (!o)
              return void(rp.deliver(
                  caf::make_error(ls_error::storage_failure, o.message)));
            publish(self->state.cfg, *result);
            rp.deliver(*result);
          },
          [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

} // namespace

mapper_actor::behavior_type mapper_impl(mapper_actor::pointer) {
  return {
      [](atom::call, subscriber_list& subs, bool double_optin) {
        return map_batch(subs, double_optin);
      },
  };
}

job_supervisor_actor::behavior_type job_supervisor_impl(
    job_supervisor_actor::stateful_pointer<job_supervisor_state> self,
    jobs_config cfg) {
  self->state.cfg = std::move(cfg);
  self->set_exit_handler([=](const caf::exit_msg& em) {
    // A job's own end arrives as its DOWN; an exit from anyone else stops us.
    if (self->state.children.erase(em.source) > 0) return;
    self->quit(em.reason);
  });
  self->set_down_handler([=](const caf::down_msg& dm) {
    auto& st = self->state;
    for (auto it = st.running.begin(); it != st.running.end(); ++it)
      if (it->second.second.address() == dm.source) {
        auto account = it->first;
        auto id = it->second.first;
        st.running.erase(it);
        if (dm.reason && dm.reason != caf::exit_reason::user_shutdown &&
            dm.reason != caf::exit_reason::normal) {
          // The job actor died: record it so the creator can retry.
          spdlog::error("job-supervisor: job {} died: {}", id,
                        caf::to_string(dm.reason));
          auto died = std::make_shared<store::sync_job>();
          auto op = store::make_op([=](store::database& db, lmdb::txn& t) {
            auto& j = *died;
            return db.modify_job(
                t, account, id,
                [](store::sync_job& job) {
                  if (job.status == "PENDING" || job.status == "RUNNING") {
                    job.status = "FAILED";
                    job.error_code = "internal";
                    job.error_message =
                        "the job stopped unexpectedly; retry it";
                    job.finished_at = timefmt::now_us();
                  }
                  return store::outcome{};
                },
                j);
          });
          self->request(st.cfg.store, store_timeout, atom::write_v, op)
              .then(
                  [=](store::outcome& o) {
                    if (o) publish(self->state.cfg, *died);
                  },
                  [](caf::error&) {});
        }
        start_next_job(self, account);
        return;
      }
  });
  // Resume what was PENDING or RUNNING when the service stopped, in creation
  // order.
  for (auto& j : self->state.cfg.db->unfinished_jobs())
    if (j.provider == "mailchimp")
      self->state.waiting[j.account_id].push_back(j.id);
  for (auto& [account, queue] : std::map{self->state.waiting})
    start_next_job(self, account);
  return {
      [=](atom::create, store::sync_job& job) -> caf::result<store::sync_job> {
        auto rp = self->make_response_promise<store::sync_job>();
        auto copy = std::make_shared<store::sync_job>(job);
        auto op = store::make_op([copy](store::database& db, lmdb::txn& t) {
          return db.put_job(t, *copy);
        });
        self->request(self->state.cfg.store, store_timeout, atom::write_v, op)
            .then(
                [=](store::outcome& o) mutable {
                  if (!o)
                    return void(rp.deliver(
                        caf::make_error(ls_error::storage_failure, o.message)));
                  publish(self->state.cfg, *copy);
                  if (copy->provider == "mailchimp") {
                    self->state.waiting[copy->account_id].push_back(copy->id);
                    start_next_job(self, copy->account_id);
                  }
                  rp.deliver(*copy);
                },
                [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](atom::cancel, std::string& account,
          std::string& id) -> caf::result<store::sync_job> {
        auto& st = self->state;
        if (auto it = st.running.find(account);
            it != st.running.end() && it->second.first == id)
          return self->delegate(it->second.second, atom::cancel_v);
        if (auto w = st.waiting.find(account); w != st.waiting.end())
          std::erase(w->second, id);
        auto now = timefmt::now_us();
        return change_job(self, account, id, [now](store::sync_job& j) {
          if (j.status != "PENDING" && j.status != "RUNNING")
            return store::outcome::fail(
                store::outcome::conflict,
                "only a PENDING or RUNNING job can be cancelled "
                "(this one is " +
                    j.status + ")");
          j.status = "CANCELLED";
          j.finished_at = now;
          j.notes.push_back(j.provider == "mailchimp"
                                ? "cancelled before it started"
                                : "cancelled before it was imported");
          return store::outcome{};
        });
      },
      [=](atom::retry, std::string& account,
          std::string& id) -> caf::result<store::sync_job> {
        auto rp = self->make_response_promise<store::sync_job>();
        auto result = std::make_shared<store::sync_job>();
        auto op = store::make_op([=](store::database& db, lmdb::txn& t) {
          return db.modify_job(
              t, account, id,
              [](store::sync_job& j) {
                if (j.status != "FAILED" && j.status != "CANCELLED")
                  return store::outcome::fail(
                      store::outcome::conflict,
                      "only a FAILED or CANCELLED job can be retried "
                      "(this one is " +
                          j.status + ")");
                // Resume from the checkpoint: counters and cursor are kept,
                // the notes of the cancel are not.
                std::erase_if(j.notes, [](const std::string& n) {
                  return n.rfind("cancelled ", 0) == 0;
                });
                j.status = "PENDING";
                j.attempt += 1;
                j.error_code.clear();
                j.error_message.clear();
                j.finished_at = 0;
                j.cancel_requested = false;
                return store::outcome{};
              },
              *result);
        });
        self->request(self->state.cfg.store, store_timeout, atom::write_v, op)
            .then(
                [=](store::outcome& o) mutable {
                  if (o.code == store::outcome::not_found)
                    return void(rp.deliver(
                        caf::make_error(ls_error::not_found, o.message)));
                  if (o.code == store::outcome::conflict)
                    return void(rp.deliver(
                        caf::make_error(ls_error::conflict, o.message)));
                  if (!o)
                    return void(rp.deliver(
                        caf::make_error(ls_error::storage_failure, o.message)));
                  publish(self->state.cfg, *result);
                  if (result->provider == "mailchimp") {
                    self->state.waiting[account].push_back(id);
                    start_next_job(self, account);
                  }
                  rp.deliver(*result);
                },
                [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [=](atom::disconnect, std::string& account) -> caf::result<bool> {
        auto& st = self->state;
        st.waiting.erase(account);
        if (auto it = st.running.find(account); it != st.running.end())
          self->request(it->second.second, store_timeout, atom::cancel_v)
              .then([](store::sync_job&) {}, [](caf::error&) {});
        // Jobs not running: CANCELLED now, with a note saying why.
        auto rp = self->make_response_promise<bool>();
        auto now = timefmt::now_us();
        auto cancelled = std::make_shared<std::vector<store::sync_job>>();
        auto op = store::make_op([=](store::database& db, lmdb::txn& t) {
          cancelled->clear(); // a retried transaction starts again
          for (auto& j : db.unfinished_jobs()) {
            if (j.account_id != account || j.provider != "mailchimp" ||
                j.status != "PENDING")
              continue;
            store::sync_job out;
            auto changed = db.modify_job(
                t, account, j.id,
                [now](store::sync_job& x) {
                  x.status = "CANCELLED";
                  x.finished_at = now;
                  x.notes.push_back(
                      "cancelled because Mailchimp was disconnected");
                  return store::outcome{};
                },
                out);
            if (changed) cancelled->push_back(std::move(out));
          }
          return store::outcome{};
        });
        self->request(st.cfg.store, store_timeout, atom::write_v, op)
            .then(
                [=](store::outcome& o) mutable {
                  if (o)
                    for (auto& j : *cancelled)
                      publish(self->state.cfg, j);
                  rp.deliver(true);
                },
                [=](caf::error&) mutable { rp.deliver(true); });
        return rp;
      },
      [=](atom::job_done, std::string&, std::string&) {
        // The DOWN that follows does the bookkeeping.
      },
  };
}

} // namespace ls
