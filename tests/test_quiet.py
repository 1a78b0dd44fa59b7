"""TensorFlow's C++ start-up lines never reach a notebook cell or a terminal; real ones do."""

from __future__ import annotations

import subprocess
import sys

from fmnist_helpers import quiet

STARTUP = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    ("I0000 00:00:1796677930.844152    7887 port.cc:153] oneDNN custom operations are on. You "
     "may see slightly different numerical results"),
    ("I0000 00:00:1796677930.844487    7887 cudart_stub.cc:31] Could not find cuda drivers on "
     "your machine, GPU will not be used."),
    ("To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild "
     "TensorFlow with the appropriate compiler flags."),
]
CUINIT = ("E0000 00:00:1796677935.167234    7887 cuda_platform.cc:52] failed call to cuInit: "
          "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)")


def test_startup_lines_are_recognised_and_real_messages_are_not():
    assert all(quiet.is_startup_noise(line) for line in STARTUP)
    assert quiet.is_startup_noise(CUINIT, nvidia_driver=False)
    assert not quiet.is_startup_noise(CUINIT, nvidia_driver=True)  # a GPU machine: real
    for real in ("E0000 00:00:1.0  1 op_kernel.cc:1] OOM when allocating tensor",
                 "[convnet-1234abcd] epoch 1/3  loss 0.5", "UserWarning: something",
                 "Traceback (most recent call last):"):
        assert not quiet.is_startup_noise(real, nvidia_driver=False), real


def test_a_fresh_process_importing_tensorflow_through_the_package_prints_nothing_on_stderr():
    """The real import, in a new process: no start-up line; a line written to stderr while the
    hook is active and that is not a start-up line still comes through."""
    code = ("import os, fmnist_helpers, keras, tensorflow as tf; tf.constant(1.0) + 1; "
            "from fmnist_helpers import quiet\n"
            "with quiet.startup_lines_dropped():\n"
            "    os.write(2, b'I0000 00:00:1.5  9 port.cc:153] oneDNN noise\\nreal problem\\n')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, check=True, env={"PATH": "/usr/bin:/bin"})
    assert result.stderr == "real problem\n"
    shown = subprocess.run([sys.executable, "-c", "import fmnist_helpers, tensorflow"],
                           capture_output=True, text=True, timeout=300, check=True,
                           env={"PATH": "/usr/bin:/bin", quiet.SHOW_ENV: "1"})
    assert "oneDNN" in shown.stderr  # the switch shows them
