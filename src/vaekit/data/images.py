"""Image data sets: scikit-learn's digits, MNIST, Fashion-MNIST and any folder of IDX files.

Every loader returns an :class:`ImageDataset` whose images are ``float32`` tensors of shape
``(N, C, H, W)`` scaled to ``[0, 1]`` and whose labels are ``int64`` tensors of shape ``(N,)``.

MNIST and Fashion-MNIST are looked for on disk (:func:`find_dataset_folder`) and only fetched
from the network when asked to (:func:`download_dataset`); nothing is downloaded implicitly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vaekit.data.idx import read_idx
from vaekit.errors import DataError

__all__ = [
    "DATASET_NAMES",
    "DEBIAN_FASHION_MNIST_DIR",
    "DOWNLOAD_MD5",
    "DOWNLOAD_MIRRORS",
    "IDX_FILES",
    "ImageDataset",
    "default_cache_dir",
    "download_dataset",
    "find_dataset_folder",
    "load_digits_dataset",
    "load_idx_folder",
    "load_image_dataset",
]

#: Names accepted by :func:`load_image_dataset` besides a folder path.
DATASET_NAMES: tuple[str, ...] = ("digits", "mnist", "fashion-mnist")

#: The four files of an MNIST-format folder, without the optional ``.gz`` suffix.
IDX_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: MD5 of the official ``.gz`` files, checked on download only: redistributions such as
#: Debian's recompress the files, so a local copy may differ here yet hold the same images.
DOWNLOAD_MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

#: Official download locations, tried in order.
DOWNLOAD_MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}

#: Where Debian's ``dataset-fashion-mnist`` package installs the data.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

_FASHION_MNIST_CLASSES = (
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
_DIGIT_CLASSES = tuple(str(k) for k in range(10))
_DOWNLOAD_NAMES = ("mnist", "fashion-mnist")
_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


@dataclass(frozen=True, eq=False, repr=False)
class ImageDataset:
    """A labelled image data set with a fixed train/test split.

    ``eq`` is off because element-wise tensor comparison has no single truth value; two data
    sets compare equal only when they are the same object.

    Attributes
    ----------
    name
        Short name, e.g. ``"mnist"``.
    train_images, test_images
        ``float32`` tensors of shape ``(N, C, H, W)`` with values in ``[0, 1]``.
    train_labels, test_labels
        ``int64`` tensors of shape ``(N,)``.
    class_names
        Display name of each class; label ``k`` is ``class_names[k]``.
    source
        Where the data came from, for messages to the user.
    """

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        # Only checks that cost nothing; a value-range scan would touch every pixel.
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            if images.dtype != torch.float32 or images.ndim != 4:
                raise DataError(
                    f"data set {self.name!r} ({self.source}): {split} images must be float32 "
                    f"(N, C, H, W), got {images.dtype} of shape {tuple(images.shape)}"
                )
            if labels.dtype != torch.int64 or labels.ndim != 1 or len(labels) != len(images):
                raise DataError(
                    f"data set {self.name!r} ({self.source}): {split} labels must be int64 of "
                    f"shape ({len(images)},), got {labels.dtype} of shape {tuple(labels.shape)}"
                )
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            raise DataError(
                f"data set {self.name!r} ({self.source}): train images are "
                f"{tuple(self.train_images.shape[1:])} but test images are "
                f"{tuple(self.test_images.shape[1:])}"
            )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """The ``(C, H, W)`` shape of one image."""
        c, h, w = self.train_images.shape[1:]
        return (int(c), int(h), int(w))

    @property
    def num_classes(self) -> int:
        """The number of classes, ``len(class_names)``."""
        return len(self.class_names)

    def __repr__(self) -> str:
        # The default repr would print the tensors.
        return (
            f"ImageDataset(name={self.name!r}, train={len(self.train_images)}, "
            f"test={len(self.test_images)}, image_shape={self.image_shape}, "
            f"num_classes={self.num_classes}, source={self.source!r})"
        )


def load_digits_dataset() -> ImageDataset:
    """Load scikit-learn's bundled 8x8 digits (no download needed).

    The 1,797 images (values 0..16, scaled here to ``[0, 1]``) are split with
    ``sklearn.model_selection.train_test_split(test_size=0.2, random_state=0,
    stratify=labels)``, giving a fixed 1,437 / 360 train/test split.

    Returns
    -------
    ImageDataset
        Images of shape ``(N, 1, 8, 8)``, class names ``"0"`` .. ``"9"``.
    """
    # Imported here because scikit-learn takes about a second to import and only this loader
    # needs it.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = (np.asarray(bunch.images, dtype=np.float64) / 16.0).astype(np.float32)
    labels = np.asarray(bunch.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.2, random_state=0, stratify=labels
    )
    return ImageDataset(
        name="digits",
        train_images=torch.from_numpy(np.ascontiguousarray(x_train)).unsqueeze(1),
        train_labels=torch.from_numpy(np.ascontiguousarray(y_train)),
        test_images=torch.from_numpy(np.ascontiguousarray(x_test)).unsqueeze(1),
        test_labels=torch.from_numpy(np.ascontiguousarray(y_test)),
        class_names=_DIGIT_CLASSES,
        source="scikit-learn load_digits (bundled with scikit-learn)",
    )


def _idx_file(folder: Path, stem: str) -> Path | None:
    # The raw file wins when both exist: it reads without decompressing.
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _missing_idx_files(folder: Path) -> list[str]:
    return [stem for stem in IDX_FILES.values() if _idx_file(folder, stem) is None]


#: The most classes an IDX folder's labels may number (labels 0 to MAX_CLASSES - 1): the models
#: hold a weight per class, and a stray large label would allocate for every number below it.
MAX_CLASSES = 1000


def _class_names_for(name: str, max_label: int) -> tuple[str, ...]:
    key = name.lower().replace("_", "-")
    if key == "mnist":
        return _DIGIT_CLASSES
    if key == "fashion-mnist":
        return _FASHION_MNIST_CLASSES
    return tuple(str(k) for k in range(max_label + 1))


def load_idx_folder(folder: str | os.PathLike[str], *, name: str | None = None) -> ImageDataset:
    """Load a folder holding the four MNIST-format IDX files.

    The folder must hold ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each raw or with a ``.gz``
    suffix (the raw file is used when both exist).

    Parameters
    ----------
    folder
        The folder to load.
    name
        The data set's name; defaults to the folder's name. ``"mnist"`` and ``"fashion-mnist"``
        get their published class names, any other name gets ``"0"``, ``"1"``, ... up to the
        largest label.

    Returns
    -------
    ImageDataset
        Images of shape ``(N, 1, H, W)`` scaled from ``uint8`` to ``[0, 1]``.

    Raises
    ------
    DataError
        If the folder or one of its files is missing or unreadable, images are not 3-D
        ``uint8``, labels are not 1-D integers, the image and label counts differ, the train and
        test image sizes differ, or (for MNIST and Fashion-MNIST) a label is outside 0..9.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"IDX data folder {folder} does not exist or is not a folder")
    found = {key: _idx_file(folder, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] for key, path in found.items() if path is None]
    if missing:
        raise DataError(f"IDX data folder {folder} lacks {', '.join(missing)} (each may also end in .gz)")
    if name is None:
        name = folder.resolve().name

    arrays = {key: (read_idx(path), path) for key, path in found.items() if path is not None}

    splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for split in ("train", "test"):
        images, images_path = arrays[f"{split}_images"]
        labels, labels_path = arrays[f"{split}_labels"]
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataError(
                f"IDX file {images_path}: expected 3-D uint8 images (N, H, W), got {images.dtype} "
                f"of shape {images.shape}"
            )
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise DataError(
                f"IDX file {labels_path}: expected 1-D integer labels, got {labels.dtype} of "
                f"shape {labels.shape}"
            )
        if 0 in images.shape:
            raise DataError(f"IDX file {images_path}: holds no images (shape {images.shape})")
        if len(images) != len(labels):
            raise DataError(
                f"{split} image and label counts differ: {images_path} holds {len(images)} "
                f"images but {labels_path} holds {len(labels)} labels"
            )
        if labels.size and labels.min() < 0:
            raise DataError(f"IDX file {labels_path}: negative label {int(labels.min())}")
        image_tensor = torch.from_numpy(images).to(torch.float32).div_(255.0).unsqueeze(1)
        splits[split] = (image_tensor, torch.from_numpy(labels.astype(np.int64)))

    train_path, test_path = arrays["train_images"][1], arrays["test_images"][1]
    if splits["train"][0].shape[1:] != splits["test"][0].shape[1:]:
        raise DataError(
            f"image sizes differ: {train_path} has {tuple(splits['train'][0].shape[2:])} images "
            f"but {test_path} has {tuple(splits['test'][0].shape[2:])}"
        )

    max_label = max(
        (int(labels.max()) for labels in (splits["train"][1], splits["test"][1]) if len(labels)), default=-1
    )
    if max_label >= MAX_CLASSES:
        found = np.unique(np.concatenate([splits["train"][1].numpy(), splits["test"][1].numpy()]))
        shown = ", ".join(str(label) for label in found[:5]) + (", ..." if len(found) > 5 else "")
        raise DataError(
            f"IDX data folder {folder}: label {max_label} would make {max_label + 1} classes (labels "
            f"found: {shown}); vaekit reads class labels 0, 1, ..., K-1 with K at most {MAX_CLASSES}: "
            "number the classes from 0"
        )
    class_names = _class_names_for(name, max_label)
    if max_label >= len(class_names):
        raise DataError(
            f"IDX data folder {folder}: label {max_label} is out of range for {name!r}, which has "
            f"{len(class_names)} classes"
        )

    return ImageDataset(
        name=name,
        train_images=splits["train"][0],
        train_labels=splits["train"][1],
        test_images=splits["test"][0],
        test_labels=splits["test"][1],
        class_names=class_names,
        source=str(folder.resolve()),
    )


def default_cache_dir() -> Path:
    """The per-user folder where downloaded data sets are kept.

    Returns
    -------
    pathlib.Path
        ``$XDG_CACHE_HOME/vaekit`` when ``XDG_CACHE_HOME`` is set to an absolute path, else
        ``~/.cache/vaekit``.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "vaekit"


def _check_download_name(name: str) -> None:
    if name not in _DOWNLOAD_NAMES:
        raise DataError(
            f"unknown data set name {name!r}; the named data sets on disk or for download are "
            f"{', '.join(_DOWNLOAD_NAMES)}"
        )


def _candidate_folders(name: str, data_dir: str | os.PathLike[str] | None) -> list[Path]:
    candidates: list[Path] = []
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir).expanduser())
    env = os.environ.get("VAEKIT_DATA", "")
    if env:
        roots.append(Path(env).expanduser())
    for root in roots:
        # The <name> subfolder comes first so that a root holding several data sets side by
        # side never hands out whatever files happen to lie in the root itself.
        candidates += [root / name, root]
    candidates.append(default_cache_dir() / name)
    if name == "fashion-mnist":
        candidates.append(DEBIAN_FASHION_MNIST_DIR)
    return candidates


def find_dataset_folder(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Find the folder holding a named data set's four IDX files.

    Looks, in order, in ``data_dir/<name>`` and ``data_dir``; ``$VAEKIT_DATA/<name>`` and
    ``$VAEKIT_DATA``; ``default_cache_dir()/<name>``; and for Fashion-MNIST also
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package). The
    first folder that holds all four files wins.

    Parameters
    ----------
    name
        ``"mnist"`` or ``"fashion-mnist"``.
    data_dir
        An extra folder to look in first.

    Returns
    -------
    pathlib.Path
        The folder found.

    Raises
    ------
    DataError
        If the name is unknown, or no folder holds the files; the message lists every folder
        looked in and how to get the data.
    """
    _check_download_name(name)
    candidates = _candidate_folders(name, data_dir)
    for folder in candidates:
        if folder.is_dir() and not _missing_idx_files(folder):
            return folder

    looked = "\n".join(f"  {folder}" for folder in candidates)
    # load_image_dataset downloads into data_dir/<name> when a data_dir is given.
    download_to = Path(data_dir).expanduser() / name if data_dir is not None else default_cache_dir() / name
    hints = [
        f"pass --download (or download=True) to fetch it into {download_to}",
        "pass --data-dir DIR for a folder that holds the files",
        "set VAEKIT_DATA to such a folder",
    ]
    if name == "fashion-mnist":
        hints.append("on Debian or Ubuntu: apt-get install dataset-fashion-mnist")
    files = ", ".join(f"{stem}[.gz]" for stem in IDX_FILES.values())
    raise DataError(
        f"data set {name!r} not found: no folder holding {files} in any of:\n{looked}\n"
        "To get it: " + "; or ".join(hints)
    )


def _md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fetch(url: str, tmp: Path, label: str) -> str:
    """Stream ``url`` into ``tmp`` and return the MD5 of what was written."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, tmp.open("wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        with tqdm(
            total=total,
            unit="B",
            unit_scale=True,
            desc=label,
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            leave=False,
        ) as bar:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
    return digest.hexdigest()


def download_dataset(
    name: str,
    target_dir: Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
) -> Path:
    """Download a named data set's four ``.gz`` files and verify their checksums.

    Each file is streamed to a temporary file next to its destination, checked against the
    official MD5 in :data:`DOWNLOAD_MD5`, then renamed into place, so an interrupted or bad
    download never leaves a partial file under the final name. Files already present with the
    right checksum are kept and not fetched again.

    Parameters
    ----------
    name
        ``"mnist"`` or ``"fashion-mnist"``.
    target_dir
        Where to put the files; defaults to ``default_cache_dir()/<name>``.
    mirrors
        Base URLs to try in order; defaults to the official ones in :data:`DOWNLOAD_MIRRORS`.

    Returns
    -------
    pathlib.Path
        The folder holding the files.

    Raises
    ------
    DataError
        If a file cannot be fetched from any mirror or its checksum is wrong everywhere; the
        message names the file and every URL tried.
    """
    _check_download_name(name)
    target = Path(target_dir).expanduser() if target_dir is not None else default_cache_dir() / name
    bases = tuple(mirrors) if mirrors is not None else DOWNLOAD_MIRRORS[name]
    if not bases:
        raise DataError(f"no download mirrors given for {name!r}")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create download folder {target}: {exc}") from exc

    for filename, expected_md5 in DOWNLOAD_MD5[name].items():
        dest = target / filename
        if dest.is_file() and _md5_of(dest) == expected_md5:
            continue
        failures: list[str] = []
        for base in bases:
            url = base if base.endswith("/") else base + "/"
            url += filename
            tmp = target / f".{filename}.{secrets.token_hex(6)}.part"
            try:
                actual_md5 = _fetch(url, tmp, filename)
                if actual_md5 != expected_md5:
                    failures.append(f"{url}: MD5 {actual_md5}, expected {expected_md5}")
                    continue
                os.replace(tmp, dest)
                break
            except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
                # URLError covers HTTP errors and refused connections, OSError covers timeouts
                # and disk errors, ValueError a malformed mirror URL.
                failures.append(f"{url}: {exc}")
            finally:
                # After a successful os.replace the temp name is gone and this does nothing.
                with contextlib.suppress(OSError):
                    tmp.unlink(missing_ok=True)
        else:
            tried = "\n".join(f"  {failure}" for failure in failures)
            raise DataError(f"could not download {filename} for {name!r} into {target}; tried:\n{tried}")
    return target


def load_image_dataset(
    data: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = False,
) -> ImageDataset:
    """Load an image data set by name or from a folder of IDX files.

    Parameters
    ----------
    data
        ``"digits"`` (scikit-learn's bundled 8x8 digits), ``"mnist"``, ``"fashion-mnist"``, or
        the path of a folder holding the four MNIST-format IDX files.
    data_dir
        An extra folder to look in for MNIST and Fashion-MNIST (see
        :func:`find_dataset_folder`); with ``download=True`` a missing data set is downloaded
        into ``data_dir/<name>`` instead of the user cache folder.
    download
        Download MNIST or Fashion-MNIST when not found on disk.

    Returns
    -------
    ImageDataset
        The loaded data set.

    Raises
    ------
    DataError
        If the data set is not found (and not downloaded), the path does not exist, or a file is
        corrupt.
    """
    if data == "digits":
        return load_digits_dataset()
    if data in _DOWNLOAD_NAMES:
        try:
            folder = find_dataset_folder(data, data_dir)
        except DataError:
            if not download:
                raise
            target = Path(data_dir).expanduser() / data if data_dir is not None else None
            folder = download_dataset(data, target)
        return load_idx_folder(folder, name=data)

    folder = Path(data).expanduser()
    if not folder.exists():
        raise DataError(
            f"{data!r} is neither a known data set ({', '.join(DATASET_NAMES)}) nor an existing "
            "folder of IDX files"
        )
    return load_idx_folder(folder)
