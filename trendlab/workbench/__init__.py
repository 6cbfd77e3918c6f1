"""The interactive workbench: live tuning (:mod:`.tuning`) and alert review into labels (:mod:`.review`).

Both are plain Python engines with ipywidgets on top; the engines work without a frontend (papermill,
the CLI, benchmarks) and the widgets fall back to static pictures where no widget can run.
"""

from trendlab.workbench.review import ReviewWidget, labels_from_review, review_stream, review_table, write_labels
from trendlab.workbench.tuning import TuningPanel, TuningRun, TuningSession

__all__ = ["TuningSession", "TuningRun", "TuningPanel", "ReviewWidget", "review_table", "review_stream",
           "labels_from_review", "write_labels"]

