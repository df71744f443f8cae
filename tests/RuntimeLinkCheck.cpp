//===- RuntimeLinkCheck.cpp - The runtime links alone ---------------------===//
//
// An executable linked against maskjit_runtime and nothing of the compile
// side: taking the address of an entry of every runtime file pulls that
// file (and whatever it calls) into the link, which fails on any symbol of
// MLIR or the front end. Run, it prints one line (no GPU needed).
//
//===----------------------------------------------------------------------===//
#include "maskjit/runtime/Attention.h"
#include "maskjit/runtime/CubinInfo.h"
#include "maskjit/runtime/Driver.h"
#include "maskjit/runtime/Estimators.h"
#include "maskjit/runtime/Registry.h"

#include <cstdio>

using namespace maskjit::runtime;

int main() {
  const void *const volatile entries[] = {
      reinterpret_cast<const void *>(&buildKernel),
      reinterpret_cast<const void *>(&loadHelperModule),
      reinterpret_cast<const void *>(&readCubinFunctionInfo),
      reinterpret_cast<const void *>(&estimateVerticalSlash),
      reinterpret_cast<const void *>(&estimateBlockTopk),
  };
  void (Launcher::*launch)(const AttentionCall &) = &Launcher::launch;
  KernelRegistry registry; // Registry.cpp
  void (Launcher::*backward)(const AttentionCall &, const BackwardCall &) =
      &Launcher::backward; // LauncherBackward.cpp
  int found = (launch ? 1 : 0) + (backward ? 1 : 0);
  for (const void *e : entries)
    found += e != nullptr;
  std::printf("runtime links alone (%d entries found)\n", found);
  return 0;
}
