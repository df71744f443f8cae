// Uses the installed API without a GPU: loads a pattern, prints its mask
// from the reference oracle, compiles it to PTX for sm_90a when NVRTC is
// present, and shows a diagnostic. Run: package_check FILE.mask
#include <maskjit/maskjit.h>

#include <cstdio>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: package_check FILE.mask\n");
    return 2;
  }
  try {
    maskjit::Pattern pattern = maskjit::Pattern::fromFile(argv[1]);
    maskjit::Params params;
    params.scalars["window"] = 2;
    maskjit::MaskOracle mask = pattern.oracle(4, 4, params);
    for (int q = 0; q < 4; ++q) {
      for (int k = 0; k < 4; ++k)
        std::putchar(mask.allowed(q, k) ? '#' : '.');
      std::putchar('\n');
    }
    if (maskjit::nvrtcAvailable()) {
      maskjit::CompileOptions options;
      options.arch = "sm_90a";
      options.useCache = false;
      maskjit::Kernel kernel = maskjit::Kernel::compile(pattern, options);
      std::printf("compiled %s: %s kernel, %s PTX\n", pattern.name().c_str(),
                  kernel.family().c_str(), kernel.ptx().empty() ? "no" : "has");
    }
    maskjit::Pattern::fromString("pattern p { q < }", "", "bad.mask");
  } catch (const maskjit::Error &e) {
    std::printf("error: %s\n", e.what());
    return 0;
  }
  return 1;
}
