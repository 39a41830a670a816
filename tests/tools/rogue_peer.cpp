// A hostile process that reaches a node's cluster port and speaks its
// protocol: it asks the published actor for a heartbeat, takes the handle
// the answer came from, and sends that actor the HTTP front's requests for
// a session, with no key. Prints one line per attempt, "<what>: <outcome>",
// for tests/http/test_membership.py to check that none is served.
//
//   rogue_peer HOST PORT SESSION_ID [--openssl.certificate=... etc.]
#include <cstdlib>
#include <iostream>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/protocol.hpp"

namespace {

struct rogue_config : caf::actor_system_config {
  rogue_config() {
    motorhead::add_protocol_types(*this);
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
  }
};

template <class Handle>
caf::expected<Handle> reach(caf::actor_system& system, const std::string& host,
                            uint16_t port) {
  if (!system.config().openssl_certificate.empty())
    return caf::openssl::remote_actor<Handle>(system, host, port);
  return system.middleman().remote_actor<Handle>(host, port);
}

/// Sends `xs` to `whom` and prints whether a `Result` came back.
template <class Result, class... Ts>
void attempt(caf::scoped_actor& self, const std::string& what,
             const caf::strong_actor_ptr& whom, Ts... xs) {
  self->request(caf::actor_cast<caf::actor>(whom), std::chrono::seconds(5),
                xs...)
    .receive(
      [&](Result&) { std::cout << what << ": served" << std::endl; },
      [&](caf::error& err) {
        std::cout << what << ": refused " << self->system().render(err)
                  << std::endl;
      });
}

} // namespace

int main(int argc, char** argv) {
  using namespace motorhead;
  if (argc < 4) {
    std::cerr << "usage: rogue_peer HOST PORT SESSION_ID [CAF options]\n";
    return 2;
  }
  rogue_config cfg;
  if (auto err = cfg.parse(argc - 3, argv + 3)) {
    std::cerr << "bad options: " << caf::to_string(err) << "\n";
    return 2;
  }
  caf::actor_system system{cfg};
  std::string host = argv[1];
  auto port = static_cast<uint16_t>(std::strtoul(argv[2], nullptr, 10));
  std::string id = argv[3];
  auto published = reach<node_actor>(system, host, port);
  if (!published) {
    std::cout << "connect: failed " << system.render(published.error())
              << std::endl;
    return 0;
  }
  caf::scoped_actor self{system};
  // The answer's sender is whatever actor answered the heartbeat.
  caf::strong_actor_ptr answerer;
  self->request(*published, std::chrono::seconds(5), heartbeat_atom::value,
                std::string{"rogue:1"})
    .receive(
      [&](const std::string&, uint64_t) {
        answerer = self->current_sender();
        std::cout << "heartbeat: served" << std::endl;
      },
      [&](caf::error& err) {
        std::cout << "heartbeat: refused " << system.render(err) << std::endl;
      });
  if (!answerer)
    return 0;
  attempt<encoded_memory>(self, "read", answerer, memory_get_atom::value, id,
                          access_scope{});
  attempt<ok_atom>(self, "delete", answerer, memory_delete_atom::value, id,
                   erase_request{}, access_scope{});
  attempt<ok_atom>(self, "leave", answerer, leave_atom::value);
  return 0;
}
