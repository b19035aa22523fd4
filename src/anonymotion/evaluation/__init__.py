"""The one comparison engine: pose collection, compare, the multi-method study and the judge.

CLI ``pose``/``compare``/``evaluate``, ``batch --evaluate`` and the web app's Test step all
call these functions; none of them computes a metric or a verdict of its own.

- :mod:`.posing`: pose over a video, pose files.
- :mod:`.compare`: one video against the original (frames matched by timestamp).
- :mod:`.study`: every method plus the re-encode control, in one anonymization pass.
- :mod:`.judge`: the verdict rule (excess over the control).
- :mod:`.tables`: the study's tables (methods as columns, Δ, verdicts, statistics).
"""

from anonymotion.evaluation.compare import (
    CompareResult, VideoMismatchError, compare, compare_poses, match_frames, write_compare_outputs,
)
from anonymotion.evaluation.judge import CONTROL, judge, judge_angle
from anonymotion.evaluation.posing import NoPersonError, VideoPoses, pose_angles, pose_video, write_pose_outputs
from anonymotion.evaluation.study import EvaluationResult, VideoStudy, evaluate, study_outputs, study_video

__all__ = [
    "CONTROL", "CompareResult", "EvaluationResult", "NoPersonError", "VideoMismatchError", "VideoPoses", "compare",
    "compare_poses", "evaluate", "judge", "judge_angle", "match_frames", "pose_angles", "pose_video",
    "write_compare_outputs", "write_pose_outputs", "VideoStudy", "study_outputs", "study_video",
]
