#include "http/routes.hpp"

#include <gtest/gtest.h>

#include "core/session_id.hpp"
#include "http/static_assets.hpp"

using namespace motorhead;
using namespace motorhead::http;

TEST(Routes, MatchTheApi) {
  EXPECT_EQ(match_route("/").kind, route_kind::health);
  EXPECT_EQ(match_route("/healthz").kind, route_kind::healthz);
  EXPECT_EQ(match_route("/readyz").kind, route_kind::readyz);
  EXPECT_EQ(match_route("/sessions").kind, route_kind::sessions);
  auto memory = match_route("/sessions/abc-1/memory");
  EXPECT_EQ(memory.kind, route_kind::memory);
  EXPECT_EQ(memory.session_id, "abc-1");
  EXPECT_EQ(match_route("/sessions/abc/retrieval").kind, route_kind::retrieval);
  auto session = match_route("/sessions/abc-2");
  EXPECT_EQ(session.kind, route_kind::session);
  EXPECT_EQ(session.session_id, "abc-2");
  EXPECT_EQ(match_route("/sessions/abc/other").kind, route_kind::not_found);
  EXPECT_EQ(match_route("/sessions/abc/memory/x").kind, route_kind::not_found);
  EXPECT_EQ(match_route("/nope").kind, route_kind::not_found);
}

TEST(Routes, MatchWholeSegmentsOnly) {
  auto ns = match_route("/namespaces/team");
  EXPECT_EQ(ns.kind, route_kind::namespace_root);
  EXPECT_EQ(ns.ns, "team");
  EXPECT_EQ(match_route("/namespaces/team/retrieval").ns, "team");
  EXPECT_EQ(match_route("/namespaces/team/retrieval").kind,
            route_kind::namespace_retrieval);
  for (const char* path :
       {"", "sessions/abc/memory", "/sessions/abc/memory/x/y",
        "/sessions/abc/memory/", "/sessions/abc/retrieval/x/y/z",
        "/namespaces/team/memory", "/x/abc/memory", "/healthz/",
        "/sessionsx/abc", "/sessions//memory/x", "x/sessions/abc"})
    EXPECT_EQ(match_route(path).kind, route_kind::not_found) << path;
  // An empty id is matched, and refused as an id later.
  EXPECT_EQ(match_route("/sessions//memory").kind, route_kind::memory);
  EXPECT_EQ(match_route("/sessions/").kind, route_kind::session);
}

TEST(Target, TakesClientPrefixesOffThePath) {
  struct form {
    const char* target;
    const char* path;
    const char* key;
  };
  for (auto [text, path, key] : {
         form{"/motorhead/sessions/a/memory?x=1", "/sessions/a/memory", ""},
         form{"/motorhead", "/", ""},
         form{"/key/k%2F1/sessions/a/memory", "/sessions/a/memory", "k/1"},
         form{"/motorhead/key/k1/keys/current", "/keys/current", "k1"},
         form{"/key/k1/motorhead/sessions", "/sessions", "k1"},
         form{"/key/k1", "/", "k1"},
         form{"/key//sessions", "/sessions", ""},
         // Each form once, and only as a whole segment at the start.
         form{"/motorhead/motorhead/sessions", "/motorhead/sessions", ""},
         form{"/key/a/key/b/sessions", "/key/b/sessions", "a"},
         form{"/motorheads/sessions", "/motorheads/sessions", ""},
         form{"/sessions/key/k1", "/sessions/key/k1", ""},
       }) {
    auto target = parse_target(text);
    ASSERT_TRUE(target) << text;
    EXPECT_EQ(target.value->path, path) << text;
    EXPECT_EQ(target.value->path_key, key) << text;
  }
  EXPECT_FALSE(parse_target("/key/%ZZ/sessions")); // a key badly encoded
  EXPECT_EQ(route_of_target("/motorhead/keys/current"), route_kind::keys_current);
  EXPECT_EQ(route_template(route_kind::keys_current), "/keys/current");
}

TEST(Routes, ServeTheDocumentAndThePageWithoutAKey) {
  for (auto kind : {route_kind::openapi, route_kind::admin_ui,
                    route_kind::health, route_kind::healthz, route_kind::readyz})
    EXPECT_TRUE(is_public(kind)) << route_template(kind);
  for (auto kind : {route_kind::memory, route_kind::sessions,
                    route_kind::metrics, route_kind::cluster})
    EXPECT_FALSE(is_public(kind)) << route_template(kind);
  EXPECT_EQ(match_route("/openapi.json").kind, route_kind::openapi);
  EXPECT_EQ(match_route("/ui").kind, route_kind::admin_ui);
  EXPECT_EQ(match_route("/ui/app.js").kind, route_kind::admin_ui);
  EXPECT_EQ(match_route("/uix").kind, route_kind::not_found);
}

TEST(StaticAssets, AreFoundByPath) {
  const auto* page = find_static_asset("/ui");
  ASSERT_NE(page, nullptr);
  EXPECT_EQ(page, find_static_asset("/ui/"));
  EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("/ui/app.js"), std::string_view::npos);
  const auto* document = find_static_asset("/openapi.json");
  ASSERT_NE(document, nullptr);
  EXPECT_EQ(document->body.substr(0, 19), R"({"openapi":"3.1.0",)");
  EXPECT_EQ(find_static_asset("/ui/../CMakeLists.txt"), nullptr);
  EXPECT_EQ(find_static_asset("/ui/missing.js"), nullptr);
}

TEST(Routes, KnowTheirMethods) {
  EXPECT_TRUE(is_method_allowed(route_kind::memory, "DELETE"));
  EXPECT_TRUE(is_method_allowed(route_kind::memory, "GET"));
  EXPECT_FALSE(is_method_allowed(route_kind::memory, "PUT"));
  EXPECT_TRUE(is_method_allowed(route_kind::retrieval, "POST"));
  EXPECT_FALSE(is_method_allowed(route_kind::retrieval, "GET"));
  EXPECT_FALSE(is_method_allowed(route_kind::sessions, "POST"));
  EXPECT_TRUE(is_method_allowed(route_kind::session, "PATCH"));
  EXPECT_FALSE(is_method_allowed(route_kind::session, "DELETE"));
  EXPECT_EQ(allowed_methods(route_kind::memory), "GET, POST, DELETE");
}

TEST(Routes, AnUnknownRouteAllowsNoMethod) {
  EXPECT_FALSE(is_method_allowed(route_kind::not_found, "GET"));
  EXPECT_FALSE(is_method_allowed(route_kind::not_found, ""));
  EXPECT_FALSE(is_method_allowed(route_kind::memory, ""));
}

TEST(Target, DecodesPathAndQuery) {
  auto target = parse_target("/sessions/a%40b/memory?namespace=my%20ns&x");
  ASSERT_TRUE(target) << target.error;
  EXPECT_EQ(target.value->path, "/sessions/a@b/memory");
  EXPECT_EQ(target.value->query.at("namespace"), "my ns");
  EXPECT_EQ(target.value->query.at("x"), "");
  EXPECT_FALSE(parse_target("/sessions/%zz/memory"));
  EXPECT_FALSE(parse_target("/x?a=%4"));
}

TEST(Target, RefusesWhatIsNotUtf8) {
  EXPECT_TRUE(parse_target("/x/%C3%A1?q=%E2%82%AC"));
  EXPECT_FALSE(parse_target("/sessions/%FF/memory"));
  EXPECT_FALSE(parse_target("/x?namespace=%C0%AF"));
  EXPECT_FALSE(parse_target("/x?%ED%A0%80=1"));
  EXPECT_FALSE(parse_target("/x\xff"));
}

TEST(SessionPage, DefaultsAndBounds) {
  auto page = parse_session_page(*parse_target("/sessions").value);
  ASSERT_TRUE(page);
  EXPECT_EQ(page.value->page, 1u);
  EXPECT_EQ(page.value->size, 10u);
  EXPECT_FALSE(page.value->ns);
  auto custom = parse_session_page(
    *parse_target("/sessions?page=3&size=100&namespace=team").value);
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom.value->page, 3u);
  EXPECT_EQ(custom.value->size, 100u);
  EXPECT_EQ(custom.value->ns, "team");
  for (auto bad : {"page=0", "page=101", "size=0", "size=101", "page=x",
                   "size=1.5", "page=-1", "namespace=a{b}", "namespace="})
    EXPECT_FALSE(parse_session_page(
      *parse_target(std::string{"/sessions?"} + bad).value))
      << bad;
}

TEST(Routes, SessionListingsTakeACursor) {
  auto first = parse_session_page(*parse_target("/sessions?cursor=&size=50").value);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first.value->by_cursor);
  EXPECT_TRUE(first.value->after.id.empty());
  EXPECT_EQ(first.value->size, 50u);
  auto next = parse_session_page(
    *parse_target("/sessions?cursor=1796530062271%3Achat-42&namespace=team")
       .value);
  ASSERT_TRUE(next) << next.error;
  EXPECT_EQ(next.value->after.time_ms, 1796530062271);
  EXPECT_EQ(next.value->after.id, "chat-42");
  EXPECT_EQ(cursor_text(next.value->after), "1796530062271:chat-42");
  // Another program's score may be anything Redis takes, below zero too.
  auto negative = parse_cursor("-5000:neg");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->time_ms, -5000);
  for (auto bad : {"cursor=x", "cursor=12", "cursor=:a", "cursor=1.5:a",
                   "cursor=1:a%7Bb%7D", "cursor=1:", "cursor=&page=2"})
    EXPECT_FALSE(parse_session_page(
      *parse_target(std::string{"/sessions?"} + bad).value))
      << bad;
}

TEST(SessionId, IsValidated) {
  EXPECT_EQ(session_id_error("3f2c-uuid_like.id:1@x"), "");
  EXPECT_NE(session_id_error(""), "");
  EXPECT_NE(session_id_error("has space"), "");
  EXPECT_NE(session_id_error("brace{tag}"), "");
  EXPECT_NE(session_id_error(std::string(257, 'a')), "");
  EXPECT_EQ(session_id_error(std::string(256, 'a')), "");
}
