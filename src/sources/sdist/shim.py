# pyko's PEP 517 frontend shim: run by the isolated build environment's
# interpreter in the unpacked sdist. It only calls the backend's hooks; pyko
# resolves and installs the requirements they name.
#   shim.py requires BACKEND BACKEND_PATH_JSON RESULT_FILE
#   shim.py wheel    BACKEND BACKEND_PATH_JSON RESULT_FILE OUT_DIR
import importlib
import json
import os
import sys


def load(spec, paths):
    for p in reversed(paths):
        sys.path.insert(0, os.path.abspath(p))
    module, _, obj = spec.partition(":")
    backend = importlib.import_module(module)
    for part in filter(None, obj.split(".")):
        backend = getattr(backend, part)
    return backend


def main():
    hook, spec, paths, result = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    backend = load(spec, paths)
    if hook == "requires":
        get = getattr(backend, "get_requires_for_build_wheel", None)
        answer = list(get({}) if get else [])
    else:
        answer = backend.build_wheel(os.path.abspath(sys.argv[5]), {})
    with open(result, "w") as f:
        json.dump(answer, f)


main()
