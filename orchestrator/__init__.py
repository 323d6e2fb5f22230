"""Model-serving platform as code: the orchestrator that drives the Terraform stacks."""

__version__ = "0.1.0"
