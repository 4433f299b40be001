"""Conformance of the Workflow Forge TypeScript kernel, with Debian's jupyter_kernel_test.

Run: PYDEVD_DISABLE_FILE_VALIDATION=1 /usr/bin/python3 -m unittest -v test/kernel/test_kernel_conformance.py
The kernelspec is installed into a temporary prefix put first on JUPYTER_PATH, and the
kernel's history goes to a temporary SQLite file, so nothing global is touched.
"""
import os
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
KERNEL_NAME = "forge-typescript-test"

_tmp = tempfile.mkdtemp(prefix="forge-kernel-test-")
subprocess.run(
    ["node", "--import", "tsx", "kernel/install.ts", "--prefix", _tmp, "--name", KERNEL_NAME],
    cwd=REPO, check=True, stdout=subprocess.DEVNULL,
)
os.environ["JUPYTER_PATH"] = os.path.join(_tmp, "share", "jupyter") + os.pathsep + os.environ.get("JUPYTER_PATH", "")
os.environ["FORGE_KERNEL_HISTORY"] = os.path.join(_tmp, "history.sqlite")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

import jupyter_kernel_test  # noqa: E402  (after JUPYTER_PATH is set)

# Cold start includes building the type checker; give it room on a loaded machine.
jupyter_kernel_test.TIMEOUT = 60


class ForgeKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = KERNEL_NAME
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("some error")'

    # The last expression becomes execute_result (text/plain as Node's inspect writes it).
    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "const s: string = 'ab'; s + 'c'", "result": "'abc'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]

    code_display_data = [
        {"code": 'display.html("<b>bold</b>")', "mime": "text/html"},
        {
            "code": 'display.vegalite({ $schema: "https://vega.github.io/schema/vega-lite/v5.json", '
            'data: { values: [{ a: 1 }, { a: 2 }] }, mark: "bar", encoding: { x: { field: "a", type: "quantitative" } } })',
            "mime": "application/vnd.vegalite.v5+json",
        },
    ]

    completion_samples = [
        {"text": "Math.ab", "matches": {"abs"}},
        {"text": "forge.ByteTok", "matches": {"ByteTokenizer"}},
    ]

    complete_code_samples = ["1 + 1", "const x = 3", "function f() { return 1 }", "forge?"]
    incomplete_code_samples = ["function f() {", "const a = [1, 2,", "if (true) {"]
    invalid_code_samples = ["const = 5", "1 +* 2", "let x = )"]

    code_inspect_sample = "forge"
    code_page_something = "Math?"
    code_generate_error = 'throw new Error("boom")'
    code_clear_output = "clearOutput()"

    code_history_pattern = "6*7"  # a glob, as in IPython
    supported_history_operations = ("tail", "range", "search")

    # jupyter_kernel_test binds its TIMEOUT (15 s) into execute_helper's default argument when it
    # is imported: setting the module's TIMEOUT above does not reach it, and the first cell (the
    # kernel's start) can take longer on a loaded machine.
    def execute_helper(self, code, timeout=jupyter_kernel_test.TIMEOUT, **kwargs):
        return super().execute_helper(code, timeout=timeout, **kwargs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
