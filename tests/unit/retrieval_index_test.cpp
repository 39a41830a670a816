#include "core/retrieval_index.hpp"

#include <gtest/gtest.h>

#include "core/json_codec.hpp"

using namespace motorhead;

namespace {

retrieval_index sample() {
  retrieval_index index;
  index.add({1, "Human", "Should I rent a car to drive around Hokkaido?"});
  index.add({2, "AI", "Renting a car in Hokkaido works well."});
  index.add({3, "Human", "What is the best sushi restaurant in Tokyo?"});
  index.add({4, "AI", "Sushi in Tokyo: Sukiyabashi Jiro is famous."});
  index.add({5, "Human", "ok thanks"});
  return index;
}

std::vector<uint64_t> seqs(const std::vector<search_hit>& hits) {
  std::vector<uint64_t> out;
  for (const auto& hit : hits)
    out.push_back(hit.seq);
  return out;
}

} // namespace

TEST(RetrievalIndex, Bm25RanksMatchingMessagesFirst) {
  auto index = sample();
  auto hits = index.search(query_terms("sushi Tokyo"), {}, 10);
  ASSERT_EQ(hits.size(), 2u);
  // Both hold both terms; the shorter message ranks first (BM25's b).
  EXPECT_EQ(seqs(hits), (std::vector<uint64_t>{3, 4}));
  EXPECT_LT(hits[0].dist, hits[1].dist);
  EXPECT_GT(hits[0].dist, 0.0);
  EXPECT_LE(hits[1].dist, 1.0);
  EXPECT_TRUE(index.search(query_terms("volcano"), {}, 10).empty());
  EXPECT_EQ(index.search(query_terms("car Hokkaido sushi"), {}, 1).size(), 1u);
}

TEST(RetrievalIndex, AddingASeqTwiceKeepsOneCopy) {
  auto index = sample();
  index.add({1, "Human", "a duplicate of seq 1"});
  EXPECT_EQ(index.size(), 5u);
  EXPECT_EQ(index.message(1).content,
            "Should I rent a car to drive around Hokkaido?");
}

TEST(RetrievalIndex, HybridFusesLexicalAndSemanticRankings) {
  auto index = sample();
  // Vectors that make seq 1 the semantic match of the query vector only.
  index.set_vector(1, {1, 0, 0});
  index.set_vector(2, {0, 1, 0});
  index.set_vector(3, {0, 0, 1});
  index.set_vector(4, {0, 0.5, 0.5});
  EXPECT_EQ(index.unembedded(), (std::vector<uint64_t>{5}));
  // No word of "automobile hire" occurs: BM25 finds nothing, cosine does.
  auto hits = index.search(query_terms("automobile hire"), {2, 0, 0}, 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].seq, 1u);
  for (std::size_t i = 1; i < hits.size(); ++i)
    EXPECT_LE(hits[i - 1].dist, hits[i].dist);
  // A message first in both rankings gets the smallest possible dist: 0.
  auto both = index.search(query_terms("rent car Hokkaido"), {1, 0, 0}, 1);
  EXPECT_EQ(both[0].seq, 1u);
  EXPECT_NEAR(both[0].dist, 0.0, 1e-12);
}

TEST(RetrievalIndex, SessionsSearchedTogetherRankAsOneIndexOfThemAll) {
  auto all = sample();
  retrieval_index first, second;
  for (uint64_t seq = 1; seq <= 5; ++seq)
    (seq % 2 == 0 ? first : second).add(all.message(seq));
  for (auto vector : {std::vector<float>{}, std::vector<float>{1, 0, 0}}) {
    if (!vector.empty())
      for (auto* index : {&all, &first, &second})
        for (uint64_t seq = 1; seq <= 5; ++seq)
          index->set_vector(seq, {float(seq), 1, 0});
    auto terms = query_terms("car Hokkaido Tokyo");
    corpus_stats stats;
    add_stats(stats, first.stats(terms));
    add_stats(stats, second.stats(terms));
    EXPECT_EQ(stats.documents, 5u);
    auto merged = first.candidates("a", terms, vector, stats, {}, 10);
    merge_candidates(merged,
                     second.candidates("a", terms, vector, stats, {}, 10));
    auto together = fuse(merged, 10, !vector.empty());
    auto alone = all.search(query_terms("car Hokkaido Tokyo"), vector, 10);
    ASSERT_EQ(together.size(), alone.size());
    for (std::size_t i = 0; i < alone.size(); ++i) {
      EXPECT_EQ(together[i].seq, alone[i].seq);
      EXPECT_DOUBLE_EQ(together[i].score, alone[i].dist);
    }
  }
}

TEST(RetrievalIndex, FiltersSelectByRoleMetadataAndTime) {
  retrieval_index index;
  index.add({1, "Human", "pizza", {"a", 1000, R"({"topic":"food","n":1})", 1}});
  index.add({2, "AI", "pizza", {"b", 2000, R"({"topic":"food"})", 1}});
  index.add({3, "AI", "pizza", {"c", 3000, "", 1}});
  auto found = [&](const retrieval_filter& filter) {
    return seqs(index.search(query_terms("pizza"), {}, 10, filter));
  };
  retrieval_filter by_role;
  by_role.roles = {"AI"};
  EXPECT_EQ(found(by_role), (std::vector<uint64_t>{3, 2}));
  retrieval_filter by_metadata;
  by_metadata.metadata = {{"topic", R"("food")"}, {"n", "1"}};
  EXPECT_EQ(found(by_metadata), (std::vector<uint64_t>{1}));
  retrieval_filter by_time;
  by_time.created_after = 1000;
  by_time.created_before = 3000;
  EXPECT_EQ(found(by_time), (std::vector<uint64_t>{2}));
  // A filter narrows the answers, not the statistics: the scores stay.
  EXPECT_EQ(index.search(query_terms("pizza"), {}, 10, by_time)[0].dist,
            index.search(query_terms("pizza"), {}, 10)[1].dist);
}

TEST(RetrievalIndex, VectorsPackAsFloat32) {
  std::vector<float> values{1.5f, -2.25f, 0.0f};
  auto bytes = pack_vector(values);
  EXPECT_EQ(bytes.size(), 12u);
  EXPECT_EQ(unpack_vector(bytes), values);
  EXPECT_THROW(unpack_vector("abc"), std::invalid_argument);
  // Empty vectors have no data pointer to copy from (UBSan checks).
  EXPECT_EQ(pack_vector({}), "");
  EXPECT_TRUE(unpack_vector("").empty());
}

TEST(RetrievalIndex, SearchesTenThousandMessagesExactly) {
  retrieval_index index;
  for (uint64_t i = 1; i <= 10000; ++i)
    index.add({i, "Human", "message " + std::to_string(i) + " about topic"
                             + std::to_string(i % 97)});
  auto hits = index.search(query_terms("topic42"), {}, 5);
  ASSERT_EQ(hits.size(), 5u);
  for (const auto& hit : hits)
    EXPECT_EQ(hit.seq % 97, 42u);
}

TEST(RetrievalCodec, QueriesAndAnswers) {
  auto query = json::decode_retrieval_query(R"({"text":"salsa","top_k":3})");
  ASSERT_TRUE(query) << query.error;
  EXPECT_EQ(query.value->text, "salsa");
  EXPECT_EQ(query.value->top_k, 3u);
  EXPECT_EQ(json::decode_retrieval_query(R"({"text":"x"})").value->top_k, 10u);
  EXPECT_FALSE(json::decode_retrieval_query(R"({"text":"x","top_k":-1})"));
  EXPECT_EQ(json::encode_retrieval_hits({{"AI", "pong", 0.5, {}, {}, 1}}),
            R"([{"role":"AI","content":"pong","dist":0.5}])");
  retrieval_hit named{"AI", "pong", 0.5, {"m1", 0, R"({"a":1})", 2}, "s1", 1};
  EXPECT_EQ(json::encode_retrieval_hits({named}),
            R"([{"role":"AI","content":"pong","dist":0.5,"id":"m1",)"
            R"("created_at":"1970-01-01T00:00:00.000Z","metadata":{"a":1},)"
            R"("token_count":2,"session_id":"s1"}])");
}

TEST(RetrievalCodec, Filters) {
  auto query = json::decode_retrieval_query(
    R"({"text":"x","filter":{"role":["AI","Human"],"metadata":{"k":[1, 2]},)"
    R"("created_after":"2026-01-01T00:00:00Z","created_before":"2026-01-01T00:00:01Z"}})");
  ASSERT_TRUE(query) << query.error;
  const auto& filter = query.value->filter;
  EXPECT_EQ(filter.roles, (std::vector<std::string>{"AI", "Human"}));
  ASSERT_EQ(filter.metadata.size(), 1u);
  EXPECT_EQ(filter.metadata[0].second, "[1,2]"); // compact, as stored
  EXPECT_EQ(filter.created_before - filter.created_after, 1000);
  for (auto bad : {R"({"text":"x","filter":{"role":[]}})",
                   R"({"text":"x","filter":{"when":1}})",
                   R"({"text":"x","filter":{"created_after":"soon"}})",
                   R"({"text":"x","filter":[]})"})
    EXPECT_FALSE(json::decode_retrieval_query(bad)) << bad;
  EXPECT_EQ(json::metadata_members(R"({"a":{"b": 1},"c":"d"})"),
            (std::vector<std::pair<std::string, std::string>>{
              {"a", R"({"b":1})"}, {"c", R"("d")"}}));
  EXPECT_TRUE(json::metadata_members("").empty());
}

TEST(EmbeddingCodec, RequestsAndAnswers) {
  EXPECT_EQ(json::encode_embedding_request("m", {"a", "b"}),
            R"({"model":"m","input":["a","b"]})");
  auto answer = json::decode_embedding_response(
    R"({"data":[{"index":1,"embedding":[3,4]},{"index":0,"embedding":[1,2]}],)"
    R"("model":"m","usage":{"total_tokens":9}})",
    2);
  ASSERT_TRUE(answer) << answer.error;
  EXPECT_EQ(answer.value->vectors[0], (std::vector<float>{1, 2}));
  EXPECT_EQ(answer.value->vectors[1], (std::vector<float>{3, 4}));
  EXPECT_EQ(answer.value->tokens_used, 9u);
  EXPECT_FALSE(json::decode_embedding_response(R"({"data":[]})", 1));
  EXPECT_FALSE(json::decode_embedding_response(
    R"({"data":[{"index":0,"embedding":[1]},{"index":1,"embedding":[1,2]}]})", 2));
}
