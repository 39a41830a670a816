// The interfaces of the cluster: a node as its peers see it, and the cluster
// node that routes the HTTP front's requests to a session's owner. Include
// actors/protocol.hpp, not this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/protocol_common.hpp"
#include "actors/protocol_provider.hpp"
#include "actors/protocol_sessions.hpp"
#include "core/memory_types.hpp"

namespace motorhead {

// -- interfaces ---------------------------------------------------------------

/// A node as its peers see it: published on the cluster port.
using node_actor = caf::typed_actor<
  // Requests from a peer that believes this node owns the session.
  caf::replies_to<forward_atom, memory_get_atom, std::string,
                  access_scope>::with<encoded_memory>,
  caf::replies_to<forward_atom, memory_append_atom, std::string,
                  append_request, access_scope>::with<ok_atom>,
  caf::replies_to<forward_atom, memory_delete_atom, std::string,
                  erase_request, access_scope>::with<ok_atom>,
  caf::replies_to<forward_atom, retrieve_atom, std::string, retrieval_query,
                  access_scope>::with<std::vector<retrieval_hit>>,
  caf::replies_to<forward_atom, info_atom, std::string, session_patch,
                  access_scope>::with<session_info>,
  // The same requests from a member that cannot reach the session's owner
  // itself (a one-way cut between them): this node forwards them to the
  // owner, and answers what it answers.
  caf::replies_to<relay_atom, forward_atom, memory_get_atom, std::string,
                  access_scope>::with<encoded_memory>,
  caf::replies_to<relay_atom, forward_atom, memory_append_atom, std::string,
                  append_request, access_scope>::with<ok_atom>,
  caf::replies_to<relay_atom, forward_atom, memory_delete_atom, std::string,
                  erase_request, access_scope>::with<ok_atom>,
  caf::replies_to<relay_atom, forward_atom, retrieve_atom, std::string,
                  retrieval_query, access_scope>::with<std::vector<retrieval_hit>>,
  caf::replies_to<relay_atom, forward_atom, info_atom, std::string,
                  session_patch, access_scope>::with<session_info>,
  // The steps of a namespace's search, for the sessions this node owns.
  caf::replies_to<forward_atom, stats_atom, std::vector<std::string>,
                  retrieval_query, access_scope>::with<corpus_stats>,
  caf::replies_to<forward_atom, candidates_atom, std::vector<std::string>,
                  candidate_request, access_scope>::with<search_candidates>,
  caf::replies_to<forward_atom, fetch_atom, std::vector<ranked_message>,
                  access_scope>::with<std::vector<retrieval_hit>>,
  // Heartbeat with the caller's address: answers this node's member id
  // ("address/incarnation") and its free summarizer capacity (credits).
  caf::replies_to<heartbeat_atom, std::string>::with<std::string, uint64_t>,
  // The membership table changed (a member joined, left or was declared
  // dead): read it now rather than at the next heartbeat.
  caf::reacts_to<members_atom>,
  // A member that joined at this version of the table: read it, and
  // answer once the sessions that moved away from this node are released
  // (their writes landed, their actors stopped), so that it loads them.
  caf::replies_to<release_atom, uint64_t>::with<ok_atom>,
  // A fold job from a peer whose queue is full.
  caf::replies_to<handoff_atom, fold_job>::with<fold_result>,
  // A member that shuts down left the table (its address): answered once
  // this node read the table, so that its sessions are the survivors' now.
  caf::replies_to<leave_atom, std::string>::with<ok_atom>>;

/// The cluster node: the router for the HTTP front, the node protocol for
/// peers, the overflow of the local summarizer pool, and membership events.
using cluster_actor = router_actor::extend_with<node_actor>::extend<
  caf::replies_to<summarize_atom, fold_job>::with<fold_result>,
  caf::reacts_to<peer_up_atom, std::string, node_actor>,
  caf::reacts_to<tick_atom>,
  // The address the other nodes reach this one at, once its cluster port
  // is bound: the node starts its heartbeat rounds and joins.
  caf::reacts_to<join_atom, std::string>,
  // The node shuts down: every peer is told it leaves; answered once they
  // all acknowledged or failed to.
  caf::replies_to<leave_atom>::with<ok_atom>>;

} // namespace motorhead
