// The cluster node: routes each session to its owner among the members,
// keeps the membership in the table every node of a Redis shares (found
// there, joined and left there, failures written there), serves its peers'
// requests only when they come from members, and shares summarizer
// capacity with them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/node_id.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/protocol.hpp"
#include "core/boot_clock.hpp"
#include "core/serving_lease.hpp"

namespace motorhead {

struct cluster_settings {
  std::string self_name;          // "host:port" its peers reach it at
  uint64_t incarnation = 0;       // this process's start, µs since the epoch
  std::vector<std::string> seeds; // addresses to try besides the table's
  /// The scope of each API key, by its identity (access_scope::key); none
  /// when the node serves without keys.
  std::map<std::string, access_scope> key_scopes;
  std::chrono::milliseconds heartbeat{500};
  std::chrono::milliseconds failure_timeout{2000};
  std::chrono::milliseconds forward_timeout{10000};
  /// How long a renewal lets this node serve its sessions from memory,
  /// counted from when the renewal was sent, less a margin for the rates
  /// of clocks; a node that takes sessions over waits it in full.
  std::chrono::milliseconds lease{2000};
  /// The lease every session of this node checks on every request; made
  /// by the node when none is given.
  std::shared_ptr<serving_lease> serving;
  /// Every connection is mutual TLS: whoever connects holds a certificate
  /// from the cluster's CA. Then one connection joins each pair of nodes
  /// (two made at once break CAF's TLS transport): a member connects only
  /// to members of higher addresses, a node that joins to every member,
  /// and a node takes a connection another made, once it names its address
  /// in a heartbeat, as that node's. Seeds are not connected to.
  bool one_connection_per_pair = false;
};

struct cluster_state {
  struct peer {
    node_actor handle;
    std::string id;       // the member it said it is; "" until it answered
    uint64_t credits = 0; // its free summarizer capacity, as last heard
    /// It said it shuts down, or that it cannot reach Redis: requests for
    /// its sessions wait for the next view. Forgotten two failure timeouts
    /// on (by then it left the table, was declared dead, or is back).
    bool leaving = false;
    caf::actor_clock::time_point leaving_since;
  };

  /// A request waiting for the join, for a connection to its session's
  /// owner, or (forwarded) for its sender to be reached as a member.
  /// `try_now` runs it once it can (and says so); `give_up` answers it
  /// with why it waited in vain.
  struct waiting_request {
    caf::actor_clock::time_point until; // given up on then
    std::function<bool()> try_now;
    std::function<void(caf::error)> give_up;
  };

  /// Members' renewals as this node saw them: the count, and when this
  /// node first saw it (its own boot clock). A member whose count stays
  /// for the failure timeout lost its lease.
  struct renewals_seen {
    uint64_t count = 0;
    boot_clock::time_point since;
  };

  /// Sessions this node may not load yet: those `address` owned among
  /// `members_before`, until its lease for that view surely ran out (a
  /// member declared dead, or one that did not release what moved here).
  struct hold {
    std::string address;
    std::vector<std::string> members_before;
    boot_clock::time_point until;
  };

  cluster_settings settings;
  registry_actor registry;
  summarizer_pool_actor pool;
  persistence_actor store;
  caf::actor connector; // connects to members and seeds; none in tests
  /// Nodes connected, by address: members, nodes about to join, seeds.
  std::map<std::string, peer> peers;
  /// The view: the active members of the table, by address, sorted, this
  /// node's included once it joined; each one's member id.
  std::vector<std::string> members;
  std::map<std::string, std::string> member_ids;
  uint64_t version = 0;            // of the table the view is from
  store::membership_table table;   // as last read
  std::map<std::string, renewals_seen> renewals; // by member id
  std::vector<hold> holds;
  /// Members of the view this node has not reached, by member id, since
  /// when: after the failure timeout it suspects them.
  std::map<std::string, boot_clock::time_point> unreached_since;
  std::set<std::string> reached_ids; // members this node has reached
  boot_clock::time_point first_view_at; // when this node saw itself join
  /// The Redis process that answered the last read of the table, and until
  /// when this node serves nothing from memory because it changed (a
  /// restart or a failover may have lost renewals and declarations of
  /// death: leases granted by the old one must run out first).
  std::string redis_run_id;
  boot_clock::time_point quarantine_until;
  bool joined = false;             // this node's row is active in the view
  /// The members released the sessions that moved to this node when it
  /// joined: it may load them.
  bool admitted = false;
  std::string waiting_for;         // why it could not join, once it knows
  caf::actor_clock::time_point joining_since;
  /// Not before: a member could not reach this node (see waiting_for).
  caf::actor_clock::time_point join_again_at;
  /// Since when this node's reads of the table have all succeeded, and
  /// when the last one that succeeded was sent: a node judges others'
  /// renewals only after its own reads worked for the failure timeout,
  /// and is cut off once it could not read for half of it (it may be
  /// declared dead meanwhile).
  caf::actor_clock::time_point reading_since;
  caf::actor_clock::time_point last_read_sent;
  bool read_failing = false;
  /// This member could not read the table for half the failure timeout:
  /// its lease is gone, and it forwards every request to the session's
  /// owner among the other members (who will declare it dead).
  bool cut_off = false;
  std::vector<waiting_request> waiting;
  caf::actor_clock::time_point last_tick; // of the heartbeat round
  bool leaving = false; // this node shuts down: it connects to no one
  /// Requests forwarded to each peer and not answered yet, by ticket: what
  /// to do with each if the peer leaves first. A request sent to a peer
  /// that went silent may never be answered; waiting for its timeout would
  /// hold the client for the whole request timeout.
  std::map<std::string, std::map<uint64_t, std::function<void()>>>
    forwards_in_flight;
  uint64_t next_forward_ticket = 0;

  /// "address/incarnation": this node's row in the table.
  std::string self_id() const;

  static inline const char* name = "cluster_node";
};

using cluster_pointer = cluster_actor::stateful_pointer<cluster_state>;

cluster_actor::behavior_type cluster_node(cluster_pointer self,
                                          cluster_settings settings,
                                          registry_actor registry,
                                          summarizer_pool_actor pool,
                                          persistence_actor store,
                                          caf::actor connector);

/// What the cluster port publishes: the node protocol and nothing else,
/// each message delegated to `node` (the sender stays the peer's, for its
/// checks). The router and control messages of the cluster node are not
/// reachable from the network. Linked to `node`: it lives as long.
node_actor::behavior_type node_gateway(node_actor::pointer self,
                                       cluster_actor node);

/// Connects to the addresses it is sent, as `(connect, addresses, node)`,
/// and tells `node` of each success with `(peer_up, address, peer)`; with
/// `tls`, through CAF's OpenSSL module. `(connect, address)` connects once
/// to learn whether it can: answered with the node that answered there.
caf::behavior cluster_connector(caf::event_based_actor* self,
                                std::chrono::milliseconds timeout, bool tls);

} // namespace motorhead
