"""Train this model: ``python models/<name>/train.py --output-dir models/<name>/artifacts [--data CSV] [--epochs N]``.

A thin wrapper: the shared trainer lives in ``models/training``; what is specific to this model comes
from its ``code/`` directory (featurization) and ``model.json`` (hyper-parameters).
"""

from __future__ import annotations

import sys
from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(MODEL_DIR.parent))

from training.cli import main

if __name__ == "__main__":
    sys.exit(main(MODEL_DIR))
