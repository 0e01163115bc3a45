"""Tests for vaekit.data.images: folders of IDX files, named data sets, downloads, digits."""

from __future__ import annotations

import gzip
import hashlib
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from vaekit.data import (
    ImageDataset,
    default_cache_dir,
    download_dataset,
    find_dataset_folder,
    load_digits_dataset,
    load_idx_folder,
    load_image_dataset,
)
from vaekit.data import images as images_module
from vaekit.data.idx import write_idx
from vaekit.errors import DataError

FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
GZ_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# --- load_idx_folder ------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_load_idx_folder(tmp_path: Path, mnist_folder, gz: bool) -> None:
    folder = tmp_path / "tiny"
    arrays = mnist_folder(folder, n_train=20, n_test=10, gz=gz)

    data = load_idx_folder(folder)

    assert data.name == "tiny"
    assert data.source == str(folder.resolve())
    assert data.train_images.shape == (20, 1, 28, 28)
    assert data.test_images.shape == (10, 1, 28, 28)
    assert data.image_shape == (1, 28, 28)
    assert data.train_images.dtype == torch.float32
    assert data.train_labels.dtype == torch.int64
    assert data.train_images.min().item() == 0.0
    assert data.train_images.max().item() == 1.0
    np.testing.assert_allclose(data.test_images[:, 0].numpy(), arrays["test_images"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.train_labels.numpy(), arrays["train_labels"])
    np.testing.assert_array_equal(data.test_labels.numpy(), arrays["test_labels"])
    max_label = int(max(arrays["train_labels"].max(), arrays["test_labels"].max()))
    assert data.class_names == tuple(str(k) for k in range(max_label + 1))
    assert data.num_classes == max_label + 1


def test_class_names_follow_the_data_set_name(tmp_path: Path, mnist_folder) -> None:
    mnist_folder(tmp_path / "mnist")
    mnist_folder(tmp_path / "fashion-mnist")

    assert load_idx_folder(tmp_path / "mnist").class_names == tuple("0123456789")
    assert load_idx_folder(tmp_path / "fashion-mnist").class_names == FASHION_NAMES
    renamed = load_idx_folder(tmp_path / "mnist", name="fashion-mnist")
    assert renamed.name == "fashion-mnist"
    assert renamed.class_names == FASHION_NAMES


def test_mixed_raw_and_gzip_files_and_raw_preferred(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "mixed"
    arrays = mnist_folder(folder, gz=False)
    # Move two files to .gz only, and put a decoy .gz next to a raw file.
    for stem in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte"):
        raw = folder / stem
        (folder / f"{stem}.gz").write_bytes(gzip.compress(raw.read_bytes()))
        raw.unlink()
    write_idx(folder / "train-images-idx3-ubyte.gz", np.zeros((20, 28, 28), dtype=np.uint8))

    data = load_idx_folder(folder)

    np.testing.assert_allclose(data.train_images[:, 0].numpy(), arrays["train_images"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.train_labels.numpy(), arrays["train_labels"])


def test_missing_files_are_named(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "partial"
    mnist_folder(folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "train-images-idx3-ubyte.gz").unlink()

    with pytest.raises(DataError) as excinfo:
        load_idx_folder(folder)

    message = str(excinfo.value)
    assert str(folder) in message
    assert "t10k-labels-idx1-ubyte" in message
    assert "train-images-idx3-ubyte" in message
    assert "train-labels-idx1-ubyte" not in message


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist") as excinfo:
        load_idx_folder(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(excinfo.value)


def test_image_label_count_mismatch(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "mismatch"
    mnist_folder(folder, n_train=20)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(19, dtype=np.uint8))

    with pytest.raises(DataError) as excinfo:
        load_idx_folder(folder)

    message = str(excinfo.value)
    assert str(folder / "train-images-idx3-ubyte.gz") in message
    assert str(folder / "train-labels-idx1-ubyte.gz") in message
    assert "20 images" in message
    assert "19 labels" in message


def test_images_must_be_3d_uint8(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "flat"
    mnist_folder(folder)
    bad = folder / "t10k-images-idx3-ubyte.gz"
    write_idx(bad, np.zeros((10, 784), dtype=np.uint8))
    with pytest.raises(DataError, match="3-D uint8") as excinfo:
        load_idx_folder(folder)
    assert str(bad) in str(excinfo.value)

    write_idx(bad, np.zeros((10, 28, 28), dtype=np.float32))
    with pytest.raises(DataError, match="3-D uint8"):
        load_idx_folder(folder)


def test_labels_must_be_1d(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "labels2d"
    mnist_folder(folder)
    bad = folder / "train-labels-idx1-ubyte.gz"
    write_idx(bad, np.zeros((20, 1), dtype=np.uint8))
    with pytest.raises(DataError, match="1-D") as excinfo:
        load_idx_folder(folder)
    assert str(bad) in str(excinfo.value)


def test_train_and_test_image_sizes_must_agree(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "sizes"
    mnist_folder(folder)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.zeros((10, 14, 14), dtype=np.uint8))
    with pytest.raises(DataError, match="image sizes differ") as excinfo:
        load_idx_folder(folder)
    assert str(folder / "t10k-images-idx3-ubyte.gz") in str(excinfo.value)


def test_labels_out_of_range_for_mnist(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "mnist"
    mnist_folder(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(10, 10, dtype=np.uint8))
    with pytest.raises(DataError, match="label 10") as excinfo:
        load_idx_folder(folder)
    assert str(folder) in str(excinfo.value)


def test_labels_that_would_make_too_many_classes_are_refused(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "mine"
    mnist_folder(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.array([0, 3, 50000] * 6 + [0, 3], dtype=np.int32))
    with pytest.raises(DataError, match="label 50000 would make 50001 classes"):
        load_idx_folder(folder)


def test_corrupt_file_in_folder_is_named(tmp_path: Path, mnist_folder) -> None:
    folder = tmp_path / "corrupt"
    mnist_folder(folder)
    bad = folder / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-20])
    with pytest.raises(DataError) as excinfo:
        load_idx_folder(folder)
    assert str(bad) in str(excinfo.value)


# --- ImageDataset ---------------------------------------------------------------------------


def _dataset(**overrides) -> ImageDataset:
    fields = dict(
        name="t",
        train_images=torch.zeros(4, 1, 5, 5),
        train_labels=torch.zeros(4, dtype=torch.int64),
        test_images=torch.zeros(2, 1, 5, 5),
        test_labels=torch.zeros(2, dtype=torch.int64),
        class_names=("a", "b", "c"),
        source="memory",
    )
    fields.update(overrides)
    return ImageDataset(**fields)


def test_image_dataset_properties_and_repr() -> None:
    data = _dataset()
    assert data.image_shape == (1, 5, 5)
    assert data.num_classes == 3
    assert "train=4" in repr(data) and "test=2" in repr(data)
    with pytest.raises(AttributeError):
        data.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    "overrides",
    [
        {"train_images": torch.zeros(4, 5, 5)},
        {"train_images": torch.zeros(4, 1, 5, 5, dtype=torch.float64)},
        {"test_labels": torch.zeros(3, dtype=torch.int64)},
        {"train_labels": torch.zeros(4, dtype=torch.int32)},
        {"test_images": torch.zeros(2, 1, 6, 6)},
    ],
    ids=["3d-images", "float64", "count", "int32-labels", "shape-mismatch"],
)
def test_image_dataset_rejects_inconsistent_tensors(overrides) -> None:
    with pytest.raises(DataError):
        _dataset(**overrides)


# --- find_dataset_folder --------------------------------------------------------------------


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "vaekit"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "vaekit"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "vaekit"


def test_find_dataset_folder_search_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mnist_folder
) -> None:
    debian = tmp_path / "debian"
    monkeypatch.setattr(images_module, "DEBIAN_FASHION_MNIST_DIR", debian)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "env"))
    data_dir = tmp_path / "given"

    # Fill the places from the last to the first, checking each becomes the winner.
    expected = [
        debian,
        tmp_path / "xdg" / "vaekit" / "fashion-mnist",
        tmp_path / "env",
        tmp_path / "env" / "fashion-mnist",
        data_dir,
        data_dir / "fashion-mnist",
    ]
    for folder in expected:
        mnist_folder(folder, n_train=2, n_test=1)
        assert find_dataset_folder("fashion-mnist", data_dir) == folder

    # Without data_dir the environment variable wins.
    assert find_dataset_folder("fashion-mnist") == tmp_path / "env" / "fashion-mnist"


def test_debian_folder_is_only_for_fashion_mnist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mnist_folder
) -> None:
    debian = tmp_path / "debian"
    monkeypatch.setattr(images_module, "DEBIAN_FASHION_MNIST_DIR", debian)
    mnist_folder(debian, n_train=2, n_test=1)
    assert find_dataset_folder("fashion-mnist") == debian
    with pytest.raises(DataError):
        find_dataset_folder("mnist")


def test_incomplete_candidate_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mnist_folder
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    partial = tmp_path / "given" / "mnist"
    mnist_folder(partial, n_train=2, n_test=1)
    (partial / "train-labels-idx1-ubyte.gz").unlink()
    cached = tmp_path / "xdg" / "vaekit" / "mnist"
    mnist_folder(cached, n_train=2, n_test=1)

    assert find_dataset_folder("mnist", tmp_path / "given") == cached


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_not_found_lists_every_folder_and_how_to_get_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    debian = tmp_path / "debian"
    monkeypatch.setattr(images_module, "DEBIAN_FASHION_MNIST_DIR", debian)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "env"))

    with pytest.raises(DataError) as excinfo:
        find_dataset_folder(name, tmp_path / "given")

    message = str(excinfo.value)
    for folder in [
        tmp_path / "given",
        tmp_path / "given" / name,
        tmp_path / "env",
        tmp_path / "env" / name,
        tmp_path / "xdg" / "vaekit" / name,
    ]:
        assert f"  {folder}\n" in message + "\n"
    assert "--download" in message
    assert "--data-dir" in message
    assert "VAEKIT_DATA" in message
    if name == "fashion-mnist":
        assert str(debian) in message
        assert "apt-get install dataset-fashion-mnist" in message
    else:
        assert str(debian) not in message
        assert "apt-get" not in message


def test_unknown_name_is_rejected() -> None:
    with pytest.raises(DataError, match="unknown data set name"):
        find_dataset_folder("cifar10")
    with pytest.raises(DataError, match="unknown data set name"):
        download_dataset("cifar10")


# --- download_dataset -----------------------------------------------------------------------


def _serve_dataset(http_server, monkeypatch: pytest.MonkeyPatch, name: str = "mnist") -> dict[str, bytes]:
    """Serve four tiny IDX .gz files and make them the official ones; return the payloads."""
    rng = np.random.default_rng(1)
    payloads = {}
    for filename in GZ_NAMES:
        array = (
            rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
            if "images" in filename
            else rng.integers(0, 10, size=3, dtype=np.uint8)
        )
        header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
        payloads[filename] = header + array.tobytes()
    checksums = {filename: http_server.add_gzip(filename, payload) for filename, payload in payloads.items()}
    monkeypatch.setitem(images_module.DOWNLOAD_MD5, name, checksums)
    return payloads


def test_download_success(tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch) -> None:
    payloads = _serve_dataset(http_server, monkeypatch)
    target = tmp_path / "dl"

    folder = download_dataset("mnist", target, mirrors=[http_server.url])

    assert folder == target
    assert sorted(p.name for p in target.iterdir()) == sorted(GZ_NAMES)
    for filename, payload in payloads.items():
        assert gzip.decompress((target / filename).read_bytes()) == payload
    data = load_idx_folder(target, name="mnist")
    assert data.train_images.shape == (3, 1, 28, 28)
    assert sorted(http_server.requests) == sorted(f"/{f}" for f in GZ_NAMES)


def test_download_defaults_to_the_cache_folder(
    tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _serve_dataset(http_server, monkeypatch, name="fashion-mnist")
    # A mirror given without the trailing slash works too.
    folder = download_dataset("fashion-mnist", mirrors=[http_server.url.rstrip("/")])
    assert folder == tmp_path / "xdg" / "vaekit" / "fashion-mnist"
    assert find_dataset_folder("fashion-mnist") == folder


def test_download_falls_back_to_the_next_mirror(
    tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_dataset(http_server, monkeypatch)
    broken = http_server.url + "missing/"

    download_dataset("mnist", tmp_path / "dl", mirrors=[broken, http_server.url])

    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == sorted(GZ_NAMES)
    assert sum(r.startswith("/missing/") for r in http_server.requests) == 4


def test_checksum_mismatch_keeps_nothing(
    tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_dataset(http_server, monkeypatch)
    bad_name = "train-labels-idx1-ubyte.gz"
    monkeypatch.setitem(images_module.DOWNLOAD_MD5["mnist"], bad_name, "0" * 32)
    target = tmp_path / "dl"

    with pytest.raises(DataError) as excinfo:
        download_dataset("mnist", target, mirrors=[http_server.url])

    message = str(excinfo.value)
    assert bad_name in message
    assert http_server.url + bad_name in message
    assert "MD5" in message
    # The file before it was kept; the bad one and any temp file are gone.
    assert sorted(p.name for p in target.iterdir()) == ["train-images-idx3-ubyte.gz"]


def test_checksum_mismatch_replaces_nothing_already_there(
    tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_dataset(http_server, monkeypatch)
    target = tmp_path / "dl"
    target.mkdir()
    stale = target / "train-images-idx3-ubyte.gz"
    stale.write_bytes(b"old and wrong")
    monkeypatch.setitem(images_module.DOWNLOAD_MD5["mnist"], stale.name, "0" * 32)

    with pytest.raises(DataError):
        download_dataset("mnist", target, mirrors=[http_server.url])

    assert stale.read_bytes() == b"old and wrong"
    assert [p.name for p in target.iterdir()] == [stale.name]


def test_present_files_are_not_fetched_again(
    tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_dataset(http_server, monkeypatch)
    target = tmp_path / "dl"
    target.mkdir()
    present = "t10k-images-idx3-ubyte.gz"
    (target / present).write_bytes((http_server.root / present).read_bytes())
    # A present file with the wrong checksum is fetched again.
    corrupt = "t10k-labels-idx1-ubyte.gz"
    (target / corrupt).write_bytes(b"not the real file")

    download_dataset("mnist", target, mirrors=[http_server.url])

    assert f"/{present}" not in http_server.requests
    assert f"/{corrupt}" in http_server.requests
    assert len(http_server.requests) == 3
    assert (target / corrupt).read_bytes() == (http_server.root / corrupt).read_bytes()

    http_server.requests.clear()
    download_dataset("mnist", target, mirrors=[http_server.url])
    assert http_server.requests == []


def test_network_failure_names_file_and_urls(
    tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_dataset(http_server, monkeypatch)
    # A port that was just free: nothing listens there, so the connection is refused.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/"
    missing = http_server.url + "gone/"
    target = tmp_path / "dl"

    with pytest.raises(DataError) as excinfo:
        download_dataset("mnist", target, mirrors=[dead, missing])

    message = str(excinfo.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert dead + "train-images-idx3-ubyte.gz" in message
    assert missing + "train-images-idx3-ubyte.gz" in message
    assert "404" in message
    assert list(target.iterdir()) == []


def test_official_checksums_and_mirrors_are_declared() -> None:
    assert set(images_module.DOWNLOAD_MD5) == {"mnist", "fashion-mnist"}
    for checksums in images_module.DOWNLOAD_MD5.values():
        assert sorted(checksums) == sorted(GZ_NAMES)
        assert all(len(md5) == 32 and int(md5, 16) >= 0 for md5 in checksums.values())
    assert (
        images_module.DOWNLOAD_MD5["mnist"]["train-images-idx3-ubyte.gz"]
        == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    )
    assert images_module.DOWNLOAD_MIRRORS["mnist"][0] == "https://ossci-datasets.s3.amazonaws.com/mnist/"


# --- load_image_dataset ---------------------------------------------------------------------


def test_load_image_dataset_from_a_path(tmp_path: Path, mnist_folder) -> None:
    mnist_folder(tmp_path / "mine", n_train=6, n_test=4)
    data = load_image_dataset(str(tmp_path / "mine"))
    assert data.name == "mine"
    assert len(data.train_images) == 6


def test_load_image_dataset_by_name_with_data_dir(tmp_path: Path, mnist_folder) -> None:
    mnist_folder(tmp_path / "store" / "mnist", n_train=6, n_test=4)
    data = load_image_dataset("mnist", data_dir=str(tmp_path / "store"))
    assert data.name == "mnist"
    assert data.class_names == tuple("0123456789")
    assert data.source == str((tmp_path / "store" / "mnist").resolve())


def test_load_image_dataset_not_found_without_download(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="--download"):
        load_image_dataset("mnist", data_dir=str(tmp_path))


def test_load_image_dataset_downloads_into_data_dir(
    tmp_path: Path, http_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve_dataset(http_server, monkeypatch, name="fashion-mnist")
    monkeypatch.setitem(images_module.DOWNLOAD_MIRRORS, "fashion-mnist", (http_server.url,))

    data = load_image_dataset("fashion-mnist", data_dir=str(tmp_path / "store"), download=True)

    assert data.class_names == FASHION_NAMES
    assert (tmp_path / "store" / "fashion-mnist" / "train-images-idx3-ubyte.gz").is_file()
    # Found on disk the second time, so nothing is requested.
    http_server.requests.clear()
    load_image_dataset("fashion-mnist", data_dir=str(tmp_path / "store"), download=True)
    assert http_server.requests == []


def test_load_image_dataset_unknown_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"
    with pytest.raises(DataError) as excinfo:
        load_image_dataset(str(missing))
    message = str(excinfo.value)
    assert str(missing) in message
    for name in ("digits", "mnist", "fashion-mnist"):
        assert name in message


# --- digits ---------------------------------------------------------------------------------


def test_digits() -> None:
    data = load_image_dataset("digits")
    assert data.name == "digits"
    assert data.train_images.shape == (1437, 1, 8, 8)
    assert data.test_images.shape == (360, 1, 8, 8)
    assert data.train_labels.shape == (1437,)
    assert data.train_images.dtype == torch.float32
    assert data.test_labels.dtype == torch.int64
    assert data.train_images.min().item() == 0.0
    assert data.train_images.max().item() == 1.0
    assert data.class_names == tuple("0123456789")
    # Stratified: every class is in both splits in about the same proportion.
    assert torch.bincount(data.test_labels, minlength=10).min().item() >= 35


def test_digits_split_is_the_documented_one() -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    train_idx, test_idx = train_test_split(
        np.arange(len(bunch.target)), test_size=0.2, random_state=0, stratify=bunch.target
    )
    data = load_digits_dataset()

    np.testing.assert_array_equal(data.test_labels.numpy(), bunch.target[test_idx])
    np.testing.assert_array_equal(data.train_labels.numpy(), bunch.target[train_idx])
    np.testing.assert_allclose(data.test_images[:, 0].numpy(), bunch.images[test_idx] / 16.0, rtol=1e-6)
    assert torch.equal(load_digits_dataset().train_images, data.train_images)


# --- the real Fashion-MNIST, when the shared copy is there ----------------------------------

SHARED_FASHION = Path(__file__).resolve().parents[3] / "shared/data/fashion-mnist"


def test_shared_fashion_mnist() -> None:
    if not SHARED_FASHION.is_dir():
        pytest.skip(f"no shared Fashion-MNIST at {SHARED_FASHION}")

    expected_md5 = {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    }
    for stem, md5 in expected_md5.items():
        raw = SHARED_FASHION / stem
        content = (
            raw.read_bytes() if raw.is_file() else gzip.decompress((raw.with_suffix(".gz")).read_bytes())
        )
        assert _md5(content) == md5, stem

    data = load_image_dataset(str(SHARED_FASHION))

    assert data.name == "fashion-mnist"
    assert data.class_names == FASHION_NAMES
    assert data.train_images.shape == (60000, 1, 28, 28)
    assert data.test_images.shape == (10000, 1, 28, 28)
    assert data.train_labels.shape == (60000,)
    assert data.test_labels.shape == (10000,)
    assert 0.0 <= data.train_images.min().item() and data.train_images.max().item() <= 1.0
    assert torch.bincount(data.train_labels).tolist() == [6000] * 10
    assert torch.bincount(data.test_labels).tolist() == [1000] * 10
