"""Run a command against a two-node Ray cluster on loopback, inside a network namespace.

    unshare --net --pid --fork --mount-proc python tests/netns_ray.py [--private-store DIR] \
        -- COMMAND ...

Must be started in a network namespace of its own (``unshare -n``, root; a PID namespace too, so
that ``ray stop`` at the end sees only this cluster and nothing outlives it): it brings ``lo`` up,
starts a head node and a second node on 127.0.0.1 (one CPU each, no dashboard, no usage
statistics, token authentication with a fresh token), runs COMMAND with ``RAY_ADDRESS`` (and the
token) set, stops both nodes and exits with COMMAND's
status. Nothing can reach past loopback in there, so Ray binds and talks to 127.0.0.1 only.

With ``--private-store DIR`` the second node runs in a mount namespace of its own where ``DIR`` is
an empty tmpfs: its tasks do not share the driver's run store, as on a cluster without a shared
filesystem. Used by ``tests/test_cluster.py`` and ``benchmarks/scaleout.py``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

PORT = 6390
RAY = str(Path(sys.executable).with_name("ray"))


def _only_loopback() -> bool:
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    return [line.split(":")[1].strip() for line in links.stdout.splitlines()] == ["lo"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--private-store", help="a directory the second node must not see")
    parser.add_argument("--cpus", type=int, default=1, help="CPUs per node (default 1)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    if not _only_loopback():
        parser.error("not in a network namespace of its own: run it under `unshare -n`")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Token authentication with a fresh token, so that a token file left in ~/.ray by another
    # Ray on this machine cannot make the nodes disagree.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    address = f"127.0.0.1:{PORT}"
    node = [RAY, "start", "--node-ip-address=127.0.0.1", f"--num-cpus={args.cpus}",
            "--num-gpus=0", "--disable-usage-stats"]
    second = [*node, f"--address={address}"]
    if args.private_store:
        second = ["unshare", "-m", "sh", "-c",
                  'mount -t tmpfs tmpfs "$0" && exec "$@"', args.private_store, *second]
    try:
        subprocess.run([*node, "--head", f"--port={PORT}", "--include-dashboard=false"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(second, check=True, env=env, stdout=subprocess.DEVNULL)
        print(f"two-node Ray cluster at {address}", file=sys.stderr, flush=True)
        return subprocess.run(command, env={**env, "RAY_ADDRESS": address},
                              check=False).returncode
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
