"""The ablation tests' shared modules (made_records, tiny_data, fake_run) import from this folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
