#include "tests/support/fake_persistence.hpp"

#include <caf/send.hpp>
#include <exception>

namespace wassally::test {

namespace {

caf::result<caf::message> as_result(caf::message m) {
  if (m.match_elements<caf::error>()) return m.get_as<caf::error>(0);
  return m;
}

}  // namespace

fake_persistence::fake_persistence(caf::actor_system& sys) : st_(std::make_shared<core>()) {
  actor_ = sys.spawn([st = st_](caf::event_based_actor* self) -> caf::behavior {
    return {
        [st, self](db_command& cmd) { return st->receive(self, cmd); },
        [st](release_atom) { st->release_next(); },
    };
  });
}

fake_persistence::~fake_persistence() {
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

fake_persistence::kind_state& fake_persistence::core::add_kind(const void* tag,
                                                               const std::string& name) {
  auto clash = by_name.find(name);
  if (clash != by_name.end() && clash->second != tag)
    throw std::logic_error("two builders make commands named " + name +
                           ": the fake cannot tell them apart");
  by_name[name] = tag;
  auto& k = kinds[tag];
  k.name = name;
  return k;
}

caf::result<caf::message> fake_persistence::core::receive(caf::event_based_actor* self,
                                                          db_command& cmd) {
  ++total;
  auto tag = by_name.find(cmd.name);
  if (tag == by_name.end()) {
    unhandled.push_back(cmd.name);
    return to_caf_error(errors::internal("the fake persistence has no handler for " + cmd.name));
  }
  auto& k = kinds.at(tag->second);
  ++k.received;
  if (!k.refusals.empty()) {
    auto e = k.refusals.front();
    k.refusals.pop_front();
    return to_caf_error(e);
  }
  if (k.refuse_all) return to_caf_error(*k.refuse_all);
  if (k.holds > 0) {
    --k.holds;
    auto rp = self->make_response_promise();
    k.held.push_back({cmd, rp});
    return rp;
  }
  return as_result(answer(k, cmd));
}

caf::message fake_persistence::core::answer(kind_state& k, const db_command& cmd) {
  if (!k.handler) {
    unhandled.push_back(cmd.name);
    return caf::make_message(
        to_caf_error(errors::internal("the fake persistence has no handler for " + cmd.name)));
  }
  try {
    return k.handler(cmd);
  } catch (const api_exception& e) {
    return caf::make_message(to_caf_error(e.error));
  } catch (const std::exception& e) {
    failures.push_back(cmd.name + ": " + e.what());
    return caf::make_message(to_caf_error(errors::internal(e.what())));
  }
}

void fake_persistence::release_impl(const void* tag, std::optional<api_error> e) {
  auto i = st_->kinds.find(tag);
  size_t queued = 0;
  for (auto& r : st_->releases)
    if (r.first == tag) ++queued;
  if (i == st_->kinds.end() || i->second.held.size() <= queued)
    throw std::logic_error("release: no command of this builder is held");
  // Answered by the fake actor itself, in its turn: a reply leaves from the actor that owes it.
  st_->releases.emplace_back(tag, std::move(e));
  caf::anon_send(actor_, release_atom::value);
}

void fake_persistence::core::release_next() {
  if (releases.empty()) return;
  auto [tag, e] = std::move(releases.front());
  releases.pop_front();
  auto& k = kinds.at(tag);
  auto h = std::move(k.held.front());
  k.held.pop_front();
  auto m = e ? caf::make_message(to_caf_error(*e)) : answer(k, h.cmd);
  if (m.match_elements<caf::error>())
    h.rp.deliver(m.get_as<caf::error>(0));
  else
    h.rp.deliver(std::move(m));
}

}  // namespace wassally::test
