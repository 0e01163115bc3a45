"""Data loading: IDX files and image data sets."""

from vaekit.data.idx import read_idx, write_idx
from vaekit.data.images import (
    DATASET_NAMES,
    ImageDataset,
    default_cache_dir,
    download_dataset,
    find_dataset_folder,
    load_digits_dataset,
    load_idx_folder,
    load_image_dataset,
)

__all__ = [
    "DATASET_NAMES",
    "ImageDataset",
    "default_cache_dir",
    "download_dataset",
    "find_dataset_folder",
    "load_digits_dataset",
    "load_idx_folder",
    "load_image_dataset",
    "read_idx",
    "write_idx",
]
