import os
import sys

# A source checkout's package, when the installed one is not wanted
# (MASKJIT_PYTHON_SOURCE=1, as scripts/test.sh runs it against its build).
if os.environ.get("MASKJIT_PYTHON_SOURCE") == "1":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
