#pragma once
// A persistence actor for unit tests, keyed by the functions that build commands
// (persistence/*.hpp) rather than by command-name strings:
//
//   db.on<orders_sql::apply>([](const orders_sql::transition& t) { return order_transitioned{…};
//   }); db.refuse_next<orders_sql::apply>(errors::conflict("invalid_transition", "changed"));
//   db.hold_next<orders_sql::apply>();  …  db.release<orders_sql::apply>();
//   BOOST_TEST(db.count<orders_sql::apply>() == 1);
//
// How a command is recognised: a builder is a plain function `db_command(Args...)`; calling it
// once with default arguments (builders only capture their inputs, they touch no database)
// gives the name every command it builds carries. Registration refuses two builders with one
// name. A command arriving under that name must carry the builder's own arguments in
// `db_command::args` (the convention protocols/persistence.hpp states); the handler is called
// with them, typed as the builder declares them, so a handler taking the wrong inputs does not
// compile, and a builder that broke the convention fails the test at its first command.
//
// The reply: `command_reply<Builder>` (tests/support/command_replies.hpp) names what the
// command answers, as persistence/*.hpp documents it; a handler returning anything else (or
// caf::expected of anything else) does not compile.
//
// Meant for a coordinated_system (one thread: the test's): nothing here is locked.

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/message.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "protocols/errors.hpp"
#include "protocols/persistence.hpp"
#include "tests/support/command_replies.hpp"

namespace wassally::test {

namespace detail {

template <class F>
struct builder_traits;
template <class... Args>
struct builder_traits<db_command (*)(Args...)> {
  using args = std::tuple<std::decay_t<Args>...>;
};

template <class T>
struct is_expected : std::false_type {};
template <class T>
struct is_expected<caf::expected<T>> : std::true_type {};

/// A unique address per builder, standing for it at run time.
template <auto Builder>
struct builder_tag {
  static inline const char id = 0;
};

template <class Tuple, size_t... Is>
bool args_match(const caf::message& m, std::index_sequence<Is...>) {
  return m.match_elements<std::tuple_element_t<Is, Tuple>...>();
}

template <class Tuple, class Handler, size_t... Is>
decltype(auto) call_with_args(Handler& h, const caf::message& m, std::index_sequence<Is...>) {
  return h(m.get_as<std::tuple_element_t<Is, Tuple>>(Is)...);
}

}  // namespace detail

/// What the fake answers a command with: the reply, or an error.
using fake_answer = std::function<caf::message(const db_command&)>;

class fake_persistence {
 public:
  explicit fake_persistence(caf::actor_system& sys);
  ~fake_persistence();
  fake_persistence(const fake_persistence&) = delete;
  fake_persistence& operator=(const fake_persistence&) = delete;

  /// The persistence actor to hand to the actors under test.
  const caf::actor& actor() const { return actor_; }

  /// Answers the commands `Builder` makes with `handler(builder's arguments...)`: a
  /// command_reply<Builder>, or a caf::expected of it (an error answers the command with it).
  template <auto Builder, class Handler>
  void on(Handler handler) {
    using args = typename detail::builder_traits<decltype(Builder)>::args;
    using reply = typename command_reply<Builder>::type;
    constexpr auto n = std::tuple_size_v<args>;
    using result = decltype(detail::call_with_args<args>(handler, std::declval<caf::message&>(),
                                                         std::make_index_sequence<n>{}));
    using value = std::decay_t<result>;
    if constexpr (detail::is_expected<value>::value)
      static_assert(std::is_same_v<typename value::value_type, reply>,
                    "the handler does not answer with the command's reply type");
    else
      static_assert(std::is_convertible_v<value, reply>,
                    "the handler does not answer with the command's reply type");
    auto& k = kind<Builder>();
    k.handler = [handler = std::move(handler)](const db_command& cmd) mutable -> caf::message {
      if (!detail::args_match<args>(cmd.args, std::make_index_sequence<n>{}))
        throw std::logic_error(
            "command " + cmd.name +
            " does not carry its builder's arguments in db_command::args: " + to_string(cmd.args));
      auto r = detail::call_with_args<args>(handler, cmd.args, std::make_index_sequence<n>{});
      if constexpr (detail::is_expected<value>::value) {
        if (!r) return caf::make_message(r.error());
        return caf::make_message(std::move(*r));
      } else {
        return caf::make_message(reply(std::move(r)));
      }
    };
  }

  /// The next `times` commands of `Builder` are refused with `e` (before any hold).
  template <auto Builder>
  void refuse_next(api_error e, int times = 1) {
    auto& k = kind<Builder>();
    for (int i = 0; i < times; ++i) k.refusals.push_back(e);
  }
  /// Every command of `Builder` is refused with `e` until refuse_none<Builder>().
  template <auto Builder>
  void refuse_every(api_error e) {
    kind<Builder>().refuse_all = std::move(e);
  }
  template <auto Builder>
  void refuse_none() {
    auto& k = kind<Builder>();
    k.refuse_all.reset();
    k.refusals.clear();
  }

  /// The next `times` commands of `Builder` are held: never answered until released (a commit
  /// that takes longer than anyone waits, a database that does not answer).
  template <auto Builder>
  void hold_next(int times = 1) {
    kind<Builder>().holds += times;
  }
  /// How many commands of `Builder` are held now.
  template <auto Builder>
  size_t held() const {
    auto i = st_->kinds.find(&detail::builder_tag<Builder>::id);
    return i == st_->kinds.end() ? 0 : i->second.held.size();
  }
  /// The oldest held command of `Builder` (to look at its inputs); throws when none is held.
  template <auto Builder>
  const db_command& held_command() const {
    auto i = st_->kinds.find(&detail::builder_tag<Builder>::id);
    if (i == st_->kinds.end() || i->second.held.empty())
      throw std::logic_error("no command of this builder is held");
    return i->second.held.front().cmd;
  }
  /// Answers the oldest held command of `Builder` as its handler decides (now, not when it came:
  /// a handler reading the test's state sees it as it is at release).
  template <auto Builder>
  void release() {
    release_impl(&detail::builder_tag<Builder>::id, std::nullopt);
  }
  /// Answers the oldest held command of `Builder` with `e`.
  template <auto Builder>
  void release_with(api_error e) {
    release_impl(&detail::builder_tag<Builder>::id, std::move(e));
  }

  /// Commands of `Builder` received so far (answered, refused or held).
  template <auto Builder>
  int count() const {
    auto i = st_->kinds.find(&detail::builder_tag<Builder>::id);
    return i == st_->kinds.end() ? 0 : i->second.received;
  }
  /// Every command received so far.
  int total() const { return st_->total; }
  /// Names of commands no handler was registered for (each answered with a 500).
  const std::vector<std::string>& unhandled() const { return st_->unhandled; }
  /// Commands that broke the args convention or whose handler threw (each answered 500).
  const std::vector<std::string>& failures() const { return st_->failures; }

  /// The fake actor's own message: handle the next release (sent to it by release()).
  using release_atom = caf::atom_constant<caf::atom("fk_release")>;

 private:
  struct held_entry {
    db_command cmd;
    caf::response_promise rp;
  };
  struct kind_state {
    std::string name;
    fake_answer handler;
    std::deque<api_error> refusals;
    std::optional<api_error> refuse_all;
    int holds = 0;
    int received = 0;
    std::deque<held_entry> held;
  };
  /// Everything the fake actor reads and writes: shared with it, so that it never outlives
  /// what it uses, whichever of the two goes first.
  struct core {
    std::map<const void*, kind_state> kinds;
    std::map<std::string, const void*> by_name;
    std::deque<std::pair<const void*, std::optional<api_error>>> releases;
    int total = 0;
    std::vector<std::string> unhandled;
    std::vector<std::string> failures;

    kind_state& add_kind(const void* tag, const std::string& name);
    caf::result<caf::message> receive(caf::event_based_actor* self, db_command& cmd);
    void release_next();
    caf::message answer(kind_state& k, const db_command& cmd);
  };

  template <auto Builder>
  kind_state& kind() {
    const void* tag = &detail::builder_tag<Builder>::id;
    auto i = st_->kinds.find(tag);
    if (i != st_->kinds.end()) return i->second;
    using args = typename detail::builder_traits<decltype(Builder)>::args;
    auto probe = std::apply(Builder, args{});
    return st_->add_kind(tag, probe.name);
  }

  void release_impl(const void* tag, std::optional<api_error> e);

  std::shared_ptr<core> st_;
  caf::actor actor_;
};

}  // namespace wassally::test
