"""Show a picture of the run folder in every experiment logger that takes pictures (W&B, TensorBoard);
CSV keeps only the file itself."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from lightning.pytorch.loggers import Logger


def _pixels(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))  # [H, W, 3] uint8


def log_image(loggers: Iterable[Logger], key: str, path: Path, step: int | None = None) -> None:
    """Show a PNG of the run folder in every logger that takes pictures (W&B, TensorBoard); CSV has
    only the file itself."""
    for logger in loggers:
        if hasattr(logger, "log_image"):  # W&B; Lightning makes it rank 0 only
            logger.log_image(key, [str(path)], step=step)
        elif hasattr(logger.experiment, "add_image"):  # TensorBoard's SummaryWriter
            writer = logger.experiment
            closed = getattr(writer, "file_writer", True) is None  # Lightning closes it when testing ends
            writer.add_image(key, _pixels(path), global_step=step, dataformats="HWC")
            # written now; a writer that was closed (it reopens on demand) is closed again, not left open
            if closed:
                writer.close()
            else:
                writer.flush()
