"""Image data sets as uint8 tensors (N, C, H, W) and int64 labels, and the ISIC 2017 lesion masks,
read from their usual on-disk formats.

Data root: the ``root`` argument, else ``$ANL_DATA``, else ``~/.cache/anl/data``. Decoded caches live
in ``$ANL_CACHE``, else ``~/.cache/anl``. Formats read (nothing is extracted to disk):

- MNIST / Fashion-MNIST: the four IDX files under torchvision's names, gzipped or not.
- CIFAR-10: the official ``cifar-10-batches-py`` pickles (original order), or the ImageFolder JPEG
  copy ``cifar10-jpeg/{train,test}/<class>/NNNN.jpg`` as a folder or ``cifar10-jpeg.tar.gz``. The copy
  is read in class-major order (official class order), files in numeric order inside each class; its
  k-th image of class c is the k-th image of class c in CIFAR-10's original order, so labels indexed
  in original order (CIFAR-10N) join through the clean labels. Its ``source`` says "JPEG q75 copy".
- CIFAR-100: the official ``cifar-100-python`` pickles, fine labels.
- Label files of the CIFAR-10 training images, in CIFAR-10's original order: CIFAR-10N's
  ``CIFAR-10_human.pt`` (read_cifar10n_labels) and the fixed instance-dependent labels
  ``cifar10-idn/cifar10_dependent_<rate>.json`` (read_cifar10_idn_labels).
- ISIC 2017 Part 1: the 256x192 copy or the original files (:mod:`anl.data.isic`).

``download=True`` lets torchvision fetch a missing set (online only); the files it writes are then
read by the readers here.

Checksums: a file read here that has the size of a known canonical file must have its checksum, else
DataChecksumError (which names the file, both checksums and how to get the right one). Checked: the
MNIST and Fashion-MNIST IDX files (sha256 of the decompressed bytes, so any gzip encoding of them
and torchvision's extracted files pass), the official CIFAR-10 python batches (md5 as torchvision
lists them), the CIFAR-10 JPEG copy and the ISIC 2017 copy as archives (sha256), CIFAR-10N's
label file (verify_cifar10n_labels) and the fixed instance-dependent CIFAR-10 labels (sha256). Not
checked: CIFAR-100, extracted folders, the original ISIC files. A file of another size is other data
(a subset, a test fixture) and is read unchecked. A file that passed is remembered in the cache by
path, size and mtime and not hashed again.

One module per concern: :mod:`anl.data.images` (the image classification sets and load_dataset),
:mod:`anl.data.isic` (the segmentation set and load_segmentation), :mod:`anl.data.labels` (the
noisy label files of CIFAR-10), :mod:`anl.data.subsets` (stratified subsets), and beneath them
:mod:`anl.data.layouts` (where a set is looked for), :mod:`anl.data.formats` (the file formats),
:mod:`anl.data.checksums` and :mod:`anl.data.cache`. The names below are imported here from them.
"""

from __future__ import annotations

from anl.data.cache import cache_dir
from anl.data.checksums import DataChecksumError
from anl.data.images import CIFAR10_CLASSES, DATASETS, FASHION_MNIST_CLASSES, MNIST_CLASSES, ImageDataset, load_dataset
from anl.data.isic import (
    ISIC2017_SIZE, SEGMENTATION_DATASETS, SEGMENTATION_SPLITS, SegmentationDataset, load_segmentation, resize_images,
    resize_masks,
)
from anl.data.labels import (
    CIFAR10N_SOURCE, cifar10_idn_rates, read_cifar10_idn_labels, read_cifar10n_labels, verify_cifar10n_labels,
)
from anl.data.layouts import DataNotFoundError, data_root
from anl.data.subsets import stratified_subset

__all__ = [
    "load_dataset", "ImageDataset", "DATASETS", "MNIST_CLASSES", "FASHION_MNIST_CLASSES", "CIFAR10_CLASSES",
    "load_segmentation", "SegmentationDataset", "SEGMENTATION_DATASETS", "SEGMENTATION_SPLITS", "ISIC2017_SIZE",
    "resize_images", "resize_masks", "read_cifar10n_labels", "verify_cifar10n_labels", "read_cifar10_idn_labels",
    "cifar10_idn_rates", "CIFAR10N_SOURCE", "stratified_subset", "data_root", "cache_dir", "DataNotFoundError",
    "DataChecksumError",
]
