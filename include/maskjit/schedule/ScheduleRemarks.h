//===- ScheduleRemarks.h - Which tier decided a schedule's tiles -*- C++
//-*-===//
//
// The compiler's account of a bound schedule, for `maskc blocks --remarks`
// and the C++ API: for each clause of the pattern's DNF whether the closed
// forms read it, which comparisons they could not (and so sent to the
// predicate's tiers), and, over the kernel's tiles of one shape, how many
// each tier decided and at which comparison the abstract domain most often
// gave up.
//
//===----------------------------------------------------------------------===//
#ifndef MASKJIT_SCHEDULE_SCHEDULEREMARKS_H
#define MASKJIT_SCHEDULE_SCHEDULEREMARKS_H

#include "maskjit/schedule/KvSchedule.h"
#include "maskjit/schedule/ScheduleBinding.h"

#include <string>
#include <vector>

namespace maskjit::mask {

struct ScheduleRemark {
  /// The sub-expression the remark is about (file:line:col); empty for one
  /// about the whole pattern or shape.
  std::string where;
  std::string message;
};

/// Remarks on `bound` (bindSchedule of `sym` for one shape). Builds every
/// query tile's kernel segments once, with counters of its own (the
/// schedule's own are left as they are).
std::vector<ScheduleRemark> scheduleRemarks(const SymbolicSchedule &sym,
                                            const KvSchedule &bound);

} // namespace maskjit::mask

#endif
