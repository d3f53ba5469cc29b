// SSE framing as OpenAI's streams use it (and as the WHATWG event-stream grammar parses it).
#include "server/sse.h"

#include <gtest/gtest.h>

namespace kaiyuan::server {
namespace {

TEST(Sse, EventIsOneDataLineThenBlankLine) {
  const std::string e = sse_event({{"text", "line1\nline2"}});
  EXPECT_EQ(e, "data: {\"text\":\"line1\\nline2\"}\n\n");
  EXPECT_EQ(sse_done(), "data: [DONE]\n\n");
}

TEST(Sse, Utf8PassesAndInvalidBytesAreReplaced) {
  EXPECT_EQ(sse_event({{"t", "héllo 世界"}}), "data: {\"t\":\"héllo 世界\"}\n\n");
  EXPECT_EQ(sse_event({{"t", std::string("a\xff")}}), "data: {\"t\":\"a\xEF\xBF\xBD\"}\n\n");
}

}  // namespace
}  // namespace kaiyuan::server
