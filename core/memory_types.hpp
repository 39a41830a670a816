// Plain value types of the memory domain, shared by the codec, the store and
// the actors. Free of CAF so that non-actor code and its tests stay light.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace motorhead {

/// What the server keeps of a message besides its role and content.
/// Messages stored before these existed have none of them (empty, 0).
struct message_details {
  std::string id;          // the client's, or a UUID the server made
  int64_t created_at = 0;  // ms since the Unix epoch
  std::string metadata;    // the text of a JSON object; empty: none
  uint32_t token_count = 0; // the tokenizer's count of the content
};

/// One turn of a conversation as clients send it. Roles are free strings.
struct chat_message {
  std::string role;
  std::string content;
  message_details details;

  chat_message() = default;
  chat_message(std::string role, std::string content,
               message_details details = {})
    : role(std::move(role)), content(std::move(content)),
      details(std::move(details)) {}
};

/// A message as a session keeps it: numbered in arrival order, so that a
/// summary can name exactly the messages it covers.
struct stored_message {
  uint64_t seq = 0;
  std::string role;
  std::string content;
  message_details details;

  stored_message() = default;
  stored_message(uint64_t seq, std::string role, std::string content,
                 message_details details = {})
    : seq(seq), role(std::move(role)), content(std::move(content)),
      details(std::move(details)) {}
};

/// The namespaces a request may reach. A key scoped to namespaces reaches
/// the sessions listed under one of them, and sessions that hold nothing
/// yet (so that its first POST can create one); every other request is
/// unrestricted.
struct access_scope {
  bool restricted = false;
  std::vector<std::string> namespaces;
  /// The key's identity, the SHA-256 of its secret (hex); empty without
  /// keys. A forwarded request carries it, and its owner derives the scope
  /// from its own keys: no node trusts a scope another claims.
  std::string key;

  bool allows(const std::string& ns) const {
    if (!restricted)
      return true;
    for (const auto& mine : namespaces)
      if (mine == ns)
        return true;
    return false;
  }

  /// Whether a session listed under `session_namespaces` may be reached.
  bool reaches(const std::vector<std::string>& session_namespaces) const {
    for (const auto& ns : session_namespaces)
      if (allows(ns))
        return true;
    return !restricted;
  }
};

/// The body of POST /sessions/{id}/memory plus its namespace parameter.
struct append_request {
  std::vector<chat_message> messages;
  std::optional<std::string> context;
  std::optional<std::string> ns;
};

/// DELETE /sessions/{id}/memory, and the deletions of retention.
struct erase_request {
  /// Namespaces to leave besides the session's own (the DELETE's).
  std::vector<std::string> namespaces;
  /// Leave nothing of the session in Redis, not even its claim (deleting a
  /// namespace, expiry). A plain DELETE keeps the claim for a day, so that
  /// the owner's next writes go on under it.
  bool leave_nothing = false;
  /// Delete only a session not updated after this time (ms); 0: any.
  int64_t untouched_since = 0;
};

/// What GET /cluster shows: this node, the members of the cluster as the
/// membership table in Redis lists them, the seeds and, when asked for
/// one, a session's owner.
struct cluster_view {
  std::string node;                 // this node's address
  std::string incarnation;          // this process, as a member of the table
  uint64_t version = 0;             // of the membership table
  std::vector<std::string> members; // addresses, this node's included
  std::vector<std::string> seeds;   // MOTORHEAD_CLUSTER_PEERS
  std::string owner;                // of the session asked about
  /// Why this node is not a member (yet); empty once it is.
  std::string waiting_for;
};

/// The answer of GET /sessions/{id}/memory as the JSON the session wrote
/// from its window (json::encode_memory): a forward carries the bytes as
/// they are.
struct encoded_memory {
  std::string json;
};

/// GET /sessions/{id}: what the server keeps of a session besides its
/// messages. Times are ms since the Unix epoch; 0 when unknown (a session
/// written before they were kept).
struct session_info {
  bool exists = false;        // a POST or PATCH made it, and no DELETE since
  std::string metadata;       // the text of a JSON object; empty: none
  int64_t created_at = 0;
  int64_t updated_at = 0;     // the last POST or PATCH
  uint64_t message_count = 0; // messages posted since it was created
  std::vector<std::string> namespaces;
};

/// PATCH /sessions/{id}: a JSON merge patch (RFC 7396) of the session's
/// metadata, and the namespace parameter. GET sends one that changes
/// nothing.
struct session_patch {
  bool changes = false;
  std::string metadata; // the patch's "metadata": an object, or "null"
  std::optional<std::string> ns;
};

/// Everything Redis holds for one session, as loaded when a session wakes.
struct session_snapshot {
  std::vector<stored_message> messages; // oldest first
  std::optional<std::string> context;
  uint64_t tokens = 0;
  uint64_t next_seq = 1;
  std::vector<std::string> namespaces;
  /// Claimed by the loader, and carried by its writes; 0: not claimed (the
  /// session existed nowhere), to be claimed before the first write.
  uint64_t epoch = 0;
  uint64_t unembedded = 0; // messages waiting for an embedding
  /// Moves on whenever the summary is replaced other than by a fold (a
  /// context posted, a DELETE); a fold commits only onto its own.
  uint64_t summary_generation = 0;
  bool has_metadata = false; // the session's own, set by a PATCH
};

/// An embedding kept in Redis for one message.
struct archived_vector {
  uint64_t seq = 0;
  std::vector<float> values;
};

/// A session's long-term memory as Redis keeps it.
struct session_archive {
  std::vector<stored_message> messages; // every message ever stored, by seq
  std::vector<archived_vector> vectors;
  std::string embedding_model;
};

/// Which messages a retrieval may answer; an empty filter selects all.
struct retrieval_filter {
  std::vector<std::string> roles; // any of them; none: every role
  /// Members the message's metadata must hold, each with the same value:
  /// names and values as compact JSON text.
  std::vector<std::pair<std::string, std::string>> metadata;
  /// Bounds on created_at, in ms, both exclusive.
  int64_t created_after = std::numeric_limits<int64_t>::min();
  int64_t created_before = std::numeric_limits<int64_t>::max();
};

/// POST /sessions/{id}/retrieval and POST /namespaces/{ns}/retrieval.
struct retrieval_query {
  std::string text; // none once embedded: the sessions need the terms only
  uint32_t top_k = 10;
  retrieval_filter filter;
  /// The text's distinct content terms (query_terms), found once per
  /// request.
  std::vector<std::string> terms;
  /// How long the requester still waits for the answer, as of sending, in
  /// ms; 0: no bound. A fan-out starts no request after it.
  uint32_t time_left_ms = 0;
};

/// One answer of a retrieval: the original's shape, plus the message's
/// details and, in a namespace's search, its session.
struct retrieval_hit {
  std::string role;
  std::string content;
  double dist = 0;
  message_details details;
  std::string session_id; // empty in a session's own search
  uint64_t seq = 0;       // the message's in its session (not answered)
};

/// What BM25 needs to know of the whole corpus searched: a namespace's
/// search adds up the statistics of its sessions, so that every session
/// scores its messages as one index of them all would.
struct corpus_stats {
  uint64_t documents = 0;
  uint64_t total_length = 0; // terms, over every document
  /// Of each term of the query, in the order of query_terms.
  std::vector<uint64_t> document_frequencies;
};

/// A message ranked by one of the searches, by session and seq.
struct ranked_message {
  std::string session_id;
  uint64_t seq = 0;
  double score = 0; // higher is better; after fusion, the hit's dist
};

/// The best messages of each ranking, best first: merged over sessions,
/// their union holds the best of the whole corpus.
struct search_candidates {
  std::vector<ranked_message> lexical;  // BM25 under the corpus' statistics
  std::vector<ranked_message> semantic; // cosine similarity
};

/// The second step of a namespace's search, for each session.
struct candidate_request {
  retrieval_query query;
  std::vector<float> query_vector; // empty: BM25 alone
  corpus_stats stats;
};

/// POST /namespaces/{ns}/retrieval.
struct namespace_query {
  std::string ns;
  retrieval_query query;
};

/// What an embedding provider made of some texts, in their order.
struct embedding_result {
  std::vector<std::vector<float>> vectors;
  std::string model;
  uint64_t tokens_used = 0;
};

/// A place in the listing of sessions, which is ordered by activity time
/// (ms since the Unix epoch), then by id.
struct list_position {
  int64_t time_ms = 0;
  std::string id; // "": before the first session
};

/// A setting as GET /settings shows it: passwords and keys masked.
struct shown_setting {
  std::string name;
  std::string value; // the default when not set
  bool set = false;  // in the environment
};

/// GET /sessions paging: 1-based page and size, optional namespace.
struct session_page {
  uint32_t page = 1;
  uint32_t size = 10;
  std::optional<std::string> ns;
  /// A cursor listing: the sessions after `after`, instead of page `page`.
  /// It reaches every session, however many, and a session whose activity
  /// moves it during the listing is not skipped.
  bool by_cursor = false;
  list_position after;
};

/// A page of session ids and where the next page starts; `next.id` is ""
/// when this page is the last.
struct session_listing {
  std::vector<std::string> ids;
  list_position next;
};

/// A request to fold old lines into a session's running summary.
struct fold_job {
  std::string session_id;
  std::optional<std::string> previous_summary;
  std::vector<stored_message> lines; // oldest first
  /// How long the requester waits for the result, from when the job is
  /// received; past it nobody reads the result, and the job is dropped.
  /// 0: no limit.
  uint64_t time_limit_ms = 0;
};

/// What a summarizer made of a fold_job.
struct fold_result {
  std::string summary;
  uint64_t tokens_used = 0;
};

} // namespace motorhead
