"""Flower deployment of a federated adaptation run against the in-process loop, on localhost.

    python benchmarks/federated_flower.py --out /tmp/flower-bench [--config CONFIG] [--rounds R]

1. trains the config with the in-process round loop (``genlab.training.federated.engine``) into
   OUT/in_process;
2. starts Flower's own processes: one SuperLink and one SuperNode per client (node config
   ``partition-id=k``), each ClientApp and the ServerApp running genlab's functions
   (``genlab.training.federated.flower_app``), and submits the same config with ``flwr run``;
   the ServerApp writes OUT/flower;
3. prints per round the mean held-out target accuracy of both runs, the tensors' bytes (the same
   in both) and the bytes of Flower's serialised arrays, and whether the final weights are equal.

Needs the optional extra ``genlab[federated]`` (``flwr``). Every process runs with one torch
thread so both runs do the same floating-point operations in the same order. The default config
is a small DualAdapt run (two clients: inverted MNIST and UCI digits, MNIST as the source).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from genlab.config import load_config
from genlab.training.federated.engine import train_federated

DEFAULT_CONFIG = {
    "data": {"name": "domain_adaptation", "source": "mnist", "targets": ["mnist_inverted", "uci_digits"],
             "limit": 2000, "limit_heldout": 500},
    "family": {"name": "dualadapt", "clients": 2, "rounds": 3, "client_steps": 50, "server_steps": 20, "num_k": 4,
               "gmm_components": 10, "gmm_dim": 16, "gmm_images": 1000},
    "network": {"features": {"name": "mcd_features", "variant": "usps"},
                "classifier": {"name": "mcd_classifier", "variant": "usps"}},
    "train": {"max_steps": 200, "batch_size": 64, "lr": 2.0e-4, "weight_decay": 5.0e-4, "seed": 0},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 120) -> None:
    """Until something listens on 127.0.0.1:``port`` (or ``process`` has died)."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"nothing listens on port {port}; see the SuperLink's log")


def write_app(folder: Path, config_path: Path, out: Path) -> None:
    """A Flower app (pyproject.toml) whose components are genlab's ServerApp and ClientApp."""
    folder.mkdir(parents=True)
    (folder / "pyproject.toml").write_text(f"""[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "genlab-federated"
version = "1.0.0"
dependencies = []

[tool.hatch.build.targets.wheel]
packages = ["."]

[tool.flwr.app]
publisher = "genlab"

[tool.flwr.app.components]
serverapp = "genlab.training.federated.flower_app:server_app"
clientapp = "genlab.training.federated.flower_app:client_app"

[tool.flwr.app.config]
genlab-config = "{config_path}"
out = "{out}"
""")


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def rounds(run: Path) -> list[dict]:
    return json.loads((run / "logs" / "rounds.json").read_text())["rounds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--config", default=None,
                        help="a genlab config of a federated method (default: a small DualAdapt run)")
    parser.add_argument("--rounds", type=int, default=None, help="override family.rounds")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for the Flower run")
    args = parser.parse_args()
    config = load_config(args.config) if args.config else json.loads(json.dumps(DEFAULT_CONFIG))
    if args.rounds is not None:
        config["family"]["rounds"] = args.rounds
    out = args.out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    config_path = out / "config.json"
    config_path.write_text(json.dumps(config, indent=1))
    bin_dir = Path(sys.executable).parent  # Flower's processes start each other by name: put them on PATH
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "FLWR_HOME": str(out / "flwr_home"),
           "PYTHONUNBUFFERED": "1", "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop Flower's processes on termination too
    torch.set_num_threads(1)

    start_time = time.perf_counter()
    train_federated(config, out / "in_process", progress=True)
    in_process_seconds = time.perf_counter() - start_time

    link = free_port()  # the SuperLink serves its Fleet, Control and Runtime APIs on one HTTP port
    (out / "flwr_home").mkdir()
    (out / "flwr_home" / "config.toml").write_text(
        f'[superlink]\ndefault = "genlab"\n\n[superlink.genlab]\naddress = "127.0.0.1:{link}"\ninsecure = true\n')
    write_app(out / "app", config_path, out / "flower")
    processes = [start([str(bin_dir / "flower-superlink"), "--insecure", "--port", str(link),
                        "--disable-runtime-dependency-installation"], out / "superlink.log", env)]
    try:
        wait_for_port(link, processes[0])
        for k in range(config["family"]["clients"]):
            processes.append(start([str(bin_dir / "flower-supernode"), "--insecure", "--superlink",
                                    f"127.0.0.1:{link}", "--port", str(free_port()), "--node-config",
                                    f"partition-id={k}"], out / f"supernode{k}.log", env))
        time.sleep(5)
        start_time = time.perf_counter()
        submitted = subprocess.run([str(bin_dir / "flwr"), "run", str(out / "app"), "genlab", "--stream"],
                                   env=env, cwd=out, capture_output=True, text=True, timeout=args.timeout)
        (out / "flwr_run.log").write_text(submitted.stdout + submitted.stderr)
        deadline = time.time() + args.timeout
        while not (out / "flower" / "weights.safetensors").is_file() and time.time() < deadline:
            time.sleep(2)
        flower_seconds = time.perf_counter() - start_time
    finally:
        for process in reversed(processes):
            stop(process)
    if not (out / "flower" / "weights.safetensors").is_file():
        print(f"the Flower run did not finish; see {out}/*.log", file=sys.stderr)
        return 1

    ours, theirs = rounds(out / "in_process"), rounds(out / "flower")
    print(f"{'round':>5} {'acc in-process':>15} {'acc Flower':>11} {'tensor bytes':>13} {'Flower serialised':>18}")
    for a, b in zip(ours, theirs):
        mean_a = sum(a["accuracy"].values()) / len(a["accuracy"])
        mean_b = sum(b["accuracy"].values()) / len(b["accuracy"])
        print(f"{a['round']:>5} {mean_a:>15.4f} {mean_b:>11.4f} {a['bytes']['total']:>13} "
              f"{b['serialized_bytes']['total']:>18}")
    w_a = load_file(str(out / "in_process" / "weights.safetensors"))
    w_b = load_file(str(out / "flower" / "weights.safetensors"))
    equal = w_a.keys() == w_b.keys() and all(torch.equal(w_a[k], w_b[k]) for k in w_a)
    print(f"final weights equal: {equal}; in-process {in_process_seconds:.0f} s, Flower (after start-up) "
          f"{flower_seconds:.0f} s")
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
