"""The workbench end to end: the four notebooks through papermill, then one HTML report.

::

    01_explore_samples ─► 02_tune_windows_thresholds ─► 03_deploy_job ─► 04_monitor_trends ─► report.html
      figures              params.yaml, replay/          job/ (+ job.json)   figures
                           (counts, alerts)

Each notebook writes into ``out_dir`` what the next one reads: 02 writes ``params.yaml``, 03 runs the
job with it (profile ``embedded``: a PyFlink mini-cluster on the sample, outputs in ``job/``; profile
``local``: the Flink cluster of ``trendlab stack up`` through its REST API, checkpoints on MinIO) and
records the run as a :class:`JobRecord` in ``job/job.json``; 04 reads the job's window counts and alerts
(files, or the Kafka topics) and its status. Every chart a notebook shows is kept in ``figures/``
(:class:`trendlab.plots.FigureSaver`); :func:`write_report` puts them into ``report.html``.

- :mod:`~trendlab.pipeline.steps`: the four steps (notebook, title, parameters, report section)
- :mod:`~trendlab.pipeline.runner`: :func:`run_pipeline` and ``trendlab pipeline``
- :mod:`~trendlab.pipeline.job_record`: the typed job record and the step helpers notebooks 03/04 call
- :mod:`~trendlab.pipeline.report`: ``report.html``

No secret is ever a notebook parameter: the notebooks read MinIO keys and the API token from the
environment (:class:`trendlab.config.Settings`) and show settings only through
:meth:`~trendlab.config.Settings.public_dict`.
"""

from trendlab.config import Profile
from trendlab.pipeline.job_record import (
    JOB_RECORD,
    Checkpoint,
    JobRecord,
    checkpoint_objects,
    job_status,
    read_job_record,
    write_job_record,
)
from trendlab.pipeline.report import write_report
from trendlab.pipeline.runner import (
    PROFILES,
    PipelineError,
    PipelineResult,
    _kernel_environ,
    run_pipeline,
)
from trendlab.pipeline.steps import NOTEBOOKS, STEPS, Step

__all__ = [
    "JOB_RECORD", "NOTEBOOKS", "PROFILES", "STEPS", "Checkpoint", "JobRecord", "PipelineError", "PipelineResult",
    "Profile", "Step", "checkpoint_objects", "job_status", "read_job_record", "run_pipeline",
    "write_job_record", "write_report", "_kernel_environ",
]
