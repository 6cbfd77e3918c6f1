"""Thread mode's Python path: what pemja's embedded interpreter sees must import trendlab and pemja.

pemja starts CPython from the base installation and processes no ``.pth`` files, so a virtualenv's
``site-packages`` and an editable install's import hook (``pip install -e``: a ``.pth`` file, no
directory on ``sys.path``) are both invisible to it. The same situation without a JVM: a fresh
interpreter with ``-S`` (no site module, no ``.pth``) and ``PYTHONPATH`` set to what the job configures.
"""

import os
import subprocess
import sys


def test_the_thread_mode_path_imports_trendlab_and_pemja_without_site(tmp_path):
    build = subprocess.run(
        [sys.executable, "-c", "from trendlab.flink.job import thread_mode_pythonpath as p; print(p())"],
        cwd=tmp_path, capture_output=True, text=True, check=True)  # cwd elsewhere: the repo is not on the path
    path = build.stdout.strip()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONPATH"] = path
    code = ("import trendlab.core.extract, pemja; from trendlab.core.kernels import native_module; "
            "print('ok', native_module() is not None)")
    probe = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert probe.returncode == 0 and probe.stdout.split()[0] == "ok", probe.stderr[-2000:]
    # the compiled kernels (installed in site-packages) are found there too when this interpreter has them
    from trendlab.core.kernels import native_module

    assert probe.stdout.split()[1] == str(native_module() is not None)


def test_without_it_trendlab_is_not_found_without_site(tmp_path):
    """The test above can fail: the interpreter without site does not see the venv on its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    probe = subprocess.run([sys.executable, "-S", "-c", "import trendlab"], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert probe.returncode != 0 and "No module named 'trendlab'" in probe.stderr
