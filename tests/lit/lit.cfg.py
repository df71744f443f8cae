# lit configuration for maskjit: golden diagnostics and maskc behaviour.
import os
import lit.formats

config.name = "maskjit"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mask", ".test", ".mlir"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in", "check_examples.py"]
config.substitutions.append(("%{maskc_bin}", config.maskc))
config.substitutions.append(("%maskjit-opt", config.maskjit_opt))
config.substitutions.append(("%maskc", config.maskc + " --color never"))
config.substitutions.append(("%patterns", config.patterns_dir))
config.substitutions.append(("%docs", config.docs_dir))
config.substitutions.append(("%{maskjit_include}", config.include_dir))
config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.environment.get("PATH", "")])
config.environment["NO_COLOR"] = "1"

# The CUDA toolkit (NVRTC and ptxas) compiles kernels without a GPU.
import shutil
ptxas = shutil.which("ptxas") or ("/usr/local/cuda/bin/ptxas" if os.path.exists("/usr/local/cuda/bin/ptxas") else None)
if ptxas and os.path.exists("/usr/local/cuda/lib64/libnvrtc.so"):
    config.available_features.add("cuda-toolkit")
    config.environment["PATH"] = os.pathsep.join([os.path.dirname(ptxas), config.environment["PATH"]])

# A sanitizer build's libraries need the sanitizers' runtimes where a test
# links against them (the AOT example links libmaskjit_schedule.a).
if str(getattr(config, "sanitize", "")).upper() in ("ON", "TRUE", "1", "YES"):
    config.environment["LDFLAGS"] = "-fsanitize=address,undefined"
