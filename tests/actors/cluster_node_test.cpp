#define CAF_SUITE cluster_node
#include "actor_fixture.hpp"

#include "actors/cluster_node.hpp"
#include "core/rendezvous.hpp"

using namespace motorhead;
using namespace motorhead::testing;

namespace {

/// A peer that went silent: it takes every request and answers none.
struct silent_node_state {
  std::vector<caf::response_promise> held;
  static inline const char* name = "silent_node";
};

node_actor::behavior_type
silent_node(node_actor::stateful_pointer<silent_node_state> self) {
  auto hold = [self]() {
    self->state.held.push_back(self->make_response_promise());
    return caf::delegated<void>{};
  };
  return {
    [=](forward_atom, memory_get_atom, std::string&, access_scope&)
      -> caf::delegated<encoded_memory> { hold(); return {}; },
    [=](forward_atom, memory_append_atom, std::string&, append_request&,
        access_scope&) -> caf::delegated<ok_atom> {
      hold();
      return {};
    },
    [=](forward_atom, memory_delete_atom, std::string&, erase_request&,
        access_scope&) -> caf::delegated<ok_atom> {
      hold();
      return {};
    },
    [=](forward_atom, retrieve_atom, std::string&, retrieval_query&,
        access_scope&) -> caf::delegated<std::vector<retrieval_hit>> {
      hold();
      return {};
    },
    [=](forward_atom, info_atom, std::string&, session_patch&,
        access_scope&) -> caf::delegated<session_info> {
      hold();
      return {};
    },
    [=](relay_atom, forward_atom, memory_get_atom, std::string&,
        access_scope&) -> caf::delegated<encoded_memory> { hold(); return {}; },
    [=](relay_atom, forward_atom, memory_append_atom, std::string&,
        append_request&, access_scope&) -> caf::delegated<ok_atom> {
      hold();
      return {};
    },
    [=](relay_atom, forward_atom, memory_delete_atom, std::string&,
        erase_request&, access_scope&) -> caf::delegated<ok_atom> {
      hold();
      return {};
    },
    [=](relay_atom, forward_atom, retrieve_atom, std::string&,
        retrieval_query&, access_scope&)
      -> caf::delegated<std::vector<retrieval_hit>> {
      hold();
      return {};
    },
    [=](relay_atom, forward_atom, info_atom, std::string&, session_patch&,
        access_scope&) -> caf::delegated<session_info> {
      hold();
      return {};
    },
    [=](forward_atom, stats_atom, std::vector<std::string>&,
        retrieval_query&, access_scope&) -> caf::delegated<corpus_stats> {
      hold();
      return {};
    },
    [=](forward_atom, candidates_atom, std::vector<std::string>&,
        candidate_request&, access_scope&)
      -> caf::delegated<search_candidates> {
      hold();
      return {};
    },
    [=](forward_atom, fetch_atom, std::vector<ranked_message>&, access_scope&)
      -> caf::delegated<std::vector<retrieval_hit>> {
      hold();
      return {};
    },
    [=](heartbeat_atom, std::string&)
      -> caf::delegated<std::string, uint64_t> { hold(); return {}; },
    [=](members_atom) {},
    [=](release_atom, uint64_t) -> caf::delegated<ok_atom> {
      hold();
      return {};
    },
    [=](handoff_atom, fold_job&) -> caf::delegated<fold_result> {
      hold();
      return {};
    },
    [=](leave_atom, std::string&) -> caf::delegated<ok_atom> {
      hold();
      return {};
    },
  };
}

/// Two nodes, "a" and "b", in one actor system: each a cluster node with
/// its own registry and summarizer pool, sharing the fake store.
struct cluster_fixture : actor_fixture {
  struct node {
    std::string name;
    registry_actor registry;
    summarizer_pool_actor pool;
    cluster_actor cluster;
    std::shared_ptr<serving_lease> lease; // on the test clock
  };

  cluster_fixture() {
    a = make_node("a", {summarizer});
    b = make_node("b", {sys.spawn(extractive_summarizer, extractive_options{})});
    connect(a, b);
    connect(b, a);
    next_heartbeat(); // b reached a: it joins
  }

  ~cluster_fixture() override {
    stop(a);
    stop(b);
    sched.run();
  }

  /// Stops a node's actors.
  static void stop(const node& n) {
    for (const caf::actor_addr& addr :
         {n.cluster.address(), n.registry.address(), n.pool.address()})
      caf::anon_send_exit(addr, caf::exit_reason::user_shutdown);
  }

  node make_node(const std::string& name, std::vector<summarizer_actor> workers,
                 uint64_t incarnation = 0) {
    node n;
    n.name = name;
    n.pool = sys.spawn(summarizer_pool, std::move(workers), std::size_t{0});
    n.lease = std::make_shared<serving_lease>([this] {
      return boot_clock::time_point{std::chrono::duration_cast<boot_clock::duration>(
        sched.clock().now().time_since_epoch())};
    });
    n.registry = sys.spawn(session_registry,
                           session_setup{limits,
                                         {store, summarizer_actor{n.pool}, {}},
                                         nullptr, n.lease},
                           cache);
    cluster_settings settings;
    settings.incarnation = incarnation;
    settings.serving = n.lease;
    n.cluster = sys.spawn(cluster_node, settings, n.registry, n.pool, store,
                          caf::actor{});
    self->send(n.pool, overflow_atom::value, summarizer_actor{n.cluster});
    self->send(n.cluster, join_atom::value, name);
    sched.run();
    return n;
  }

  void next_heartbeat() {
    advance_time(std::chrono::milliseconds{500});
    sched.run();
  }

  /// Heartbeat rounds until a lease from now has run out: a dead member's
  /// sessions may be loaded elsewhere.
  void until_leases_lapse() {
    for (int i = 0; i < 5; ++i)
      next_heartbeat();
  }

  cluster_state& state_of(const node& n) {
    return deref<caf::stateful_actor<cluster_state, cluster_actor::base>>(
             n.cluster)
      .state;
  }

  void connect(const node& from, const node& to) {
    self->send(from.cluster, peer_up_atom::value, to.name, node_actor{to.cluster});
    sched.run();
  }

  registry_state& registry_of(const node& n) {
    return deref<caf::stateful_actor<registry_state, registry_actor::base>>(
             n.registry)
      .state;
  }

  cluster_view view_of(const node& n, const std::string& session = "") {
    auto view = ask<cluster_view>(n.cluster, cluster_atom::value, session);
    CAF_REQUIRE(view);
    return *view;
  }

  /// A session id that rendezvous hashing gives to `owner` among a and b.
  std::string session_owned_by(const std::string& owner) {
    for (int i = 0;; ++i) {
      auto id = "s" + std::to_string(i);
      if (owner_of(id, {"a", "b"}) == owner)
        return id;
    }
  }

  caf::expected<ok_atom> post_via(const node& n, const std::string& id, int m) {
    return ask<ok_atom>(n.cluster, memory_append_atom::value, id,
                        append_request{numbered_messages(m, m), {}, {}},
                        access_scope{});
  }

  node a;
  node b;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(cluster_node_tests, cluster_fixture)

CAF_TEST(both nodes see both members and agree on owners) {
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK_EQUAL(view_of(b).members, (std::vector<std::string>{"a", "b"}));
  // From the table in the store: a joined it, then b.
  CAF_CHECK_EQUAL(view_of(a).version, 2u);
  CAF_CHECK_EQUAL(view_of(b).version, 2u);
  CAF_CHECK_EQUAL(store_state().members.rows.size(), 2u);
  auto id = session_owned_by("b");
  CAF_CHECK_EQUAL(view_of(a, id).owner, "b");
  CAF_CHECK_EQUAL(view_of(b, id).owner, "b");
}

CAF_TEST(a request reaching a non owner is served by the owner) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(post_via(a, id, 1));
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(id), 0u);
  CAF_CHECK_EQUAL(registry_of(b).sessions.count(id), 1u);
  auto view = ask<memory_view>(a.cluster, memory_get_atom::value, id,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m1"}));
}

CAF_TEST(when the owner dies its sessions move and reload) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(post_via(a, id, 1));
  caf::anon_send_exit(b.cluster, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a"}));
  // b may serve its sessions from memory until its lease runs out, as a
  // sees it: a waits that long before loading them.
  CAF_REQUIRE_EQUAL(state_of(a).holds.size(), 1u);
  CAF_CHECK_EQUAL(state_of(a).holds[0].address, "b");
  CAF_CHECK(state_of(a).holds[0].until - a.lease->now()
            > std::chrono::milliseconds{1500});
  until_leases_lapse();
  CAF_CHECK(state_of(a).holds.empty());
  CAF_REQUIRE(post_via(a, id, 2));
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(id), 1u);
  auto view = ask<memory_view>(a.cluster, memory_get_atom::value, id,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m2", "m1"}));
  // The new owner claimed the session anew.
  CAF_CHECK_EQUAL(store_state().sessions[id].epoch, 2u);
}

CAF_TEST(a member that joins takes only what moves to it once released) {
  auto stays = session_owned_by("a");
  auto moves = session_owned_by("b");
  caf::anon_send_exit(b.cluster, caf::exit_reason::kill);
  sched.run();
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a"}));
  until_leases_lapse();
  CAF_REQUIRE(post_via(a, stays, 1));
  CAF_REQUIRE(post_via(a, moves, 1));
  CAF_CHECK_EQUAL(registry_of(a).sessions.size(), 2u);
  // b comes back as a new process, a new member.
  auto b2 = make_node("b", {}, 1);
  connect(a, b2);
  connect(b2, a);
  next_heartbeat();
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a", "b"}));
  CAF_CHECK(state_of(b2).admitted);
  // a released the session that moved before b2 could load it, and kept
  // the other where it was.
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(moves), 0u);
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(stays), 1u);
  // b2 cannot know when the b before it last renewed its lease: it waits
  // a full lease before loading what that one owned.
  CAF_CHECK_EQUAL(state_of(b2).holds.size(), 1u);
  until_leases_lapse();
  CAF_REQUIRE(post_via(a, moves, 2));
  CAF_CHECK_EQUAL(registry_of(b2).sessions.count(moves), 1u);
  auto view = ask<memory_view>(b2.cluster, memory_get_atom::value, moves,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m2", "m1"}));
  stop(b2);
}

CAF_TEST(a joiner loads nothing before the members released it) {
  auto moves = session_owned_by("b");
  caf::anon_send_exit(b.cluster, caf::exit_reason::kill);
  sched.run();
  until_leases_lapse();
  CAF_REQUIRE(post_via(a, moves, 1));
  hold_store(); // a's write of m2 is in flight when b2 joins
  auto posted = self->request(a.cluster, caf::infinite,
                              memory_append_atom::value, moves,
                              append_request{numbered_messages(2, 2), {}, {}},
                              access_scope{});
  sched.run();
  auto b2 = make_node("b", {}, 1);
  connect(a, b2);
  connect(b2, a);
  next_heartbeat();
  release_store(); // the table's writes and a's write land in order
  next_heartbeat();
  posted.receive([](ok_atom) {}, [](caf::error& err) { CAF_FAIL(err); });
  until_leases_lapse(); // b2's wait for the b before it
  auto view = ask<memory_view>(a.cluster, memory_get_atom::value, moves,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m2", "m1"}));
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(moves), 0u);
  stop(b2);
}

CAF_TEST(a node that leaves hands its sessions over at once) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(post_via(a, id, 1));
  CAF_REQUIRE(ask<ok_atom>(b.cluster, leave_atom::value));
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a"}));
  CAF_REQUIRE(post_via(a, id, 2));
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(id), 1u);
  // While b's process lives, a does not take it back: its row says left.
  connect(a, b);
  next_heartbeat();
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a"}));
}

CAF_TEST(a request a leaving node cannot run waits for its successor) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(post_via(a, id, 1));
  // b shuts down: it refuses what it is sent from now on, releases its
  // sessions, then leaves the table.
  state_of(b).leaving = true;
  auto posted = self->request(a.cluster, caf::infinite,
                              memory_append_atom::value, id,
                              append_request{numbered_messages(2, 2), {}, {}},
                              access_scope{});
  sched.run();
  CAF_CHECK(self->mailbox().empty()); // waits: b has not left the table yet
  state_of(b).leaving = false;
  CAF_REQUIRE(ask<ok_atom>(b.cluster, leave_atom::value));
  sched.run();
  CAF_REQUIRE(!self->mailbox().empty());
  posted.receive([](ok_atom) {}, [](caf::error& err) { CAF_FAIL(err); });
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a"}));
  auto view = ask<memory_view>(a.cluster, memory_get_atom::value, id,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m2", "m1"}));
}

CAF_TEST(the published gateway takes the node protocol and nothing else) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(post_via(a, id, 1));
  auto gateway = sys.spawn(node_gateway, b.cluster);
  auto untyped = caf::actor_cast<caf::actor>(gateway);
  // The router protocol, with a scope that claims everything: refused.
  auto routed = ask<memory_view>(untyped, memory_get_atom::value, id,
                                 access_scope{});
  CAF_REQUIRE(!routed);
  CAF_CHECK_EQUAL(routed.error(), caf::make_error(caf::sec::unexpected_message));
  // Control messages too: b stays a member, under its name.
  self->send(untyped, leave_atom::value);
  self->send(untyped, join_atom::value, std::string{"x"});
  sched.run();
  CAF_CHECK_EQUAL(view_of(b).node, "b");
  CAF_CHECK(!state_of(b).leaving);
  // A forwarded read, from a member's process, goes through.
  auto forwarded = ask<memory_view>(gateway, forward_atom::value,
                                    memory_get_atom::value, id, access_scope{});
  CAF_REQUIRE(forwarded);
  CAF_CHECK_EQUAL(contents(*forwarded), (std::vector<std::string>{"m1"}));
  caf::anon_send_exit(gateway, caf::exit_reason::user_shutdown);
}

CAF_TEST(a forwarded request gets the scope the owner gives its key) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(ask<ok_atom>(a.cluster, memory_append_atom::value, id,
                           append_request{numbered_messages(1, 1), {},
                                          std::string{"team"}},
                           access_scope{}));
  access_scope team{true, {"team"}, "key-t"};
  access_scope other{true, {"other"}, "key-o"};
  state_of(b).settings.key_scopes = {{"key-t", team}, {"key-o", other}};
  auto forwarded_get = [&](access_scope claimed) {
    return ask<memory_view>(b.cluster, forward_atom::value,
                            memory_get_atom::value, id, std::move(claimed));
  };
  auto forbidden = [](const caf::expected<memory_view>& answer) {
    return !answer && is_service_error(answer.error(), service_errc::forbidden);
  };
  // The sender claims no restriction for key-o: b gives key-o its scope.
  CAF_CHECK(forbidden(forwarded_get(access_scope{false, {}, "key-o"})));
  // A key b does not know gets nothing, whatever scope it claims.
  CAF_CHECK(forbidden(forwarded_get(access_scope{false, {}, "key-x"})));
  // key-t reaches the session, whatever narrower scope the sender claims.
  auto answer = forwarded_get(access_scope{true, {"other"}, "key-t"});
  CAF_REQUIRE(answer);
  CAF_CHECK_EQUAL(contents(*answer), (std::vector<std::string>{"m1"}));
}

CAF_TEST(a forwarded write refused by the fence goes to the owner again) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(post_via(a, id, 1));
  // Another claim (a node that briefly owned the session) fences b's copy.
  ++store_state().sessions[id].epoch;
  CAF_REQUIRE(post_via(a, id, 2));
  auto view = ask<memory_view>(a.cluster, memory_get_atom::value, id,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m2", "m1"}));
  CAF_CHECK_EQUAL(view_of(a).members, (std::vector<std::string>{"a", "b"}));
}

CAF_TEST(requests forwarded to a peer that goes silent are not waited for) {
  auto id = session_owned_by("b");
  CAF_REQUIRE(post_via(a, id, 1));
  // b's process hangs (as after SIGSTOP, or a connection that went dark).
  auto silent = sys.spawn(silent_node);
  connect(a, node{"b", {}, {}, caf::actor_cast<cluster_actor>(silent), {}});
  caf::anon_send_exit(b.cluster, caf::exit_reason::kill); // renews no more
  auto get = self->request(a.cluster, caf::infinite, memory_get_atom::value, id,
                           access_scope{});
  auto post = self->request(a.cluster, caf::infinite, memory_append_atom::value,
                            id, append_request{numbered_messages(2, 2), {}, {}},
                            access_scope{});
  sched.run();
  CAF_REQUIRE(self->mailbox().empty()); // both wait on b
  // The heartbeat rounds find b silent for the failure timeout.
  for (int round = 0; round < 5; ++round)
    next_heartbeat();
  // The table says b is dead. (b's process is alive here and will rejoin,
  // as a new member.)
  CAF_CHECK_EQUAL(store_state().members.find("b/0")->status,
                  store::member_status::dead);
  // The write, which b may have stored, failed at once with an error that
  // says so.
  CAF_REQUIRE(!self->mailbox().empty());
  post.receive([](ok_atom) { CAF_FAIL("the write was acknowledged"); },
               [](caf::error& err) {
                 CAF_CHECK(is_service_error(err, service_errc::write_unknown));
               });
  // The read went to the new owner at once, which serves it once b's
  // lease ran out as a saw it (b may still serve from memory until then).
  until_leases_lapse();
  CAF_REQUIRE(!self->mailbox().empty());
  get.receive(
    [](encoded_memory& memory) {
      CAF_CHECK_EQUAL(contents(decode_memory(memory)),
                      (std::vector<std::string>{"m1"}));
    },
    [](caf::error& err) { CAF_FAIL("the read failed: " << err); });
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}

CAF_TEST(the lease is renewed every heartbeat round and lapses without Redis) {
  auto mine = session_owned_by("a");
  CAF_REQUIRE(post_via(a, mine, 1));
  for (int round = 0; round < 8; ++round) {
    next_heartbeat();
    CAF_CHECK(a.lease->valid());
  }
  // Redis stops answering: the lease runs out within a lease (less a
  // margin) from the last renewal sent, however long reads hang.
  store_state().down = true;
  auto last_renewal = a.lease->now() - std::chrono::milliseconds{500};
  while (a.lease->valid())
    next_heartbeat();
  CAF_CHECK(a.lease->now() - last_renewal <= std::chrono::milliseconds{2000});
  // What entered a now waits rather than being served from memory.
  auto get = self->request(a.cluster, caf::infinite, memory_get_atom::value,
                           mine, access_scope{});
  sched.run();
  CAF_CHECK(self->mailbox().empty());
  store_state().down = false;
  until_leases_lapse();
  CAF_REQUIRE(!self->mailbox().empty());
  get.receive([](encoded_memory&) {}, [](caf::error&) {});
}

CAF_TEST(a node paused past its lease answers nothing it queued meanwhile from memory) {
  auto id = session_owned_by("a");
  CAF_REQUIRE(post_via(a, id, 1));
  CAF_REQUIRE_EQUAL(registry_of(a).sessions.count(id), 1u);
  // A GET reaches the session's mailbox; then the process stops (SIGSTOP, a
  // VM suspend) for longer than its lease, and resumes: the clock moved on,
  // no renewal ran.
  auto get = self->request(a.registry, caf::infinite, memory_get_atom::value,
                           id, access_scope{});
  sched.run_once(); // the registry hands the GET to the session
  sched.clock().current_time += std::chrono::milliseconds{2500};
  sched.run();
  CAF_REQUIRE(!self->mailbox().empty());
  get.receive(
    [](encoded_memory&) { CAF_FAIL("answered from memory past the lease"); },
    [](caf::error& err) {
      CAF_CHECK(is_service_error(err, service_errc::moved));
    });
  // The session stopped; once the lease is renewed, it loads again.
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(id), 0u);
  next_heartbeat();
  auto view = ask<memory_view>(a.cluster, memory_get_atom::value, id,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK_EQUAL(contents(*view), (std::vector<std::string>{"m1"}));
}

CAF_TEST(after Redis restarts no node serves from memory for a lease) {
  auto mine = session_owned_by("a");
  CAF_REQUIRE(post_via(a, mine, 1));
  // Another Redis process answers (a restart, a failover): it may have
  // lost the newest declarations of death, so leases granted before must
  // run out before anyone serves from memory again.
  store_state().run_id = "second";
  next_heartbeat();
  CAF_CHECK(!a.lease->valid());
  CAF_CHECK(!b.lease->valid());
  CAF_CHECK_EQUAL(registry_of(a).sessions.count(mine), 0u);
  auto get = self->request(a.cluster, caf::infinite, memory_get_atom::value,
                           mine, access_scope{});
  sched.run();
  CAF_CHECK(self->mailbox().empty());
  until_leases_lapse();
  CAF_CHECK(a.lease->valid());
  CAF_REQUIRE(!self->mailbox().empty());
  get.receive(
    [](encoded_memory& memory) {
      CAF_CHECK_EQUAL(contents(decode_memory(memory)),
                      (std::vector<std::string>{"m1"}));
    },
    [](caf::error& err) { CAF_FAIL("the read failed: " << err); });
}

CAF_TEST(a node with a full queue hands folds to a peer with credits) {
  // a's only worker is the fake summarizer, which holds jobs: one fold
  // fills it, and a's queue has no room.
  auto first = session_owned_by("a");
  CAF_REQUIRE(ask<ok_atom>(a.cluster, memory_append_atom::value, first,
                           append_request{numbered_messages(1, 5), {}, {}},
                           access_scope{}));
  CAF_REQUIRE_EQUAL(summarizer_state().held.size(), 1u);
  advance_time(std::chrono::milliseconds{500}); // a heartbeat: b has credits
  sched.run();
  std::string second;
  for (int i = 0; second.empty(); ++i)
    if (auto id = "t" + std::to_string(i); owner_of(id, {"a", "b"}) == "a")
      second = id;
  CAF_REQUIRE(ask<ok_atom>(a.cluster, memory_append_atom::value, second,
                           append_request{numbered_messages(1, 5), {}, {}},
                           access_scope{}));
  // b's extractive worker folded it; a's worker still holds the first.
  auto view = ask<memory_view>(a.cluster, memory_get_atom::value, second,
                               access_scope{});
  CAF_REQUIRE(view);
  CAF_CHECK(view->context.has_value());
  CAF_CHECK_EQUAL(view->messages.size(), 2u);
  CAF_CHECK_EQUAL(summarizer_state().held.size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
