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
config.environment["PATH"] = os.pathsep.join(
    [config.llvm_tools_dir, config.environment.get("PATH", "")])
config.environment["NO_COLOR"] = "1"
