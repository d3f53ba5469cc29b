#include "runtime/stop_matcher.h"

#include <gtest/gtest.h>

namespace kaiyuan {
namespace {

TEST(StopMatcher, HoldsBackPossibleStopPrefixes) {
  StopMatcher m({"</end>"});
  EXPECT_EQ(m.push("hello <"), "hello ");
  EXPECT_EQ(m.push("/e"), "");
  EXPECT_EQ(m.push("x"), "</ex");  // not a stop after all
  EXPECT_FALSE(m.stopped());
  EXPECT_EQ(m.push("ab</en"), "ab");
  EXPECT_EQ(m.push("d> tail"), "");
  EXPECT_TRUE(m.stopped());
  EXPECT_EQ(m.flush(), "");
  EXPECT_EQ(m.push("more"), "");
}

TEST(StopMatcher, EarliestOfSeveralStopsWins) {
  StopMatcher m({"bb", "a"});
  EXPECT_EQ(m.push("xxbba"), "xx");
  EXPECT_TRUE(m.stopped());
}

TEST(StopMatcher, NoStopsPassesEverything) {
  StopMatcher m({});
  EXPECT_EQ(m.push("abc"), "abc");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopMatcher, FlushReturnsHeldText) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("go ST"), "go ");
  EXPECT_EQ(m.flush(), "ST");
}

}  // namespace
}  // namespace kaiyuan
