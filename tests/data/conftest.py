"""Shared fixtures for the data-layer tests: tiny MNIST-format folders and a local HTTP server."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from vaekit.data import images
from vaekit.data.idx import write_idx

STEMS = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@pytest.fixture(autouse=True)
def isolated_data_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test away from the real cache, $VAEKIT_DATA and /usr/share/datasets."""
    root = tmp_path_factory.mktemp("env")
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "xdg-cache"))
    monkeypatch.delenv("VAEKIT_DATA", raising=False)
    monkeypatch.setattr(images, "DEBIAN_FASHION_MNIST_DIR", root / "debian-fashion-mnist")
    return root


def write_mnist_folder(
    folder: Path,
    *,
    n_train: int = 20,
    n_test: int = 10,
    size: int = 28,
    gz: bool = True,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Write a tiny MNIST-format folder and return the arrays written, keyed like ``STEMS``."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, size, size), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, size, size), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    # Pin the extremes so the [0, 1] scaling is observable.
    arrays["train_images"][0, 0, 0] = 0
    arrays["train_images"][0, 0, 1] = 255
    folder.mkdir(parents=True, exist_ok=True)
    for key, stem in STEMS.items():
        write_idx(folder / (stem + (".gz" if gz else "")), arrays[key])
    return arrays


@pytest.fixture
def mnist_folder(tmp_path: Path) -> Callable[..., dict[str, np.ndarray]]:
    """Factory: ``mnist_folder(path, **kwargs)`` writes a tiny MNIST-format folder."""
    return write_mnist_folder


class _RecordingHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the test output clean


class LocalServer:
    """A file server on 127.0.0.1 that records the paths requested."""

    def __init__(self, root: Path, httpd: http.server.ThreadingHTTPServer) -> None:
        self.root = root
        self._httpd = httpd
        self.url = f"http://127.0.0.1:{httpd.server_address[1]}/"

    @property
    def requests(self) -> list[str]:
        return self._httpd.requests  # type: ignore[attr-defined]

    def add_gzip(self, name: str, payload: bytes) -> str:
        """Serve ``gzip(payload)`` as ``name`` and return the served file's MD5."""
        data = gzip.compress(payload, mtime=0)
        (self.root / name).write_bytes(data)
        return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def http_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    # A proxy from the environment would intercept requests meant for 127.0.0.1.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")

    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_RecordingHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(root, httpd)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
