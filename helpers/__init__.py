"""helpers: the small toolbox shared by the course notebooks.

Each submodule covers one concern; the names the notebooks use most are re-exported
here, so ``from helpers import fit, imshow`` works as well as
``from helpers.training import fit``. ``helpers.deploy`` (ONNX) and
``helpers.authoring`` (learner versions) are imported on their own, so that
``import helpers`` stays quick.
"""

from helpers.checkpoints import load_checkpoint, save_checkpoint
from helpers.checks import check_function, check_tensor, check_true, check_value, compare, score
from helpers.cnn import SmallCNN, read_tensorboard_scalars
from helpers.data import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    TEXTURE_CLASSES,
    imagenet_classes,
    load_faces,
    load_fashion_mnist,
    load_full_dataset,
    load_mnist,
    make_texture_folder,
    sample_photos,
    texture_patches,
)
from helpers.loaders import DeviceLoader, WrappedLoader, dataset_mean_std
from helpers.photos import (
    PHOTO_CLASSES,
    load_photo,
    make_photo_folder,
    photo_dataset,
    photo_splits,
    verify_photos,
)
from helpers.plotting import (
    confusion_matrix,
    imshow,
    plot_confusion_matrix,
    plot_history,
    show_grid,
    to_display,
    view_classify,
)
from helpers.project import FASHION_FOLDER_NAMES, folder_files, make_fashion_folder
from helpers.training import History, accuracy, evaluate, fit, train_one_epoch
from helpers.utils import artifacts_dir, course_root, data_dir, get_device, seed_everything

__version__ = "0.1.0"

__all__ = [
    "DeviceLoader",
    "SmallCNN",
    "WrappedLoader",
    "dataset_mean_std",
    "load_checkpoint",
    "read_tensorboard_scalars",
    "save_checkpoint",
    "FASHION_MNIST_CLASSES",
    "MNIST_CLASSES",
    "TEXTURE_CLASSES",
    "FASHION_FOLDER_NAMES",
    "folder_files",
    "make_fashion_folder",
    "PHOTO_CLASSES",
    "load_photo",
    "make_photo_folder",
    "photo_dataset",
    "photo_splits",
    "verify_photos",
    "History",
    "accuracy",
    "artifacts_dir",
    "check_function",
    "check_tensor",
    "check_true",
    "check_value",
    "compare",
    "confusion_matrix",
    "course_root",
    "data_dir",
    "evaluate",
    "fit",
    "get_device",
    "imagenet_classes",
    "imshow",
    "load_faces",
    "load_full_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "make_texture_folder",
    "plot_confusion_matrix",
    "plot_history",
    "sample_photos",
    "score",
    "seed_everything",
    "show_grid",
    "texture_patches",
    "to_display",
    "train_one_epoch",
    "view_classify",
]
