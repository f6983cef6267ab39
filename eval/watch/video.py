"""Write frames as a video: MP4 (H.264) or WebM (VP9) through imageio-ffmpeg's bundled ffmpeg, or an animated GIF."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import imageio.v2 as imageio
import numpy as np

from eval.watch.canvas import pad_to_block

# suffix -> (imageio format, writer arguments); ffmpeg formats use yuv420p, the pixel format browsers play
VIDEO_FORMATS: dict[str, tuple[str, dict]] = {
    # CRF 28: noisy observation panels change every pixel every frame; near-lossless would cost megabytes a second
    ".mp4": (
        "FFMPEG",
        {"codec": "libx264", "pixelformat": "yuv420p", "output_params": ["-crf", "28", "-movflags", "+faststart"]},
    ),
    ".webm": (
        "FFMPEG",
        {"codec": "libvpx-vp9", "pixelformat": "yuv420p", "output_params": ["-b:v", "0", "-crf", "40"]},
    ),
    ".gif": ("GIF", {}),
}


def check_video_path(path: str | Path) -> Path:
    """``path`` if its suffix names a known format, else ``ValueError`` naming it and the allowed ones."""
    path = Path(path)
    if path.suffix.lower() not in VIDEO_FORMATS:
        raise ValueError(f"--video {path}: unknown video format {path.suffix or '(none)'!r}; allowed: "
                         f"{', '.join(VIDEO_FORMATS)}")  # fmt: skip
    return path


def ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg  # noqa: F401  (ships the ffmpeg binary in its wheel)
    except ImportError:
        return False
    return True


def write_video(path: str | Path, frames: Sequence[np.ndarray], fps: int) -> Path:
    """Encode ``frames`` (RGB uint8, one size) at ``fps`` frames per second; returns the file written.

    Without imageio-ffmpeg an MP4 or WebM request falls back to a GIF next to it (said on stderr).
    """
    path = check_video_path(path)
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    if fps < 1:
        raise ValueError(f"fps={fps!r} must be >= 1")
    kind, options = VIDEO_FORMATS[path.suffix.lower()]
    if kind == "FFMPEG" and not ffmpeg_available():
        path = path.with_suffix(".gif")
        kind, options = VIDEO_FORMATS[".gif"]
        print(f"imageio-ffmpeg is not installed (pip install imageio-ffmpeg): writing {path}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [pad_to_block(frame) for frame in frames]
    if kind == "GIF":
        imageio.mimwrite(path, frames, format="GIF", duration=1000.0 / fps, loop=0)
    else:
        with imageio.get_writer(path, format=kind, fps=fps, macro_block_size=16, ffmpeg_log_level="error",
                                **options) as writer:  # fmt: skip
            for frame in frames:
                writer.append_data(frame)
    return path
