// Canonical Unicode data for NFC (UAX #15), generated into unicode_nfc_data.cpp by
// gen_unicode_nfc_data.py. Hangul syllables are algorithmic and not in these tables.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kaiyuan::unicode_data {

struct CombiningClassRange {
  uint32_t first;
  uint32_t last;
  uint8_t ccc;  // canonical combining class, non-zero
};
struct CanonicalDecomposition {
  uint32_t cp;
  uint32_t first;
  uint32_t second;  // 0 for singleton decompositions
};
struct CanonicalComposition {
  uint32_t first;
  uint32_t second;
  uint32_t composite;
};

extern const uint32_t kNfcQuickCheckBound;
extern const CombiningClassRange kCombiningClassRanges[];  // sorted by first
extern const size_t kCombiningClassRangeCount;
extern const CanonicalDecomposition kCanonicalDecompositions[];  // sorted by cp
extern const size_t kCanonicalDecompositionCount;
extern const CanonicalComposition kCanonicalCompositions[];  // sorted by (first, second)
extern const size_t kCanonicalCompositionCount;

}  // namespace kaiyuan::unicode_data
