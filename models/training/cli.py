"""``python models/<name>/train.py --output-dir DIR [--data CSV] [--epochs N] [--seed N]``."""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from training.codeload import load_code
from training.config import TrainingConfig
from training.data import DEFAULT_DATA, DataError, read_ag_news, sha256_of
from training.trainer import Trained, save_artifacts, train


@dataclass(frozen=True)
class RunResult:
    trained: Trained
    files: list[Path]
    examples: int


def run(
    model_dir: Path,
    output_dir: Path,
    data: Path = DEFAULT_DATA,
    epochs: int | None = None,
    seed: int | None = None,
    log: Callable[[str], None] | None = None,
) -> RunResult:
    """Train the model in ``model_dir`` (its ``code/`` + ``model.json``) and write its artifacts."""
    log = log or _print_flushed
    code = load_code(model_dir / "code")
    config = code.model.ModelConfig.load(model_dir / code.model.CONFIG_FILE)
    hparams = TrainingConfig.from_dict(config.training).with_overrides(epochs=epochs, seed=seed)
    examples = read_ag_news(data, num_class=len(config.labels))
    log(f"{config.name}: {len(examples)} examples from {data}, ngrams={config.ngrams}, epochs={hparams.epochs}")
    trained = train(code, config, hparams, examples, log=log)
    summary = {
        "model": config.name,
        "inputs_sha256": inputs_sha256(model_dir, data),
        "data": {"file": data.name, "sha256": sha256_of(data), "examples": len(examples)},
        "torch": torch.__version__,
        "hyperparameters": {"ngrams": config.ngrams, "embed_dim": config.embed_dim, "min_freq": config.min_freq}
        | asdict(hparams),
    }
    files = save_artifacts(code, output_dir, trained, summary)
    log(
        f"{config.name}: train accuracy {trained.train_accuracy:.3f}, vocabulary {len(trained.vocab)} tokens,"
        f" {trained.seconds:.2f}s -> {output_dir}"
    )
    return RunResult(trained=trained, files=files, examples=len(examples))


def inputs_sha256(model_dir: Path, data: Path) -> str:
    """Hash of everything the artifacts derive from (model.json, code/, the data, the trainer).

    Recorded in training.json so a packager can tell stale artifacts from current ones.
    """
    digest = hashlib.sha256()
    trainer_sources = sorted(Path(__file__).resolve().parent.glob("*.py"))
    for path in [model_dir / "model.json", *sorted((model_dir / "code").glob("*.py")), data, *trainer_sources]:
        digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main(model_dir: Path, argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python models/{model_dir.name}/train.py",
        description=f"Train {model_dir.name} and write model.pt + vocab.json + training.json into --output-dir.",
    )
    parser.add_argument("--output-dir", type=Path, default=model_dir / "artifacts", help="default: %(default)s")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="AG_NEWS-format CSV (default: the sample)")
    parser.add_argument("--epochs", type=_positive_int, help="override training.epochs of model.json")
    parser.add_argument("--seed", type=int, help="override training.seed of model.json")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        parser.error(f"--data {args.data}: no such file")
    try:
        run(model_dir, args.output_dir, data=args.data, epochs=args.epochs, seed=args.seed)
    except (DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _print_flushed(line: str) -> None:
    print(line, flush=True)  # the packager streams this output through a pipe


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value
