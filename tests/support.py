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
