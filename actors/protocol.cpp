#include "actors/protocol.hpp"

#include <algorithm>
#include <chrono>

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace motorhead {

caf::atom_value service_error_category() {
  return caf::atom("motorhead");
}

caf::error make_error(service_errc code, std::string text) {
  return caf::error{static_cast<uint8_t>(code), service_error_category(),
                    caf::make_message(std::move(text))};
}

bool is_service_error(const caf::error& err, service_errc code) {
  return err.category() == service_error_category()
         && err.code() == static_cast<uint8_t>(code);
}

namespace {

std::string text_of(const caf::message& context) {
  if (context.match_elements<std::string>())
    return context.get_as<std::string>(0);
  return caf::to_string(context);
}

} // namespace

std::string error_message(const caf::error& err) {
  if (err.category() == service_error_category())
    return text_of(err.context());
  if (err == caf::sec::request_timeout)
    return "no answer in time";
  return caf::to_string(err);
}

caf::actor_clock::time_point deadline_of(const fold_job& job,
                                         caf::actor_clock::time_point now) {
  if (job.time_limit_ms == 0)
    return caf::actor_clock::time_point::max();
  return now + std::chrono::milliseconds{job.time_limit_ms};
}

caf::actor_clock::time_point deadline_of(const retrieval_query& query,
                                         caf::actor_clock::time_point now) {
  if (query.time_left_ms == 0)
    return caf::actor_clock::time_point::max();
  return now + std::chrono::milliseconds{query.time_left_ms};
}

caf::duration timeout_until(caf::actor_clock::time_point deadline,
                            caf::actor_clock::time_point now) {
  if (deadline == caf::actor_clock::time_point::max())
    return caf::duration{caf::infinite};
  return caf::duration{std::max(deadline - now, caf::timespan{1})};
}

uint32_t ms_until(caf::actor_clock::time_point deadline,
                  caf::actor_clock::time_point now) {
  if (deadline == caf::actor_clock::time_point::max())
    return 0;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
  return static_cast<uint32_t>(std::max<int64_t>(left.count(), 1));
}

void add_protocol_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<chat_message>("chat_message");
  cfg.add_message_type<stored_message>("stored_message");
  cfg.add_message_type<access_scope>("access_scope");
  cfg.add_message_type<append_request>("append_request");
  cfg.add_message_type<encoded_memory>("encoded_memory");
  cfg.add_message_type<session_info>("session_info");
  cfg.add_message_type<session_patch>("session_patch");
  cfg.add_message_type<erase_request>("erase_request");
  cfg.add_message_type<session_snapshot>("session_snapshot");
  cfg.add_message_type<session_page>("session_page");
  cfg.add_message_type<list_position>("list_position");
  cfg.add_message_type<session_listing>("session_listing");
  cfg.add_message_type<fold_job>("fold_job");
  cfg.add_message_type<fold_result>("fold_result");
  cfg.add_message_type<http_result>("http_result");
  cfg.add_message_type<cluster_view>("cluster_view");
  cfg.add_message_type<archived_vector>("archived_vector");
  cfg.add_message_type<session_archive>("session_archive");
  cfg.add_message_type<retrieval_query>("retrieval_query");
  cfg.add_message_type<retrieval_hit>("retrieval_hit");
  cfg.add_message_type<std::vector<retrieval_hit>>("std::vector<retrieval_hit>");
  cfg.add_message_type<corpus_stats>("corpus_stats");
  cfg.add_message_type<search_candidates>("search_candidates");
  cfg.add_message_type<candidate_request>("candidate_request");
  cfg.add_message_type<namespace_query>("namespace_query");
  cfg.add_message_type<ranked_message>("ranked_message");
  cfg.add_message_type<std::vector<ranked_message>>(
    "std::vector<ranked_message>");
  cfg.add_message_type<embedding_result>("embedding_result");
  cfg.add_message_type<store::vector_batch>("vector_batch");
  cfg.add_message_type<std::vector<float>>("std::vector<float>");
  cfg.add_message_type<node_actor>("node_actor");
  cfg.add_message_type<store::append_change>("append_change");
  cfg.add_message_type<store::fold_change>("fold_change");
  cfg.add_error_category(service_error_category(),
                         [](uint8_t, caf::atom_value, const caf::message& ctx) {
                           return text_of(ctx);
                         });
}

} // namespace motorhead
