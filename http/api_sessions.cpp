// The handlers of a session's resources: its memory (GET, POST, DELETE),
// its record (GET, PATCH) and retrieval, a session's or a namespace's; and
// the limits a POST and a session's metadata must keep.
#include "http/api_handler.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>

#include "actors/protocol.hpp"
#include "core/json_codec.hpp"
#include "core/log.hpp"
#include "core/retrieval_index.hpp"
#include "core/tokenizer.hpp"
#include "core/unix_time.hpp"
#include "http/api_bridge.hpp"
#include "http/api_message.hpp"
#include "http/routes.hpp"

namespace motorhead::http {

namespace {

/// The answer to a write the actors acknowledged.
api_response acknowledged(ok_atom) {
  return ok_response(json::encode_status_ok());
}

/// How much text a POST's messages hold before their tokens are counted
/// on the token counter's thread: below it, a count takes well under a
/// millisecond on the I/O thread, less than the trip to the counter's.
constexpr std::size_t counted_apart_bytes = 16 << 10;

std::size_t text_bytes(const append_request& append) {
  std::size_t bytes = 0;
  for (const auto& msg : append.messages)
    bytes += msg.content.size();
  return bytes;
}

/// Gives the messages without a time of their own `now`, the time the
/// server received them, which their count may delay by up to the request
/// timeout.
void stamp_received(append_request& append, int64_t now) {
  for (auto& msg : append.messages)
    if (msg.details.created_at == 0)
      msg.details.created_at = now;
}

/// Gives each message its count of tokens, until `deadline`: false when
/// it ran out first. A count that fails (out of memory) is left to the
/// session, which counts what has none: an exception must not leave the
/// counter's thread.
bool count_tokens(append_request& append, const bpe_tokenizer& tokenizer,
                  std::chrono::steady_clock::time_point deadline) {
  try {
    for (auto& msg : append.messages) {
      if (std::chrono::steady_clock::now() > deadline)
        return false;
      msg.details.token_count
        = static_cast<uint32_t>(tokenizer.count(msg.content));
    }
  } catch (const std::exception& ex) {
    log_warn("http", std::string{"a POST's tokens could not be counted "
                                 "apart: "} + ex.what());
  }
  return std::chrono::steady_clock::now() <= deadline;
}

} // namespace

void api_handler::handle_memory(const api_request& request,
                                const std::string& id,
                                const request_target& target,
                                const access_scope& scope, responder respond) {
  auto ns = parse_namespace(target);
  if (!ns)
    return respond(error_response(400, ns.error));
  if (request.method == "GET")
    return ask_router<encoded_memory>(
      respond,
      [envelope = data_envelope_](encoded_memory& memory) {
        return ok_response(envelope ? json::with_data_envelope(memory.json)
                                    : std::move(memory.json));
      },
      memory_get_atom::value, id, scope);
  if (request.method == "DELETE") {
    erase_request erase;
    if (*ns.value)
      erase.namespaces.push_back(**ns.value);
    return ask_router<ok_atom>(respond, acknowledged, memory_delete_atom::value,
                               id, std::move(erase), scope);
  }
  auto body = json::decode_append_request(request.body);
  if (!body)
    return respond(error_response(400, body.error));
  if (auto err = limit_error(*body.value); !err.empty())
    return respond(error_response(413, err));
  if (auto err = metadata_error(*body.value); !err.empty())
    return respond(error_response(400, err));
  body.value->ns = *ns.value;
  send_append(id, std::move(*body.value), scope, std::move(respond));
}

void api_handler::send_append(const std::string& id, append_request append,
                              const access_scope& scope, responder respond) {
  if (!tokenizer_ || text_bytes(append) < counted_apart_bytes)
    return ask_router<ok_atom>(respond, acknowledged, memory_append_atom::value,
                               id, std::move(append), scope);
  // Counts queue behind each other. The request's timeout counts from
  // here: one that runs out by the end of its count is answered 504 and
  // goes no further, rather than being stored for a client that gave up.
  auto received = std::chrono::steady_clock::now();
  auto deadline = received + request_timeout_;
  stamp_received(append, unix_time_ms());
  auto pending = std::make_shared<append_request>(std::move(append));
  boost::asio::post(token_counter_, [=]() mutable {
    bool late = !count_tokens(*pending, *tokenizer_, deadline);
    boost::asio::post(io_, [=]() mutable {
      try {
        if (late)
          return respond(error_response(
            504, "the request timed out before its messages' tokens were "
                 "counted; nothing was stored"));
        ask_router_from<ok_atom>(received, respond, acknowledged,
                                 memory_append_atom::value, id,
                                 std::move(*pending), scope);
      } catch (const std::exception& ex) {
        answer_failure(respond, ex);
      }
    });
  });
}

void api_handler::handle_session(const api_request& request,
                                 const std::string& id,
                                 const request_target& target,
                                 const access_scope& scope,
                                 responder respond) {
  session_patch patch;
  if (request.method == "PATCH") {
    auto ns = parse_namespace(target);
    if (!ns)
      return respond(error_response(400, ns.error));
    auto body = json::decode_session_patch(request.body);
    if (!body)
      return respond(error_response(400, body.error));
    if (auto err = metadata_error(body.value->metadata, ""); !err.empty())
      return respond(error_response(400, err));
    patch = std::move(*body.value);
    patch.ns = *ns.value;
  }
  ask_router<session_info>(
    respond,
    [id](const session_info& info) {
      return ok_response(json::encode_session_info(id, info));
    },
    info_atom::value, id, std::move(patch), scope);
}

void api_handler::handle_retrieval(const api_request& request,
                                   const route_match& route,
                                   const access_scope& scope,
                                   responder respond) {
  if (!long_term_memory_)
    return respond(error_response(400, "long-term memory is disabled "
                                       "(MOTORHEAD_LONG_TERM_MEMORY=true "
                                       "enables it)"));
  auto query = json::decode_retrieval_query(request.body);
  if (!query)
    return respond(error_response(400, query.error));
  if (auto err = query_error(*query.value); !err.empty())
    return respond(error_response(400, err));
  auto answer = [](const std::vector<retrieval_hit>& hits) {
    return ok_response(json::encode_retrieval_hits(hits));
  };
  if (route.kind == route_kind::namespace_retrieval) {
    query.value->time_left_ms = static_cast<uint32_t>(request_timeout_.count());
    return ask_router<std::vector<retrieval_hit>>(
      respond, answer, retrieve_atom::value,
      namespace_query{route.ns, std::move(*query.value)}, scope);
  }
  ask_router<std::vector<retrieval_hit>>(respond, answer, retrieve_atom::value,
                                         route.session_id,
                                         std::move(*query.value), scope);
}

std::string api_handler::query_error(retrieval_query& query) const {
  auto beyond = [](const char* what, std::size_t count, std::size_t limit,
                   const char* setting) {
    return std::string{"the query has "} + std::to_string(count) + " " + what
           + "; at most " + std::to_string(limit) + " are allowed ("
           + setting + ")";
  };
  if (query.text.size() > query_max_bytes_)
    return beyond("bytes of text", query.text.size(), query_max_bytes_,
                  "MOTORHEAD_QUERY_MAX_BYTES");
  const auto& filter = query.filter;
  if (filter.roles.size() > filter_max_roles_)
    return beyond("roles in its filter", filter.roles.size(),
                  filter_max_roles_, "MOTORHEAD_FILTER_MAX_ROLES");
  if (filter.metadata.size() > filter_max_metadata_)
    return beyond("metadata members in its filter", filter.metadata.size(),
                  filter_max_metadata_, "MOTORHEAD_FILTER_MAX_METADATA");
  query.terms = query_terms(query.text);
  if (query.terms.size() > query_max_terms_)
    return beyond("distinct terms", query.terms.size(), query_max_terms_,
                  "MOTORHEAD_QUERY_MAX_TERMS");
  return {};
}

std::string api_handler::limit_error(const append_request& request) const {
  if (request.messages.size() > max_messages_per_post_)
    return "a POST may carry at most " + std::to_string(max_messages_per_post_)
           + " messages; this one has "
           + std::to_string(request.messages.size());
  auto too_long = [&](const std::string& text) {
    return text.size() > max_message_bytes_;
  };
  for (std::size_t i = 0; i < request.messages.size(); ++i)
    if (too_long(request.messages[i].content) || too_long(request.messages[i].role))
      return "message " + std::to_string(i) + " is longer than "
             + std::to_string(max_message_bytes_) + " bytes";
  if (request.context && too_long(*request.context))
    return "the context is longer than " + std::to_string(max_message_bytes_)
           + " bytes";
  return {};
}

std::string api_handler::metadata_error(const append_request& request) const {
  for (std::size_t i = 0; i < request.messages.size(); ++i)
    if (auto err = metadata_error(request.messages[i].details.metadata,
                                  "message " + std::to_string(i) + " ");
        !err.empty())
      return err;
  return {};
}

std::string api_handler::metadata_error(const std::string& metadata,
                                        const std::string& owner) const {
  if (metadata.size() <= max_metadata_bytes_)
    return {};
  return owner + "field \"metadata\" is " + std::to_string(metadata.size())
         + " bytes of JSON; at most " + std::to_string(max_metadata_bytes_)
         + " are kept";
}

} // namespace motorhead::http
