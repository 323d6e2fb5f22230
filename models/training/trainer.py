"""Seeded, deterministic training of a model's TextClassifier on AG_NEWS-format examples.

Same code, config and data give a byte-identical ``model.pt`` and ``vocab.json``: one CPU thread,
``torch.use_deterministic_algorithms``, a seeded generator for initialisation and for the per-epoch
shuffle, and a vocabulary ordered by (-count, token).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.codeload import ModelCode
from training.config import TrainingConfig
from training.data import Example

SUMMARY_FILE = "training.json"


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    loss: float
    accuracy: float
    lr: float
    seconds: float


@dataclass
class Trained:
    network: nn.Module
    vocab: Any
    epochs: list[EpochStats]
    train_accuracy: float
    seconds: float


@contextmanager
def deterministic_torch() -> Iterator[None]:
    """One thread and deterministic kernels while training; the caller's settings are restored."""
    threads = torch.get_num_threads()
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        torch.set_num_threads(threads)


def train(
    code: ModelCode,
    config: Any,
    hparams: TrainingConfig,
    examples: Sequence[Example],
    log: Callable[[str], None] = print,
) -> Trained:
    """Build the vocabulary from ``examples``, then train with SGD + StepLR + gradient clipping."""
    started = time.perf_counter()
    model = code.model
    features = [code.features.featurize(code.tokenizer.basic_english(example.text)) for example in examples]
    vocab = code.vocab.build_vocab(features, min_freq=config.min_freq)
    encoded = [vocab.lookup_indices(tokens) for tokens in features]
    empty = [i for i, ids in enumerate(encoded) if not ids]
    if empty:
        raise ValueError(f"{len(empty)} example(s) have no tokens, e.g. row {empty[0] + 1}")
    labels = torch.tensor([example.label - 1 for example in examples], dtype=torch.int64)

    with deterministic_torch():
        torch.manual_seed(hparams.seed)
        generator = torch.Generator().manual_seed(hparams.seed)
        network = model.TextClassifier(len(vocab), config.embed_dim, len(config.labels))
        network.init_weights(hparams.init_range)
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(network.parameters(), lr=hparams.lr)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, hparams.lr_step_size, gamma=hparams.lr_gamma)
        history = []
        for epoch in range(1, hparams.epochs + 1):
            epoch_started = time.perf_counter()
            lr = optimizer.param_groups[0]["lr"]
            network.train()
            order = torch.randperm(len(encoded), generator=generator).tolist()
            total_loss, correct = 0.0, 0
            for start in range(0, len(order), hparams.batch_size):
                batch = order[start : start + hparams.batch_size]
                text, offsets = model.collate([encoded[i] for i in batch])
                targets = labels[batch]
                optimizer.zero_grad()
                logits = network(text, offsets)
                loss = criterion(logits, targets)
                loss.backward()
                nn.utils.clip_grad_norm_(network.parameters(), hparams.grad_clip_norm)
                optimizer.step()
                total_loss += loss.item() * len(batch)
                correct += int((logits.argmax(dim=1) == targets).sum())
            scheduler.step()
            stats = EpochStats(
                epoch=epoch,
                loss=total_loss / len(order),
                accuracy=correct / len(order),
                lr=lr,
                seconds=time.perf_counter() - epoch_started,
            )
            history.append(stats)
            log(
                f"epoch {epoch:3d}/{hparams.epochs} | lr {stats.lr:.4g} | loss {stats.loss:.4f}"
                f" | running accuracy {stats.accuracy:.3f} | {stats.seconds:.2f}s"
            )
        network.eval()
        accuracy = evaluate(code, network, encoded, labels)
    return Trained(network, vocab, history, accuracy, time.perf_counter() - started)


def evaluate(code: ModelCode, network: nn.Module, encoded: Sequence[Sequence[int]], labels: torch.Tensor) -> float:
    """Accuracy of ``network`` (in eval mode) on already encoded examples, in one forward pass."""
    text, offsets = code.model.collate(encoded)
    with torch.inference_mode():
        predicted = network(text, offsets).argmax(dim=1)
    return float((predicted == labels).float().mean())


def save_artifacts(code: ModelCode, output_dir: Path, trained: Trained, summary: dict[str, Any]) -> list[Path]:
    """Write the state_dict (``torch.save``), the vocabulary JSON and a deterministic training summary."""
    output_dir.mkdir(parents=True, exist_ok=True)
    weights = output_dir / code.model.WEIGHTS_FILE
    vocab = output_dir / code.model.VOCAB_FILE
    report = output_dir / SUMMARY_FILE
    torch.save(trained.network.state_dict(), weights)
    trained.vocab.save(vocab)
    document = {
        **summary,
        "vocab_size": len(trained.vocab),
        "train_accuracy": round(trained.train_accuracy, 6),
        "epochs": [
            {key: round(value, 6) for key, value in asdict(stats).items() if key != "seconds"}
            for stats in trained.epochs
        ],
    }
    report.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return [weights, vocab, report]
