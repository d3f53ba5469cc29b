// Token lookups in an untied, mapped embedding table leave none of its pages resident: with
// 2 MiB page-cache folios each lookup maps a whole folio, and over a long run most of the table
// would come back next to the weights in use (docs/DESIGN.md "Huge pages").
#include <gtest/gtest.h>

#include "model/batch.h"
#include "model/lm_head.h"
#include "model/model.h"
#include "test_support.h"

namespace kaiyuan {
namespace {

TEST(LmHead, UntiedLookupsReleaseTheRowsTheyRead) {
  for (const char* rel : {"arch/qwen3moe/model-q8_0.gguf", "arch/deepseek_v3/model-q8_0.gguf"}) {
    auto loaded = load_model(test::fixture_path(rel));
    ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
    ASSERT_FALSE(loaded->model->spec().tied_embeddings) << rel << ": the test needs an untied table";
    const TensorView* table = loaded->source->find("token_embd.weight");
    ASSERT_NE(table, nullptr);
    // A page in the middle of the table (its ends may share pages with other tensors).
    const uint8_t* probe = table->data + table->nbytes / 2;
    Model& m = *loaded->model;
    auto cache = m.create_cache(64, 1);
    ASSERT_TRUE(cache.is_ok());
    Batch b;
    const auto n_vocab = static_cast<int32_t>(m.spec().n_vocab);
    for (int32_t i = 0; i < 32; ++i) b.add((i * 7919 + 13) % n_vocab, i, 0, i == 31);
    std::vector<float> logits;
    ASSERT_TRUE(m.forward(b, *cache, logits).is_ok());
    const test::MappingInfo after = test::mapping_of(probe);
    ASSERT_GE(after.rss_kb, 0) << rel;
    EXPECT_LE(after.rss_kb, 8) << rel << ": resident kB of the table's mapping after 32 lookups";
  }
}

}  // namespace
}  // namespace kaiyuan
