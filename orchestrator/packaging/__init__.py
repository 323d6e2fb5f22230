"""Packaging: reproducible ``model.tar.gz`` archives (SageMaker layout) and Lambda zips.

from orchestrator.packaging import package_environment, safe_extract
result = package_environment(env)        # trains missing models, builds everything
result.to_context()                      # the ``artifacts`` render context
"""

from orchestrator.packaging.artifacts import Artifact, PackageResult
from orchestrator.packaging.errors import ModelFolderError, TrainingError, UnsafeArchiveError
from orchestrator.packaging.lambda_zip import build_lambda_zip, discover_lambda_sources
from orchestrator.packaging.model_archive import archive_entries, artifacts_present, build_model_archive
from orchestrator.packaging.pipeline import lambda_zip_path, model_archive_path, package_environment
from orchestrator.packaging.safe_extract import safe_extract
from orchestrator.packaging.sagemaker_handlers import check_entry_module
from orchestrator.packaging.training import ensure_trained

__all__ = [
    "Artifact",
    "ModelFolderError",
    "PackageResult",
    "TrainingError",
    "UnsafeArchiveError",
    "archive_entries",
    "artifacts_present",
    "build_lambda_zip",
    "build_model_archive",
    "check_entry_module",
    "discover_lambda_sources",
    "ensure_trained",
    "lambda_zip_path",
    "model_archive_path",
    "package_environment",
    "safe_extract",
]
