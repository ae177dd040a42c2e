"""Paths every test folder shares (imported as ``from support import ...``; the root conftest puts
this folder on ``sys.path``)."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CONFIGS = REPO / "configs"
SRC = REPO / "src"
TEST_DATA = TESTS / "fixtures"
#: 64 real QM9 molecules, read as a ``smiles`` dataset where a test needs molecules but no cache
QM9_SMALL = TEST_DATA / "qm9_64.smi"


def points_flow_config(*, n_train: int = 256, n_heldout: int = 64, hidden: int = 16, sample_steps: int = 4,
                       **train: object) -> dict:
    """The small flow-matching run on two moons that the CLI, run-directory and report tests train;
    ``train`` overrides keys of the train section."""
    return {
        "data": {"name": "points", "dataset": "moons", "n_train": n_train, "n_heldout": n_heldout},
        "family": {"name": "flow_matching", "ode_method": "euler", "sample_steps": sample_steps},
        "process": {"name": "flow_matching"},
        "network": {"name": "mlp", "hidden": hidden, "depth": 2},
        "train": {"max_steps": 4, "batch_size": 32, "accelerator": "cpu", "checkpoint_every": 4, "log_every": 2,
                  **train},
    }
