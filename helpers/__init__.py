"""helpers: the small toolbox shared by the course notebooks.

Each submodule covers one concern; the names the notebooks use most are re-exported
here, so ``from helpers import fit, imshow`` works as well as
``from helpers.training import fit``.
"""

from helpers.checks import check_function, check_tensor, check_true, check_value, compare, score
from helpers.data import (
    MNIST_CLASSES,
    TEXTURE_CLASSES,
    imagenet_classes,
    load_faces,
    load_full_dataset,
    load_mnist,
    make_texture_folder,
    sample_photos,
    texture_patches,
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
from helpers.training import History, accuracy, evaluate, fit, train_one_epoch
from helpers.utils import artifacts_dir, course_root, data_dir, get_device, seed_everything

__version__ = "0.1.0"

__all__ = [
    "MNIST_CLASSES",
    "TEXTURE_CLASSES",
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
