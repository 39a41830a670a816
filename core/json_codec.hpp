// The one place where JSON is read and written: HTTP bodies and the message
// records kept in Redis. Defined in core/json_*.cpp, one file per family.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "core/memory_types.hpp"
#include "core/outcome.hpp"
#include "core/packed_message.hpp"

namespace motorhead::json {

/// Either a decoded value or one sentence saying what is wrong with the input.
template <class T>
using decoded = outcome<T>;

// -- HTTP bodies --------------------------------------------------------------

decoded<append_request> decode_append_request(std::string_view body);

/// {"text": "...", "top_k": 1..100 (optional, 10), "filter": {"role": a
/// string or an array of them, "metadata": an object, "created_after" and
/// "created_before": RFC 3339} (optional, every member optional)}.
decoded<retrieval_query> decode_retrieval_query(std::string_view body);

/// [{"role", "content", "dist"}], nearest first; then the message's id,
/// created_at, metadata and token_count when it has an id, and its
/// session_id in a namespace's search.
std::string encode_retrieval_hits(const std::vector<retrieval_hit>& hits);

/// The members of a JSON object as (name, compact JSON of the value), as
/// filters compare them; none when `object_text` is not an object.
std::vector<std::pair<std::string, std::string>>
metadata_members(std::string_view object_text);

/// PATCH /sessions/{id}: {"metadata": an object or null}; a body without
/// "metadata" changes nothing. Other fields of the session are read-only.
decoded<session_patch> decode_session_patch(std::string_view body);

/// The session's metadata after a JSON merge patch (RFC 7396): members of
/// `patch` replace those of `current`, objects merge member by member, a
/// null removes a member, and a null patch removes everything (""). Both
/// are JSON texts; `current` may be "" (none).
decoded<std::string> merge_metadata(std::string_view current,
                                    std::string_view patch);

/// GET /sessions/{id}: {"session_id", "metadata" (null for none),
/// "created_at", "updated_at" (RFC 3339, null when unknown),
/// "message_count", "namespaces"}.
std::string encode_session_info(const std::string& id,
                                const session_info& info);

/// {"messages", "context", "tokens"}: the newest `shown` messages of
/// `window` (oldest first), newest first, written from the packed messages
/// themselves (a chat_message copy of a full window would be 48 strings
/// allocated and freed per GET); `context` null for none.
std::string encode_memory(const std::vector<packed_message>& window,
                          std::size_t shown, const std::string* context,
                          uint64_t tokens);
/// The JSON object `object` (not empty) with its members again under
/// "data", where Flowise and the Metal SDK read them.
std::string with_data_envelope(const std::string& object);
std::string encode_session_ids(const std::vector<std::string>& ids);
/// GET /settings: {"version","commit","settings":[{"name","value","set"}]}.
std::string encode_settings(std::string_view version, std::string_view commit,
                            const std::vector<shown_setting>& settings);
/// A cursor listing: {"sessions":[...],"next_cursor":"..." or null}.
std::string encode_session_listing(const session_listing& listing);
std::string encode_status_ok();
/// GET /healthz: {"status":"Ok","version":"1.0.0"}.
std::string encode_liveness(std::string_view version);
/// DELETE /namespaces/{ns}: {"status": "Ok", "deleted_sessions": n}.
std::string encode_namespace_deleted(uint64_t sessions);

/// GET /keys/current: {"status": "Ok", "authenticated": whether keys are
/// on, "retrieval": whether long-term memory is}, and "namespaces" for a
/// key scoped to them.
std::string encode_key_status(bool authenticated, const access_scope& scope,
                              bool retrieval);

/// GET /cluster: {"node", "incarnation", "version", "members", "peers"
/// (the seeds), "owner" (when asked), "waiting_for" (until a member)}.
std::string encode_cluster(const cluster_view& view);
std::string encode_health(int64_t now_ms);
std::string encode_error(std::string_view message);

// -- OpenAI-compatible chat completions --------------------------------------

/// {"model", "messages": [{"role": "user", "content": prompt}], ...}.
std::string encode_chat_request(const std::string& model,
                                const std::string& prompt,
                                uint32_t max_tokens);

struct chat_completion {
  std::string content;
  uint64_t total_tokens = 0;
};

/// The first choice's message content and usage.total_tokens.
decoded<chat_completion> decode_chat_response(std::string_view body);

/// The provider's error text: error.message when the body has one, else the
/// start of the body.
std::string provider_error_text(std::string_view body);

// -- OpenAI-compatible embeddings ---------------------------------------------

/// {"model", "input": [texts]}.
std::string encode_embedding_request(const std::string& model,
                                     const std::vector<std::string>& texts);

/// The vectors in the order of the input (by "index"), the model and
/// usage.total_tokens; `expected` vectors must come back.
decoded<embedding_result> decode_embedding_response(std::string_view body,
                                                    std::size_t expected);

// -- log records ---------------------------------------------------------------

/// {"time", "level", "component", "message", then each field}: one line of
/// the JSON log format.
std::string encode_log_record(std::string_view time, log_level level,
                              std::string_view component,
                              std::string_view message,
                              const std::vector<log_field>& fields);

// -- records kept in Redis ----------------------------------------------------

std::string encode_stored_message(const stored_message& msg);
decoded<stored_message> decode_stored_message(std::string_view text);

std::string encode_string_list(const std::vector<std::string>& items);
decoded<std::vector<std::string>> decode_string_list(std::string_view text);

} // namespace motorhead::json
